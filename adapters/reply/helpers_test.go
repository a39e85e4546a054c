package reply

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor polls cond; the timeout only guards against hangs.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeClock only moves when a test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*waiter
}

type waiter struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &waiter{at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		w.c <- c.now
		return w.c, func() bool { return false }
	}
	c.waiters = append(c.waiters, w)
	return w.c, func() bool { return c.remove(w) }
}

func (c *fakeClock) remove(w *waiter) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.waiters {
		if x == w {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			return true
		}
	}
	return false
}

// Advance moves time on and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.c <- c.now
	}
	c.waiters = kept
}

// Pending returns how far in the future each armed timer fires.
func (c *fakeClock) Pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, w := range c.waiters {
		out = append(out, w.at.Sub(c.now))
	}
	return out
}

// AdvanceToNext fires the earliest armed timer and reports its delay.
func (c *fakeClock) AdvanceToNext() (time.Duration, bool) {
	p := c.Pending()
	if len(p) == 0 {
		return 0, false
	}
	d := p[0]
	for _, x := range p {
		d = min(d, x)
	}
	c.Advance(d)
	return d, true
}

type call struct {
	op, id, text string
	ok           bool
}

// fakePoster records calls and keeps the messages a user would see.
type fakePoster struct {
	mu    sync.Mutex
	calls []call
	order []string
	msgs  map[string]string
	// fail, when set, decides per call (op "post"/"edit", 1-based count of
	// that op) whether to fail it.
	fail func(op string, n int) error
	// gate, when set, blocks every call until it receives or ctx ends.
	gate    chan struct{}
	posts   int
	edits   int
	entered atomic.Int32 // calls that reached the gate
}

func newFakePoster() *fakePoster { return &fakePoster{msgs: map[string]string{}} }

func (f *fakePoster) wait(ctx context.Context) error {
	f.entered.Add(1)
	f.mu.Lock()
	g := f.gate
	f.mu.Unlock()
	if g == nil {
		return nil
	}
	select {
	case <-g:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakePoster) Post(ctx context.Context, text string) (string, error) {
	if err := f.wait(ctx); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts++
	if f.fail != nil {
		if err := f.fail("post", f.posts); err != nil {
			f.calls = append(f.calls, call{op: "post", text: text})
			return "", err
		}
	}
	id := fmt.Sprintf("m%d", len(f.order)+1)
	f.order = append(f.order, id)
	f.msgs[id] = text
	f.calls = append(f.calls, call{op: "post", id: id, text: text, ok: true})
	return id, nil
}

func (f *fakePoster) Edit(ctx context.Context, id, text string) error {
	if err := f.wait(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.edits++
	if _, ok := f.msgs[id]; !ok {
		return errors.New("edit of unknown message " + id)
	}
	if f.fail != nil {
		if err := f.fail("edit", f.edits); err != nil {
			f.calls = append(f.calls, call{op: "edit", id: id, text: text})
			return err
		}
	}
	f.msgs[id] = text
	f.calls = append(f.calls, call{op: "edit", id: id, text: text, ok: true})
	return nil
}

func (f *fakePoster) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakePoster) Visible() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.order))
	for i, id := range f.order {
		out[i] = f.msgs[id]
	}
	return out
}

func (f *fakePoster) setFail(fn func(op string, n int) error) {
	f.mu.Lock()
	f.fail = fn
	f.mu.Unlock()
}

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetLevel(logrus.PanicLevel)
	return l
}

// finishAsync runs Finish and, while it has not returned, fires the stream's
// timers one by one so that no test waits in real time.
func finishAsync(t *testing.T, s *Stream, clk *fakeClock, ctx context.Context, final string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Finish(ctx, final) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			return err
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("Finish did not return")
		}
		if _, ok := clk.AdvanceToNext(); !ok {
			time.Sleep(100 * time.Microsecond)
		}
	}
}
