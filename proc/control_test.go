package proc

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

// approver records control requests and answers them with a function.
type approver struct {
	mu     sync.Mutex
	reqs   []ControlRequest
	answer func(ctx context.Context, req ControlRequest) (any, error)
}

func (a *approver) HandleControl(ctx context.Context, req ControlRequest) (any, error) {
	a.mu.Lock()
	a.reqs = append(a.reqs, req)
	a.mu.Unlock()
	return a.answer(ctx, req)
}

func (a *approver) seen(subtype string) []ControlRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []ControlRequest
	for _, r := range a.reqs {
		if r.Subtype == subtype {
			out = append(out, r)
		}
	}
	return out
}

func toolConfig(t *testing.T, h ControlHandler) Config {
	cfg := mockConfig(t)
	cfg.Hooks = []HookMatcher{{Matcher: "Bash", CallbackID: "waf"}}
	cfg.PermissionPrompt = true
	cfg.Control = h
	return cfg
}

func TestControlAllow(t *testing.T) {
	a := &approver{answer: func(ctx context.Context, req ControlRequest) (any, error) {
		if req.Subtype == "can_use_tool" {
			return map[string]any{"behavior": "allow", "updatedInput": req.Input}, nil
		}
		return map[string]any{}, nil
	}}
	p := startMock(t, toolConfig(t, a))
	var c collect
	res, err := p.Turn(guardCtx(t), UserMessage{Text: "TOOL_BASH: touch made_by_tool"}, c.h)
	if err != nil {
		t.Fatal(err)
	}
	hooks, asks := a.seen("hook_callback"), a.seen("can_use_tool")
	if len(hooks) != 1 || hooks[0].CallbackID != "waf" || hooks[0].HookEvent != "PreToolUse" ||
		hooks[0].ToolName != "Bash" || !strings.Contains(string(hooks[0].Input), "touch made_by_tool") {
		t.Fatalf("hook requests %+v", hooks)
	}
	if len(asks) != 1 || asks[0].ToolName != "Bash" || asks[0].ToolUseID == "" ||
		!strings.Contains(string(asks[0].Input), "touch made_by_tool") || len(asks[0].Raw) == 0 {
		t.Fatalf("can_use_tool requests %+v", asks)
	}
	uses, results := c.of(EventToolUse), c.of(EventToolResult)
	if len(uses) != 1 || uses[0].ToolName != "Bash" || uses[0].ToolUseID != asks[0].ToolUseID {
		t.Fatalf("tool uses %+v", uses)
	}
	var in struct{ Command string }
	if err := json.Unmarshal(uses[0].Input, &in); err != nil || in.Command != "touch made_by_tool" {
		t.Fatalf("tool input %s: %v", uses[0].Input, err)
	}
	if len(results) != 1 || results[0].IsError || results[0].ToolUseID != uses[0].ToolUseID {
		t.Fatalf("tool results %+v", results)
	}
	if res.IsError || len(res.Denials) != 0 {
		t.Fatalf("result %+v", res)
	}
}

func TestControlDefaultsDeny(t *testing.T) {
	p := startMock(t, toolConfig(t, nil))
	var c collect
	res, err := p.Turn(guardCtx(t), UserMessage{Text: "TOOL_BASH: touch made_by_tool"}, c.h)
	if err != nil {
		t.Fatal(err)
	}
	results := c.of(EventToolResult)
	if len(results) != 1 || !results[0].IsError || !strings.Contains(results[0].Text, "no approver configured") {
		t.Fatalf("tool results %+v", results)
	}
	if len(res.Denials) != 1 || res.Denials[0].ToolName != "Bash" {
		t.Fatalf("denials %+v", res.Denials)
	}
}

func TestControlHandlerError(t *testing.T) {
	a := &approver{answer: func(ctx context.Context, req ControlRequest) (any, error) {
		if req.Subtype == "can_use_tool" {
			return nil, errors.New("approver broke")
		}
		return map[string]any{}, nil
	}}
	p := startMock(t, toolConfig(t, a))
	var c collect
	if _, err := p.Turn(guardCtx(t), UserMessage{Text: "TOOL_BASH: touch made_by_tool"}, c.h); err != nil {
		t.Fatal(err)
	}
	if results := c.of(EventToolResult); len(results) != 1 || !results[0].IsError {
		t.Fatalf("an error answer must not allow the tool: %+v", results)
	}
}

// The CLI withdraws a pending can_use_tool on interrupt; the handler's
// context must end while the process lives on.
func TestControlCancelRequest(t *testing.T) {
	entered := make(chan struct{})
	handlerErr := make(chan error, 1)
	a := &approver{answer: func(ctx context.Context, req ControlRequest) (any, error) {
		if req.Subtype != "can_use_tool" {
			return map[string]any{}, nil
		}
		close(entered)
		<-ctx.Done()
		handlerErr <- ctx.Err()
		return nil, ctx.Err()
	}}
	p := startMock(t, toolConfig(t, a))
	ctx := guardCtx(t)
	type out struct {
		res *Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := p.Turn(ctx, UserMessage{Text: "TOOL_BASH: touch made_by_tool"}, nil)
		done <- out{res, err}
	}()
	<-entered
	if err := p.Interrupt(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-handlerErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("handler ctx: %v", err)
	}
	select {
	case <-p.Done():
		t.Fatal("process exited; the cancel should have come from control_cancel_request")
	default:
	}
	o := <-done
	if o.err != nil || o.res.Subtype != "error_during_execution" {
		t.Fatalf("turn: %+v %v", o.res, o.err)
	}
	if res, err := p.Turn(ctx, UserMessage{Text: "still here"}, nil); err != nil || res.Text != "ECHO: still here" {
		t.Fatalf("after cancel: %+v %v", res, err)
	}
}

func TestControlAnswerShape(t *testing.T) {
	b, err := json.Marshal(controlAnswer("r1", map[string]string{"behavior": "deny", "message": "m"}, nil))
	if err != nil || string(b) != `{"type":"control_response","response":{"subtype":"success","request_id":"r1","response":{"behavior":"deny","message":"m"}}}` {
		t.Fatalf("success answer %s %v", b, err)
	}
	b, _ = json.Marshal(controlAnswer("r2", nil, errors.New("no")))
	if string(b) != `{"type":"control_response","response":{"subtype":"error","request_id":"r2","error":"no"}}` {
		t.Fatalf("error answer %s", b)
	}
	b, _ = json.Marshal(controlAnswer("r3", nil, nil))
	if string(b) != `{"type":"control_response","response":{"subtype":"success","request_id":"r3","response":{}}}` {
		t.Fatalf("empty answer %s", b)
	}
}
