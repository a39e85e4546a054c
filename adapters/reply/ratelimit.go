package reply

import (
	"errors"
	"fmt"
	"time"
)

// RateLimited is returned (possibly wrapped) by a Poster when the platform
// asks to slow down. RetryAfter 0 means the platform gave no delay (Slack's
// ok:false ratelimited): the stream waits at least 1s, doubling while it
// repeats, up to maxRateWait.
type RateLimited struct{ RetryAfter time.Duration }

func (e *RateLimited) Error() string {
	if e.RetryAfter <= 0 {
		return "rate limited"
	}
	return fmt.Sprintf("rate limited: retry after %s", e.RetryAfter)
}

const (
	minRateWait = time.Second
	maxRateWait = 30 * time.Second
	minErrWait  = 500 * time.Millisecond
	maxErrWait  = 15 * time.Second
)

// backoff computes waits after failed Poster calls. Waits grow while
// failures repeat and start over after a success.
type backoff struct {
	rate time.Duration // last header-less rate-limit wait
	err  time.Duration // last wait after another error
}

// after returns how long to wait after err and whether it was a rate limit.
func (b *backoff) after(err error) (time.Duration, bool) {
	var rl *RateLimited
	if errors.As(err, &rl) {
		if rl.RetryAfter > 0 {
			return rl.RetryAfter, true
		}
		b.rate = grow(b.rate, minRateWait, maxRateWait)
		return b.rate, true
	}
	b.err = grow(b.err, minErrWait, maxErrWait)
	return b.err, false
}

func (b *backoff) reset() { *b = backoff{} }

func grow(d, lo, hi time.Duration) time.Duration {
	if d < lo {
		return lo
	}
	return min(2*d, hi)
}
