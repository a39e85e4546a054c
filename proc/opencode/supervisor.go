package opencode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/hotline-dev/hotline/proc"
)

// ErrClosed is returned by Spawn after Close.
var ErrClosed = errors.New("opencode: supervisor closed")

// SpawnFunc is the shape core.SpawnFunc wraps (return a nil interface on
// error, not a nil *Agent inside one):
//
//	func(ctx context.Context, s core.Spawn) (core.Agent, error) {
//		a, err := spawn(ctx, s.Key, s.SessionID, s.Resume, s.Control)
//		if err != nil {
//			return nil, err
//		}
//		return a, nil
//	}
type SpawnFunc func(ctx context.Context, key, sessionID string, resume bool, control proc.ControlHandler) (*Agent, error)

// Supervisor owns the bridge's one `opencode serve` process: it starts it
// on the first Spawn, starts a new one on the next Spawn after it died, and
// stops it on Close.
type Supervisor struct {
	cfg Config

	mu       sync.Mutex
	srv      *server
	starting chan struct{} // closed when a start attempt ends
	startErr error
	closed   bool
}

// NewSupervisor checks cfg; it starts nothing yet.
func NewSupervisor(cfg Config) (*Supervisor, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Supervisor{cfg: cfg}, nil
}

// Spawner is NewSupervisor returning its Spawn and Close.
func Spawner(cfg Config) (SpawnFunc, func(context.Context) error, error) {
	s, err := NewSupervisor(cfg)
	if err != nil {
		return nil, nil, err
	}
	return s.Spawn, s.Close, nil
}

// PID is the running server's process id, 0 when none runs.
func (s *Supervisor) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil || !s.srv.alive() {
		return 0
	}
	return s.srv.pid
}

// Spawn attaches a thread to an OpenCode session: a new one, or with
// resume the session named by sessionID (its id from an earlier
// SessionID). A resume id OpenCode does not know yields an agent whose
// first Turn returns an error_during_execution result with "No
// conversation found with session ID: …", which core treats as a lost
// conversation. sessionID is otherwise only a hint: OpenCode picks its own
// ids, and SessionID reports the real one.
func (s *Supervisor) Spawn(ctx context.Context, key, sessionID string, resume bool, control proc.ControlHandler) (*Agent, error) {
	srv, err := s.server(ctx)
	if err != nil {
		return nil, err
	}
	dir := s.cfg.Dir
	if s.cfg.DirFor != nil {
		d, err := s.cfg.DirFor(key)
		if err != nil {
			return nil, fmt.Errorf("opencode: directory for %s: %w", key, err)
		}
		if d != "" {
			dir = d
		}
	}
	log := s.cfg.Log.WithField("session_key", key)
	if resume {
		return s.attach(ctx, srv, sessionID, dir, control, log)
	}
	body, err := srv.call(ctx, http.MethodPost, "/session", dir, map[string]any{
		"title": "hotline " + key, "permission": s.cfg.Permission,
	})
	if err != nil {
		return nil, err
	}
	var info struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &info); err != nil || !strings.HasPrefix(info.ID, "ses") {
		return nil, fmt.Errorf("opencode: create session: unexpected answer %.200q", body)
	}
	a := newAgent(srv, info.ID, dir, control, log.WithField("opencode_session", info.ID))
	return s.register(srv, a)
}

// attach reattaches to an existing session and reapplies the permission
// ruleset, so a session made under other settings still asks.
func (s *Supervisor) attach(ctx context.Context, srv *server, id, dir string, control proc.ControlHandler, log logrus.FieldLogger) (*Agent, error) {
	a := newAgent(srv, id, dir, control, log.WithField("opencode_session", id))
	if !strings.HasPrefix(id, "ses") { // OpenCode answers 500 for ids of another shape
		a.lost = true
		return s.register(srv, a)
	}
	_, err := srv.call(ctx, http.MethodPatch, "/session/"+url.PathEscape(id), dir, map[string]any{"permission": s.cfg.Permission})
	switch {
	case isStatus(err, http.StatusNotFound):
		log.WithField("opencode_session", id).Warn("opencode session to resume not found")
		a.lost = true
	case err != nil:
		a.cancel()
		return nil, err
	}
	return s.register(srv, a)
}

func (s *Supervisor) register(srv *server, a *Agent) (*Agent, error) {
	if !srv.register(a.id, a) {
		a.cancel()
		return nil, srv.exitError(false)
	}
	return a, nil
}

// server returns the running server, starting one if needed. Concurrent
// callers share one start; the lock is not held while it runs.
func (s *Supervisor) server(ctx context.Context) (*server, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		if s.srv != nil && s.srv.alive() {
			srv := s.srv
			s.mu.Unlock()
			return srv, nil
		}
		if wait := s.starting; wait != nil {
			s.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			s.mu.Lock()
			err := s.startErr
			s.mu.Unlock()
			if err != nil {
				return nil, err
			}
			continue
		}
		old := s.srv
		s.srv, s.startErr = nil, nil
		done := make(chan struct{})
		s.starting = done
		s.mu.Unlock()
		if old != nil {
			old.stop(ctx) // reap the dead one's goroutines
		}
		srv, err := startServer(ctx, s.cfg)
		s.mu.Lock()
		s.starting = nil
		s.startErr = err
		if err == nil {
			if s.closed {
				s.mu.Unlock()
				srv.stop(context.Background())
				close(done)
				return nil, ErrClosed
			}
			s.srv = srv
		}
		s.mu.Unlock()
		close(done)
		if err != nil {
			return nil, err
		}
		return srv, nil
	}
}

// Close stops the server (SIGTERM, then SIGKILL after StopGrace, or at
// once when ctx ends); its agents' Done channels close. Idempotent.
func (s *Supervisor) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	srv, wait := s.srv, s.starting
	s.srv = nil
	s.mu.Unlock()
	if wait != nil {
		select {
		case <-wait: // a start in flight stops its own server on seeing closed
		case <-ctx.Done():
		}
	}
	if srv != nil {
		srv.stop(ctx)
	}
	return ctx.Err()
}
