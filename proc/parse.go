package proc

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// lineKind tells the reader what to do with a line besides handing it to
// the running turn.
type lineKind uint8

const (
	lineEvent          lineKind = iota
	lineControlRequest          // the CLI asks us (can_use_tool, hook_callback)
	lineControlResponse
	lineControlCancel // the CLI withdraws one of its requests
)

// ctlInfo carries the control fields of a line. Slices point into the line.
type ctlInfo struct {
	kind      lineKind
	requestID []byte // raw JSON string value
	errMsg    []byte // control_response error, raw
}

// ParseEvent parses one stdout line of the stream-json protocol into ev,
// reusing ev (and, where values repeat, its strings). ev.Raw, ev.Input and
// the slices inside them point into line and are valid only as long as line
// is. A syntactically invalid line, or one without a string "type", is an
// error; fields of unexpected types are ignored.
func ParseEvent(line []byte, ev *Event) error {
	var c ctlInfo
	return parseLine(line, ev, &c)
}

// topFields are the top-level members any event needs.
type topFields struct {
	typ, subtype, sessionID, event, message, request, response, requestID, model, errv []byte
}

func scanTop(line []byte) (topFields, error) {
	var f topFields
	it := iterObject(line)
	for it.next() {
		switch string(it.key) {
		case "type":
			f.typ = it.val
		case "subtype":
			f.subtype = it.val
		case "session_id":
			f.sessionID = it.val
		case "event":
			f.event = it.val
		case "message":
			f.message = it.val
		case "request":
			f.request = it.val
		case "response":
			f.response = it.val
		case "request_id":
			f.requestID = it.val
		case "model":
			f.model = it.val
		case "error":
			f.errv = it.val
		}
	}
	return f, it.err
}

func parseLine(line []byte, ev *Event, c *ctlInfo) error {
	oldSID, oldSub, oldText := ev.SessionID, ev.Subtype, ev.Text
	*ev = Event{Raw: line}
	*c = ctlInfo{}
	f, err := scanTop(line)
	if err != nil {
		return fmt.Errorf("proc: parse event: %w", err)
	}
	typ, slow, ok := rawString(f.typ)
	if !ok {
		return errors.New("proc: parse event: missing or non-string \"type\"")
	}
	if slow {
		typ = []byte(str(f.typ))
	}
	if f.sessionID != nil {
		ev.SessionID = strReuse(f.sessionID, oldSID)
	}
	ev.Subtype = intern(f.subtype, oldSub)
	switch string(typ) {
	case "system":
		parseSystem(ev, &f, oldText)
	case "stream_event":
		parseStream(ev, f.event, oldSub)
	case "assistant":
		parseAssistant(ev, f.message)
	case "user":
		parseUser(ev, f.message)
	case "result":
		return parseResult(ev, line)
	case "control_request":
		c.kind, c.requestID = lineControlRequest, f.requestID
		ev.Subtype = intern(member(f.request, "subtype"), oldSub)
	case "control_response":
		c.kind = lineControlResponse
		c.requestID = member(f.response, "request_id")
		c.errMsg = member(f.response, "error")
		ev.Subtype = intern(member(f.response, "subtype"), oldSub)
	case "control_cancel_request":
		c.kind, c.requestID = lineControlCancel, f.requestID
	}
	return nil
}

// member returns the raw value of key in the object obj, or nil.
func member(obj []byte, key string) []byte {
	if obj == nil {
		return nil
	}
	var v []byte
	it := iterObject(obj)
	for it.next() {
		if string(it.key) == key {
			v = it.val // the last duplicate wins, as in encoding/json
		}
	}
	return v
}

// intern avoids allocating the handful of subtypes that recur on every turn.
func intern(v []byte, old string) string {
	s, slow, ok := rawString(v)
	if !ok {
		return ""
	}
	if slow {
		return str(v)
	}
	switch string(s) {
	case "init":
		return "init"
	case "status":
		return "status"
	case "api_retry":
		return "api_retry"
	case "success":
		return "success"
	case "error":
		return "error"
	case "error_during_execution":
		return "error_during_execution"
	case "message_start":
		return "message_start"
	case "message_delta":
		return "message_delta"
	case "message_stop":
		return "message_stop"
	case "content_block_start":
		return "content_block_start"
	case "content_block_delta":
		return "content_block_delta"
	case "content_block_stop":
		return "content_block_stop"
	case "can_use_tool":
		return "can_use_tool"
	case "hook_callback":
		return "hook_callback"
	case old:
		return old
	}
	return string(s)
}

func parseSystem(ev *Event, f *topFields, oldText string) {
	switch ev.Subtype {
	case "init":
		ev.Type = EventInit
		ev.Text = strReuse(f.model, oldText)
	case "api_retry":
		ev.Type = EventRetry
		ev.Text = str(f.errv)
	}
}

// parseStream handles stream_event lines: only text deltas matter; the
// inner event type becomes Subtype for everything else.
func parseStream(ev *Event, event []byte, oldSub string) {
	var etype, delta []byte
	it := iterObject(event)
	for it.next() {
		switch string(it.key) {
		case "type":
			etype = it.val
		case "delta":
			delta = it.val
		}
	}
	ev.Subtype = intern(etype, oldSub)
	if ev.Subtype != "content_block_delta" || delta == nil {
		return
	}
	var dtype, text []byte
	it = iterObject(delta)
	for it.next() {
		switch string(it.key) {
		case "type":
			dtype = it.val
		case "text":
			text = it.val
		}
	}
	if s, _, _ := rawString(dtype); string(s) == "text_delta" {
		ev.Type = EventTextDelta
		ev.Text = str(text)
	}
}

// parseAssistant handles one assistant message. The CLI emits one content
// block per line; if a line ever carries several, text blocks are joined
// and the first tool_use wins.
func parseAssistant(ev *Event, message []byte) {
	var texts []string
	it := iterArray(member(message, "content"))
	for it.next() {
		var btype, text, id, name, input []byte
		bt := iterObject(it.val)
		for bt.next() {
			switch string(bt.key) {
			case "type":
				btype = bt.val
			case "text":
				text = bt.val
			case "id":
				id = bt.val
			case "name":
				name = bt.val
			case "input":
				input = bt.val
			}
		}
		switch s, _, _ := rawString(btype); string(s) {
		case "text":
			texts = append(texts, str(text))
		case "tool_use":
			if ev.Type != EventToolUse {
				ev.Type = EventToolUse
				ev.ToolUseID, ev.ToolName, ev.Input = str(id), str(name), input
			}
		}
	}
	if len(texts) > 0 {
		ev.Text = strings.Join(texts, "")
		if ev.Type != EventToolUse {
			ev.Type = EventText
		}
	}
}

// parseUser handles user lines: tool results, or the CLI's own notes
// ("[Request interrupted by user]") as EventOther with Text.
func parseUser(ev *Event, message []byte) {
	content := member(message, "content")
	if s := str(content); s != "" {
		ev.Text = s
		return
	}
	it := iterArray(content)
	for it.next() {
		var btype, id, body, isErr, text []byte
		bt := iterObject(it.val)
		for bt.next() {
			switch string(bt.key) {
			case "type":
				btype = bt.val
			case "tool_use_id":
				id = bt.val
			case "content":
				body = bt.val
			case "is_error":
				isErr = bt.val
			case "text":
				text = bt.val
			}
		}
		switch s, _, _ := rawString(btype); string(s) {
		case "tool_result":
			if ev.Type != EventToolResult {
				ev.Type = EventToolResult
				ev.ToolUseID, ev.Text, ev.IsError = str(id), blockText(body), isTrue(isErr)
			}
		case "text":
			if ev.Type == EventOther {
				ev.Text += str(text)
			}
		}
	}
}

// blockText flattens tool_result content: a string, or text blocks.
func blockText(v []byte) string {
	if _, _, ok := rawString(v); ok {
		return str(v)
	}
	var parts []string
	it := iterArray(v)
	for it.next() {
		if s, _, _ := rawString(member(it.val, "type")); string(s) == "text" {
			parts = append(parts, str(member(it.val, "text")))
		}
	}
	return strings.Join(parts, "\n")
}

// parseResult reads the result line's fields by hand: it comes once per
// turn, but encoding/json on its ~1.5 KB was the largest CPU cost of a turn.
// Fields of unexpected types are left zero; the turn still ends.
func parseResult(ev *Event, line []byte) error {
	r := &Result{}
	it := iterObject(line)
	for it.next() {
		v := it.val
		switch string(it.key) {
		case "subtype":
			r.Subtype = intern(v, "")
		case "is_error":
			r.IsError = isTrue(v)
		case "result":
			r.Text = str(v)
		case "session_id":
			r.SessionID = strReuse(v, ev.SessionID)
		case "duration_ms":
			r.DurationMS = int64Of(v)
		case "num_turns":
			r.NumTurns = int(int64Of(v))
		case "api_error_status":
			r.APIErrorStatus = int(int64Of(v))
		case "errors":
			r.Errors = stringsOf(v)
		case "permission_denials":
			r.Denials = denialsOf(v)
		}
	}
	if it.err != nil {
		return fmt.Errorf("proc: parse result: %w", it.err)
	}
	ev.Type, ev.IsError, ev.Text, ev.Result = EventResult, r.IsError, r.Text, r
	return nil
}

// int64Of reads an integer; anything else (null, a fraction, a string) is 0.
func int64Of(v []byte) int64 {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func stringsOf(v []byte) []string {
	var out []string
	it := iterArray(v)
	for it.next() {
		if _, _, ok := rawString(it.val); ok {
			out = append(out, str(it.val))
		}
	}
	return out
}

func denialsOf(v []byte) []Denial {
	var out []Denial
	it := iterArray(v)
	for it.next() {
		var d Denial
		// Rare and small: encoding/json is fine here. It copies Input.
		if json.Unmarshal(it.val, &d) == nil {
			out = append(out, d)
		}
	}
	return out
}
