package opencode

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/proc"
)

// The recordings in testdata come from a real `opencode serve` 1.18.33
// against contract/fakeanthropic: global_event.sse is GET /global/event
// over five prompts in one session, reply_*.json the answers of POST
// /session/{id}/message.

// segment is one prompt's bus events, cut where a new user message starts.
type segment struct {
	text   string   // the user's text
	events []string // event data lines, in order
}

func loadSegments(t *testing.T) (string, []segment) {
	t.Helper()
	f, err := os.Open("testdata/global_event.sse")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var segs []segment
	seen := map[string]bool{}
	users := map[string]int{} // user message id -> segment
	sid := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), maxEventBytes)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		ev, err := parseEvent([]byte(data))
		if err != nil {
			t.Fatalf("recorded event not parsed: %v: %.200s", err, data)
		}
		p := ev.Props
		if ev.Type == "message.updated" && p.Info.Role == "user" && !seen[p.Info.ID] {
			seen[p.Info.ID] = true
			users[p.Info.ID] = len(segs)
			segs = append(segs, segment{})
			sid = p.SessionID
		}
		if ev.Type == "message.part.updated" && p.Part.Type == "text" {
			if i, ok := users[p.Part.MessageID]; ok && segs[i].text == "" {
				segs[i].text = p.Part.Text
			}
		}
		if len(segs) > 0 {
			segs[len(segs)-1].events = append(segs[len(segs)-1].events, data)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sid, segs
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// firewall answers like core: a PreToolUse verdict, then a human.
type firewall struct {
	mu    sync.Mutex
	deny  string // non-empty: the hook denies with this reason
	asked []proc.ControlRequest
}

func (f *firewall) HandleControl(_ context.Context, req proc.ControlRequest) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, req)
	if req.Subtype == "hook_callback" {
		if f.deny != "" {
			return map[string]any{"hookSpecificOutput": map[string]string{"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": f.deny}}, nil
		}
		return struct{}{}, nil
	}
	return map[string]any{"behavior": "allow", "updatedInput": json.RawMessage(req.Input)}, nil
}

func (f *firewall) set(deny string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny, f.asked = deny, nil
}

func (f *firewall) requests() []proc.ControlRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]proc.ControlRequest(nil), f.asked...)
}

type collected struct {
	deltas  strings.Builder
	texts   []string
	tools   []proc.Event
	results []proc.Event
	final   *proc.Result
}

func (c *collected) handle(ev *proc.Event) {
	switch ev.Type {
	case proc.EventTextDelta:
		c.deltas.WriteString(ev.Text)
	case proc.EventText:
		c.texts = append(c.texts, ev.Text)
	case proc.EventToolUse:
		e := *ev
		e.Input = append(json.RawMessage(nil), ev.Input...)
		c.tools = append(c.tools, e)
	case proc.EventToolResult:
		c.results = append(c.results, *ev)
	case proc.EventResult:
		c.final = ev.Result
	}
}

// TestReplayRecording plays the real server's events for five prompts and
// checks what core would see: deltas, tools, permissions, results, and no
// late event of an earlier prompt in a later one.
func TestReplayRecording(t *testing.T) {
	sid, segs := loadSegments(t)
	if len(segs) != 5 {
		t.Fatalf("recording has %d prompts, want 5", len(segs))
	}
	f := newFakeOC(t)
	srv := f.attach(t)
	fw := &firewall{}
	a := srv.newTestAgent(t, sid, fw)

	var current segment
	var reply string
	f.prompt = func(r *http.Request, body []byte) (int, string) {
		if r.PathValue("id") != sid || !strings.Contains(string(body), jsonString(current.text)) {
			t.Errorf("prompt for %s: %s", r.PathValue("id"), body)
		}
		for _, d := range current.events {
			f.bus <- d
			ev, _ := parseEvent([]byte(d))
			if ev.Type == "permission.asked" {
				select { // the real server waits for the answer too
				case <-f.replied:
				case <-time.After(guard):
					t.Error("permission request not answered")
				}
			}
		}
		return 200, reply
	}
	turn := func(i int, replyFile string) *collected {
		t.Helper()
		current, reply = segs[i], readFile(t, replyFile)
		c := &collected{}
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		res, err := a.Turn(ctx, proc.UserMessage{Text: current.text}, c.handle)
		if err != nil {
			t.Fatalf("turn %d (%q): %v", i, current.text, err)
		}
		if c.final != res {
			t.Fatalf("turn %d: EventResult %+v differs from the returned %+v", i, c.final, res)
		}
		return c
	}

	// 0: the firewall denies the tool; the model sees the reason.
	fw.set("hotline firewall: rule X: nope")
	c := turn(0, "reply_rejected_tool.json")
	perm := f.reply("per_2345cc7ff001ZRXq7oMNX7TltU")
	if perm["reply"] != "reject" || perm["message"] != "hotline firewall: rule X: nope" {
		t.Fatalf("permission reply: %v", perm)
	}
	if len(c.tools) != 1 || c.tools[0].ToolName != "Bash" || !strings.Contains(string(c.tools[0].Input), `"command":"echo second"`) {
		t.Fatalf("tool events: %+v", c.tools)
	}
	if asked := fw.requests(); len(asked) != 1 || asked[0].Subtype != "hook_callback" || asked[0].ToolName != "Bash" || asked[0].ToolUseID != "toolu_fake_000005" {
		t.Fatalf("control requests: %+v", asked)
	}
	if !strings.HasPrefix(c.final.Text, "TOOL_RESULT: (is_error)") || c.final.IsError || len(c.final.Denials) != 1 {
		t.Fatalf("result: %+v", c.final)
	}
	if len(c.results) != 1 || !c.results[0].IsError {
		t.Fatalf("tool results: %+v", c.results)
	}

	// 1: an API error.
	fw.set("")
	c = turn(1, "reply_apierror.json")
	if !c.final.IsError || c.final.APIErrorStatus != 400 || c.final.Text != "API Error: 400 fake 400" || c.deltas.Len() != 0 {
		t.Fatalf("api error result: %+v, deltas %q", c.final, c.deltas.String())
	}

	// 2: aborted after the first deltas.
	c = turn(2, "reply_aborted.json")
	if c.final.Subtype != "error_during_execution" || !c.final.IsError || len(c.final.Errors) != 1 || c.final.Errors[0] != "MessageAbortedError: Aborted" {
		t.Fatalf("aborted result: %+v", c.final)
	}
	if c.deltas.String() != c.final.Text || c.final.Text != "ECHO: SLOW:1" {
		t.Fatalf("aborted deltas %q, text %q", c.deltas.String(), c.final.Text)
	}

	// 3: the abort's late events (idle twice, the text part's end) are in
	// this segment's head; none may show up as this turn's text.
	c = turn(3, "reply_apierror.json")
	if c.deltas.Len() != 0 || len(c.texts) != 0 {
		t.Fatalf("late events of the aborted turn leaked: deltas %q texts %q", c.deltas.String(), c.texts)
	}

	// 4: approved tool, then the model's answer streams.
	fw.set("")
	c = turn(4, "reply_tool.json")
	if asked := fw.requests(); len(asked) != 2 || asked[1].Subtype != "can_use_tool" || !strings.Contains(string(asked[1].Input), "echo allowed-run") {
		t.Fatalf("control requests: %+v", asked)
	}
	if c.final.Text != "TOOL_RESULT: allowed-run\n" || c.deltas.String() != c.final.Text || c.final.NumTurns != 2 {
		t.Fatalf("tool turn: %+v, deltas %q", c.final, c.deltas.String())
	}
	if len(c.results) != 1 || c.results[0].Text != "allowed-run\n" || c.results[0].IsError {
		t.Fatalf("tool results: %+v", c.results)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}
