package main

import (
	"github.com/sirupsen/logrus"
)

// decision is the outcome of the permission pipeline for one tool call.
type decision struct {
	allowed bool
	command string // possibly rewritten by updatedInput
	message string // tool_result text when refused
	meta    decisionMeta
	abort   bool // interrupted while waiting
}

// decisionMeta is the tool_result_meta bookkeeping of how a call was
// decided, with the values the recordings and the live CLI show.
type decisionMeta struct {
	source, reasonType, nonExecution string
	useResult                        string // tool_use_result text override
}

var (
	metaHookDeny    = decisionMeta{source: "hook", reasonType: "hook", nonExecution: "permission-rule"}
	metaHookAllow   = decisionMeta{source: "hook", reasonType: "hook"}
	metaReadOnly    = decisionMeta{source: "config", reasonType: "subcommandResults"}
	metaNoPrompt    = decisionMeta{source: "config", nonExecution: "user-rejected"}
	metaUserDeny    = decisionMeta{source: "user_reject", nonExecution: "permission-rule"}
	metaUserAllow   = decisionMeta{source: "user_temporary"}
	metaInterrupted = decisionMeta{nonExecution: "user-rejected", useResult: "User rejected tool use"}
)

const rejectedByInterrupt = "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it was a file edit, the new_string was NOT written to the file). STOP what you are doing and wait for the user to tell you how to proceed."

// tool runs a TOOL_BASH turn: a tool_use message, PreToolUse hooks, the
// permission check, a tool_result, then a second API call that reports the
// result. The permission pipeline starts as soon as the tool_use is
// complete, so its requests interleave with the rest of the stream the
// way the real CLI's do.
func (t *turn) tool(cmd string) {
	a := t.a
	toolID := "toolu_fake_" + a.ids.hex(16)
	input := toolInput(cmd)
	c := t.beginCall()
	if a.cfg.partial {
		c.toolUseStart(toolID, cmd)
	}
	c.output = 40
	c.assistant(toolUseContent(toolID, input), false)
	hookIDs := t.matchingHooks()
	var first pendingAsk
	if len(hookIDs) > 0 {
		first = t.sendHook(hookIDs[0], toolID, input)
	}
	c.end("tool_use") // message_stop is held back: see decide
	d := t.decide(c, toolID, cmd, input, hookIDs, first)
	c.finishStop()
	if d.abort {
		t.answerInterrupt()
		t.denials = append(t.denials, denialEntry(toolID, input))
		t.toolResult(toolID, rejectedByInterrupt, true, metaInterrupted)
		t.interruptMarker("[Request interrupted by user for tool use]")
		t.addHistory()
		t.aborted(t.usage.calls+2, abortTools)
		return
	}
	var reply string
	if d.allowed {
		out := mockRun(d.command)
		t.toolResult(toolID, out, false, d.meta)
		reply = "TOOL_RESULT: " + out
	} else {
		t.denials = append(t.denials, denialEntry(toolID, input))
		t.toolResult(toolID, d.message, true, d.meta)
		reply = "TOOL_RESULT: (is_error) " + d.message
	}
	c2 := t.beginCall()
	c2.textBlockStart()
	for _, ch := range chunkText(reply) {
		c2.textDelta(ch)
	}
	c2.assistantText(reply)
	c2.end("end_turn")
	t.addHistory()
	t.success(reply, t.usage.calls)
}

func (t *turn) matchingHooks() []string {
	var ids []string
	for _, h := range t.hooks {
		if hookMatches(h.matcher, "Bash") {
			ids = append(ids, h.ids...)
		}
	}
	return ids
}

// decide runs the hooks, then the permission check. first is the already
// sent request for hookIDs[0].
func (t *turn) decide(c *apiCall, toolID, cmd string, input []byte, hookIDs []string, first pendingAsk) decision {
	forceAsk := false
	for i, id := range hookIDs {
		p := first
		if i > 0 {
			p = t.sendHook(id, toolID, input)
		}
		c.finishStop() // the stream ends while the hook is pending
		verdict, reason, err := t.waitHook(id, p)
		if err != nil {
			return decision{abort: true}
		}
		switch verdict {
		case "deny":
			return decision{message: "PreToolUse:Bash hook error: " + reason, meta: metaHookDeny}
		case "allow":
			return decision{allowed: true, command: cmd, meta: metaHookAllow}
		case "ask":
			forceAsk = true
		}
	}
	why := approvalFor(cmd, t.a.cwd)
	if !forceAsk && why.kind != "safetyCheck" && readOnly(cmd) {
		return decision{allowed: true, command: cmd, meta: metaReadOnly}
	}
	if t.a.cfg.promptTool == "stdio" {
		return t.canUseTool(c, toolID, cmd, input, why)
	}
	// Without hooks the verdict lands between message_delta and message_stop.
	t.permissionDenied(toolID, why)
	return decision{message: why.message, meta: metaNoPrompt}
}

func (t *turn) sendHook(callbackID, toolID string, input []byte) pendingAsk {
	reqID := t.a.ids.uuid()
	return t.a.askSend(reqID, hookCallbackRequest(t.a, reqID, callbackID, toolID, input))
}

func (t *turn) waitHook(callbackID string, p pendingAsk) (verdict, reason string, err error) {
	a := t.a
	cr, err := a.askWait(t.ctx, p)
	if err != nil {
		return "", "", err
	}
	if cr.Subtype != "success" {
		// A failing hook does not block the tool, as in the real CLI.
		a.log.WithFields(logrus.Fields{"callback_id": callbackID, "error": cr.Error}).Warn("hook failed; not blocking the tool")
		return "", "", nil
	}
	var body struct {
		HookSpecificOutput struct {
			PermissionDecision       string `json:"permissionDecision"`
			PermissionDecisionReason string `json:"permissionDecisionReason"`
		} `json:"hookSpecificOutput"`
		Decision string `json:"decision"`
		Reason   string `json:"reason"`
	}
	if err := decodeJSON(cr.Response, &body); err != nil {
		a.log.WithError(err).WithField("callback_id", callbackID).Warn("unreadable hook answer; not blocking the tool")
		return "", "", nil
	}
	if body.Decision == "block" {
		return "deny", body.Reason, nil
	}
	return body.HookSpecificOutput.PermissionDecision, body.HookSpecificOutput.PermissionDecisionReason, nil
}

func (t *turn) canUseTool(c *apiCall, toolID, cmd string, input []byte, why approval) decision {
	reqID := t.a.ids.uuid()
	p := t.a.askSend(reqID, canUseToolRequest(reqID, toolID, cmd, input, why))
	c.finishStop()
	cr, err := t.a.askWait(t.ctx, p)
	if err != nil {
		return decision{abort: true}
	}
	var body struct {
		Behavior     string `json:"behavior"`
		Message      string `json:"message"`
		UpdatedInput struct {
			Command *string `json:"command"`
		} `json:"updatedInput"`
	}
	if cr.Subtype != "success" {
		return decision{message: "Permission check failed: " + cr.Error, meta: metaUserDeny}
	}
	if err := decodeJSON(cr.Response, &body); err != nil {
		return decision{message: "Permission check failed: " + err.Error(), meta: metaUserDeny}
	}
	if body.Behavior != "allow" {
		msg := body.Message
		if msg == "" {
			msg = "Permission to use Bash has been denied."
		}
		return decision{message: msg, meta: metaUserDeny}
	}
	if body.UpdatedInput.Command != nil {
		cmd = *body.UpdatedInput.Command
	}
	return decision{allowed: true, command: cmd, meta: metaUserAllow}
}
