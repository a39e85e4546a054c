package opencode

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/proc"
)

const (
	// maxPending bounds permission handlers per agent; OpenCode asks one
	// at a time per tool call, so more means something is looping.
	maxPending = 32
	// hookCallbackID is core.HookCallbackID (core imports this package's
	// users, so the value is repeated, not imported).
	hookCallbackID = "hotline_waf"
	replyTimeout   = 30 * time.Second
)

// onPermission answers one permission.asked as Claude Code's would be: the
// PreToolUse hook first (the bridge's firewall), then, unless the hook
// decided, can_use_tool (a human). It runs on its own goroutine; the
// request is withdrawn when OpenCode reports a reply (an abort rejects it)
// or the agent stops.
func (a *Agent) onPermission(p *props) {
	if p.ID == "" {
		return
	}
	req := a.controlRequest(p)
	a.mu.Lock()
	if _, dup := a.pending[p.ID]; dup || a.stopping.Load() {
		a.mu.Unlock()
		return // a resync after a reconnect lists requests already in hand
	}
	if len(a.pending) >= maxPending {
		a.mu.Unlock()
		a.log.WithField("request_id", p.ID).Warn("opencode: too many pending permission requests; rejecting")
		a.srv.background(func(context.Context) {
			a.replyPermission(p.ID, "reject", "hotline: too many pending permission requests")
		})
		return
	}
	ctx, cancel := context.WithCancel(a.base)
	a.pending[p.ID] = cancel
	a.wg.Add(1)
	a.mu.Unlock()
	go func() {
		defer a.wg.Done()
		defer a.withdraw(p.ID)
		reply, message := a.decide(ctx, req)
		if ctx.Err() != nil {
			return // answered elsewhere, aborted or stopping
		}
		if reply == "reject" {
			a.recordDenial(req)
		}
		a.replyPermission(p.ID, reply, message)
	}()
}

// controlRequest describes the request in Claude Code's terms: the tool's
// name and input from the tool part when the turn has seen it, else the
// permission name and OpenCode's metadata.
func (a *Agent) controlRequest(p *props) proc.ControlRequest {
	raw, _ := json.Marshal(p)
	req := proc.ControlRequest{
		RequestID: p.ID, ToolName: toolName(p.Permission), Input: claudeInput(p.Metadata),
		Reason: strings.TrimSpace("OpenCode asks for " + p.Permission + " " + strings.Join(p.Patterns, " ")),
		Raw:    raw,
	}
	if p.Tool != nil {
		req.ToolUseID = p.Tool.CallID
		a.mu.Lock()
		if a.cur != nil {
			if name, in, ok := a.cur.state.toolInput(p.Tool.CallID); ok {
				req.ToolName, req.Input = name, in
			}
		}
		a.mu.Unlock()
	}
	if len(req.Input) == 0 {
		req.Input = json.RawMessage("{}")
	}
	return req
}

// decide returns OpenCode's reply ("once" or "reject") and a message that
// reaches the model with a rejection.
func (a *Agent) decide(ctx context.Context, req proc.ControlRequest) (string, string) {
	if a.control == nil {
		return "reject", "hotline: no permission handler"
	}
	hook := req
	hook.Subtype, hook.CallbackID, hook.HookEvent = "hook_callback", hookCallbackID, "PreToolUse"
	out, err := a.control.HandleControl(ctx, hook)
	if err != nil {
		return "reject", "hotline: " + err.Error()
	}
	switch d, reason := hookDecision(out); d {
	case "deny":
		return "reject", reason
	case "allow":
		return "once", ""
	}
	ask := req
	ask.Subtype = "can_use_tool"
	out, err = a.control.HandleControl(ctx, ask)
	if err != nil {
		return "reject", "hotline: " + err.Error()
	}
	return permissionDecision(out)
}

// hookDecision reads a PreToolUse hook answer:
// {"hookSpecificOutput":{"permissionDecision":…,"permissionDecisionReason":…}}.
func hookDecision(out any) (string, string) {
	var v struct {
		H struct {
			Decision string `json:"permissionDecision"`
			Reason   string `json:"permissionDecisionReason"`
		} `json:"hookSpecificOutput"`
	}
	if b, err := json.Marshal(out); err == nil {
		_ = json.Unmarshal(b, &v)
	}
	return v.H.Decision, v.H.Reason
}

// permissionDecision reads a can_use_tool answer: {"behavior":"allow"} or
// {"behavior":"deny","message":…}. Anything else denies.
func permissionDecision(out any) (string, string) {
	var v struct {
		Behavior string `json:"behavior"`
		Message  string `json:"message"`
	}
	if b, err := json.Marshal(out); err == nil {
		_ = json.Unmarshal(b, &v)
	}
	if v.Behavior == "allow" {
		return "once", ""
	}
	if v.Message == "" {
		v.Message = "denied"
	}
	return "reject", v.Message
}

func (a *Agent) replyPermission(id, reply, message string) {
	ctx, cancel := context.WithTimeout(a.base, replyTimeout)
	defer cancel()
	body := map[string]string{"reply": reply}
	if message != "" {
		// With a message OpenCode tells the model why and goes on, as
		// Claude Code does with a denial; without it the loop stops.
		body["message"] = message
	}
	if _, err := a.srv.call(ctx, http.MethodPost, "/permission/"+url.PathEscape(id)+"/reply", a.dir, body); err != nil {
		a.log.WithError(err).WithField("request_id", id).Warn("opencode: permission reply failed")
	}
}

// dismissQuestion rejects OpenCode's question tool: a chat thread has no
// form for its multiple-choice questions, and an unanswered one would hold
// the turn until the turn timeout. The model hears that the user dismissed
// it and goes on.
func (a *Agent) dismissQuestion(id string) {
	if id == "" {
		return
	}
	a.log.WithField("request_id", id).Info("opencode: question tool dismissed")
	a.srv.background(func(ctx context.Context) {
		if _, err := a.srv.call(ctx, http.MethodPost, "/question/"+url.PathEscape(id)+"/reject", a.dir, nil); err != nil {
			a.log.WithError(err).WithField("request_id", id).Warn("opencode: dismissing a question failed")
		}
	})
}

func (a *Agent) recordDenial(req proc.ControlRequest) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cur != nil && len(a.cur.denials) < maxDenials {
		a.cur.denials = append(a.cur.denials, proc.Denial{ToolName: req.ToolName, ToolUseID: req.ToolUseID, Input: req.Input})
	}
}

// withdraw ends the handler of one request (answered or gone).
func (a *Agent) withdraw(id string) {
	a.mu.Lock()
	cancel := a.pending[id]
	delete(a.pending, id)
	a.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (a *Agent) withdrawAll() {
	a.mu.Lock()
	all := a.pending
	a.pending = map[string]context.CancelFunc{}
	a.mu.Unlock()
	for _, cancel := range all {
		cancel()
	}
}

// background runs f on a goroutine the server owns (waited for by stop),
// with a bounded context of its own: it may outlive the server's.
func (s *server) background(f func(ctx context.Context)) {
	s.mu.Lock()
	gone := s.closed && !s.alive0()
	if !gone {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	run := func() {
		ctx, cancel := context.WithTimeout(context.Background(), replyTimeout)
		defer cancel()
		f(ctx)
	}
	if gone {
		run() // the server is reaped: nothing left to race with
		return
	}
	go func() { defer s.wg.Done(); run() }()
}

// alive0 reports whether the process has not been reaped yet.
func (s *server) alive0() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}
