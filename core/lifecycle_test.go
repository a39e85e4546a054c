package core_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/sessionstore"
)

func TestResetStartsNewConversation(t *testing.T) {
	r := newRouter(t)
	key := "test:w:c:reset"
	ask(t, r, key, "one")
	if _, err := r.Command(context.Background(), key, core.CmdReset); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, r, key, "HISTORY").Text; got != "HISTORY: " && got != "HISTORY:" {
		t.Fatalf("after reset the agent remembers: %q", got)
	}
}

func TestIdleEvictionResumes(t *testing.T) {
	r := newRouter(t, func(c *core.Config) { c.IdleTimeout = 300 * time.Millisecond })
	key := "test:w:c:idle"
	ask(t, r, key, "one")
	ask(t, r, key, "two")
	pid := pidOf(t, r, key)
	deadline := time.Now().Add(20 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if alive(pid) {
		t.Fatalf("idle agent %d still running", pid)
	}
	if got := ask(t, r, key, "HISTORY").Text; got != "HISTORY: one | two" {
		t.Fatalf("after idle eviction: %q", got)
	}
}

func TestMaxSessionsEvictsLeastRecentlyUsed(t *testing.T) {
	r := newRouter(t, func(c *core.Config) { c.MaxSessions = 2 })
	for i := range 3 {
		ask(t, r, fmt.Sprintf("test:w:c:lru%d", i), fmt.Sprintf("first %d", i))
	}
	if n := r.Sessions(); n > 2 {
		t.Fatalf("%d warm agents, cap 2", n)
	}
	// lru0 was evicted; it resumes its conversation.
	if got := ask(t, r, "test:w:c:lru0", "HISTORY").Text; got != "HISTORY: first 0" {
		t.Fatalf("evicted session lost its conversation: %q", got)
	}
}

func TestCloseTellsQueuedToResend(t *testing.T) {
	r, err := core.New(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	key := "test:w:c:drain"
	first := send(t, r, key, "SLOW:50 first")
	waitStarted(t, first)
	queued := send(t, r, key, "second")
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res := first.wait(t); res.Text != "ECHO: SLOW:50 first" {
		t.Fatalf("running turn within grace: %q", res.Text)
	}
	if err := queued.failure(t); !strings.Contains(err.Error(), "resend") {
		t.Fatalf("queued message told %q", err)
	}
}

func TestStatusAndHelp(t *testing.T) {
	r := newRouter(t)
	key := "test:w:c:status"
	ask(t, r, key, "hi")
	st, err := r.Command(context.Background(), key, core.CmdStatus)
	if err != nil || !strings.Contains(st, "warm (pid") || !strings.Contains(st, "1 turns") {
		t.Fatalf("status %q %v", st, err)
	}
	if h, _ := r.Command(context.Background(), key, core.CmdHelp); !strings.Contains(h, "stop") {
		t.Fatalf("help %q", h)
	}
	if _, err := r.Command(context.Background(), key, core.Cmd("bogus")); err == nil {
		t.Fatal("unknown command accepted")
	}
}

// Many new threads at once under a small cap: every message is answered,
// and no more agents run than the cap allows.
func TestBurstOfNewThreadsUnderCap(t *testing.T) {
	const n, limit = 30, 3
	r := newRouter(t, func(c *core.Config) { c.MaxSessions = limit })
	recs := make([]*rec, n)
	for i := range recs {
		recs[i] = send(t, r, fmt.Sprintf("test:w:c:burst%d", i), fmt.Sprintf("hello %d", i))
	}
	stop := make(chan struct{})
	peak := make(chan int)
	go func() {
		m := 0
		for {
			select {
			case <-stop:
				peak <- m
				return
			default:
			}
			m = max(m, len(children(t)))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for i, rc := range recs {
		if got := rc.wait(t).Text; got != fmt.Sprintf("ECHO: hello %d", i) {
			t.Fatalf("thread %d: %q", i, got)
		}
	}
	close(stop)
	if m := <-peak; m > limit {
		t.Fatalf("%d agents at once, cap %d", m, limit)
	}
}

func TestAttachmentsOnlyImagesReachTheAgent(t *testing.T) {
	r := newRouter(t)
	key := "test:w:c:attach"
	png := []byte("\x89PNG\r\n\x1a\n0000")
	rc := newRec()
	in := core.Inbound{Key: key, Text: "look", Reply: rc, Attachments: []core.Attachment{
		{Name: "a.png", MediaType: "image/png", Data: png}, {Name: "notes.txt", MediaType: "text/plain", Data: []byte("x")},
	}}
	if err := r.Submit(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	res := rc.wait(t)
	if !strings.Contains(res.Text, "[image image/png 12 bytes]") || !strings.Contains(res.Text, "look") {
		t.Fatalf("agent saw %q", res.Text)
	}
	if len(rc.notices) != 1 || !strings.Contains(rc.notices[0], "notes.txt") {
		t.Fatalf("notices %q", rc.notices)
	}
	empty := newRec()
	in = core.Inbound{Key: key, Reply: empty, Attachments: []core.Attachment{{Name: "b.zip", MediaType: "application/zip"}}}
	if err := r.Submit(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if err := empty.failure(t); !strings.Contains(err.Error(), "b.zip") {
		t.Fatalf("nothing to send: %v", err)
	}
}

// slowDone holds Done until released, as an adapter still delivering a
// reply under rate limits does.
type slowDone struct {
	*rec
	entered, release chan struct{}
}

func (s *slowDone) Done(res core.Result) {
	close(s.entered)
	<-s.release
	s.rec.Done(res)
}

// The record that clears a message's in-flight marker is written only once
// the reply has been delivered: a bridge that dies while Done is still
// delivering must tell the thread after its restart.
func TestInFlightClearedOnlyAfterDone(t *testing.T) {
	st, err := sessionstore.NewBolt(filepath.Join(t.TempDir(), "sessions.db"), sessionstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	r := newRouter(t, func(c *core.Config) { c.Store = st })
	key := "test:w:c:inflight"
	sd := &slowDone{rec: newRec(), entered: make(chan struct{}), release: make(chan struct{})}
	var once sync.Once
	release := func() { once.Do(func() { close(sd.release) }) }
	t.Cleanup(release) // runs before the router's Close, which waits for Done
	if err := r.Submit(context.Background(), core.Inbound{Key: key, Text: "hi", MessageID: "m1", Reply: sd}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sd.entered:
	case <-time.After(60 * time.Second):
		t.Fatal("Done not called")
	}
	// Well past the recorder's batching delay: a write made before Done
	// would have landed by now.
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if got, err := st.Get(context.Background(), key); err != nil || got.InFlight != "m1" {
			t.Fatalf("while Done runs: record %+v, %v; want in-flight m1", got, err)
		}
	}
	release()
	sd.wait(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := st.Get(context.Background(), key)
		if err == nil && got.InFlight == "" && got.Turns == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Done: record %+v, %v", got, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
