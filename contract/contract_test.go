//go:build contract

package contract

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hotline-dev/hotline/proc"
)

// Two turns in one warm process: same PID, deterministic replies, the
// deltas add up to the result, and the second request carries the first
// turn as history.
func TestWarmTurnsShareOneProcess(t *testing.T) {
	r := newRig(t)
	const sid = "5e55a000-0000-4000-8000-000000000001"
	p := r.start(r.config(sid, false))
	pid := p.PID()

	res, l := turn(t, p, "hello")
	if res.IsError || res.Subtype != "success" || res.Text != "ECHO: hello" {
		t.Fatalf("first result %+v", res)
	}
	if l.deltas.String() != res.Text {
		t.Fatalf("text deltas %q do not add up to the result %q", l.deltas.String(), res.Text)
	}
	if l.initSID != sid || res.SessionID != sid {
		t.Fatalf("session id: init %q, result %q, want %q", l.initSID, res.SessionID, sid)
	}
	if !l.has(proc.EventText) || l.types[len(l.types)-1] != proc.EventResult {
		t.Fatalf("event types %v: want an assistant text and result last", l.types)
	}

	res, _ = turn(t, p, "second turn")
	if res.Text != "ECHO: second turn" {
		t.Fatalf("second result %+v", res)
	}
	if p.PID() != pid {
		t.Fatalf("PID changed from %d to %d between warm turns", pid, p.PID())
	}
	req := r.requestFor("second turn")
	if !slices.Contains(req.UserTexts(), "hello") || !slices.Contains(req.AssistantTexts(), "ECHO: hello") {
		t.Fatalf("second request lacks the first turn: users %q, assistant %q", req.UserTexts(), req.AssistantTexts())
	}
	stop(t, p)
}

// --resume in a new process after a graceful Stop restores the history:
// the fake API sees the earlier turn in the resumed process's request.
func TestResumeAfterGracefulStop(t *testing.T) {
	r := newRig(t)
	const sid = "5e55a000-0000-4000-8000-000000000002"
	a := r.start(r.config(sid, false))
	if res, _ := turn(t, a, "remember ALPHA-123"); res.Text != "ECHO: remember ALPHA-123" {
		t.Fatalf("first process result %+v", res)
	}
	stop(t, a)
	transcript := filepath.Join(r.home, ".claude", "projects", projectDir(r.work), sid+".jsonl")
	if _, err := os.Stat(transcript); err != nil {
		t.Fatalf("transcript after Stop: %v", err)
	}

	b := r.start(r.config(sid, true))
	if b.PID() == a.PID() {
		t.Fatalf("resumed process has the old PID %d", a.PID())
	}
	res, l := turn(t, b, "after resume")
	if res.Text != "ECHO: after resume" || res.SessionID != sid || l.initSID != sid {
		t.Fatalf("resumed result %+v (init session %q)", res, l.initSID)
	}
	req := r.requestFor("after resume")
	if !slices.Contains(req.UserTexts(), "remember ALPHA-123") || !slices.Contains(req.AssistantTexts(), "ECHO: remember ALPHA-123") {
		t.Fatalf("resumed request lacks the earlier turn: users %q, assistant %q", req.UserTexts(), req.AssistantTexts())
	}
	stop(t, b)
}

// projectDir is how the CLI names a working directory under
// ~/.claude/projects (protocol README).
func projectDir(dir string) string {
	return strings.NewReplacer("/", "-", ".", "-").Replace(dir)
}

// An unknown --resume id is an error result and the process exits.
func TestResumeUnknownSession(t *testing.T) {
	r := newRig(t)
	p := r.start(r.config("00000000-0000-4000-8000-000000000000", true))
	ctx, cancel := context.WithTimeout(context.Background(), turnTimeout)
	defer cancel()
	res, err := p.Turn(ctx, proc.UserMessage{Text: "hello?"}, nil)
	switch {
	case err == nil:
		if !res.IsError || len(res.Errors) == 0 || !strings.Contains(res.Errors[0], "No conversation found") {
			t.Fatalf("result %+v: want an error naming the missing conversation", res)
		}
	case errors.Is(err, proc.ErrExited):
		// The CLI may exit before proc hands over the result; then the
		// exit error must say so.
	default:
		t.Fatalf("turn: %v", err)
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		t.Fatal("CLI did not exit after an unknown --resume id")
	}
}

// guard is the test's stand-in for the bridge's firewall and approval
// flow: the PreToolUse hook denies rm -rf, can_use_tool allows the rest.
type guard struct {
	mu   sync.Mutex
	seen []string // "subtype:command"
}

func (g *guard) HandleControl(_ context.Context, req proc.ControlRequest) (any, error) {
	cmd := commandOf(req.Input)
	g.mu.Lock()
	g.seen = append(g.seen, req.Subtype+":"+cmd)
	g.mu.Unlock()
	switch req.Subtype {
	case "hook_callback":
		if strings.Contains(cmd, "rm -rf") {
			return map[string]any{"hookSpecificOutput": map[string]any{
				"hookEventName": "PreToolUse", "permissionDecision": "deny",
				"permissionDecisionReason": "WAF rule rm-rf: recursive delete",
			}}, nil
		}
		return map[string]any{}, nil
	case "can_use_tool":
		return map[string]any{"behavior": "allow", "updatedInput": req.Input}, nil
	}
	return nil, errors.New("unexpected control request " + req.Subtype)
}

func (g *guard) calls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.seen...)
}

func TestPermissionThroughHookAndPrompt(t *testing.T) {
	r := newRig(t)
	g := &guard{}
	cfg := r.config("5e55a000-0000-4000-8000-000000000003", false)
	cfg.PermissionPrompt = true
	cfg.Hooks = []proc.HookMatcher{{Matcher: "Bash", CallbackID: "waf_bash"}}
	cfg.Control = g
	p := r.start(cfg)

	res, l := turn(t, p, "TOOL_BASH: rm -rf /")
	if len(res.Denials) != 1 || res.Denials[0].ToolName != "Bash" || !strings.Contains(string(res.Denials[0].Input), "rm -rf /") {
		t.Fatalf("denials %+v, want the rm -rf call", res.Denials)
	}
	if !strings.HasPrefix(res.Text, "TOOL_RESULT: (is_error) ") || !strings.Contains(res.Text, "WAF rule rm-rf") {
		t.Fatalf("result %q: want the hook's denial reported back", res.Text)
	}
	if tr := toolResult(l); tr == nil || !tr.IsError || !strings.Contains(tr.Text, "WAF rule rm-rf") {
		t.Fatalf("tool_result event %+v: want an error carrying the reason", tr)
	}
	if got := g.calls(); !slices.Equal(got, []string{"hook_callback:rm -rf /"}) {
		t.Fatalf("control requests %q: a hook deny must not reach can_use_tool", got)
	}

	target := filepath.Join(r.work, "made_by_tool")
	res, l = turn(t, p, "TOOL_BASH: touch "+target)
	if res.IsError || len(res.Denials) != 0 || !strings.HasPrefix(res.Text, "TOOL_RESULT: ") || strings.Contains(res.Text, "is_error") {
		t.Fatalf("allowed tool result %+v", res)
	}
	if _, err := os.Stat(target); err != nil {
		t.Fatalf("the allowed command did not run: %v", err)
	}
	if tr := toolResult(l); tr == nil || tr.IsError {
		t.Fatalf("tool_result event %+v: want success", tr)
	}
	want := []string{"hook_callback:rm -rf /", "hook_callback:touch " + target, "can_use_tool:touch " + target}
	if got := g.calls(); !slices.Equal(got, want) {
		t.Fatalf("control requests %q, want %q", got, want)
	}
	stop(t, p)
}

func toolResult(l *turnLog) *proc.Event {
	for i := range l.tools {
		if l.tools[i].Type == proc.EventToolResult {
			return &l.tools[i]
		}
	}
	return nil
}

// An interrupt ends a slow turn with error_during_execution and the same
// process answers the next turn.
func TestInterruptSlowTurn(t *testing.T) {
	r := newRig(t)
	p := r.start(r.config("5e55a000-0000-4000-8000-000000000004", false))
	pid := p.PID()

	streaming := make(chan struct{})
	var once sync.Once
	type outcome struct {
		res *proc.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), turnTimeout)
		defer cancel()
		res, err := p.Turn(ctx, proc.UserMessage{Text: "SLOW:2000 a reply that would take half a minute to stream"}, func(ev *proc.Event) {
			if ev.Type == proc.EventTextDelta {
				once.Do(func() { close(streaming) })
			}
		})
		done <- outcome{res, err}
	}()
	select {
	case <-streaming:
	case o := <-done:
		t.Fatalf("slow turn ended before streaming: %+v %v", o.res, o.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), turnTimeout)
	defer cancel()
	if err := p.Interrupt(ctx); err != nil {
		t.Fatalf("Interrupt: %v", err)
	}
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		t.Fatal("interrupted turn did not end")
	}
	if o.err != nil || o.res.Subtype != "error_during_execution" || !o.res.IsError {
		t.Fatalf("interrupted turn: %+v %v", o.res, o.err)
	}
	res, _ := turn(t, p, "after interrupt")
	if res.Text != "ECHO: after interrupt" || p.PID() != pid {
		t.Fatalf("turn after interrupt %+v (pid %d, was %d)", res, p.PID(), pid)
	}
	stop(t, p)
}

func commandOf(input []byte) string {
	var in struct {
		Command string `json:"command"`
	}
	_ = json.Unmarshal(input, &in)
	return in.Command
}

// An API failure is an error result, not a dead process: the next turn in
// the same process works.
func TestAPIErrorThenRecovery(t *testing.T) {
	r := newRig(t)
	p := r.start(r.config("5e55a000-0000-4000-8000-000000000005", false))
	for prompt, status := range map[string]int{"please FAIL500": 500, "please FAIL429": 429} {
		res, _ := turn(t, p, prompt)
		if !res.IsError || res.APIErrorStatus != status || !strings.HasPrefix(res.Text, "API Error") {
			t.Fatalf("%q: result %+v, want an API error %d", prompt, res, status)
		}
	}
	if res, _ := turn(t, p, "recovered"); res.IsError || res.Text != "ECHO: recovered" {
		t.Fatalf("turn after API errors: %+v", res)
	}
	stop(t, p)
}
