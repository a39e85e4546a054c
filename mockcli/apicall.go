package main

import (
	"time"
	"unicode/utf8"
)

// apiCall is one fake Anthropic API request within a turn: its stream
// events (with --include-partial-messages) and its assistant line.
type apiCall struct {
	t           *turn
	msgID       string
	input       int64
	output      int64
	start       time.Time
	stopPending bool // message_stop held back while a tool decision is made
}

func (t *turn) beginCall() *apiCall {
	a := t.a
	t.usage.calls++
	c := &apiCall{
		t: t, msgID: "msg_fake_" + a.ids.hex(20), start: time.Now(),
		input: 12300 + int64(len(t.prompt)+a.historyBytes())/4 + int64(t.usage.calls-1)*85,
	}
	t.msgIDs = append(t.msgIDs, c.msgID)
	if !a.cfg.partial {
		return c
	}
	a.out.write(statusLine(a))

	var ev jw
	ev.open()
	ev.S("type", "message_start")
	ev.O("message")
	ev.S("id", c.msgID)
	ev.S("type", "message")
	ev.S("role", "assistant")
	ev.S("model", t.model)
	ev.A("content")
	ev.closeArr()
	ev.Null("stop_reason")
	ev.Null("stop_sequence")
	c.usageObj(&ev, 1)
	ev.close()
	ev.close()
	c.streamEvent(ev.b, true)
	return c
}

func statusLine(a *app) []byte {
	var j jw
	j.open()
	j.S("type", "system")
	j.S("subtype", "status")
	j.S("status", "requesting")
	j.S("session_id", a.sessionID)
	j.S("uuid", a.ids.uuid())
	j.close()
	return j.line()
}

// streamEvent wraps a raw API event as the CLI forwards it.
func (c *apiCall) streamEvent(event []byte, first bool) {
	a := c.t.a
	var j jw
	j.b = make([]byte, 0, len(event)+200)
	j.open()
	j.S("type", "stream_event")
	j.R("event", event)
	j.S("session_id", a.sessionID)
	j.Null("parent_tool_use_id")
	j.S("uuid", a.ids.uuid())
	if first {
		j.N("ttft_ms", time.Since(c.start).Milliseconds())
		j.S("thinking_display", "updates")
	}
	j.S("api_message_id", c.msgID)
	j.close()
	a.out.write(j.line())
}

func (c *apiCall) usageObj(j *jw, output int64) {
	j.O("usage")
	j.N("input_tokens", c.input)
	j.N("output_tokens", output)
	j.N("cache_creation_input_tokens", 0)
	j.N("cache_read_input_tokens", 0)
	j.close()
}

func (c *apiCall) textBlockStart() {
	if c.t.a.cfg.partial {
		c.streamEvent([]byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`), false)
	}
}

func (c *apiCall) textDelta(s string) {
	if c.t.ttft == 0 {
		c.t.ttft = time.Since(c.t.start)
	}
	if !c.t.a.cfg.partial {
		return
	}
	var ev jw
	ev.b = make([]byte, 0, len(s)+80)
	ev.open()
	ev.S("type", "content_block_delta")
	ev.N("index", 0)
	ev.O("delta")
	ev.S("type", "text_delta")
	ev.S("text", s)
	ev.close()
	ev.close()
	c.streamEvent(ev.b, false)
}

// assistant writes the assistant line for content (a rendered JSON array)
// and records it in the transcript.
func (c *apiCall) assistant(content []byte, aborted bool) {
	t := c.t
	a := t.a
	var m jw
	m.b = make([]byte, 0, len(content)+300)
	m.open()
	m.S("id", c.msgID)
	m.S("type", "message")
	m.S("role", "assistant")
	m.S("model", t.model)
	m.R("content", content)
	m.Null("stop_reason")
	m.Null("stop_sequence")
	c.usageObj(&m, 1)
	m.Null("context_management")
	m.close()

	uuid, now := a.ids.uuid(), timestamp(time.Now())
	var j jw
	j.b = make([]byte, 0, len(m.b)+300)
	j.open()
	j.S("type", "assistant")
	j.R("message", m.b)
	j.Null("parent_tool_use_id")
	j.S("session_id", a.sessionID)
	j.S("uuid", uuid)
	j.S("timestamp", now)
	j.S("request_id", "req_fake_"+a.ids.hex(16))
	if aborted {
		j.B("aborted", true)
	}
	j.close()
	a.out.write(j.line())
	t.entry("assistant", m.b, uuid, now, "")
}

func textContent(text string) []byte {
	var j jw
	j.b = make([]byte, 0, len(text)+40)
	j.openArr()
	j.open()
	j.S("type", "text")
	j.S("text", text)
	j.close()
	j.closeArr()
	return j.b
}

func (c *apiCall) assistantText(text string) {
	c.output = max(1, int64(len(text))/4)
	c.assistant(textContent(text), false)
}

func (c *apiCall) assistantAborted(partial string) {
	c.output = max(1, int64(len(partial))/4)
	c.assistant(textContent(partial), true)
}

// end closes the message normally.
func (c *apiCall) end(stopReason string) {
	c.t.usage.add(c)
	c.t.apiMS += time.Since(c.start).Milliseconds()
	if !c.t.a.cfg.partial {
		return
	}
	c.streamEvent([]byte(`{"type":"content_block_stop","index":0}`), false)
	var ev jw
	ev.open()
	ev.S("type", "message_delta")
	ev.O("delta")
	ev.S("stop_reason", stopReason)
	ev.Null("stop_sequence")
	ev.close()
	ev.O("usage")
	ev.N("output_tokens", c.output)
	ev.close()
	ev.close()
	c.streamEvent(ev.b, false)
	if stopReason == "tool_use" {
		c.stopPending = true
		return
	}
	c.streamEvent([]byte(`{"type":"message_stop"}`), false)
}

// finishStop emits a held-back message_stop.
func (c *apiCall) finishStop() {
	if c.stopPending {
		c.stopPending = false
		c.streamEvent([]byte(`{"type":"message_stop"}`), false)
	}
}

// abortEnd closes an interrupted message like interrupt.jsonl.
func (c *apiCall) abortEnd() {
	c.t.usage.add(c)
	if !c.t.a.cfg.partial {
		return
	}
	c.streamEvent([]byte(`{"type":"content_block_stop","index":0}`), false)
	var ev jw
	ev.open()
	ev.S("type", "message_delta")
	ev.Null("context_management")
	ev.R("delta", []byte(`{"container":null,"stop_details":null,"stop_reason":null,"stop_sequence":null}`))
	ev.O("usage")
	ev.R("output_tokens_details", []byte(`{"thinking_tokens":0}`))
	ev.N("cache_creation_input_tokens", 0)
	ev.N("cache_read_input_tokens", 0)
	ev.N("input_tokens", c.input)
	ev.R("iterations", []byte(`[]`))
	ev.N("output_tokens", c.output)
	ev.R("server_tool_use", []byte(`{"web_search_requests":0,"web_fetch_requests":0}`))
	ev.Null("fallback_credit")
	ev.close()
	ev.close()
	c.streamEvent(ev.b, false)
	var stop jw
	stop.open()
	stop.S("type", "stream_event")
	stop.R("event", []byte(`{"type":"message_stop"}`))
	stop.S("session_id", c.t.a.sessionID)
	stop.Null("parent_tool_use_id")
	stop.S("uuid", c.t.a.ids.uuid())
	stop.S("api_message_id", c.msgID)
	stop.O("abandoned_blocks")
	stop.S("api_message_id", c.msgID)
	stop.N("from_block_index", 1)
	stop.close()
	stop.close()
	c.t.a.out.write(stop.line())
}

// splitRunes cuts s into two halves on a rune boundary.
func splitRunes(s string) (string, string) {
	mid := len(s) / 2
	for mid > 0 && !utf8.RuneStart(s[mid]) {
		mid--
	}
	return s[:mid], s[mid:]
}
