// Package fakeslack is an in-process Slack for wire-level tests and the load
// generator: the Web API methods the bridge uses, the Socket Mode websocket,
// and signed HTTP events. It records every call and lets tests inject events
// and faults. It is deliberately strict about the shapes the real Slack
// requires, so a bridge that passes against it talks to Slack correctly.
package fakeslack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Identities the fake answers auth.test with.
const (
	TeamID    = "T0FAKE"
	BotUserID = "UBOT"
	BotID     = "BBOT"
	AppID     = "A0FAKE"
)

// maxCalls bounds the call log so a long load run cannot exhaust memory.
const maxCalls = 200000

// Call is one Web API request as the fake received it.
type Call struct {
	Method string     // Slack method, e.g. "chat.postMessage"
	Path   string     // URL path
	Body   string     // raw request body
	Form   url.Values // parsed form (form-encoded requests)
	Time   time.Time
	Fault  bool // the fake answered this call with an injected fault
}

// Message is the fake's view of a posted message after all edits.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	Blocks   string // raw blocks JSON as last sent
	Edits    int
}

// Fault is an injected failure for one call.
type Fault struct {
	Status     int    // HTTP status, e.g. 429; 0 means 200
	RetryAfter string // Retry-After header value (seconds), empty for none
	SlackError string // with Status 0: answer ok:false with this error
}

// Options configures a Server.
type Options struct {
	// PingInterval is how often the fake pings each websocket; default 1s.
	PingInterval time.Duration
}

// Server is a fake Slack. Create it with New and Close it when done.
type Server struct {
	http *httptest.Server
	opt  Options

	mu        sync.Mutex
	cond      *sync.Cond
	calls     []Call
	counts    map[string]int
	faults    map[string]map[int]Fault // method -> call number (1-based) -> fault
	messages  map[string]*Message      // channel+"/"+ts
	order     []string                 // message keys in post order
	reacts    map[string][]string      // channel+"/"+ts -> reaction names
	acks      map[string]json.RawMessage
	files     map[string]File // id -> stored file
	downloads []Download
	holds     map[string]chan struct{} // file id -> closed when its downloads may proceed
	nextTS    int64
	nextEnv   int
	gen       uint64 // bumped on every change, for WaitUntil

	sock    sockets
	stopped chan struct{}
	wg      sync.WaitGroup
}

// New starts a fake Slack on a loopback port.
func New(opt Options) *Server {
	if opt.PingInterval <= 0 {
		opt.PingInterval = time.Second
	}
	s := &Server{
		opt:      opt,
		counts:   map[string]int{},
		faults:   map[string]map[int]Fault{},
		messages: map[string]*Message{},
		reacts:   map[string][]string{},
		acks:     map[string]json.RawMessage{},
		files:    map[string]File{},
		holds:    map[string]chan struct{}{},
		nextTS:   1700000000000001,
		stopped:  make(chan struct{}),
	}
	s.cond = sync.NewCond(&s.mu)
	s.sock.conns = map[*websocket.Conn]struct{}{}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/files-pri/", s.serveFile)
	mux.HandleFunc("/link/", func(w http.ResponseWriter, r *http.Request) {
		s.wg.Add(1)
		defer s.wg.Done()
		s.serveSocket(w, r)
	})
	// Assigned before serving starts: handlers read s.http.URL.
	s.http = httptest.NewUnstartedServer(mux)
	s.http.Start()
	return s
}

// APIURL is the Web API base to give the client (ends in "/").
func (s *Server) APIURL() string { return s.http.URL + "/api/" }

// Close drops every websocket and stops the server.
func (s *Server) Close() {
	close(s.stopped)
	s.http.CloseClientConnections()
	s.DropSockets()
	s.http.Close()
	s.DropSockets()
	s.wg.Wait()
}

// FailNth makes the nth call (1-based, counting from the server's start) of
// method answer with fault.
func (s *Server) FailNth(method string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults[method] == nil {
		s.faults[method] = map[int]Fault{}
	}
	s.faults[method][n] = f
}

// Count is how many calls of method the fake has received.
func (s *Server) Count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[method]
}

// Calls returns a copy of the call log.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsSince returns the calls after the first n (for incremental scans).
func (s *Server) CallsSince(n int) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n >= len(s.calls) {
		return nil
	}
	return append([]Call(nil), s.calls[n:]...)
}

// WaitFor waits until cond holds for the call log, or timeout. It reports
// whether cond held; the log it returns is the one cond saw last.
func (s *Server) WaitFor(cond func([]Call) bool, timeout time.Duration) ([]Call, bool) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		s.mu.Lock()
		s.broadcastLocked()
		s.mu.Unlock()
	})
	defer timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		calls := append([]Call(nil), s.calls...)
		if cond(calls) {
			return calls, true
		}
		if !time.Now().Before(deadline) {
			return calls, false
		}
		s.cond.Wait()
	}
}

// Messages lists the messages posted in channel, in post order, with edits applied.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, k := range s.order {
		if m := s.messages[k]; m.Channel == channel {
			out = append(out, *m)
		}
	}
	return out
}

// Reactions lists the reactions currently on a message.
func (s *Server) Reactions(channel, ts string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reacts[channel+"/"+ts]...)
}

// broadcastLocked wakes waiters after any state change; s.mu is held.
func (s *Server) broadcastLocked() {
	s.gen++
	s.cond.Broadcast()
}

// WaitUntil waits until cond holds or timeout passes, re-checking after
// every change to the fake's state and every 20ms. Unlike WaitFor, cond runs without the
// fake's lock, so it may call Messages, Reactions, Ack and the like.
func (s *Server) WaitUntil(cond func() bool, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	// The periodic wake-up covers conditions on state outside the fake
	// (the client's own readiness, say).
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				s.mu.Lock()
				s.broadcastLocked()
				s.mu.Unlock()
			}
		}
	}()
	for {
		s.mu.Lock()
		gen := s.gen
		s.mu.Unlock()
		if cond() {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		s.mu.Lock()
		for s.gen == gen {
			s.cond.Wait()
		}
		s.mu.Unlock()
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	form, _ := url.ParseQuery(string(body))
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form = url.Values{}
	}
	for k, v := range r.URL.Query() {
		form[k] = v
	}
	s.mu.Lock()
	s.counts[method]++
	fault, faulty := s.faults[method][s.counts[method]]
	call := Call{Method: method, Path: r.URL.Path, Body: string(body), Form: form, Time: time.Now(), Fault: faulty}
	if len(s.calls) < maxCalls {
		s.calls = append(s.calls, call)
	}
	var resp any
	if !faulty {
		resp = s.answerLocked(method, r, form)
	}
	s.broadcastLocked()
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	if faulty {
		writeFault(w, fault)
		return
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func writeFault(w http.ResponseWriter, f Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Status != 0 && f.Status != http.StatusOK {
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": f.SlackError})
}

func fail(errName string) map[string]any { return map[string]any{"ok": false, "error": errName} }

// answerLocked implements the methods; s.mu is held.
func (s *Server) answerLocked(method string, r *http.Request, f url.Values) any {
	switch method {
	case "auth.test":
		if f.Get("token") == "" && r.Header.Get("Authorization") == "" {
			return fail("not_authed")
		}
		return map[string]any{"ok": true, "url": "https://fake.slack.test/", "team": "Fake",
			"user": "hotline", "team_id": TeamID, "user_id": BotUserID, "bot_id": BotID}
	case "apps.connections.open":
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer xapp-") {
			return fail("invalid_auth")
		}
		u := strings.Replace(s.http.URL, "http://", "ws://", 1) + "/link/?ticket=" + s.tsLocked()
		return map[string]any{"ok": true, "url": u}
	case "chat.postMessage":
		return s.postLocked(f)
	case "chat.update":
		return s.updateLocked(f)
	case "chat.postEphemeral":
		if f.Get("channel") == "" || f.Get("user") == "" {
			return fail("channel_not_found")
		}
		return map[string]any{"ok": true, "message_ts": s.tsLocked()}
	case "reactions.add", "reactions.remove":
		return s.reactLocked(method, f)
	case "conversations.replies":
		return s.repliesLocked(f)
	}
	return fail("unknown_method")
}

func (s *Server) tsLocked() string {
	s.nextTS++
	return fmt.Sprintf("%d.%06d", s.nextTS/1000000, s.nextTS%1000000)
}

func (s *Server) postLocked(f url.Values) any {
	ch := f.Get("channel")
	if ch == "" {
		return fail("channel_not_found")
	}
	if f.Get("text") == "" && f.Get("blocks") == "" {
		return fail("no_text")
	}
	if b := f.Get("blocks"); b != "" && !json.Valid([]byte(b)) {
		return fail("invalid_blocks")
	}
	ts := s.tsLocked()
	m := &Message{Channel: ch, TS: ts, ThreadTS: f.Get("thread_ts"), Text: Displayed(f.Get("text")), Blocks: f.Get("blocks")}
	s.messages[ch+"/"+ts] = m
	s.order = append(s.order, ch+"/"+ts)
	return map[string]any{"ok": true, "channel": ch, "ts": ts,
		"message": map[string]any{"type": "message", "text": m.Text, "ts": ts, "thread_ts": m.ThreadTS, "bot_id": BotID, "user": BotUserID}}
}

// repliesLocked answers conversations.replies with the bot's messages in
// the thread (the fake keeps no user messages), oldest first, one page.
func (s *Server) repliesLocked(f url.Values) any {
	ch, ts := f.Get("channel"), f.Get("ts")
	if ch == "" || ts == "" {
		return fail("invalid_arguments")
	}
	msgs := []map[string]any{}
	for _, k := range s.order {
		if m := s.messages[k]; m.Channel == ch && (m.TS == ts || m.ThreadTS == ts) {
			msgs = append(msgs, map[string]any{"type": "message", "ts": m.TS, "thread_ts": m.ThreadTS,
				"text": m.Text, "user": BotUserID, "bot_id": BotID})
		}
	}
	return map[string]any{"ok": true, "messages": msgs, "has_more": false,
		"response_metadata": map[string]any{"next_cursor": ""}}
}

func (s *Server) updateLocked(f url.Values) any {
	ch, ts := f.Get("channel"), f.Get("ts")
	m, ok := s.messages[ch+"/"+ts]
	if !ok {
		return fail("message_not_found")
	}
	if f.Get("text") == "" && f.Get("blocks") == "" {
		return fail("no_text")
	}
	if b := f.Get("blocks"); b != "" && !json.Valid([]byte(b)) {
		return fail("invalid_blocks")
	}
	m.Text, m.Blocks = Displayed(f.Get("text")), f.Get("blocks")
	m.Edits++
	return map[string]any{"ok": true, "channel": ch, "ts": ts, "text": m.Text}
}

func (s *Server) reactLocked(method string, f url.Values) any {
	key := f.Get("channel") + "/" + f.Get("timestamp")
	name := f.Get("name")
	if f.Get("channel") == "" || f.Get("timestamp") == "" || name == "" {
		return fail("invalid_arguments")
	}
	cur := s.reacts[key]
	idx := -1
	for i, n := range cur {
		if n == name {
			idx = i
		}
	}
	if method == "reactions.add" {
		if idx >= 0 {
			return fail("already_reacted")
		}
		s.reacts[key] = append(cur, name)
		return map[string]any{"ok": true}
	}
	if idx < 0 {
		return fail("no_reaction")
	}
	s.reacts[key] = append(cur[:idx:idx], cur[idx+1:]...)
	return map[string]any{"ok": true}
}

// Displayed is what Slack shows for a message's text field: the three
// control characters arrive escaped and are displayed as themselves.
func Displayed(wire string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(wire)
}
