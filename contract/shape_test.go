package contract

import (
	"reflect"
	"strings"
	"testing"
)

// Lines shortened from ../shared/protocol/claude-code-2.1.332.
var (
	lnInit    = `{"type":"system","subtype":"init","cwd":"/w","session_id":"s","tools":["Bash"],"model":"m","uuid":"u"}`
	lnStatus  = `{"type":"system","subtype":"status","status":"requesting","session_id":"s","uuid":"u"}`
	lnStart   = `{"type":"stream_event","event":{"type":"message_start","message":{"id":"x"}},"session_id":"s","uuid":"u"}`
	lnBlock   = `{"type":"stream_event","event":{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}},"session_id":"s","uuid":"u"}`
	lnDelta   = `{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"EC"}},"session_id":"s","uuid":"u"}`
	lnAsst    = `{"type":"assistant","message":{"content":[{"type":"text","text":"ECHO: hi"}]},"session_id":"s","uuid":"u"}`
	lnTool    = `{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t","name":"Bash","input":{}}]},"session_id":"s","uuid":"u"}`
	lnUserStr = `{"type":"user","message":{"role":"user","content":"hi"}}`
	lnResult  = `{"type":"result","subtype":"success","is_error":false,"result":"ECHO: hi","session_id":"s","uuid":"u"}`
	lnIntr    = `{"type":"result","subtype":"error_during_execution","is_error":true,"result":null,"session_id":"s"}`
	lnCtlReq  = `{"type":"control_request","request_id":"r","request":{"subtype":"can_use_tool","tool_name":"Bash"}}`
	lnCtlResp = `{"type":"control_response","response":{"subtype":"success","request_id":"drv_1","response":{}}}`
)

func TestShapeOfLabels(t *testing.T) {
	cases := map[string]string{
		lnInit:    "system/init",
		lnStatus:  "system/status",
		lnStart:   "stream_event/message_start",
		lnBlock:   "stream_event/content_block_start/text",
		lnDelta:   "stream_event/content_block_delta/text_delta",
		lnAsst:    "assistant/text",
		lnTool:    "assistant/tool_use",
		lnUserStr: "user/text",
		lnResult:  "result/success",
		lnIntr:    "result/error_during_execution/is_error",
		lnCtlReq:  "control_request/can_use_tool",
		lnCtlResp: "control_response/success",
	}
	for line, want := range cases {
		s, err := ShapeOf([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if s.Label != want {
			t.Errorf("label of %s = %q, want %q", line, s.Label, want)
		}
	}
	s, _ := ShapeOf([]byte(lnInit))
	if want := []string{"cwd", "model", "session_id", "subtype", "tools", "type", "uuid"}; !reflect.DeepEqual(s.Keys, want) {
		t.Errorf("keys = %v, want %v", s.Keys, want)
	}
	s, _ = ShapeOf([]byte(`{"type":"assistant","message":{"content":[{"type":"tool_use","input":{"command":"x"}},{"type":"text","text":""}],"usage":{"a":{"deep":1}}}}`))
	want := []string{"message", "message.content", "message.content[].input", "message.content[].text", "message.content[].type", "message.usage", "message.usage.a", "type"}
	if !reflect.DeepEqual(s.Keys, want) {
		t.Errorf("nested keys = %v, want %v", s.Keys, want)
	}
}

func TestShapeOfRejectsBadLines(t *testing.T) {
	for _, line := range []string{``, `not json`, `[1,2]`, `{"subtype":"init"}`, `{"type":7}`, `{"type":"x","event":"str"}`} {
		if _, err := ShapeOf([]byte(line)); err == nil {
			t.Errorf("ShapeOf(%q) gave no error", line)
		}
	}
}

func TestSequenceFoldsDeltasAndSkipsInput(t *testing.T) {
	lines := [][]byte{[]byte(`#IN {"type":"user"}`), []byte(lnInit), []byte(lnDelta), []byte(lnDelta), []byte(lnDelta), []byte(lnAsst), []byte(lnDelta), []byte(""), []byte(lnResult)}
	seq, err := Sequence(lines)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"system/init", "stream_event/content_block_delta/text_delta*", "assistant/text", "stream_event/content_block_delta/text_delta*", "result/success"}
	if got := Labels(seq); !reflect.DeepEqual(got, want) {
		t.Fatalf("labels = %v, want %v", got, want)
	}
	if _, err := Sequence([][]byte{[]byte(lnInit), []byte("garbage")}); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("want an error naming line 2, got %v", err)
	}
}

func seqOf(t *testing.T, lines ...string) []Shape {
	t.Helper()
	var b [][]byte
	for _, l := range lines {
		b = append(b, []byte(l))
	}
	s, err := Sequence(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCompareEqual(t *testing.T) {
	a := seqOf(t, lnInit, lnStatus, lnDelta, lnAsst, lnResult)
	b := seqOf(t, lnInit, lnStatus, lnDelta, lnDelta, lnAsst, lnResult)
	if d := Compare("mockcli", a, b); len(d) != 0 {
		t.Fatalf("want no differences, got %v", d)
	}
}

func TestCompareReportsMissingExtraAndKeys(t *testing.T) {
	cli := seqOf(t, lnInit, lnStatus, lnAsst, lnResult)
	mockResult := `{"type":"result","subtype":"success","is_error":false,"result":"ECHO: hi","session_id":"s","extra":1}`
	mock := seqOf(t, lnInit, lnAsst, lnAsst, mockResult)
	d := Compare("mockcli", cli, mock)
	want := []string{
		"mockcli lacks system/status (reference #2, after system/init)",
		"mockcli adds assistant/text (its #3, after assistant/text)",
		"mockcli result/success lacks keys uuid",
		"mockcli result/success has extra keys extra",
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("differences:\n%s\nwant:\n%s", strings.Join(d, "\n"), strings.Join(want, "\n"))
	}
}

func TestMinus(t *testing.T) {
	if got := minus([]string{"a", "b", "c", "d"}, []string{"b", "d", "e"}); !reflect.DeepEqual(got, []string{"a", "c"}) {
		t.Fatalf("minus = %v", got)
	}
}

func FuzzShapeOf(f *testing.F) {
	for _, l := range []string{lnInit, lnStatus, lnStart, lnBlock, lnDelta, lnAsst, lnTool, lnUserStr, lnResult, lnIntr, lnCtlReq, lnCtlResp, `{}`, `{"type":""}`, `null`} {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		s, err := ShapeOf(line)
		if err != nil {
			return
		}
		if s.Label == "" {
			t.Fatalf("accepted line %q with an empty label", line)
		}
		seq, err := Sequence([][]byte{line, line})
		if err != nil {
			t.Fatalf("Sequence rejected a line ShapeOf accepted: %v", err)
		}
		if d := Compare("self", seq, seq); len(d) != 0 {
			t.Fatalf("a sequence differs from itself: %v", d)
		}
	})
}

// The real CLI may emit a control request before or after the stream's
// tail; per-group comparison must not call that a difference.
func TestCompareGroupsIgnoresInterleaving(t *testing.T) {
	stop := `{"type":"stream_event","event":{"type":"message_stop"},"session_id":"s"}`
	a := seqOf(t, lnInit, lnTool, lnCtlReq, stop, lnResult)
	b := seqOf(t, lnInit, lnTool, stop, lnCtlReq, lnResult)
	if d := CompareGroups("mockcli", a, b); len(d) != 0 {
		t.Fatalf("interleaving reported as difference: %v", d)
	}
	c := seqOf(t, lnInit, lnTool, stop, lnResult)
	if d := CompareGroups("mockcli", a, c); len(d) != 1 || !strings.HasPrefix(d[0], "control: mockcli lacks control_request/can_use_tool") {
		t.Fatalf("missing control request: %v", d)
	}
}

func TestShapeOfSystemMessageString(t *testing.T) {
	s, err := ShapeOf([]byte(`{"type":"system","subtype":"permission_denied","message":"Dangerous rm"}`))
	if err != nil || s.Label != "system/permission_denied" {
		t.Fatalf("shape %+v, %v", s, err)
	}
}
