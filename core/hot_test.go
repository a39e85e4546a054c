package core_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/core"
)

// warmTurn warms key up, then sends prompt and waits for its first delta.
func warmTurn(t *testing.T, r *core.Router, key, prompt string) *rec {
	t.Helper()
	ask(t, r, key, "warm up")
	rc := send(t, r, key, prompt)
	waitDelta(t, rc)
	return rc
}

// workers counts session worker goroutines.
func workers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "core.(*Router).work(")
}

// A message to a warm session runs without a worker goroutine, and so do
// the messages queued behind it; they still come back in order.
func TestWarmTurnsRunWithoutWorker(t *testing.T) {
	r := newRouter(t)
	key := "test:w:c:hot"
	slow := warmTurn(t, r, key, "STREAM:100:10")
	queued := []*rec{send(t, r, key, "q1"), send(t, r, key, "q2"), send(t, r, key, "q3")}
	if n := workers(); n != 0 {
		t.Errorf("%d worker goroutines during a warm turn, want 0", n)
	}
	slow.wait(t)
	for i, rc := range queued {
		if got, want := rc.wait(t).Text, fmt.Sprintf("ECHO: q%d", i+1); got != want {
			t.Fatalf("queued %d: %q, want %q", i, got, want)
		}
		if len(rc.queued) != 1 || rc.queued[0] != i+1 {
			t.Fatalf("queued %d told positions %v", i, rc.queued)
		}
	}
}

func TestWarmHangTimesOut(t *testing.T) {
	r := newRouter(t, func(c *core.Config) {
		c.TurnTimeout = 500 * time.Millisecond
		c.StopGrace = 300 * time.Millisecond
	})
	key := "test:w:c:hothang"
	ask(t, r, key, "warm up")
	hang := send(t, r, key, "HANGHARD")
	next := send(t, r, key, "after the hang")
	if err := hang.failure(t); !strings.Contains(err.Error(), "did not finish within") {
		t.Fatalf("hang error %q", err)
	}
	if got := next.wait(t).Text; got != "ECHO: after the hang" {
		t.Fatalf("after hang: %q", got)
	}
}

// A reset asked during a warm turn forgets the conversation once the turn
// has been reported; the queued message already starts the new one.
func TestWarmResetDuringTurn(t *testing.T) {
	r := newRouter(t)
	key := "test:w:c:hotreset"
	slow := warmTurn(t, r, key, "STREAM:50:10")
	if _, err := r.Command(context.Background(), key, core.CmdReset); err != nil {
		t.Fatal(err)
	}
	after := send(t, r, key, "HISTORY")
	slow.wait(t)
	if got := after.wait(t).Text; got != "HISTORY: " && got != "HISTORY:" {
		t.Fatalf("after reset the agent remembers: %q", got)
	}
}

func TestWarmStopThenNext(t *testing.T) {
	r := newRouter(t)
	key := "test:w:c:hotstop"
	slow := warmTurn(t, r, key, "STREAM:200:50")
	pid := pidOf(t, r, key)
	if _, err := r.Command(context.Background(), key, core.CmdStop); err != nil {
		t.Fatal(err)
	}
	if res := slow.wait(t); !res.Interrupted {
		t.Fatalf("stopped turn not marked interrupted: %+v", res)
	}
	if got := ask(t, r, key, "after").Text; got != "ECHO: after" {
		t.Fatalf("after stop: %q", got)
	}
	if p := pidOf(t, r, key); p != pid {
		t.Fatalf("stop replaced the agent: pid %d → %d", pid, p)
	}
}

func TestCloseDuringWarmTurn(t *testing.T) {
	r, err := core.New(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	running := warmTurn(t, r, "test:w:c:hotclose", "STREAM:1000:20")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := running.failure(t); !strings.Contains(err.Error(), "again") {
		t.Fatalf("interrupted turn told %q", err)
	}
	if kids := children(t); len(kids) != 0 {
		t.Fatalf("agents left after Close: %v", kids)
	}
}
