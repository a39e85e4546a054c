package fakeanthropic

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, body string) *MessagesRequest {
	t.Helper()
	r, err := ParseRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPlanTriggers(t *testing.T) {
	cases := []struct {
		text  string
		kind  ReplyKind
		reply string
		delay time.Duration
	}{
		{"hello", ReplyText, "ECHO: hello", 0},
		{"SLOW:250 tick", ReplyText, "ECHO: SLOW:250 tick", 250 * time.Millisecond},
		{"SLOW:99999999 cap", ReplyText, "ECHO: SLOW:99999999 cap", maxDelay},
		{"SLOW:x", ReplyText, "ECHO: SLOW:x", 0},
		{"FAIL500", ReplyError, "", 0},
		{"TOOL_BASH:", ReplyText, "ECHO: TOOL_BASH:", 0},
		{"TOOL_BASH: ls -l", ReplyTool, "", 0},
	}
	for _, c := range cases {
		b, _ := json.Marshal(map[string]any{"messages": []any{map[string]any{"role": "user", "content": c.text}}})
		rep := Plan(mustParse(t, string(b)))
		if rep.Kind != c.kind || rep.Text != c.reply || rep.Delay != c.delay {
			t.Errorf("%q: got %+v", c.text, rep)
		}
	}
}

func TestUserAndAssistantTexts(t *testing.T) {
	r := mustParse(t, `{"messages":[{"role":"user","content":"remember ALPHA"},{"role":"assistant","content":[{"type":"text","text":"ECHO: remember ALPHA"}]},
	 {"role":"user","content":[{"type":"text","text":"<system-reminder>x</system-reminder>"},{"type":"text","text":"after"}]}]}`)
	if got := strings.Join(r.UserTexts(), "|"); got != "remember ALPHA|after" {
		t.Fatalf("user texts %q", got)
	}
	if got := strings.Join(r.AssistantTexts(), "|"); got != "ECHO: remember ALPHA" {
		t.Fatalf("assistant texts %q", got)
	}
	if b, err := json.Marshal(r.Messages[0]); err != nil || !strings.Contains(string(b), `"content":[{"type":"text","text":"remember ALPHA"}]`) {
		t.Fatalf("marshal %s (%v)", b, err)
	}
}

func TestParseRequestErrors(t *testing.T) {
	for _, body := range []string{``, `[]`, `{"messages":[]}`, `{"messages":[{"role":"user","content":{"a":1}}]}`,
		`{"messages":[{"role":"user","content":[{"type":"tool_result","content":7}]}]}`} {
		if _, err := ParseRequest([]byte(body)); err == nil {
			t.Errorf("ParseRequest(%q) accepted", body)
		}
	}
}

func TestChunks(t *testing.T) {
	if got := strings.Join(chunks("ECHO: héllo", 4), "|"); got != "ECHO|: hé|llo" {
		t.Fatalf("chunks %q", got)
	}
	if got := chunks("", 4); len(got) != 1 || got[0] != "" {
		t.Fatalf("empty chunks %q", got)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(userWithReminder))
	f.Add([]byte(`{"messages":[{"role":"user","content":"TOOL_BASH: rm -rf /"}]}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"ok"}]}]}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":"SLOW:12 FAIL429"}]}`))
	f.Add([]byte(`{"messages":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		if err != nil {
			return
		}
		rep := Plan(r)
		if rep.Delay < 0 || rep.Delay > maxDelay {
			t.Fatalf("delay %v out of range", rep.Delay)
		}
		switch rep.Kind {
		case ReplyTool:
			var in map[string]string
			if json.Unmarshal(rep.ToolInput, &in) != nil || in["command"] == "" {
				t.Fatalf("tool input %s", rep.ToolInput)
			}
		case ReplyError:
			if rep.Status < 400 || rep.ErrMsg == "" {
				t.Fatalf("error reply %+v", rep)
			}
		case ReplyText:
			if !strings.HasPrefix(rep.Text, "ECHO: ") && !strings.HasPrefix(rep.Text, "TOOL_RESULT: ") {
				t.Fatalf("text reply %q", rep.Text)
			}
		}
	})
}

// After an interrupt the CLI puts its marker into the next user message;
// the recordings' fake echoed only what the user typed.
func TestEchoSkipsInterruptMarker(t *testing.T) {
	r := mustParse(t, `{"messages":[{"role":"user","content":[{"type":"text","text":"[Request interrupted by user]"},{"type":"text","text":"after interrupt"}]}]}`)
	if rep := Plan(r); rep.Text != "ECHO: after interrupt" {
		t.Fatalf("reply %q", rep.Text)
	}
}

// After failed turns the CLI resends the failed prompts as earlier blocks
// of one user message; only the last block is this turn's prompt.
func TestCurrentTextAfterFailedTurns(t *testing.T) {
	r := mustParse(t, `{"messages":[{"role":"user","content":[{"type":"text","text":"<system-reminder>r</system-reminder>"},
	 {"type":"text","text":"please FAIL500\n"},{"type":"text","text":"please FAILBAD\n"},{"type":"text","text":"recovered"}]}]}`)
	if got := r.CurrentText(); got != "recovered" {
		t.Fatalf("current text %q", got)
	}
	if rep := Plan(r); rep.Kind != ReplyText || rep.Text != "ECHO: recovered" {
		t.Fatalf("reply %+v", rep)
	}
	if got := strings.Join(r.UserTexts(), "|"); got != "please FAIL500|please FAILBAD|recovered" {
		t.Fatalf("user texts %q", got)
	}
}
