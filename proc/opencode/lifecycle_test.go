package opencode

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/proc"
)

const okReply = `{"info":{"id":"msg_b","role":"assistant","parentID":"msg_a","sessionID":"ses_x","time":{"created":1,"completed":2},"finish":"stop"},"parts":[{"type":"text","text":"done","id":"prt_1","messageID":"msg_b","sessionID":"ses_x"}]}`

const abortedReply = `{"info":{"id":"msg_b","role":"assistant","sessionID":"ses_x","error":{"name":"MessageAbortedError","data":{"message":"Aborted"}}},"parts":[]}`

// blockingPrompt makes POST /message wait for release (or the client).
// f.maxInflight records how many prompts ever ran at once.
func blockingPrompt(f *fakeOC) (started chan struct{}, release chan string) {
	started, release = make(chan struct{}, 8), make(chan string, 8)
	f.prompt = func(r *http.Request, _ []byte) (int, string) {
		f.mu.Lock()
		f.inflight++
		f.maxInflight = max(f.maxInflight, f.inflight)
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.inflight--; f.mu.Unlock() }()
		started <- struct{}{}
		select {
		case rep := <-release:
			id := r.PathValue("id")
			f.emit("session.status", map[string]any{"sessionID": id, "status": map[string]string{"type": "busy"}})
			f.emit("session.idle", map[string]any{"sessionID": id})
			return 200, rep
		case <-r.Context().Done():
			return 500, `{}`
		}
	}
	return started, release
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(guard):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

type turnOut struct {
	res *proc.Result
	err error
}

func goTurn(a *Agent, ctx context.Context) <-chan turnOut {
	out := make(chan turnOut, 1)
	go func() {
		res, err := a.Turn(ctx, proc.UserMessage{Text: "hi"}, func(*proc.Event) {})
		out <- turnOut{res, err}
	}()
	return out
}

func TestBusyThenStopAbortsAndCloses(t *testing.T) {
	f := newFakeOC(t)
	srv := f.attach(t)
	a := srv.newTestAgent(t, "ses_x", nil)
	started, release := blockingPrompt(f)
	out := goTurn(a, context.Background())
	wait(t, started, "prompt")
	if _, err := a.Turn(context.Background(), proc.UserMessage{Text: "again"}, func(*proc.Event) {}); !errors.Is(err, proc.ErrBusy) {
		t.Fatalf("second Turn: %v, want ErrBusy", err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- a.Stop(context.Background()) }()
	if id := wait(t, f.aborted, "abort"); id != "ses_x" {
		t.Fatalf("aborted %q", id)
	}
	release <- abortedReply
	o := wait(t, out, "turn")
	if o.err != nil || o.res.Subtype != "error_during_execution" {
		t.Fatalf("turn after stop: %+v, %v", o.res, o.err)
	}
	if err := wait(t, stopped, "stop"); err != nil {
		t.Fatal(err)
	}
	wait(t, a.Done(), "done")
	if _, err := a.Turn(context.Background(), proc.UserMessage{Text: "x"}, func(*proc.Event) {}); !errors.Is(err, proc.ErrClosed) {
		t.Fatalf("Turn after Stop: %v", err)
	}
	if srv.agent("ses_x") != nil {
		t.Fatal("stopped agent still routed")
	}
}

func TestAbandonedTurnIsAwaited(t *testing.T) {
	f := newFakeOC(t)
	srv := f.attach(t)
	a := srv.newTestAgent(t, "ses_x", nil)
	started, release := blockingPrompt(f)
	ctx, cancel := context.WithCancel(context.Background())
	out := goTurn(a, ctx)
	wait(t, started, "prompt")
	cancel()
	if o := wait(t, out, "turn"); !errors.Is(o.err, context.Canceled) {
		t.Fatalf("cancelled turn: %v", o.err)
	}
	out = goTurn(a, context.Background())
	release <- okReply // the abandoned prompt ends
	wait(t, started, "second prompt")
	release <- okReply
	if o := wait(t, out, "second turn"); o.err != nil || o.res.Text != "done" {
		t.Fatalf("second turn: %+v, %v", o.res, o.err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.maxInflight != 1 {
		t.Fatalf("%d prompts ran at once in one session", f.maxInflight)
	}
}

func TestServerGoneEndsTurn(t *testing.T) {
	f := newFakeOC(t)
	srv := f.attach(t)
	a := srv.newTestAgent(t, "ses_x", nil)
	started, _ := blockingPrompt(f)
	out := goTurn(a, context.Background())
	wait(t, started, "prompt")
	srv.waitErr = errors.New("signal: killed")
	close(srv.exited)
	srv.orphanAgents()
	o := wait(t, out, "turn")
	if !errors.Is(o.err, proc.ErrExited) || !strings.Contains(o.err.Error(), "killed") {
		t.Fatalf("turn on a dead server: %v", o.err)
	}
	wait(t, a.Done(), "done")
}

func TestResumeLost(t *testing.T) {
	f := newFakeOC(t)
	srv := f.attach(t)
	sup := &Supervisor{cfg: srv.cfg, srv: srv}
	for _, id := range []string{"ses_gone", "6ed5dfc0-1bdb-43c9-aaf0-d0a3932d31c8"} {
		a, err := sup.Spawn(context.Background(), "k", id, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		var seen *proc.Result
		res, err := a.Turn(context.Background(), proc.UserMessage{Text: "hi"}, func(ev *proc.Event) { seen = ev.Result })
		if err != nil || seen != res || !res.IsError || res.Subtype != "error_during_execution" || res.NumTurns != 0 ||
			len(res.Errors) != 1 || res.Errors[0] != "No conversation found with session ID: "+id {
			t.Fatalf("resume %s: %+v, %v", id, res, err)
		}
		_ = a.Stop(context.Background())
	}
	f.mu.Lock()
	patched := f.patched
	f.mu.Unlock()
	if len(patched) != 1 || patched[0] != "ses_gone" {
		t.Fatalf("PATCHed %v: a non-OpenCode id must not be sent", patched)
	}
}

func TestSpawnCreatesSessionWithRuleset(t *testing.T) {
	f := newFakeOC(t)
	srv := f.attach(t)
	sup := &Supervisor{cfg: srv.cfg, srv: srv}
	a, err := sup.Spawn(context.Background(), "slack:T:C:1", "uuid-hint", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop(context.Background())
	b, err := sup.Spawn(context.Background(), "slack:T:C:2", "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop(context.Background())
	if a.SessionID() == b.SessionID() || !strings.HasPrefix(a.SessionID(), "ses_") {
		t.Fatalf("sessions %q %q", a.SessionID(), b.SessionID())
	}
	f.mu.Lock()
	created := f.created
	f.mu.Unlock()
	perm, _ := created[0]["permission"].([]any)
	if len(perm) != len(DefaultPermission) || created[0]["title"] != "hotline slack:T:C:1" {
		t.Fatalf("create body: %v", created[0])
	}
	// A permission request with no handler is rejected, with a reason.
	f.emit("permission.asked", map[string]any{"id": "per_1", "sessionID": a.SessionID(), "permission": "bash",
		"patterns": []string{"ls"}, "metadata": map[string]string{"command": "ls"}})
	wait(t, f.replied, "reply")
	if r := f.reply("per_1"); r["reply"] != "reject" || r["message"] == "" {
		t.Fatalf("reply without a handler: %v", r)
	}
}

func TestWithdrawnPermissionIsNotAnswered(t *testing.T) {
	f := newFakeOC(t)
	srv := f.attach(t)
	entered, cancelled := make(chan struct{}, 1), make(chan struct{}, 1)
	h := handlerFunc(func(ctx context.Context, _ proc.ControlRequest) (any, error) {
		entered <- struct{}{}
		<-ctx.Done()
		cancelled <- struct{}{}
		return nil, ctx.Err()
	})
	a := srv.newTestAgent(t, "ses_x", h)
	f.emit("permission.asked", map[string]any{"id": "per_w", "sessionID": "ses_x", "permission": "bash"})
	wait(t, entered, "handler")
	f.emit("permission.replied", map[string]any{"sessionID": "ses_x", "requestID": "per_w", "reply": "reject"})
	wait(t, cancelled, "handler cancellation")
	a.Kill()
	wait(t, a.Done(), "done")
	if r := f.reply("per_w"); r != nil {
		t.Fatalf("a withdrawn request was answered: %v", r)
	}
}

func TestQuestionIsDismissed(t *testing.T) {
	f := newFakeOC(t)
	srv := f.attach(t)
	srv.newTestAgent(t, "ses_x", nil)
	f.emit("question.asked", map[string]any{"id": "que_1", "sessionID": "ses_x", "questions": []any{}})
	if got := wait(t, f.replied, "question reject"); got != "question:que_1" {
		t.Fatalf("answered %q", got)
	}
}

type handlerFunc func(ctx context.Context, req proc.ControlRequest) (any, error)

func (f handlerFunc) HandleControl(ctx context.Context, req proc.ControlRequest) (any, error) {
	return f(ctx, req)
}
