package opencode

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hotline-dev/hotline/proc"
)

// guard bounds waits against hangs only; no test asserts on speed.
const guard = 30 * time.Second

// fakeOC is an OpenCode server double: the HTTP API the driver uses, with
// a bus the test feeds and prompts the test answers.
type fakeOC struct {
	t   *testing.T
	hs  *httptest.Server
	bus chan string // data of events to stream

	// prompt answers POST /session/{id}/message; it may block.
	prompt func(r *http.Request, body []byte) (int, string)

	mu       sync.Mutex
	sessions map[string]bool
	created  []map[string]any
	patched  []string
	aborts   []string
	replies  map[string]map[string]string // permission id -> reply body
	replied  chan string                  // permission ids as they are answered
	aborted  chan string

	inflight, maxInflight int
	pass                  string // "" = any non-empty password
}

func newFakeOC(t *testing.T) *fakeOC {
	f := &fakeOC{t: t, pass: "pw", bus: make(chan string, 1024), sessions: map[string]bool{},
		replies: map[string]map[string]string{}, replied: make(chan string, 64), aborted: make(chan string, 64)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /global/event", f.events)
	mux.HandleFunc("POST /session", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		id := fmt.Sprintf("ses_test%d", len(f.created)+1)
		f.sessions[id] = true
		f.created = append(f.created, body)
		f.mu.Unlock()
		writeJSONTest(w, 200, map[string]string{"id": id})
	})
	mux.HandleFunc("PATCH /session/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		f.mu.Lock()
		known := f.sessions[id]
		f.patched = append(f.patched, id)
		f.mu.Unlock()
		if !known {
			writeJSONTest(w, 404, map[string]any{"name": "NotFoundError", "data": map[string]string{"message": "Session not found: " + id}})
			return
		}
		writeJSONTest(w, 200, map[string]string{"id": id})
	})
	mux.HandleFunc("POST /session/{id}/message", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		status, reply := f.prompt(r, body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
	})
	mux.HandleFunc("POST /session/{id}/abort", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.aborts = append(f.aborts, r.PathValue("id"))
		f.mu.Unlock()
		f.aborted <- r.PathValue("id")
		writeJSONTest(w, 200, true)
	})
	mux.HandleFunc("POST /permission/{id}/reply", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.replies[r.PathValue("id")] = body
		f.mu.Unlock()
		f.replied <- r.PathValue("id")
		writeJSONTest(w, 200, true)
	})
	mux.HandleFunc("POST /question/{id}/reject", func(w http.ResponseWriter, r *http.Request) {
		f.replied <- "question:" + r.PathValue("id")
		writeJSONTest(w, 200, true)
	})
	mux.HandleFunc("GET /permission", func(w http.ResponseWriter, _ *http.Request) { writeJSONTest(w, 200, []any{}) })
	auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != serverUser || p == "" || (f.pass != "" && p != f.pass) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
	f.hs = httptest.NewServer(auth)
	return f
}

func (f *fakeOC) events(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	send := func(data string) bool {
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(`{"payload":{"id":"evt_0","type":"server.connected","properties":{}}}`) {
		return
	}
	for {
		select {
		case d := <-f.bus:
			if !send(d) {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

func writeJSONTest(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeOC) reply(id string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.replies[id]
}

// emit puts one bus event (the payload, wrapped as /global/event does).
func (f *fakeOC) emit(typ string, props any) {
	b, _ := json.Marshal(map[string]any{"directory": "/w", "payload": map[string]any{"type": typ, "properties": props}})
	f.bus <- string(b)
}

func testLogger(t *testing.T) logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(logWriter{t})
	return l
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// attach builds a server around the fake (no process) with its bus loop
// running, and a Supervisor-less way to make agents.
func (f *fakeOC) attach(t *testing.T) *server {
	cfg := Config{Path: "unused", Log: testLogger(t)}
	if err := cfg.defaults(); err != nil {
		t.Fatal(err)
	}
	s := &server{cfg: cfg, log: cfg.Log, url: f.hs.URL, pass: "pw", hc: f.hs.Client(),
		exited: make(chan struct{}), connected: make(chan struct{}), agents: map[string]*Agent{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.busLoop() }()
	select {
	case <-s.connected:
	case <-time.After(guard):
		t.Fatal("bus did not connect")
	}
	t.Cleanup(func() {
		s.cancel()
		f.hs.CloseClientConnections()
		f.hs.Close()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		select {
		case <-s.exited:
		default:
			close(s.exited)
		}
		s.wg.Wait()
	})
	return s
}

func (s *server) newTestAgent(t *testing.T, id string, c proc.ControlHandler) *Agent {
	a := newAgent(s, id, "", c, s.log)
	if !s.register(id, a) {
		t.Fatal("register failed")
	}
	t.Cleanup(func() { a.Kill(); <-a.done })
	return a
}
