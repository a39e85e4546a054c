package main

import (
	"path/filepath"
	"time"

	"github.com/hotline-dev/hotline/internal/jsonstr"
)

// Line builders of the tool flow, shaped like approval.jsonl,
// tools_noprompt.jsonl and the live CLI.

func (c *apiCall) toolUseStart(toolID, cmd string) {
	var ev jw
	ev.open()
	ev.S("type", "content_block_start")
	ev.N("index", 0)
	ev.O("content_block")
	ev.S("type", "tool_use")
	ev.S("id", toolID)
	ev.S("name", "Bash")
	ev.R("input", []byte(`{}`))
	ev.close()
	ev.close()
	c.streamEvent(ev.b, false)
	// The API streams the input as JSON text with spaces after separators.
	p1, p2 := splitRunes(`{"command": ` + string(jsonstr.AppendJS(nil, cmd)) + `, "description": "fake tool call"}`)
	c.jsonDelta(p1)
	c.jsonDelta(p2)
}

func (c *apiCall) jsonDelta(s string) {
	var ev jw
	ev.open()
	ev.S("type", "content_block_delta")
	ev.N("index", 0)
	ev.O("delta")
	ev.S("type", "input_json_delta")
	ev.S("partial_json", s)
	ev.close()
	ev.close()
	c.streamEvent(ev.b, false)
}

func toolInput(cmd string) []byte {
	var j jw
	j.open()
	j.S("command", cmd)
	j.S("description", "fake tool call")
	j.close()
	return j.b
}

func toolUseContent(id string, input []byte) []byte {
	var j jw
	j.openArr()
	j.open()
	j.S("type", "tool_use")
	j.S("id", id)
	j.S("name", "Bash")
	j.R("input", input)
	j.close()
	j.closeArr()
	return j.b
}

func denialEntry(id string, input []byte) []byte {
	var j jw
	j.open()
	j.S("tool_name", "Bash")
	j.S("tool_use_id", id)
	j.R("tool_input", input)
	j.close()
	return j.b
}

func hookCallbackRequest(a *app, reqID, callbackID, toolID string, input []byte) []byte {
	var j jw
	j.open()
	j.S("type", "control_request")
	j.S("request_id", reqID)
	j.O("request")
	j.S("subtype", "hook_callback")
	j.S("callback_id", callbackID)
	j.O("input")
	j.S("session_id", a.sessionID)
	j.S("transcript_path", a.transcriptPath())
	j.S("cwd", a.cwd)
	j.S("prompt_id", a.ids.uuid())
	j.S("permission_mode", a.cfg.permissionMode)
	j.R("effort", []byte(`{"level":"medium"}`))
	j.S("hook_event_name", "PreToolUse")
	j.S("tool_name", "Bash")
	j.R("tool_input", input)
	j.S("tool_use_id", toolID)
	j.close()
	j.S("tool_use_id", toolID)
	j.close()
	j.close()
	return j.line()
}

// canUseToolRequest: a safety-check case carries its reason and no
// suggestions; a file-writing command the path and directory suggestions;
// any other command the "requires approval" reason.
func canUseToolRequest(reqID, toolID, cmd string, input []byte, why approval) []byte {
	var j jw
	j.open()
	j.S("type", "control_request")
	j.S("request_id", reqID)
	j.O("request")
	j.S("subtype", "can_use_tool")
	j.S("tool_name", "Bash")
	j.S("display_name", "Bash")
	j.R("input", input)
	j.S("description", "fake tool call")
	if why.kind == "safetyCheck" {
		j.R("permission_suggestions", []byte(`[]`))
		j.S("decision_reason", why.reason)
		j.S("decision_reason_type", why.kind)
		j.B("classifier_approvable", false)
		j.S("tool_use_id", toolID)
		j.B("suppress_always_allow_rule", true)
		j.close()
		j.close()
		return j.line()
	}
	j.A("permission_suggestions")
	j.open()
	j.S("type", "addRules")
	j.A("rules")
	j.open()
	j.S("toolName", "Bash")
	j.S("ruleContent", cmd)
	j.close()
	j.closeArr()
	j.S("behavior", "allow")
	j.S("destination", "localSettings")
	j.close()
	if why.path != "" {
		j.open()
		j.S("type", "addDirectories")
		j.A("directories")
		j.str(filepath.Dir(why.path))
		j.closeArr()
		j.S("destination", "session")
		j.close()
		j.raw([]byte(`{"type":"setMode","mode":"acceptEdits","destination":"session"}`))
	}
	j.closeArr()
	if why.path != "" {
		j.S("blocked_path", why.path)
	} else {
		j.S("decision_reason", why.reason)
		j.S("decision_reason_type", why.kind)
	}
	j.S("tool_use_id", toolID)
	j.close()
	j.close()
	return j.line()
}

func (t *turn) permissionDenied(toolID string, why approval) {
	a := t.a
	var j jw
	j.open()
	j.S("type", "system")
	j.S("subtype", "permission_denied")
	j.S("tool_name", "Bash")
	j.S("tool_use_id", toolID)
	if why.kind != "" {
		j.S("decision_reason_type", why.kind)
		j.S("decision_reason", why.reason)
	}
	j.S("message", why.message)
	j.S("uuid", a.ids.uuid())
	j.S("session_id", a.sessionID)
	j.close()
	a.out.write(j.line())
}

// toolResult writes the user line carrying a tool_result (key order as in
// the recordings, which differs between success and error).
func (t *turn) toolResult(toolID, content string, isError bool, meta decisionMeta) {
	a := t.a
	var blk jw
	blk.openArr()
	blk.open()
	if isError {
		blk.S("type", "tool_result")
		blk.S("content", content)
		blk.B("is_error", true)
		blk.S("tool_use_id", toolID)
	} else {
		blk.S("tool_use_id", toolID)
		blk.S("type", "tool_result")
		blk.S("content", content)
		blk.B("is_error", false)
	}
	blk.close()
	blk.closeArr()
	var m jw
	m.open()
	m.S("role", "user")
	m.R("content", blk.b)
	m.close()

	uuid, now := a.ids.uuid(), timestamp(time.Now())
	var j jw
	j.open()
	j.S("type", "user")
	j.R("message", m.b)
	j.Null("parent_tool_use_id")
	j.S("session_id", a.sessionID)
	j.S("uuid", uuid)
	j.S("timestamp", now)
	toolResultMeta(&j, toolID, content, isError, meta)
	j.close()
	a.out.write(j.line())
	t.entry("user", m.b, uuid, now, "")
}

// toolResultMeta adds the CLI's bookkeeping of how the call was decided.
func toolResultMeta(j *jw, toolID, content string, isError bool, meta decisionMeta) {
	switch {
	case meta.useResult != "":
		j.S("tool_use_result", meta.useResult)
	case isError:
		j.S("tool_use_result", "Error: "+content)
	default:
		silent := content == noOutput
		if silent {
			content = ""
		}
		j.O("tool_use_result")
		j.S("stdout", content)
		j.S("stderr", "")
		j.B("interrupted", false)
		j.B("isImage", false)
		j.B("noOutputExpected", silent)
		j.close()
	}
	j.A("tool_result_meta")
	j.open()
	j.S("id", toolID)
	if meta.nonExecution != "" {
		j.S("non_execution_kind", meta.nonExecution)
	}
	if meta.source != "" {
		j.O("permission_decision")
		if isError {
			j.S("decision", "reject")
		} else {
			j.S("decision", "accept")
		}
		j.S("source", meta.source)
		if meta.reasonType != "" {
			j.S("reason_type", meta.reasonType)
		}
		j.close()
	}
	j.close()
	j.closeArr()
}
