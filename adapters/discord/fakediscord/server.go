// Package fakediscord is an in-process Discord: the REST routes the bridge
// uses, served over real HTTP; a gateway websocket speaking plain JSON text
// frames; and a CDN serving signed attachment URLs (files.go). It records
// every call so tests can assert on the wire, and it injects faults (429s,
// dropped gateways) on demand. The load generator in
// bench/ reuses it.
package fakediscord

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Fixed identities of the fake world.
const (
	BotID    = "900000000000000001"
	BotName  = "hotline"
	AppID    = "900000000000000002"
	Token    = "fake-token"
	MaxChars = 2000 // Discord's content limit, enforced like the real API
)

// Call is one request the client made: a REST request or a gateway frame
// (Method "WS", Path "op:<n>").
type Call struct {
	Method string
	Path   string // URL path without the /api/v9 prefix, e.g. /channels/1/messages
	Body   []byte
	Time   time.Time
	Status int // the status the fake answered with (0 for gateway frames)
}

// Message is the fake's current view of one message.
type Message struct {
	ID         string          `json:"id"`
	ChannelID  string          `json:"channel_id"`
	Content    string          `json:"content"`
	Components json.RawMessage `json:"components,omitempty"`
	Edits      int             `json:"-"`
}

// Fault makes the Nth matching REST call (1-based, counted from the moment
// the fault is added) fail with status 429 (or Status if set).
type Fault struct {
	Method     string
	PathHas    string // substring of the path; empty matches all
	Nth        int
	Status     int           // default 429
	RetryAfter time.Duration // sent as retry_after and Retry-After
	Global     bool
	Body       string // raw body instead of Discord's JSON (e.g. a proxy's HTML)
	seen       int
	done       bool
}

// Server is the fake. Create it with New and Close it when done.
type Server struct {
	http  *httptest.Server
	gw    *gateway
	files files // attachments (files.go), under their own lock

	// rmu makes a REST call's state change and its entry in the call log
	// one step for observers: held for writing across both, for reading
	// by Calls, WaitFor and Messages.
	rmu      sync.RWMutex
	mu       sync.Mutex
	calls    []Call
	changed  chan struct{} // closed and replaced whenever calls change
	faults   []*Fault
	holds    []*hold               // HoldResponses (holds.go)
	messages map[string][]*Message // channel -> messages in order
	byID     map[string]*Message
	channels map[string]json.RawMessage
	// interactionChannel maps an interaction token to the channel it was
	// dispatched in, so the deferred response lands there.
	interactionChannel map[string]string
	nextID             uint64
	// ThreadCreateDispatch sends THREAD_CREATE after a thread is made, as
	// Discord does.
	threadDispatch bool
}

// New starts a fake on a loopback port.
func New() *Server {
	s := &Server{
		changed:            make(chan struct{}),
		messages:           map[string][]*Message{},
		byID:               map[string]*Message{},
		channels:           map[string]json.RawMessage{},
		interactionChannel: map[string]string{},
		nextID:             1000000000000000000,
		threadDispatch:     true,
		files:              files{byPath: map[string]*storedFile{}},
	}
	s.gw = newGateway(s)
	mux := http.NewServeMux()
	mux.HandleFunc("/gateway", s.gw.serve)
	mux.HandleFunc("/gateway/", s.gw.serve) // discordgo appends a slash
	mux.HandleFunc("/api/v9/", s.serveREST)
	mux.HandleFunc("/attachments/", s.serveFile)
	mux.HandleFunc("/media/attachments/", s.serveFile)
	// Assigned before serving starts: handlers read s.http.URL.
	s.http = httptest.NewUnstartedServer(mux)
	s.http.Start()
	return s
}

// URL is the base to give DISCORD_API_URL ("http://127.0.0.1:port/").
func (s *Server) URL() string { return s.http.URL + "/" }

// Close drops the gateway and stops the HTTP server.
func (s *Server) Close() {
	s.gw.closeAll()
	s.http.Close()
}

// SetThreadCreateDispatch turns the THREAD_CREATE dispatch after thread
// creation on or off.
func (s *Server) SetThreadCreateDispatch(on bool) {
	s.mu.Lock()
	s.threadDispatch = on
	s.mu.Unlock()
}

// AddFault arms a fault.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Status == 0 {
		f.Status = http.StatusTooManyRequests
	}
	s.faults = append(s.faults, &f)
}

// AddChannel makes GET /channels/{id} answer with the given channel object.
func (s *Server) AddChannel(id string, channel any) {
	raw, _ := json.Marshal(channel)
	s.mu.Lock()
	s.channels[id] = raw
	s.mu.Unlock()
}

// Calls returns a copy of every call so far.
func (s *Server) Calls() []Call {
	s.rmu.RLock()
	defer s.rmu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// WaitFor blocks until cond holds for the calls so far, or timeout passes.
// It returns the calls it last saw and whether cond held.
func (s *Server) WaitFor(cond func([]Call) bool, timeout time.Duration) ([]Call, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.rmu.RLock()
		s.mu.Lock()
		calls := append([]Call(nil), s.calls...)
		ch := s.changed
		s.mu.Unlock()
		s.rmu.RUnlock()
		if cond(calls) {
			return calls, true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return calls, false
		}
	}
}

// Messages returns the current content of the messages in a channel, in
// the order they were posted.
func (s *Server) Messages(channelID string) []Message {
	s.rmu.RLock()
	defer s.rmu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages[channelID]))
	for _, m := range s.messages[channelID] {
		out = append(out, *m)
	}
	return out
}

// NewID hands out a fresh snowflake-like id.
func (s *Server) NewID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newIDLocked()
}

func (s *Server) newIDLocked() string {
	s.nextID++
	return strconv.FormatUint(s.nextID, 10)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// fault returns the armed fault this call triggers, if any.
func (s *Server) fault(method, path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.done || f.Method != method || !strings.Contains(path, f.PathHas) {
			continue
		}
		f.seen++
		if f.seen == f.Nth {
			f.done = true
			return f
		}
	}
	return nil
}

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	path := strings.TrimPrefix(r.URL.Path, "/api/v9")
	// Answer into a buffer so that the client sees the response only after
	// the call is logged, and no lock is held while it is written.
	buf := httptest.NewRecorder()
	s.rmu.Lock()
	status := s.answer(buf, r, path, body)
	s.record(Call{Method: r.Method, Path: path, Body: body, Time: time.Now(), Status: status})
	s.rmu.Unlock()
	s.waitHeld(r, path)
	for k, v := range buf.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(buf.Code)
	_, _ = w.Write(buf.Body.Bytes())
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, path string, body []byte) int {
	if path == "/gateway" || path == "/gateway/bot" {
		return writeJSON(w, 200, map[string]any{"url": "ws" + strings.TrimPrefix(s.http.URL, "http") + "/gateway", "shards": 1})
	}
	if r.Header.Get("Authorization") != "Bot "+Token && !strings.HasPrefix(path, "/interactions/") && !strings.HasPrefix(path, "/webhooks/") {
		return writeJSON(w, 401, map[string]any{"message": "401: Unauthorized", "code": 0})
	}
	if f := s.fault(r.Method, path); f != nil {
		return writeFault(w, f)
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method == "POST" && match(parts, "channels", "*", "messages"):
		return s.postMessage(w, parts[1], body)
	case r.Method == "PATCH" && match(parts, "channels", "*", "messages", "*"):
		return s.editMessage(w, parts[1], parts[3], body)
	case r.Method == "POST" && match(parts, "channels", "*", "messages", "*", "threads"):
		return s.startThread(w, parts[1], parts[3], body)
	case r.Method == "GET" && match(parts, "channels", "*"):
		return s.getChannel(w, parts[1])
	case r.Method == "POST" && match(parts, "channels", "*", "typing"):
		w.WriteHeader(204)
		return 204
	case (r.Method == "PUT" || r.Method == "DELETE") && len(parts) >= 6 && parts[0] == "channels" && parts[4] == "reactions":
		w.WriteHeader(204)
		return 204
	case r.Method == "PUT" && (match(parts, "applications", "*", "commands") || match(parts, "applications", "*", "guilds", "*", "commands")):
		return s.putCommands(w, body)
	case r.Method == "POST" && match(parts, "interactions", "*", "*", "callback"):
		return s.interactionCallback(w, parts[2], body)
	case r.Method == "PATCH" && match(parts, "webhooks", "*", "*", "messages", "*"):
		return s.editWebhookMessage(w, parts[2], parts[4], body)
	case r.Method == "POST" && match(parts, "webhooks", "*", "*"):
		return s.postMessage(w, "webhook:"+parts[2], body)
	}
	return writeJSON(w, 404, map[string]any{"message": "404: Not Found", "code": 0})
}

func match(parts []string, pattern ...string) bool {
	if len(parts) != len(pattern) {
		return false
	}
	for i, p := range pattern {
		if p != "*" && p != parts[i] {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
	return status
}

func writeFault(w http.ResponseWriter, f *Fault) int {
	if f.Status != http.StatusTooManyRequests {
		return writeJSON(w, f.Status, map[string]any{"message": "injected failure", "code": 0})
	}
	secs := f.RetryAfter.Seconds()
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
	w.Header().Set("X-RateLimit-Reset-After", strconv.FormatFloat(secs, 'f', 3, 64))
	w.Header().Set("X-RateLimit-Remaining", "0")
	if f.Global {
		w.Header().Set("X-RateLimit-Global", "true")
		w.Header().Set("X-RateLimit-Scope", "global")
	} else {
		w.Header().Set("X-RateLimit-Scope", "user")
	}
	if f.Body != "" {
		w.WriteHeader(429)
		_, _ = w.Write([]byte(f.Body))
		return 429
	}
	return writeJSON(w, 429, map[string]any{"message": "You are being rate limited.", "retry_after": secs, "global": f.Global})
}

// messageBody is the part of a create/edit payload the fake validates.
type messageBody struct {
	Content    *string         `json:"content"`
	Components json.RawMessage `json:"components"`
	Embeds     json.RawMessage `json:"embeds"`
}

func decodeBody(body []byte) (messageBody, error) {
	var mb messageBody
	if err := json.Unmarshal(body, &mb); err != nil {
		return mb, err
	}
	if mb.Content != nil && utf8.RuneCountInString(*mb.Content) > MaxChars {
		return mb, fmt.Errorf("content: Must be %d or fewer in length", MaxChars)
	}
	return mb, nil
}

func invalidForm(w http.ResponseWriter, err error) int {
	return writeJSON(w, 400, map[string]any{"message": "Invalid Form Body", "code": 50035, "errors": err.Error()})
}

func (s *Server) postMessage(w http.ResponseWriter, channel string, body []byte) int {
	mb, err := decodeBody(body)
	if err != nil {
		return invalidForm(w, err)
	}
	if (mb.Content == nil || *mb.Content == "") && !hasItems(mb.Components) && !hasItems(mb.Embeds) {
		return writeJSON(w, 400, map[string]any{"message": "Cannot send an empty message", "code": 50006})
	}
	s.mu.Lock()
	m := &Message{ID: s.newIDLocked(), ChannelID: channel, Components: mb.Components}
	if mb.Content != nil {
		m.Content = *mb.Content
	}
	s.messages[channel] = append(s.messages[channel], m)
	s.byID[m.ID] = m
	out := messageJSON(m)
	s.mu.Unlock()
	return writeJSON(w, 200, out)
}

func hasItems(raw json.RawMessage) bool {
	var v []json.RawMessage
	return json.Unmarshal(raw, &v) == nil && len(v) > 0
}

func (s *Server) editMessage(w http.ResponseWriter, channel, id string, body []byte) int {
	mb, err := decodeBody(body)
	if err != nil {
		return invalidForm(w, err)
	}
	s.mu.Lock()
	m, ok := s.byID[id]
	if !ok || m.ChannelID != channel {
		s.mu.Unlock()
		return writeJSON(w, 404, map[string]any{"message": "Unknown Message", "code": 10008})
	}
	applyEdit(m, mb)
	out := messageJSON(m)
	s.mu.Unlock()
	return writeJSON(w, 200, out)
}

func applyEdit(m *Message, mb messageBody) {
	if mb.Content != nil {
		m.Content = *mb.Content
	}
	if mb.Components != nil {
		m.Components = mb.Components
	}
	m.Edits++
}

func messageJSON(m *Message) map[string]any {
	out := map[string]any{
		"id": m.ID, "channel_id": m.ChannelID, "content": m.Content, "type": 0,
		"author":    map[string]any{"id": BotID, "username": BotName, "bot": true},
		"timestamp": time.Now().UTC().Format(time.RFC3339),
	}
	if m.Components != nil {
		out["components"] = m.Components
	}
	return out
}

func (s *Server) startThread(w http.ResponseWriter, parent, msgID string, body []byte) int {
	var req struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Name == "" || utf8.RuneCountInString(req.Name) > 100 {
		return invalidForm(w, fmt.Errorf("name: must be 1-100 characters"))
	}
	// A thread started from a message shares the message's id.
	ch := map[string]any{"id": msgID, "type": 11, "parent_id": parent, "guild_id": DefaultGuild, "name": req.Name, "owner_id": BotID}
	raw, _ := json.Marshal(ch)
	s.mu.Lock()
	s.channels[msgID] = raw
	dispatch := s.threadDispatch
	s.mu.Unlock()
	if dispatch {
		defer func() { _ = s.Dispatch("THREAD_CREATE", ch) }()
	}
	return writeJSON(w, 201, ch)
}

// DefaultGuild is the one guild of the fake world.
const DefaultGuild = "800000000000000001"
