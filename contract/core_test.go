//go:build contract

package contract

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/waf"
)

// reply is a Responder that records one message's life.
type reply struct {
	mu        sync.Mutex
	queued    int
	deltas    strings.Builder
	notices   []string
	approvals []core.Approval
	res       *core.Result
	err       error
	streaming chan struct{} // closed at the first delta
	done      chan struct{} // closed at Done or Failed
	onceS     sync.Once
}

func newReply() *reply {
	return &reply{streaming: make(chan struct{}), done: make(chan struct{})}
}

func (r *reply) Queued(pos int) { r.mu.Lock(); r.queued = pos; r.mu.Unlock() }
func (r *reply) Started()       {}
func (r *reply) Delta(text string) {
	r.mu.Lock()
	r.deltas.WriteString(text)
	r.mu.Unlock()
	r.onceS.Do(func() { close(r.streaming) })
}
func (r *reply) ToolUse(string, string) {}
func (r *reply) Notice(text string)     { r.mu.Lock(); r.notices = append(r.notices, text); r.mu.Unlock() }

// Approve allows what the CLI itself asks about and refuses what the
// firewall escalates, so the test sees both paths.
func (r *reply) Approve(_ context.Context, a core.Approval) (core.Decision, error) {
	r.mu.Lock()
	r.approvals = append(r.approvals, a)
	r.mu.Unlock()
	return core.Decision{Allow: a.Rule == "", By: "contract-test"}, nil
}
func (r *reply) Done(res core.Result) { r.mu.Lock(); r.res = &res; r.mu.Unlock(); close(r.done) }
func (r *reply) Failed(err error)     { r.mu.Lock(); r.err = err; r.mu.Unlock(); close(r.done) }

func (r *reply) wait(t *testing.T) core.Result {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(turnTimeout):
		t.Fatal("no Done or Failed within the guard timeout")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		t.Fatalf("turn failed: %v", r.err)
	}
	return *r.res
}

// TestCoreRouterOnRealCLI runs the bridge's core path (Router, ProcSpawner,
// the real firewall, approvals, stop) over the real CLI in one thread.
func TestCoreRouterOnRealCLI(t *testing.T) {
	rg := newRig(t)
	fw, err := waf.New(waf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	router, err := core.New(core.Config{
		Spawn: core.ProcSpawner(rg.config("", false), false), Firewall: fw,
		Agent: "claude", Log: rg.log, TurnTimeout: turnTimeout, ApprovalTimeout: turnTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := router.Close(ctx); err != nil {
			t.Errorf("router close: %v", err)
		}
	}()
	const key = "test:W1:C1:T1"
	submit := func(text string) *reply {
		rep := newReply()
		if err := router.Submit(context.Background(), core.Inbound{Key: key, Text: text, Author: "U1", Reply: rep}); err != nil {
			t.Fatalf("submit %q: %v", text, err)
		}
		return rep
	}

	// Written while the first turn runs, these would be merged by the CLI;
	// the router must hold them and get one reply each, in order.
	reps := []*reply{submit("SLOW:300 first"), submit("second"), submit("third")}
	for i, want := range []string{"ECHO: SLOW:300 first", "ECHO: second", "ECHO: third"} {
		if res := reps[i].wait(t); res.Text != want || res.IsError {
			t.Fatalf("reply %d: %+v, want %q", i+1, res, want)
		}
	}
	// Positions depend on whether the first message had left the queue yet;
	// both later ones must have been acknowledged as waiting, in order.
	if reps[1].queued < 1 || reps[2].queued <= reps[1].queued {
		t.Fatalf("queued positions %d, %d: want both acknowledged, in order", reps[1].queued, reps[2].queued)
	}

	rep := submit("TOOL_BASH: rm -rf /")
	res := rep.wait(t)
	if !strings.Contains(res.Text, "hotline firewall") || len(rep.notices) == 0 || !strings.Contains(rep.notices[0], "firewall") {
		t.Fatalf("firewall deny: result %q, notices %q", res.Text, rep.notices)
	}

	target := filepath.Join(rg.work, "approved_by_human")
	rep = submit("TOOL_BASH: touch " + target)
	if res := rep.wait(t); res.IsError || !strings.HasPrefix(res.Text, "TOOL_RESULT: ") || strings.Contains(res.Text, "is_error") {
		t.Fatalf("approved tool: %+v", res)
	}
	if len(rep.approvals) != 1 || !strings.Contains(rep.approvals[0].Command, "touch") {
		t.Fatalf("approvals %+v: want one for the touch", rep.approvals)
	}
	if _, err := os.Stat(target); err != nil {
		t.Fatalf("approved command did not run: %v", err)
	}

	slow := submit("SLOW:2000 a reply that would stream for half a minute")
	select {
	case <-slow.streaming:
	case <-time.After(turnTimeout):
		t.Fatal("slow turn never streamed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), turnTimeout)
	defer cancel()
	if _, err := router.Command(ctx, key, core.CmdStop); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if res := slow.wait(t); !res.Interrupted {
		t.Fatalf("stopped turn: %+v, want Interrupted", res)
	}
	if res := submit("after stop").wait(t); res.Text != "ECHO: after stop" {
		t.Fatalf("turn after stop: %+v", res)
	}
}
