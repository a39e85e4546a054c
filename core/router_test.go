package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/core"
)

func TestTwoTurnsReuseOnePID(t *testing.T) {
	r := newRouter(t)
	key := "test:w:c:two"
	if got := ask(t, r, key, "hello").Text; got != "ECHO: hello" {
		t.Fatalf("first reply %q", got)
	}
	pid := pidOf(t, r, key)
	if got := ask(t, r, key, "second turn").Text; got != "ECHO: second turn" {
		t.Fatalf("second reply %q", got)
	}
	if pid == 0 || pidOf(t, r, key) != pid {
		t.Fatalf("pid changed: %d then %d", pid, pidOf(t, r, key))
	}
	if got := ask(t, r, key, "HISTORY").Text; got != "HISTORY: hello | second turn" {
		t.Fatalf("history %q", got)
	}
}

func TestConcurrentFirstMessagesSpawnOnce(t *testing.T) {
	var mu sync.Mutex
	spawns := 0
	r := newRouter(t, func(c *core.Config) {
		inner := c.Spawn
		c.Spawn = func(ctx context.Context, s core.Spawn) (core.Agent, error) {
			mu.Lock()
			spawns++
			mu.Unlock()
			return inner(ctx, s)
		}
	})
	const n = 50
	recs := make([]*rec, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs[i] = send(t, r, "test:w:c:burst", fmt.Sprintf("m%d", i))
		}()
	}
	wg.Wait()
	for i, rc := range recs {
		if got := rc.wait(t).Text; got != fmt.Sprintf("ECHO: m%d", i) {
			t.Fatalf("reply %d = %q", i, got)
		}
	}
	if spawns != 1 {
		t.Fatalf("%d spawns for one key, want 1", spawns)
	}
}

func TestMessagesDuringTurnAnsweredInOrder(t *testing.T) {
	r := newRouter(t)
	key := "test:w:c:queue"
	slow := send(t, r, key, "SLOW:100 first")
	more := []*rec{send(t, r, key, "second"), send(t, r, key, "third"), send(t, r, key, "fourth")}
	slow.wait(t)
	for i, rc := range more {
		want := []string{"ECHO: second", "ECHO: third", "ECHO: fourth"}[i]
		if got := rc.wait(t).Text; got != want {
			t.Fatalf("queued %d: %q, want %q", i, got, want)
		}
		if len(rc.queued) != 1 || rc.queued[0] != i+1 {
			t.Fatalf("queued %d acknowledged as %v, want [%d]", i, rc.queued, i+1)
		}
	}
	if len(slow.queued) != 0 {
		t.Fatalf("first message was told it queued: %v", slow.queued)
	}
}

func TestClosedLoop2000(t *testing.T) {
	r := newRouter(t)
	n := 2000
	if testing.Short() {
		n = 200
	}
	for i := range n {
		want := fmt.Sprintf("ECHO: loop %d", i)
		if got := ask(t, r, "test:w:c:loop", fmt.Sprintf("loop %d", i)).Text; got != want {
			t.Fatalf("reply %d = %q", i, got)
		}
	}
}

func TestQueueFullRefused(t *testing.T) {
	r := newRouter(t, func(c *core.Config) { c.QueueDepth = 2 })
	key := "test:w:c:full"
	first := send(t, r, key, "SLOW:200 first")
	a, b := send(t, r, key, "a"), send(t, r, key, "b")
	err := r.Submit(context.Background(), core.Inbound{Key: key, Text: "c", Reply: newRec()})
	if !errors.Is(err, core.ErrQueueFull) {
		t.Fatalf("third queued message: err %v, want ErrQueueFull", err)
	}
	for _, rc := range []*rec{first, a, b} {
		rc.wait(t)
	}
}

func TestStopInterruptsSlowTurn(t *testing.T) {
	r := newRouter(t)
	key := "test:w:c:stop"
	slow := send(t, r, key, "STREAM:200:50")
	waitDelta(t, slow)
	msg, err := r.Command(context.Background(), key, core.CmdStop)
	if err != nil || !strings.Contains(msg, "Stopping") {
		t.Fatalf("stop: %q %v", msg, err)
	}
	res := slow.wait(t)
	if !res.Interrupted {
		t.Fatalf("stopped turn not marked interrupted: %+v", res)
	}
	if got := ask(t, r, key, "after").Text; got != "ECHO: after" {
		t.Fatalf("after stop: %q", got)
	}
}

func waitDelta(t *testing.T, rc *rec) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		rc.mu.Lock()
		n := rc.deltas.Len()
		rc.mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no delta within 30s")
}

func TestCrashSurfacesAndRespawns(t *testing.T) {
	r := newRouter(t)
	key := "test:w:c:crash"
	ask(t, r, key, "before")
	pid := pidOf(t, r, key)
	err := send(t, r, key, "CRASH").failure(t)
	if !strings.Contains(err.Error(), "exited unexpectedly") {
		t.Fatalf("crash error %q", err)
	}
	if got := ask(t, r, key, "HISTORY").Text; !strings.HasPrefix(got, "HISTORY: before") {
		t.Fatalf("after crash the conversation did not resume: %q", got)
	}
	if p := pidOf(t, r, key); p == pid || p == 0 {
		t.Fatalf("no new process after crash: %d → %d", pid, p)
	}
}

func TestHangTimesOutAndRespawns(t *testing.T) {
	r := newRouter(t, func(c *core.Config) {
		c.TurnTimeout = 500 * time.Millisecond
		c.StopGrace = 300 * time.Millisecond
	})
	key := "test:w:c:hang"
	err := send(t, r, key, "HANGHARD").failure(t)
	if !strings.Contains(err.Error(), "did not finish within") {
		t.Fatalf("hang error %q", err)
	}
	if got := ask(t, r, key, "alive?").Text; got != "ECHO: alive?" {
		t.Fatalf("after hang: %q", got)
	}
}

func TestHugeSingleLineIntact(t *testing.T) {
	r := newRouter(t)
	rc := send(t, r, "test:w:c:huge", "HUGE:5000000")
	res := rc.wait(t)
	if len(res.Text) != 5000000 {
		t.Fatalf("result %d bytes, want 5000000", len(res.Text))
	}
	if rc.deltas.String() != res.Text {
		t.Fatalf("deltas (%d bytes) differ from the result", rc.deltas.Len())
	}
}

func TestCloseLeavesNoChild(t *testing.T) {
	r, err := core.New(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		ask(t, r, fmt.Sprintf("test:w:c:close%d", i), "hi")
	}
	if n := len(children(t)); n < 3 {
		t.Fatalf("want ≥3 warm agents before Close, see %d", n)
	}
	running := send(t, r, "test:w:c:closeslow", "STREAM:1000:20")
	waitDelta(t, running)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := running.failure(t); !strings.Contains(err.Error(), "resend") && !strings.Contains(err.Error(), "again") {
		t.Fatalf("interrupted turn told %q", err)
	}
	if kids := children(t); len(kids) != 0 {
		t.Fatalf("agents left after Close: %v", kids)
	}
	if err := r.Submit(context.Background(), core.Inbound{Key: "k", Text: "x", Reply: newRec()}); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
}

func waitStarted(t *testing.T, rc *rec) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		rc.mu.Lock()
		ok := rc.started
		rc.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("turn did not start within 30s")
}
