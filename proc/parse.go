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

// topFields are the top-level members any event needs, the result's
// included: its line is the longest of a turn after system/init, and one
// pass over it is enough.
type topFields struct {
	typ, subtype, sessionID, event, message, request, response, requestID, model, errv []byte

	etype, delta []byte // event.type and event.delta, read in the same pass

	isError, result, durationMS, numTurns, apiErrorStatus, errors, denials []byte
}

func scanTop(line []byte) (topFields, error) {
	var f topFields
	it := iterObject(line)
	for it.nextKey() {
		if string(it.key) == "event" && it.vs < len(line) && line[it.vs] == '{' {
			// stream_event's payload is read where it lies rather than
			// skipped now and walked again later.
			if err := f.readEvent(line, &it); err != nil {
				return f, err
			}
			continue
		}
		ve, err := skipValue(line, it.vs)
		if err != nil {
			return f, err
		}
		it.endValue(ve)
		switch string(it.key) {
		case "type":
			f.typ = it.val
		case "subtype":
			f.subtype = it.val
		case "session_id":
			f.sessionID = it.val
		case "event":
			f.event, f.etype, f.delta = it.val, nil, nil
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
		case "is_error":
			f.isError = it.val
		case "result":
			f.result = it.val
		case "duration_ms":
			f.durationMS = it.val
		case "num_turns":
			f.numTurns = it.val
		case "api_error_status":
			f.apiErrorStatus = it.val
		case "errors":
			f.errors = it.val
		case "permission_denials":
			f.denials = it.val
		}
	}
	return f, it.err
}

// readEvent walks the event object at it's value and ends the value.
func (f *topFields) readEvent(line []byte, it *objIter) error {
	var etype, delta []byte
	sub := iterNested(line, it.vs)
	for sub.next() {
		switch string(sub.key) {
		case "type":
			etype = sub.val
		case "delta":
			delta = sub.val
		}
	}
	if sub.err != nil {
		return sub.err
	}
	it.endValue(sub.i)
	f.event, f.etype, f.delta = it.val, etype, delta
	return nil
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
		parseStream(ev, &f, oldSub)
	case "assistant":
		parseAssistant(ev, f.message)
	case "user":
		parseUser(ev, f.message)
	case "result":
		parseResult(ev, &f)
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
func parseStream(ev *Event, f *topFields, oldSub string) {
	ev.Subtype = intern(f.etype, oldSub)
	if ev.Subtype != "content_block_delta" || f.delta == nil {
		return
	}
	var dtype, text []byte
	it := iterObject(f.delta)
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

// parseResult reads the result's fields from the line's one pass (see
// topFields); encoding/json on its ~2 KB was once the largest CPU cost of a
// turn. Fields of unexpected types are left zero; the turn still ends.
func parseResult(ev *Event, f *topFields) {
	r := &Result{
		Subtype:        ev.Subtype,
		IsError:        isTrue(f.isError),
		Text:           str(f.result),
		SessionID:      ev.SessionID,
		DurationMS:     int64Of(f.durationMS),
		NumTurns:       int(int64Of(f.numTurns)),
		APIErrorStatus: int(int64Of(f.apiErrorStatus)),
		Errors:         stringsOf(f.errors),
		Denials:        denialsOf(f.denials),
	}
	ev.Type, ev.IsError, ev.Text, ev.Result = EventResult, r.IsError, r.Text, r
}

// int64Of reads an integer; anything else (null, a fraction, a string) is 0.
func int64Of(v []byte) int64 {
	if len(v) == 0 || v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return 0 // absent or not a number: no error to build
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func stringsOf(v []byte) []string {
	if v == nil {
		return nil // absent: no iterator, whose error would cost a format
	}
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
	if v == nil {
		return nil
	}
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
