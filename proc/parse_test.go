package proc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const recordings = "testdata/claude-code-2.1.332"

// recordedLines returns the stdout lines (not the #IN lines) of one
// recording, or of all recordings when name is "".
func recordedLines(tb testing.TB, name string) [][]byte {
	tb.Helper()
	pattern := filepath.Join(recordings, "*.jsonl")
	if name != "" {
		pattern = filepath.Join(recordings, name)
	}
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		tb.Fatalf("no recordings at %s: %v", pattern, err)
	}
	var out [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			if l := sc.Bytes(); len(l) > 0 && !bytes.HasPrefix(l, []byte("#IN ")) {
				out = append(out, bytes.Clone(l))
			}
		}
		if err := sc.Err(); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// refEvent is an independent, slow reading of a line with encoding/json
// into the fields ParseEvent promises.
func refEvent(line []byte) (Event, bool) {
	var m map[string]any
	if json.Unmarshal(line, &m) != nil {
		return Event{}, false
	}
	typ, ok := m["type"].(string)
	if !ok {
		return Event{}, false
	}
	s := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	obj := func(m map[string]any, k string) map[string]any { v, _ := m[k].(map[string]any); return v }
	arr := func(m map[string]any, k string) []any { v, _ := m[k].([]any); return v }
	ev := Event{SessionID: s(m, "session_id"), Subtype: s(m, "subtype")}
	switch typ {
	case "system":
		switch ev.Subtype {
		case "init":
			ev.Type, ev.Text = EventInit, s(m, "model")
		case "api_retry":
			ev.Type, ev.Text = EventRetry, s(m, "error")
		}
	case "stream_event":
		e := obj(m, "event")
		ev.Subtype = s(e, "type")
		if d := obj(e, "delta"); ev.Subtype == "content_block_delta" && s(d, "type") == "text_delta" {
			ev.Type, ev.Text = EventTextDelta, s(d, "text")
		}
	case "assistant":
		for _, b := range arr(obj(m, "message"), "content") {
			bm, _ := b.(map[string]any)
			switch s(bm, "type") {
			case "text":
				ev.Text += s(bm, "text")
				if ev.Type != EventToolUse {
					ev.Type = EventText
				}
			case "tool_use":
				if ev.Type != EventToolUse {
					ev.Type, ev.ToolName, ev.ToolUseID = EventToolUse, s(bm, "name"), s(bm, "id")
				}
			}
		}
	case "user":
		msg := obj(m, "message")
		if t := s(msg, "content"); t != "" {
			ev.Text = t
			break
		}
		for _, b := range arr(msg, "content") {
			bm, _ := b.(map[string]any)
			switch s(bm, "type") {
			case "tool_result":
				if ev.Type != EventToolResult {
					ev.Type, ev.ToolUseID = EventToolResult, s(bm, "tool_use_id")
					ev.IsError, _ = bm["is_error"].(bool)
					if t, ok := bm["content"].(string); ok {
						ev.Text = t
					} else {
						var parts []string
						for _, c := range arr(bm, "content") {
							if cm, _ := c.(map[string]any); s(cm, "type") == "text" {
								parts = append(parts, s(cm, "text"))
							}
						}
						ev.Text = strings.Join(parts, "\n")
					}
				}
			case "text":
				if ev.Type == EventOther {
					ev.Text += s(bm, "text")
				}
			}
		}
	case "result":
		ev.Type, ev.Text = EventResult, s(m, "result")
		ev.IsError, _ = m["is_error"].(bool)
	case "control_request":
		ev.Subtype = s(obj(m, "request"), "subtype")
	case "control_response":
		ev.Subtype = s(obj(m, "response"), "subtype")
	}
	return ev, true
}

func sameEvent(t testing.TB, line []byte, got, want Event) {
	t.Helper()
	if got.Type != want.Type || got.Subtype != want.Subtype || got.Text != want.Text ||
		got.SessionID != want.SessionID || got.ToolName != want.ToolName ||
		got.ToolUseID != want.ToolUseID || got.IsError != want.IsError {
		t.Fatalf("line %s\n got  %+v\n want %+v", prefix(line, 300), stripRaw(got), stripRaw(want))
	}
}

func stripRaw(e Event) Event { e.Raw, e.Input = nil, nil; return e }

func TestParseEventRecordings(t *testing.T) {
	var ev Event // reused across lines, as the reader does
	counts := map[EventType]int{}
	for _, line := range recordedLines(t, "") {
		if err := ParseEvent(line, &ev); err != nil {
			t.Fatalf("ParseEvent(%s): %v", prefix(line, 200), err)
		}
		want, ok := refEvent(line)
		if !ok {
			t.Fatalf("reference decoder rejects %s", prefix(line, 200))
		}
		sameEvent(t, line, ev, want)
		if !bytes.Equal(ev.Raw, line) {
			t.Fatal("Raw is not the line")
		}
		counts[ev.Type]++
	}
	for _, typ := range []EventType{EventInit, EventTextDelta, EventText, EventToolUse, EventToolResult, EventRetry, EventResult, EventOther} {
		if counts[typ] == 0 {
			t.Errorf("no event of type %d in the recordings", typ)
		}
	}
}

// TestParseEventTurnText checks that the deltas of a turn add up to the
// result text, and the result fields of the error recordings.
func TestParseEventTurnText(t *testing.T) {
	var ev Event
	var deltas strings.Builder
	var results []Result
	for _, line := range recordedLines(t, "basic.jsonl") {
		if err := ParseEvent(line, &ev); err != nil {
			t.Fatal(err)
		}
		switch ev.Type {
		case EventTextDelta:
			deltas.WriteString(ev.Text)
		case EventResult:
			if deltas.String() != ev.Result.Text {
				t.Errorf("deltas %q != result %q", deltas.String(), ev.Result.Text)
			}
			deltas.Reset()
			results = append(results, *ev.Result)
		}
	}
	if len(results) != 2 || results[0].Text != "ECHO: hello" || results[1].Text != "ECHO: second turn" ||
		results[0].Subtype != "success" || results[0].SessionID != "47adb7b1-6ad4-4497-a527-1c3db78bdc3f" ||
		results[0].NumTurns != 1 || results[0].DurationMS <= 0 {
		t.Fatalf("basic results: %+v", results)
	}
}

func resultsOf(t *testing.T, name string) []Result {
	var ev Event
	var out []Result
	for _, line := range recordedLines(t, name) {
		if err := ParseEvent(line, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == EventResult {
			out = append(out, *ev.Result)
		}
	}
	return out
}

func TestParseEventResults(t *testing.T) {
	api := resultsOf(t, "apierr.jsonl")
	var statuses []int
	for _, r := range api {
		if r.APIErrorStatus != 0 {
			statuses = append(statuses, r.APIErrorStatus)
			if !r.IsError {
				t.Errorf("api error result without is_error: %+v", r)
			}
		}
	}
	if len(statuses) < 3 || statuses[0] != 500 || statuses[1] != 429 || statuses[2] != 529 {
		t.Errorf("api error statuses %v", statuses)
	}
	unk := resultsOf(t, "resume_unknown.jsonl")
	if len(unk) != 1 || !unk[0].IsError || len(unk[0].Errors) != 1 ||
		!strings.Contains(unk[0].Errors[0], "No conversation found") {
		t.Errorf("resume_unknown: %+v", unk)
	}
	var denials []Denial
	for _, r := range resultsOf(t, "tools_noprompt.jsonl") {
		denials = append(denials, r.Denials...)
	}
	if len(denials) == 0 || denials[0].ToolName != "Bash" || denials[0].ToolUseID == "" ||
		!bytes.Contains(denials[0].Input, []byte("rm -rf /")) {
		t.Errorf("denials: %+v", denials)
	}
	intr := resultsOf(t, "interrupt.jsonl")
	if len(intr) < 2 || intr[0].Subtype != "error_during_execution" {
		t.Errorf("interrupt results: %+v", intr)
	}
}

func TestParseEventToolUseInput(t *testing.T) {
	var ev Event
	found := false
	for _, line := range recordedLines(t, "approval.jsonl") {
		if err := ParseEvent(line, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == EventToolUse {
			var in struct{ Command string }
			if err := json.Unmarshal(ev.Input, &in); err != nil || in.Command == "" {
				t.Fatalf("tool input %s: %v", ev.Input, err)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("no tool_use in approval.jsonl")
	}
}

func TestParseEventControl(t *testing.T) {
	var ev Event
	var c ctlInfo
	var kinds []lineKind
	for _, line := range recordedLines(t, "approval.jsonl") {
		if err := parseLine(line, &ev, &c); err != nil {
			t.Fatal(err)
		}
		if c.kind == lineControlRequest {
			req, err := decodeControlRequest(line, str(c.requestID))
			if err != nil || req.RequestID == "" || req.ToolName != "Bash" || len(req.Input) == 0 || req.ToolUseID == "" {
				t.Fatalf("control request %+v: %v", req, err)
			}
			if req.Subtype == "hook_callback" && (req.CallbackID != "waf_bash" || req.HookEvent != "PreToolUse") {
				t.Fatalf("hook callback %+v", req)
			}
		}
		if c.kind != lineEvent {
			kinds = append(kinds, c.kind)
		}
	}
	if len(kinds) < 3 || kinds[0] != lineControlResponse {
		t.Fatalf("control kinds %v", kinds)
	}
	line := []byte(`{"type":"control_cancel_request","request_id":"abc"}`)
	if err := parseLine(line, &ev, &c); err != nil || c.kind != lineControlCancel || str(c.requestID) != "abc" {
		t.Fatalf("cancel: %v %+v", err, c)
	}
}

func TestParseEventErrors(t *testing.T) {
	bad := []string{
		``, `not json`, `{"type":"user"`, `{"type":5}`, `{"subtype":"init"}`, `[1,2]`,
		`{"type":"x"} trailing`, `{"type":"x",}`, `{"type":"x","a":01}`, `{"type":"x","a":"\q"}`,
		"{\"type\":\"x\",\"a\":\"\x01\"}", `{"type":"x","a":[1}`, `{"type":"x","a":{"b":"c}}`, `{"type":"x","a":[[]`, `{"type":"x","a":tru}`,
		`{"type":"x","a":-}`, `{"type":"x","a":1.}`, `{"type":"x","a":1e}`, `{"type":"x" "a":1}`,
		`{"type":"result","num_turns":}`, strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
	}
	var ev Event
	for _, b := range bad {
		if err := ParseEvent([]byte(b), &ev); err == nil {
			t.Errorf("ParseEvent(%q) accepted", prefix([]byte(b), 60))
		}
	}
	// Wrong field types are ignored, not fatal: the turn must still end.
	line := []byte(`{"type":"result","subtype":"success","num_turns":"two","result":"ok","is_error":false}`)
	if err := ParseEvent(line, &ev); err != nil || ev.Type != EventResult || ev.Result.Text != "ok" {
		t.Fatalf("lenient result: %v %+v", err, ev)
	}
	esc := []byte(`{"type":"stream_event","event":{"type":"content_block_delta","delta":{"type":"text_delta","text":"a\"b\u00e9\n"}}}`)
	if err := ParseEvent(esc, &ev); err != nil || ev.Text != "a\"b\u00e9\n" {
		t.Fatalf("escaped delta: %v %q", err, ev.Text)
	}
}

func TestParseEventNoAllocs(t *testing.T) {
	var line []byte
	for _, l := range recordedLines(t, "basic.jsonl") {
		if bytes.Contains(l, []byte(`"message_stop"`)) {
			line = l
			break
		}
	}
	var ev Event
	allocs := testing.AllocsPerRun(100, func() {
		if err := ParseEvent(line, &ev); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ParseEvent of a stream_event allocates %v times", allocs)
	}
}

func FuzzParseEvent(f *testing.F) {
	for _, l := range recordedLines(f, "") {
		f.Add(l)
	}
	f.Add([]byte(`{"type":"user","message":{"content":[{"type":"tool_result","content":[{"type":"text","text":"x"}]}]}}`))
	f.Add([]byte(`{"type":"control_cancel_request","request_id":"r"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var ev Event
		err := ParseEvent(line, &ev)
		if !json.Valid(line) {
			return // must not panic; skipped containers are not fully checked
		}
		if bytes.IndexByte(line, '\\') >= 0 {
			return // escaped keys may spell "type" for encoding/json but not for us
		}
		want, ok := refEvent(line)
		if ok != (err == nil) {
			t.Fatalf("ParseEvent(%q) = %v, reference ok=%v", line, err, ok)
		}
		if ok {
			sameEvent(t, line, ev, want)
		}
	})
}
