package fakeslack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ErrNoSocket is returned by Inject when no client is connected.
var ErrNoSocket = errors.New("fakeslack: no socket mode client connected")

type sockets struct {
	mu       sync.Mutex
	conns    map[*websocket.Conn]struct{}
	newest   *websocket.Conn
	writeMu  sync.Mutex // gorilla allows one writer at a time
	connects int
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.sock.mu.Lock()
	s.sock.conns[conn] = struct{}{}
	s.sock.newest = conn
	s.sock.connects++
	n := len(s.sock.conns)
	s.sock.mu.Unlock()
	select {
	case <-s.stopped: // Close may already have swept the sockets
		s.forget(conn)
		return
	default:
	}

	hello := map[string]any{"type": "hello", "num_connections": n,
		"debug_info":      map[string]any{"host": "fakeslack", "build_number": 1, "approximate_connection_time": 3600},
		"connection_info": map[string]any{"app_id": AppID}}
	if err := s.write(conn, hello); err != nil {
		s.forget(conn)
		return
	}
	s.mu.Lock()
	s.broadcastLocked()
	s.mu.Unlock()

	done := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.pingLoop(conn, done)
	}()
	s.readAcks(conn)
	close(done)
	s.forget(conn)
}

func (s *Server) forget(conn *websocket.Conn) {
	s.sock.mu.Lock()
	delete(s.sock.conns, conn)
	if s.sock.newest == conn {
		s.sock.newest = nil
		for c := range s.sock.conns {
			s.sock.newest = c
		}
	}
	s.sock.mu.Unlock()
	_ = conn.Close()
	s.mu.Lock()
	s.broadcastLocked()
	s.mu.Unlock()
}

func (s *Server) pingLoop(conn *websocket.Conn, done <-chan struct{}) {
	t := time.NewTicker(s.opt.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-s.stopped:
			return
		case <-t.C:
			s.sock.writeMu.Lock()
			err := conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second))
			s.sock.writeMu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// readAcks records every envelope the client acknowledges.
func (s *Server) readAcks(conn *websocket.Conn) {
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		if ack.Payload == nil {
			ack.Payload = json.RawMessage("null")
		}
		s.acks[ack.EnvelopeID] = ack.Payload
		s.broadcastLocked()
		s.mu.Unlock()
	}
}

func (s *Server) write(conn *websocket.Conn, v any) error {
	s.sock.writeMu.Lock()
	defer s.sock.writeMu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return conn.WriteJSON(v)
}

// Connects is how many websocket connections clients have opened so far.
func (s *Server) Connects() int {
	s.sock.mu.Lock()
	defer s.sock.mu.Unlock()
	return s.sock.connects
}

// WaitConnected waits until at least n websocket connections have been
// opened in total and one is open now.
func (s *Server) WaitConnected(n int, timeout time.Duration) bool {
	return s.WaitUntil(func() bool {
		s.sock.mu.Lock()
		defer s.sock.mu.Unlock()
		return s.sock.connects >= n && s.sock.newest != nil
	}, timeout)
}

// Envelope is one Socket Mode message to send to the client.
type Envelope struct {
	ID           string // envelope_id; generated when empty
	Type         string // events_api, slash_commands, interactive
	Payload      any    // marshalled as JSON
	RetryAttempt int
	RetryReason  string
}

// Inject sends env on the newest connection and returns its envelope id.
func (s *Server) Inject(env Envelope) (string, error) {
	if env.ID == "" {
		s.mu.Lock()
		s.nextEnv++
		env.ID = fmt.Sprintf("env-%d", s.nextEnv)
		s.mu.Unlock()
	}
	s.sock.mu.Lock()
	conn := s.sock.newest
	s.sock.mu.Unlock()
	if conn == nil {
		return "", ErrNoSocket
	}
	msg := map[string]any{"envelope_id": env.ID, "type": env.Type, "payload": env.Payload,
		"accepts_response_payload": env.Type != "events_api",
		"retry_attempt":            env.RetryAttempt, "retry_reason": env.RetryReason}
	return env.ID, s.write(conn, msg)
}

// InjectRaw writes data verbatim as one websocket text frame.
func (s *Server) InjectRaw(data []byte) error {
	s.sock.mu.Lock()
	conn := s.sock.newest
	s.sock.mu.Unlock()
	if conn == nil {
		return ErrNoSocket
	}
	s.sock.writeMu.Lock()
	defer s.sock.writeMu.Unlock()
	return conn.WriteMessage(websocket.TextMessage, data)
}

// Disconnect sends Slack's "disconnect" request (the client should reconnect).
func (s *Server) Disconnect() error {
	s.sock.mu.Lock()
	conn := s.sock.newest
	s.sock.mu.Unlock()
	if conn == nil {
		return ErrNoSocket
	}
	return s.write(conn, map[string]any{"type": "disconnect", "reason": "refresh_requested",
		"debug_info": map[string]any{"host": "fakeslack"}})
}

// DropSockets closes every websocket's TCP connection without a close
// frame, as a network failure would.
func (s *Server) DropSockets() {
	s.sock.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(s.sock.conns))
	for c := range s.sock.conns {
		conns = append(conns, c)
	}
	s.sock.mu.Unlock()
	for _, c := range conns {
		_ = c.NetConn().Close()
	}
}

// Ack returns the payload the client acknowledged envelope id with.
func (s *Server) Ack(id string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.acks[id]
	return p, ok
}

// WaitAck waits for the client to acknowledge envelope id.
func (s *Server) WaitAck(id string, timeout time.Duration) (json.RawMessage, bool) {
	var p json.RawMessage
	ok := s.WaitUntil(func() bool {
		var ok bool
		p, ok = s.Ack(id)
		return ok
	}, timeout)
	return p, ok
}
