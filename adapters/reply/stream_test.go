package reply

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func newTestStream(limit int) (*Stream, *fakePoster, *fakeClock) {
	p, clk := newFakePoster(), newFakeClock()
	s := newStream(p, Options{Limit: limit, Interval: time.Second, Log: quietLog()}, clk)
	return s, p, clk
}

func assertVisible(t *testing.T, p *fakePoster, s *Stream, final string, limit int) {
	t.Helper()
	want := Split(final, limit)
	if strings.TrimSpace(final) == "" {
		want = nil // Finish treats blank like empty
	}
	got := p.Visible()
	if len(got) < len(want) {
		t.Fatalf("visible %d messages, want %d:\n got %q\nwant %q", len(got), len(want), got, want)
	}
	for i, w := range want {
		if got[i] != w {
			t.Fatalf("message %d = %q, want %q", i, got[i], w)
		}
	}
	for i := len(want); i < len(got); i++ {
		if got[i] != SurplusMarker {
			t.Fatalf("surplus message %d = %q, want marker", i, got[i])
		}
	}
	if j := Join(got[:len(want)]); want != nil && j != final {
		t.Fatalf("Join(visible) = %q, want %q", j, final)
	}
	if ids := s.IDs(); len(ids) != len(got) {
		t.Fatalf("IDs() = %v, posted %d", ids, len(got))
	}
}

func TestStreamPostsFirstTextAtOnceThenEditsPerInterval(t *testing.T) {
	s, p, clk := newTestStream(2000)
	s.Append("Hel")
	waitFor(t, "first post", func() bool { return len(p.Calls()) == 1 })
	if c := p.Calls()[0]; c.op != "post" || c.text != "Hel" {
		t.Fatalf("first call %+v", c)
	}
	s.Append("lo")
	waitFor(t, "edit timer", func() bool { return len(clk.Pending()) == 1 })
	if d := clk.Pending()[0]; d != time.Second {
		t.Fatalf("edit scheduled in %v, want the 1s interval", d)
	}
	if n := len(p.Calls()); n != 1 {
		t.Fatalf("edited before the interval: %+v", p.Calls())
	}
	clk.Advance(time.Second)
	waitFor(t, "edit", func() bool { return len(p.Calls()) == 2 })
	if c := p.Calls()[1]; c.op != "edit" || c.id != "m1" || c.text != "Hello" {
		t.Fatalf("second call %+v", c)
	}
	if err := finishAsync(t, s, clk, context.Background(), "Hello"); err != nil {
		t.Fatal(err)
	}
	if n := len(p.Calls()); n != 2 {
		t.Fatalf("Finish made a no-op edit: %+v", p.Calls())
	}
	assertVisible(t, p, s, "Hello", 2000)
}

func TestStreamCoalescesManyAppends(t *testing.T) {
	s, p, clk := newTestStream(100000)
	s.Append("start ")
	waitFor(t, "first post", func() bool { return len(p.Calls()) == 1 })
	var want strings.Builder
	want.WriteString("start ")
	for i := 0; i < 1000; i++ {
		s.Append("tok ")
		want.WriteString("tok ")
	}
	waitFor(t, "edit timer", func() bool { return len(clk.Pending()) == 1 })
	clk.Advance(time.Second)
	waitFor(t, "coalesced edit", func() bool {
		c := p.Calls()
		return len(c) >= 2 && c[len(c)-1].text == want.String()
	})
	if n := len(p.Calls()); n > 3 {
		t.Fatalf("1000 appends in one interval made %d calls", n)
	}
	if err := finishAsync(t, s, clk, context.Background(), want.String()); err != nil {
		t.Fatal(err)
	}
	assertVisible(t, p, s, want.String(), 100000)
}

func TestStreamContinuesInNewMessages(t *testing.T) {
	s, p, clk := newTestStream(50)
	var final strings.Builder
	for i := 0; i < 40; i++ {
		w := "word" + strings.Repeat("x", i%7) + " "
		s.Append(w)
		final.WriteString(w)
		if i%5 == 0 {
			clk.Advance(time.Second)
		}
	}
	waitFor(t, "continuation posts", func() bool { return len(s.IDs()) >= 3 })
	if err := finishAsync(t, s, clk, context.Background(), final.String()); err != nil {
		t.Fatal(err)
	}
	assertVisible(t, p, s, final.String(), 50)
	for _, c := range p.Calls() {
		if n := len([]rune(c.text)); n > 50 {
			t.Fatalf("call with %d runes > limit: %+v", n, c)
		}
	}
}

func TestFinishWithoutAppendPostsAllParts(t *testing.T) {
	s, p, clk := newTestStream(10)
	final := "one two three four five"
	if err := finishAsync(t, s, clk, context.Background(), final); err != nil {
		t.Fatal(err)
	}
	assertVisible(t, p, s, final, 10)
}

func TestFinishEmptyPostsNothing(t *testing.T) {
	s, p, clk := newTestStream(10)
	if err := finishAsync(t, s, clk, context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if c := p.Calls(); len(c) != 0 {
		t.Fatalf("empty final posted %+v", c)
	}
}

func TestFinishMarksSurplusMessages(t *testing.T) {
	s, p, clk := newTestStream(20)
	long := strings.Repeat("abcdefgh ", 10)
	s.Append(long)
	waitFor(t, "streamed parts", func() bool { return len(s.IDs()) == len(Split(long, 20)) })
	if err := finishAsync(t, s, clk, context.Background(), "short"); err != nil {
		t.Fatal(err)
	}
	got := p.Visible()
	if got[0] != "short" || len(got) < 3 {
		t.Fatalf("visible %q", got)
	}
	assertVisible(t, p, s, "short", 20)
}

func TestFinishReplacesDifferentStreamedText(t *testing.T) {
	s, p, clk := newTestStream(30)
	s.Append(strings.Repeat("draft ", 12))
	waitFor(t, "streamed", func() bool { return len(s.IDs()) >= 2 })
	final := "```go\n" + strings.Repeat("x := 1\n", 10) + "```\n"
	if err := finishAsync(t, s, clk, context.Background(), final); err != nil {
		t.Fatal(err)
	}
	assertVisible(t, p, s, final, 30)
}

func TestFinishWaitsRetryAfter(t *testing.T) {
	s, p, clk := newTestStream(100)
	p.setFail(func(op string, n int) error {
		if op == "post" && n == 1 {
			return &RateLimited{RetryAfter: 7 * time.Second}
		}
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- s.Finish(context.Background(), "hi") }()
	waitFor(t, "retry timer", func() bool { return len(clk.Pending()) == 1 })
	if d := clk.Pending()[0]; d != 7*time.Second {
		t.Fatalf("retry in %v, want Retry-After 7s", d)
	}
	clk.Advance(7 * time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	assertVisible(t, p, s, "hi", 100)
}

func TestFinishRateLimitWithoutHeaderDoubles(t *testing.T) {
	s, p, clk := newTestStream(100)
	wrapped := func() error { return errors.Join(errors.New("slack: ratelimited"), &RateLimited{}) }
	p.setFail(func(op string, n int) error {
		if n <= 4 {
			return wrapped()
		}
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- s.Finish(context.Background(), "hi") }()
	var waits []time.Duration
	for i := 0; i < 4; i++ {
		waitFor(t, "retry timer", func() bool { return len(clk.Pending()) == 1 })
		d, _ := clk.AdvanceToNext()
		waits = append(waits, d)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	assertVisible(t, p, s, "hi", 100)
}

func TestFinishRetriesTransientErrors(t *testing.T) {
	s, p, clk := newTestStream(5)
	boom := errors.New("502 bad gateway")
	p.setFail(func(op string, n int) error {
		if n%2 == 1 {
			return boom
		}
		return nil
	})
	final := "aaaa bbbb cccc dddd"
	if err := finishAsync(t, s, clk, context.Background(), final); err != nil {
		t.Fatal(err)
	}
	assertVisible(t, p, s, final, 5)
}

func TestFinishReturnsLastErrorWhenContextEnds(t *testing.T) {
	s, p, clk := newTestStream(100)
	boom := errors.New("channel_not_found")
	p.setFail(func(string, int) error { return boom })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Finish(ctx, "hi") }()
	waitFor(t, "retry timer", func() bool { return len(clk.Pending()) == 1 })
	clk.AdvanceToNext()
	waitFor(t, "second retry timer", func() bool { return len(clk.Pending()) == 1 })
	cancel()
	if err := <-done; !errors.Is(err, boom) {
		t.Fatalf("Finish = %v, want the poster's error", err)
	}
	// A later Finish with a live context completes the job.
	p.setFail(nil)
	if err := finishAsync(t, s, clk, context.Background(), "hi"); err != nil {
		t.Fatal(err)
	}
	assertVisible(t, p, s, "hi", 100)
}

func TestStreamingRateLimitDelaysNextCall(t *testing.T) {
	s, p, clk := newTestStream(100)
	p.setFail(func(op string, n int) error {
		if op == "post" && n == 1 {
			return &RateLimited{RetryAfter: 3 * time.Second}
		}
		return nil
	})
	s.Append("hello")
	waitFor(t, "retry timer", func() bool { return len(clk.Pending()) == 1 })
	if d := clk.Pending()[0]; d != 3*time.Second {
		t.Fatalf("streaming retry in %v, want 3s", d)
	}
	clk.Advance(3 * time.Second)
	waitFor(t, "post after retry", func() bool { return len(s.IDs()) == 1 })
	if err := finishAsync(t, s, clk, context.Background(), "hello"); err != nil {
		t.Fatal(err)
	}
	assertVisible(t, p, s, "hello", 100)
}

func TestStreamingErrorRetriedAtNextTick(t *testing.T) {
	s, p, clk := newTestStream(100)
	p.setFail(func(op string, n int) error {
		if op == "post" && n == 1 {
			return errors.New("connection reset")
		}
		return nil
	})
	s.Append("hello")
	waitFor(t, "retry timer", func() bool { return len(clk.Pending()) == 1 })
	if d := clk.Pending()[0]; d != time.Second {
		t.Fatalf("streaming retry in %v, want the interval", d)
	}
	clk.Advance(time.Second)
	waitFor(t, "post after retry", func() bool { return len(s.IDs()) == 1 })
	s.Abort()
}

func TestAbortStopsAndIgnoresLaterAppends(t *testing.T) {
	s, p, _ := newTestStream(100)
	s.Append("hello")
	waitFor(t, "post", func() bool { return len(p.Calls()) == 1 })
	s.Abort()
	s.Append(" more")
	s.Abort() // idempotent
	if c := p.Calls(); len(c) != 1 {
		t.Fatalf("calls after Abort: %+v", c)
	}
}

// Abort lets an in-flight post land before it returns, so that a note the
// caller posts next (the error) comes after the partial reply, not before.
func TestAbortLetsInFlightPostComplete(t *testing.T) {
	s, p, _ := newTestStream(100)
	gate := make(chan struct{})
	p.gate = gate
	s.Append("hello")
	waitFor(t, "blocked post", func() bool { return p.entered.Load() == 1 })
	aborted := make(chan struct{})
	go func() { s.Abort(); close(aborted) }()
	select {
	case <-aborted:
		t.Fatal("Abort returned while the post was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(gate)
	<-aborted
	if ids := s.IDs(); len(ids) != 1 || p.msgs[ids[0]] != "hello" {
		t.Fatalf("ids %v, messages %v after Abort", ids, p.msgs)
	}
}

// A post that never returns holds Abort for abortWait only, then is
// cancelled.
func TestAbortCancelsStuckCall(t *testing.T) {
	old := abortWait
	abortWait = 50 * time.Millisecond
	defer func() { abortWait = old }()
	s, p, _ := newTestStream(100)
	p.gate = make(chan struct{})
	s.Append("hello")
	waitFor(t, "blocked post", func() bool { return p.entered.Load() == 1 })
	s.Abort()
	if ids := s.IDs(); len(ids) != 0 {
		t.Fatalf("ids %v after cancelled post", ids)
	}
}

func TestFinishLetsInFlightPostComplete(t *testing.T) {
	s, p, clk := newTestStream(100)
	gate := make(chan struct{})
	p.gate = gate
	s.Append("hello")
	waitFor(t, "post in flight", func() bool { return p.entered.Load() == 1 })
	done := make(chan error, 1)
	go func() { done <- s.Finish(context.Background(), "hello world") }()
	gate <- struct{}{} // the streaming post
	close(gate)
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			assertVisible(t, p, s, "hello world", 100)
			if n := len(p.Visible()); n != 1 {
				t.Fatalf("in-flight post was lost or duplicated: %q", p.Visible())
			}
			return
		default:
			clk.AdvanceToNext()
			time.Sleep(100 * time.Microsecond)
		}
	}
}

func TestConcurrentFinishRefused(t *testing.T) {
	s, p, _ := newTestStream(100)
	p.gate = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Finish(ctx, "x") }()
	waitFor(t, "first Finish running", func() bool { return s.finishing.Load() })
	if err := s.Finish(context.Background(), "x"); err == nil {
		t.Fatal("second concurrent Finish accepted")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("first Finish = %v", err)
	}
}

// TestStreamRealClock runs appends, edits and Finish concurrently with real
// timers (tiny interval) so the race detector sees the real interleavings.
func TestStreamRealClock(t *testing.T) {
	p := newFakePoster()
	s := NewStream(p, Options{Limit: 64, Interval: time.Millisecond, Log: quietLog()})
	var final strings.Builder
	for i := 0; i < 300; i++ {
		d := []string{"alpha ", "beta\n", "```go\n", "x := 1\n", "```\n", "\n\n", "é❤️ "}[i%7]
		s.Append(d)
		final.WriteString(d)
		if i%50 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Finish(ctx, final.String()); err != nil {
		t.Fatal(err)
	}
	assertVisible(t, p, s, final.String(), 64)
}

// reentrantPoster calls back into the stream from inside Post and Edit: any
// lock held across Poster calls would deadlock here.
type reentrantPoster struct {
	*fakePoster
	s *Stream
}

func (r *reentrantPoster) Post(ctx context.Context, text string) (string, error) {
	_ = r.s.IDs()
	r.s.Append("")
	return r.fakePoster.Post(ctx, text)
}

func (r *reentrantPoster) Edit(ctx context.Context, id, text string) error {
	_ = r.s.IDs()
	return r.fakePoster.Edit(ctx, id, text)
}

func TestNoLockHeldDuringPosterCalls(t *testing.T) {
	rp := &reentrantPoster{fakePoster: newFakePoster()}
	clk := newFakeClock()
	s := newStream(rp, Options{Limit: 10, Log: quietLog()}, clk)
	rp.s = s
	s.Append("hello there")
	waitFor(t, "posts", func() bool { return len(s.IDs()) == 2 })
	if err := finishAsync(t, s, clk, context.Background(), "hello there world"); err != nil {
		t.Fatal(err)
	}
	assertVisible(t, rp.fakePoster, s, "hello there world", 10)
}

func TestEarlierPartsFrozenWhileStreaming(t *testing.T) {
	s, p, clk := newTestStream(20)
	s.Append("aaaa bbbb")
	waitFor(t, "first post", func() bool { return len(s.IDs()) == 1 })
	text := "aaaa bbbb cccc dddd eeee ffff gggg"
	s.Append(text[len("aaaa bbbb"):])
	waitFor(t, "continuation", func() bool { return len(s.IDs()) == 2 })
	waitFor(t, "edit timer", func() bool { return len(clk.Pending()) == 1 })
	clk.Advance(time.Second)
	want := Split(text, 20)
	waitFor(t, "first message frozen as its final part", func() bool {
		v := p.Visible()
		return len(v) == len(want) && v[0] == want[0] && v[1] == want[1]
	})
	s.Abort()
}

func TestFinishBlankFinalPostsNothingAndMarksStreamed(t *testing.T) {
	s, p, clk := newTestStream(100)
	if err := finishAsync(t, s, clk, context.Background(), " \n\t"); err != nil {
		t.Fatal(err)
	}
	if c := p.Calls(); len(c) != 0 {
		t.Fatalf("blank final posted %+v", c)
	}
	s2, p2, clk2 := newTestStream(100)
	s2.Append("thinking...")
	waitFor(t, "post", func() bool { return len(s2.IDs()) == 1 })
	if err := finishAsync(t, s2, clk2, context.Background(), "\n\n"); err != nil {
		t.Fatal(err)
	}
	if v := p2.Visible(); len(v) != 1 || v[0] != SurplusMarker {
		t.Fatalf("visible %q, want the streamed message marked surplus", v)
	}
}
