package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hotline-dev/hotline/proc"
	"github.com/hotline-dev/hotline/waf"
)

// HookCallbackID is the PreToolUse hook the bridge registers with the CLI.
const HookCallbackID = "hotline_waf"

// Hooks is what a spawner registers so that every tool call reaches the
// firewall before the CLI's own permission flow.
var Hooks = []proc.HookMatcher{{Matcher: "Bash|Write|Edit|MultiEdit|NotebookEdit|Read|Grep", CallbackID: HookCallbackID}}

// HandleControl answers the CLI's permission requests for this session:
// hook_callback goes through the firewall, can_use_tool to a human.
func (s *session) HandleControl(ctx context.Context, req proc.ControlRequest) (any, error) {
	s.mu.Lock()
	var resp Responder
	if s.cur != nil {
		resp = s.cur.in.Reply
	}
	s.mu.Unlock()
	switch req.Subtype {
	case "hook_callback":
		return s.judge(ctx, req, resp), nil
	case "can_use_tool":
		return s.askHuman(ctx, req, resp, ""), nil
	}
	return nil, fmt.Errorf("unsupported control request %q", req.Subtype)
}

type hookOutput struct {
	HookSpecificOutput hookDecision `json:"hookSpecificOutput"`
}

type hookDecision struct {
	HookEventName string `json:"hookEventName"`
	Decision      string `json:"permissionDecision"`
	Reason        string `json:"permissionDecisionReason"`
}

func hookAnswer(decision, reason string) hookOutput {
	return hookOutput{hookDecision{HookEventName: "PreToolUse", Decision: decision, Reason: reason}}
}

var noOpinion = struct{}{}

// judge runs the firewall on one tool call.
func (s *session) judge(ctx context.Context, req proc.ControlRequest, resp Responder) any {
	fw := s.r.cfg.Firewall
	if fw == nil {
		return noOpinion
	}
	v := fw.CheckTool(s.key, req.ToolName, req.Input)
	s.r.cfg.Observer.Verdict(v.Action.String(), v.Rule)
	switch v.Action {
	case waf.Deny:
		s.r.log.WithFields(map[string]any{"session_key": s.key, "rule": v.Rule, "tool": req.ToolName}).Warn("firewall denied tool call")
		if resp != nil {
			resp.Notice(fmt.Sprintf("hotline firewall blocked %s `%s` (rule %s, %s): %s", req.ToolName, toolSummary(req.ToolName, req.Input), v.Rule, v.Category, v.Reason))
		}
		return hookAnswer("deny", fmt.Sprintf("hotline firewall: rule %s: %s", v.Rule, v.Reason))
	case waf.Ask:
		a := s.askHuman(ctx, req, resp, v.Rule+": "+v.Reason)
		if a.Behavior == "allow" {
			return hookAnswer("allow", "approved by "+a.by)
		}
		return hookAnswer("deny", a.Message)
	}
	return noOpinion
}

// permission is can_use_tool's answer.
type permission struct {
	Behavior     string          `json:"behavior"`
	UpdatedInput json.RawMessage `json:"updatedInput,omitempty"`
	Message      string          `json:"message,omitempty"`
	by           string
}

// askHuman shows approval buttons and waits up to ApprovalTimeout.
func (s *session) askHuman(ctx context.Context, req proc.ControlRequest, resp Responder, rule string) permission {
	if resp == nil {
		return permission{Behavior: "deny", Message: "no one is attending this session"}
	}
	reason := req.Reason
	ruleID := ""
	if rule != "" {
		reason, ruleID = "hotline firewall: "+rule, rule
	}
	ctx, cancel := context.WithTimeout(ctx, s.r.cfg.ApprovalTimeout)
	defer cancel()
	d, err := resp.Approve(ctx, Approval{
		ID: req.RequestID, Tool: req.ToolName, Command: toolSummary(req.ToolName, req.Input),
		Input: req.Input, Reason: reason, Rule: ruleID,
	})
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		s.r.cfg.Observer.Approval("timeout")
		return permission{Behavior: "deny", Message: fmt.Sprintf("No one approved this within %s, so it was denied.", s.r.cfg.ApprovalTimeout)}
	case err != nil:
		s.r.cfg.Observer.Approval("withdrawn")
		return permission{Behavior: "deny", Message: "The approval request was withdrawn."}
	case d.Allow:
		s.r.cfg.Observer.Approval("approved")
		input := req.Input
		if len(input) == 0 {
			input = json.RawMessage("{}")
		}
		return permission{Behavior: "allow", UpdatedInput: input, by: d.By}
	}
	s.r.cfg.Observer.Approval("denied")
	return permission{Behavior: "deny", Message: "Denied by " + d.By + "."}
}
