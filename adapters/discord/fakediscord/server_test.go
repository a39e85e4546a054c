package fakediscord

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func do(t *testing.T, s *Server, method, path, body string, auth bool) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+"api/v9"+path, strings.NewReader(body))
	if auth {
		req.Header.Set("Authorization", "Bot "+Token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

func TestRESTValidationFaultsAndRecording(t *testing.T) {
	s := New()
	defer s.Close()
	defer http.DefaultClient.CloseIdleConnections()
	if r, _ := do(t, s, "POST", "/channels/1/messages", `{"content":"x"}`, false); r.StatusCode != 401 {
		t.Errorf("no auth: %d", r.StatusCode)
	}
	if r, _ := do(t, s, "POST", "/channels/1/messages", `{"content":"`+strings.Repeat("a", 2001)+`"}`, true); r.StatusCode != 400 {
		t.Errorf("2001 chars: %d", r.StatusCode)
	}
	if r, _ := do(t, s, "POST", "/channels/1/messages", `{"content":""}`, true); r.StatusCode != 400 {
		t.Errorf("empty: %d", r.StatusCode)
	}
	r, m := do(t, s, "POST", "/channels/1/messages", `{"content":"hello"}`, true)
	if r.StatusCode != 200 || m["id"] == "" {
		t.Fatalf("post: %d %v", r.StatusCode, m)
	}
	s.AddFault(Fault{Method: "PATCH", PathHas: "/messages/", Nth: 2, RetryAfter: 1500 * time.Millisecond, Global: true})
	id := m["id"].(string)
	if r, _ := do(t, s, "PATCH", "/channels/1/messages/"+id, `{"content":"one"}`, true); r.StatusCode != 200 {
		t.Errorf("first edit %d", r.StatusCode)
	}
	r, m = do(t, s, "PATCH", "/channels/1/messages/"+id, `{"content":"two"}`, true)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") != "2" || r.Header.Get("X-RateLimit-Global") != "true" || m["retry_after"] != 1.5 {
		t.Errorf("fault: %d %v %v", r.StatusCode, r.Header, m)
	}
	if got := s.Messages("1"); len(got) != 1 || got[0].Content != "one" || got[0].Edits != 1 {
		t.Errorf("messages %+v", got)
	}
	calls, ok := s.WaitFor(func(c []Call) bool { return len(c) == 6 }, 10*time.Second)
	if !ok || calls[5].Status != 429 || calls[5].Method != "PATCH" || string(calls[5].Body) != `{"content":"two"}` {
		t.Errorf("calls %+v", calls)
	}
	if r, _ := do(t, s, "GET", "/channels/404", "", true); r.StatusCode != 404 {
		t.Errorf("unknown channel %d", r.StatusCode)
	}
}

func dial(t *testing.T, s *Server) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL(), "http")+"gateway/?v=9&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var hello map[string]any
	if err := c.ReadJSON(&hello); err != nil || hello["op"] != float64(10) {
		t.Fatalf("hello %v %v", hello, err)
	}
	return c
}

func TestGatewayIdentifyHeartbeatResume(t *testing.T) {
	s := New()
	defer s.Close()
	bad := dial(t, s)
	_ = bad.WriteJSON(map[string]any{"op": 2, "d": map[string]any{"token": "Bot " + Token, "intents": 1 << 9}})
	_, _, err := bad.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4014 {
		t.Errorf("missing intents: %v", err)
	}
	bad.Close()

	c := dial(t, s)
	_ = c.WriteJSON(map[string]any{"op": 2, "d": map[string]any{"token": "Bot " + Token, "intents": RequiredIntents}})
	var ready map[string]any
	if err := c.ReadJSON(&ready); err != nil || ready["t"] != "READY" {
		t.Fatalf("ready %v %v", ready, err)
	}
	_ = c.WriteJSON(map[string]any{"op": 1, "d": 1})
	var ack map[string]any
	if err := c.ReadJSON(&ack); err != nil || ack["op"] != float64(11) {
		t.Fatalf("ack %v %v", ack, err)
	}
	sid := ready["d"].(map[string]any)["session_id"].(string)
	if !s.DropGateway() {
		t.Fatal("drop")
	}
	c.Close()
	if err := s.Dispatch("MESSAGE_CREATE", map[string]any{"id": "5"}); err != nil {
		t.Fatal(err)
	}
	c = dial(t, s)
	defer c.Close()
	_ = c.WriteJSON(map[string]any{"op": 6, "d": map[string]any{"token": "Bot " + Token, "session_id": sid, "seq": 1}})
	var replay, resumed map[string]any
	if err := c.ReadJSON(&replay); err != nil || replay["t"] != "MESSAGE_CREATE" || replay["s"] != float64(2) {
		t.Fatalf("replay %v %v", replay, err)
	}
	if err := c.ReadJSON(&resumed); err != nil || resumed["t"] != "RESUMED" {
		t.Fatalf("resumed %v %v", resumed, err)
	}
	if s.Resumes() != 1 || len(s.Identifies()) != 1 {
		t.Errorf("resumes %d identifies %d", s.Resumes(), len(s.Identifies()))
	}
}
