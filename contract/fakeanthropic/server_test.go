package fakeanthropic

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func startServer(t *testing.T) *Server {
	t.Helper()
	s, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

type sseEvent struct {
	name string
	data map[string]any
}

func post(t *testing.T, ctx context.Context, s *Server, path, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readSSE(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	var out []sseEvent
	sc := bufio.NewScanner(r)
	var name string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var m map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m); err != nil {
				t.Fatalf("bad data line %q: %v", line, err)
			}
			if m["type"] != name {
				t.Fatalf("event %q carries data of type %v", name, m["type"])
			}
			out = append(out, sseEvent{name, m})
		}
	}
	return out
}

func names(evs []sseEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.name)
	}
	return out
}

const userWithReminder = `{"model":"m1","max_tokens":10,"stream":true,"messages":[
 {"role":"user","content":[{"type":"text","text":"<system-reminder>\nignore me\n</system-reminder>\n"},{"type":"text","text":"hello there"}]},
 {"role":"system","content":"env"}]}`

func TestStreamEcho(t *testing.T) {
	s := startServer(t)
	resp := post(t, context.Background(), s, "/v1/messages", userWithReminder)
	if ct := resp.Header.Get("content-type"); ct != "text/event-stream" {
		t.Fatalf("content-type %q", ct)
	}
	evs := readSSE(t, resp.Body)
	got := strings.Join(names(evs), ",")
	want := "message_start,content_block_start," + strings.Repeat("content_block_delta,", 5) + "content_block_stop,message_delta,message_stop"
	if got != want {
		t.Fatalf("events %s\nwant   %s", got, want)
	}
	var text strings.Builder
	for _, e := range evs {
		if e.name == "content_block_delta" {
			d := e.data["delta"].(map[string]any)
			if d["type"] != "text_delta" {
				t.Fatalf("delta type %v", d["type"])
			}
			text.WriteString(d["text"].(string))
		}
	}
	if text.String() != "ECHO: hello there" {
		t.Fatalf("text %q", text.String())
	}
	if m := evs[0].data["message"].(map[string]any); m["model"] != "m1" {
		t.Fatalf("model %v", m["model"])
	}
	if sr := evs[8].data["delta"].(map[string]any)["stop_reason"]; sr != "end_turn" {
		t.Fatalf("stop_reason %v", sr)
	}
	recs := s.Requests()
	if len(recs) != 1 || strings.Join(recs[0].Request.UserTexts(), "|") != "hello there" {
		t.Fatalf("recorded %+v", recs)
	}
}

func TestToolUseThenResult(t *testing.T) {
	s := startServer(t)
	resp := post(t, context.Background(), s, "/v1/messages", `{"stream":true,"messages":[{"role":"user","content":"TOOL_BASH: touch /tmp/x\nmore"}]}`)
	evs := readSSE(t, resp.Body)
	block := evs[1].data["content_block"].(map[string]any)
	if block["type"] != "tool_use" || block["name"] != "Bash" {
		t.Fatalf("block %v", block)
	}
	var js strings.Builder
	for _, e := range evs {
		if e.name == "content_block_delta" {
			js.WriteString(e.data["delta"].(map[string]any)["partial_json"].(string))
		}
	}
	var in map[string]string
	if err := json.Unmarshal([]byte(js.String()), &in); err != nil || in["command"] != "touch /tmp/x" {
		t.Fatalf("tool input %q (%v)", js.String(), err)
	}
	if sr := evs[len(evs)-2].data["delta"].(map[string]any)["stop_reason"]; sr != "tool_use" {
		t.Fatalf("stop_reason %v", sr)
	}
	follow := `{"stream":false,"messages":[{"role":"user","content":"TOOL_BASH: touch /tmp/x"},
	 {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{}}]},
	 {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","is_error":true,"content":[{"type":"text","text":"denied"}]}]}]}`
	resp = post(t, context.Background(), s, "/v1/messages", follow)
	var msg struct {
		Content []Block `json:"content"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&msg); err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "TOOL_RESULT: (is_error) denied" {
		t.Fatalf("answer %+v", msg.Content)
	}
}

func TestErrorTriggers(t *testing.T) {
	s := startServer(t)
	for trigger, status := range map[string]int{"FAIL500": 500, "FAIL429": 429, "FAIL529": 529, "FAILBAD": 400} {
		resp := post(t, context.Background(), s, "/v1/messages", `{"stream":true,"messages":[{"role":"user","content":"please `+trigger+`"}]}`)
		if resp.StatusCode != status {
			t.Errorf("%s: status %d, want %d", trigger, resp.StatusCode, status)
		}
		var body struct {
			Type  string `json:"type"`
			Error struct{ Type, Message string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Type != "error" || body.Error.Message == "" {
			t.Errorf("%s: body %+v (%v)", trigger, body, err)
		}
	}
}

func TestBadRequestIsRefusedAndNotRecorded(t *testing.T) {
	s := startServer(t)
	for _, body := range []string{`not json`, `{"messages":[]}`, `{"messages":[{"role":"user","content":5}]}`} {
		if resp := post(t, context.Background(), s, "/v1/messages", body); resp.StatusCode != 400 {
			t.Errorf("%q: status %d", body, resp.StatusCode)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Fatalf("recorded %d bad requests", n)
	}
}

func TestSideEndpoints(t *testing.T) {
	s := startServer(t)
	resp := post(t, context.Background(), s, "/v1/messages/count_tokens", `{"messages":[{"role":"user","content":"abcdefgh"}]}`)
	var ct map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&ct); err != nil || ct["input_tokens"] <= 0 {
		t.Fatalf("count_tokens %v (%v)", ct, err)
	}
	mr, err := http.Get(s.URL() + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer mr.Body.Close()
	var models struct{ Data []struct{ ID string } }
	if err := json.NewDecoder(mr.Body).Decode(&models); err != nil || len(models.Data) != 1 || models.Data[0].ID != Model {
		t.Fatalf("models %+v (%v)", models, err)
	}
	if resp := post(t, context.Background(), s, "/api/oauth/whatever", `{}`); resp.StatusCode != 404 {
		t.Fatalf("unknown path status %d", resp.StatusCode)
	}
	if u := s.Unknown(); len(u) != 1 || u[0] != "POST /api/oauth/whatever" {
		t.Fatalf("unknown %v", u)
	}
}

// A client that hangs up mid-stream (the CLI on interrupt) must end the
// handler, or Close would wait on it.
func TestSlowStreamEndsWhenClientLeaves(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	resp := post(t, ctx, s, "/v1/messages", `{"stream":true,"messages":[{"role":"user","content":"SLOW:5000 a long reply that takes a while"}]}`)
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before first delta: %v", err)
		}
		if strings.Contains(line, "content_block_delta") {
			break
		}
	}
	cancel()
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close hung on an abandoned slow stream")
	}
}
