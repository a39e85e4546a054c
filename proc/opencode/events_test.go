package opencode

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/hotline-dev/hotline/proc"
)

func readAll(t *testing.T, r *sseReader) ([]string, int) {
	t.Helper()
	var out []string
	tooLong := 0
	for {
		d, err := r.next()
		if errors.Is(err, errEventTooLong) {
			tooLong++
			continue
		}
		if err == io.EOF {
			return out, tooLong
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(d))
	}
}

func TestSSEReader(t *testing.T) {
	in := ": comment\r\n" +
		"event: message\r\ndata: {\"a\":1}\r\n\r\n" +
		"data: line one\ndata: line two\nid: 7\nretry: 10\n\n" +
		"\n\n" + // empty events are skipped
		"data:nospace\n\n" +
		"data: " + strings.Repeat("x", 100) + "\n\n" + // over the limit below
		"data: tail without blank line"
	r := newSSEReader(strings.NewReader(in))
	r.limit = 64
	got, tooLong := readAll(t, r)
	want := []string{`{"a":1}`, "line one\nline two", "nospace", "tail without blank line"}
	if strings.Join(got, "|") != strings.Join(want, "|") || tooLong != 1 {
		t.Fatalf("got %q (%d too long), want %q", got, tooLong, want)
	}
}

func TestSSEReaderLongLineAcrossBuffer(t *testing.T) {
	long := strings.Repeat("y", 200<<10) // longer than the 64 KiB read buffer
	r := newSSEReader(strings.NewReader("data: " + long + "\n\ndata: next\n\n"))
	got, tooLong := readAll(t, r)
	if len(got) != 2 || got[0] != long || got[1] != "next" || tooLong != 0 {
		t.Fatalf("got %d events (%d too long)", len(got), tooLong)
	}
}

func TestParseEventShapes(t *testing.T) {
	cases := []struct {
		in, typ, sid string
		bad          bool
	}{
		{in: `{"directory":"/w","payload":{"type":"session.idle","properties":{"sessionID":"ses_1"}}}`, typ: "session.idle", sid: "ses_1"},
		{in: `{"type":"session.idle","properties":{"sessionID":"ses_2"}}`, typ: "session.idle", sid: "ses_2"},
		{in: `{"payload":{"type":"sync","syncEvent":{"x":1}}}`, typ: "sync"},
		{in: `{"payload":{"type":"server.connected","properties":{}}}`, typ: "server.connected"},
		{in: `{"payload":{"properties":{}}}`, bad: true},
		{in: `{}`, bad: true},
		{in: `not json`, bad: true},
		{in: `{"payload":{"type":"message.updated","properties":{"info":"oops"}}}`, bad: true},
	}
	for _, c := range cases {
		ev, err := parseEvent([]byte(c.in))
		if c.bad {
			if err == nil {
				t.Errorf("%s: no error", c.in)
			}
			continue
		}
		if err != nil || ev.Type != c.typ || ev.Props.SessionID != c.sid {
			t.Errorf("%s: %+v, %v", c.in, ev, err)
		}
	}
}

func TestClaudeInputAndToolNames(t *testing.T) {
	in := claudeInput([]byte(`{"filePath":"/w/a.go","oldString":"x"}`))
	if !strings.Contains(string(in), `"file_path":"/w/a.go"`) || !strings.Contains(string(in), `"filePath"`) {
		t.Fatalf("edit input: %s", in)
	}
	if got := string(claudeInput([]byte(`{"command":"ls"}`))); got != `{"command":"ls"}` {
		t.Fatalf("bash input changed: %s", got)
	}
	if got := string(claudeInput([]byte(`[1]`))); got != `[1]` {
		t.Fatalf("non-object changed: %s", got)
	}
	for id, want := range map[string]string{"bash": "Bash", "edit": "Edit", "write": "Write", "apply_patch": "Edit", "mcp_x": "mcp_x"} {
		if got := toolName(id); got != want {
			t.Errorf("toolName(%q) = %q, want %q", id, got, want)
		}
	}
}

// TestReasoningIsNotReplyText: deltas of reasoning parts carry field
// "text" too; only text parts are the reply.
func TestReasoningIsNotReplyText(t *testing.T) {
	ts := newTurnState(nil)
	var got []proc.Event
	out := func(e *proc.Event) { got = append(got, *e) }
	for _, d := range []string{
		`{"payload":{"type":"message.updated","properties":{"sessionID":"s","info":{"id":"m1","role":"assistant"}}}}`,
		`{"payload":{"type":"message.part.updated","properties":{"sessionID":"s","part":{"id":"p1","messageID":"m1","type":"reasoning","text":""}}}}`,
		`{"payload":{"type":"message.part.delta","properties":{"sessionID":"s","messageID":"m1","partID":"p1","field":"text","delta":"thinking"}}}`,
		`{"payload":{"type":"message.part.updated","properties":{"sessionID":"s","part":{"id":"p2","messageID":"m1","type":"text","text":""}}}}`,
		`{"payload":{"type":"message.part.delta","properties":{"sessionID":"s","messageID":"m1","partID":"p2","field":"text","delta":"answer"}}}`,
		`{"payload":{"type":"message.part.delta","properties":{"sessionID":"s","messageID":"m0","partID":"p9","field":"text","delta":"stale"}}}`,
		`{"payload":{"type":"session.status","properties":{"sessionID":"s","status":{"type":"retry","attempt":1,"message":"overloaded"}}}}`,
	} {
		ev, err := parseEvent([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		ts.apply(ev, out)
	}
	if len(got) != 2 || got[0].Type != proc.EventTextDelta || got[0].Text != "answer" || got[1].Type != proc.EventRetry {
		t.Fatalf("events: %+v", got)
	}
}

func recordedLines(f *testing.F) {
	fh, err := os.Open("testdata/global_event.sse")
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), maxEventBytes)
	n := 0
	for sc.Scan() && n < 40 {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			f.Add([]byte(d))
			n++
		}
	}
}

// FuzzParseEvent feeds bus events (seeded with the recording) through the
// parser and the turn mapping: no panic, and a parsed event has a type.
func FuzzParseEvent(f *testing.F) {
	recordedLines(f)
	f.Add([]byte(`{"payload":{"type":"message.part.updated","properties":{"part":{"type":"tool","callID":"c","state":{"status":"completed","input":{"filePath":"/x"}}}}}}`))
	f.Add([]byte(`{"payload":null,"type":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := parseEvent(data)
		if err != nil {
			return
		}
		if ev.Type == "" {
			t.Fatal("parsed event without type")
		}
		ts := newTurnState(map[string]bool{})
		ts.msgs[""] = true // let parts without a message id through the mapping too
		ts.apply(ev, func(e *proc.Event) {
			if e.Type == proc.EventOther {
				t.Fatal("mapping emitted EventOther")
			}
		})
	})
}

// FuzzSSEReader: any byte stream ends in EOF or an error, never a panic
// or an event over the limit.
func FuzzSSEReader(f *testing.F) {
	f.Add([]byte("data: a\n\ndata: b\r\n\r\n"))
	f.Add([]byte(": c\n\ndata: x\ndata: y\n\n\n\ndata"))
	f.Add([]byte("data: " + strings.Repeat("z", 300) + "\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newSSEReader(strings.NewReader(string(data)))
		r.limit = 256
		for i := 0; i < len(data)+2; i++ {
			d, err := r.next()
			if errors.Is(err, errEventTooLong) {
				continue
			}
			if err != nil {
				return
			}
			if len(d) > r.limit {
				t.Fatalf("event of %d bytes over the limit", len(d))
			}
		}
		t.Fatal("reader did not reach EOF")
	})
}
