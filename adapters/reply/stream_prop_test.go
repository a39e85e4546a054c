package reply

import (
	"context"
	"errors"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// TestStreamPropertyWithFaults streams random replies through a poster that
// fails at random (rate limits with and without Retry-After, other errors)
// and checks that after Finish the messages are exactly Split(final).
func TestStreamPropertyWithFaults(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for round := 0; round < 40; round++ {
		limit := []int{8, 30, 64, 200, 2000}[r.Intn(5)]
		s, p, clk := newTestStream(limit)
		faults := rand.New(rand.NewSource(int64(round)))
		p.setFail(func(op string, n int) error {
			switch faults.Intn(8) {
			case 0:
				return &RateLimited{RetryAfter: time.Duration(1+faults.Intn(3)) * time.Second}
			case 1:
				return errors.Join(errors.New("ratelimited"), &RateLimited{})
			case 2:
				return errors.New("transient")
			}
			return nil
		})
		var streamed strings.Builder
		text := randomText(r)
		for len(text) > 0 {
			n := min(len(text), 1+r.Intn(40))
			s.Append(text[:n])
			streamed.WriteString(text[:n])
			text = text[n:]
			if r.Intn(4) == 0 {
				clk.Advance(time.Duration(r.Intn(1500)) * time.Millisecond)
			}
		}
		final := streamed.String()
		switch r.Intn(4) {
		case 0:
			final = randomText(r) // the result differs from the deltas
		case 1:
			final = strings.TrimSpace(final)
		}
		if err := finishAsync(t, s, clk, context.Background(), final); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		assertVisible(t, p, s, final, limit)
	}
}
