package slack

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/internal/redistest"
	"github.com/hotline-dev/hotline/sessionstore"
)

// A bridge restarted while Redis is down has no memory of its threads and
// a store that cannot answer: a follow-up in a thread it answered before
// is recognised from the thread's messages, and one in a stranger's thread
// is still left alone.
func TestE2EThreadContinuesWhileStoreDown(t *testing.T) {
	srv := redistest.Start(t)
	t.Cleanup(func() { waitRedialers(t) }) // registered first: runs last
	store := func() *sessionstore.Resilient {
		st, err := sessionstore.NewRedis(context.Background(), sessionstore.Options{RedisURL: srv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		r := sessionstore.NewResilient(st, testLog())
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
	st1 := store()
	eng1 := newRecEngine(t, func(c *core.Config) { c.Store = st1 })
	h := newHarness(t, eng1, nil)
	ts := h.mention("first", "")
	h.waitResult(eng1, ts, ts, 0)
	key := sessionKey(fakeslack.TeamID, channel, ts)
	deadline := time.Now().Add(wait)
	for {
		if _, err := st1.Get(context.Background(), key); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("record never reached Redis")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Restart: Redis is gone, the new router and adapter know nothing.
	h.cancel()
	<-h.done
	h.done <- nil // h.stop runs at cleanup
	srv.Kill()
	eng2 := newRecEngine(t, func(c *core.Config) { c.Store = store() })
	a2, err := New(baseConfig(h.fake), eng2, testLog())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a2.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if !h.fake.WaitUntil(func() bool { return a2.Ready() == nil }, wait) {
		t.Fatal("second adapter not ready")
	}
	if known, err := eng2.Known(context.Background(), key); known || err == nil {
		t.Fatalf("Known with Redis down = %v, %v; want an error", known, err)
	}

	stranger := fakeslack.UserTS() // a thread the bot never spoke in
	before := h.fake.Count("conversations.replies")
	h.say(user, "not for the bot", stranger)
	q := h.say(user, "second", ts)
	// The router says it cannot resume (the store is down), then answers.
	if got := h.waitResult(eng2, q, ts, 2); got != "ECHO: second" {
		t.Fatalf("follow-up answered %q", got)
	}
	if got := h.threadTexts(ts); !strings.Contains(got[1], "session store is unavailable") {
		t.Fatalf("no notice about the store: %q", got)
	}
	if n := h.fake.Count("conversations.replies") - before; n != 2 {
		t.Fatalf("conversations.replies called %d times, want 2 (one per unknown thread)", n)
	}
	if got := h.threadTexts(stranger); len(got) != 0 {
		t.Fatalf("answered in a stranger's thread: %q", got)
	}
	// Redis back: go-redis's background redialers succeed and end.
	srv.Restart(t)
}

// waitRedialers waits for go-redis's redial goroutines, which sleep a
// second between attempts and only then notice a closed client, so that
// goleak does not see them.
func waitRedialers(t *testing.T) {
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if !bytes.Contains(buf[:n], []byte("pool.(*ConnPool).tryDial")) {
			return
		}
		if time.Now().After(deadline) {
			t.Error("go-redis redial goroutines still running 5 s after the test")
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
