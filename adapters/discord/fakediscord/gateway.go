package fakediscord

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// RequiredIntents are the intents IDENTIFY must carry: guild messages (1<<9),
// direct messages (1<<12) and message content (1<<15). Without them the fake
// closes with 4014 (disallowed intents), as a mis-configured bot would see.
const RequiredIntents = 1<<9 | 1<<12 | 1<<15

// DefaultHeartbeatInterval is what HELLO announces unless changed with
// SetHeartbeatInterval, in milliseconds.
const DefaultHeartbeatInterval = 45000

const maxReplay = 10000 // dispatches kept for RESUME

type frame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s,omitempty"`
	T  string          `json:"t,omitempty"`
}

type dispatch struct {
	seq int64
	raw []byte
}

// gateway holds the one live bot connection and the dispatch log.
type gateway struct {
	srv *Server
	wg  sync.WaitGroup // serve goroutines, so Close leaves none behind

	mu        sync.Mutex
	conn      *websocket.Conn
	writeMu   *sync.Mutex // guards writes on conn
	seq       int64
	log       []dispatch
	sessionID string
	sessions  int
	identify  []json.RawMessage
	resumes   int
	closed    bool
	heartbeat int // ms
}

func newGateway(s *Server) *gateway { return &gateway{srv: s, heartbeat: DefaultHeartbeatInterval} }

// SetHeartbeatInterval changes the interval later HELLOs announce.
func (s *Server) SetHeartbeatInterval(d time.Duration) {
	s.gw.mu.Lock()
	s.gw.heartbeat = int(d.Milliseconds())
	s.gw.mu.Unlock()
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (g *gateway) serve(w http.ResponseWriter, r *http.Request) {
	g.wg.Add(1)
	defer g.wg.Done()
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	g.mu.Lock()
	closed, interval := g.closed, g.heartbeat
	g.mu.Unlock()
	if closed {
		return
	}
	wmu := &sync.Mutex{}
	send := func(v any) error {
		wmu.Lock()
		defer wmu.Unlock()
		return c.WriteJSON(v)
	}
	if send(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": interval}}) != nil {
		return
	}
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			g.detach(c)
			return
		}
		var f frame
		if json.Unmarshal(data, &f) != nil {
			_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4002, "decode error"))
			g.detach(c)
			return
		}
		g.srv.record(Call{Method: "WS", Path: fmt.Sprintf("op:%d", f.Op), Body: data, Time: time.Now()})
		if !g.handle(c, wmu, send, f) {
			g.detach(c)
			return
		}
	}
}

// handle answers one client frame; false closes the connection.
func (g *gateway) handle(c *websocket.Conn, wmu *sync.Mutex, send func(any) error, f frame) bool {
	switch f.Op {
	case 1:
		return send(map[string]any{"op": 11}) == nil
	case 2:
		var id struct {
			Token   string `json:"token"`
			Intents int    `json:"intents"`
		}
		_ = json.Unmarshal(f.D, &id)
		if id.Token != "Bot "+Token && id.Token != Token {
			_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."))
			return false
		}
		if id.Intents&RequiredIntents != RequiredIntents {
			_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4014, "Disallowed intent(s)."))
			return false
		}
		return g.ready(c, wmu, f.D)
	case 6:
		var rs struct {
			SessionID string `json:"session_id"`
			Seq       int64  `json:"seq"`
		}
		_ = json.Unmarshal(f.D, &rs)
		return g.resume(c, wmu, send, rs.SessionID, rs.Seq)
	}
	return true
}

func (g *gateway) ready(c *websocket.Conn, wmu *sync.Mutex, identify json.RawMessage) bool {
	g.mu.Lock()
	g.sessions++
	g.sessionID = fmt.Sprintf("fake-session-%d", g.sessions)
	g.identify = append(g.identify, identify)
	g.seq = 0
	g.log = nil
	g.conn, g.writeMu = c, wmu
	sid := g.sessionID
	g.mu.Unlock()
	return g.Dispatch("READY", map[string]any{
		"v": 9, "session_id": sid, "resume_gateway_url": "",
		"user":        map[string]any{"id": BotID, "username": BotName, "bot": true},
		"application": map[string]any{"id": AppID, "flags": 0},
		"guilds":      []any{map[string]any{"id": DefaultGuild, "unavailable": true}},
	}) == nil
}

func (g *gateway) resume(c *websocket.Conn, wmu *sync.Mutex, send func(any) error, sid string, seq int64) bool {
	g.mu.Lock()
	if sid == "" || sid != g.sessionID {
		g.mu.Unlock()
		return send(map[string]any{"op": 9, "d": false}) == nil
	}
	g.resumes++
	var missed [][]byte
	for _, d := range g.log {
		if d.seq > seq {
			missed = append(missed, d.raw)
		}
	}
	g.conn, g.writeMu = c, wmu
	g.mu.Unlock()
	for _, raw := range missed {
		wmu.Lock()
		err := c.WriteMessage(websocket.TextMessage, raw)
		wmu.Unlock()
		if err != nil {
			return false
		}
	}
	return g.Dispatch("RESUMED", map[string]any{}) == nil
}

func (g *gateway) detach(c *websocket.Conn) {
	g.mu.Lock()
	if g.conn == c {
		g.conn, g.writeMu = nil, nil
	}
	g.mu.Unlock()
}

// ErrNoSession is returned by Dispatch before the bot has identified.
var ErrNoSession = errors.New("fakediscord: no gateway session yet")

// Dispatch sends an event (op 0) with the next sequence number. With the
// connection down it is kept and replayed on RESUME, as Discord does.
func (g *gateway) Dispatch(t string, d any) error {
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	g.mu.Lock()
	if g.sessionID == "" {
		g.mu.Unlock()
		return ErrNoSession
	}
	g.seq++
	seq := g.seq
	raw, _ := json.Marshal(frame{Op: 0, D: data, S: &seq, T: t})
	g.log = append(g.log, dispatch{seq: seq, raw: raw})
	if len(g.log) > maxReplay {
		g.log = g.log[len(g.log)-maxReplay:]
	}
	c, wmu := g.conn, g.writeMu
	g.mu.Unlock()
	if c == nil {
		return nil
	}
	wmu.Lock()
	defer wmu.Unlock()
	return c.WriteMessage(websocket.TextMessage, raw)
}

// SendRaw writes an arbitrary text frame to the live connection (for bad
// payload tests).
func (g *gateway) SendRaw(raw []byte) error {
	g.mu.Lock()
	c, wmu := g.conn, g.writeMu
	g.mu.Unlock()
	if c == nil {
		return ErrNoSession
	}
	wmu.Lock()
	defer wmu.Unlock()
	return c.WriteMessage(websocket.TextMessage, raw)
}

// drop closes the live connection without a close frame, like a network cut.
func (g *gateway) drop() bool {
	g.mu.Lock()
	c := g.conn
	g.conn, g.writeMu = nil, nil
	g.mu.Unlock()
	if c == nil {
		return false
	}
	_ = c.UnderlyingConn().Close()
	return true
}

func (g *gateway) closeAll() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.drop()
	g.wg.Wait()
}

// Dispatch sends a gateway event to the bot (see gateway.Dispatch).
func (s *Server) Dispatch(t string, d any) error {
	if t == "INTERACTION_CREATE" {
		s.noteInteraction(d)
	}
	return s.gw.Dispatch(t, d)
}

func (s *Server) noteInteraction(d any) {
	raw, _ := json.Marshal(d)
	var i struct {
		Token     string `json:"token"`
		ChannelID string `json:"channel_id"`
	}
	if json.Unmarshal(raw, &i) == nil && i.Token != "" && i.ChannelID != "" {
		s.mu.Lock()
		s.interactionChannel[i.Token] = i.ChannelID
		s.mu.Unlock()
	}
}

// SendRaw writes a raw text frame to the bot's connection.
func (s *Server) SendRaw(raw []byte) error { return s.gw.SendRaw(raw) }

// DropGateway cuts the live gateway connection; false if none was up.
func (s *Server) DropGateway() bool { return s.gw.drop() }

// Connected reports whether a gateway session is attached.
func (s *Server) Connected() bool {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return s.gw.conn != nil
}

// Identifies returns the IDENTIFY payloads received, and Resumes the number
// of accepted RESUMEs.
func (s *Server) Identifies() []json.RawMessage {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return append([]json.RawMessage(nil), s.gw.identify...)
}

// Resumes is the number of accepted RESUMEs.
func (s *Server) Resumes() int {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return s.gw.resumes
}
