package opencode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

const (
	maxReplyBytes = 64 << 20
	errBodyBytes  = 512
	maxRouted     = 1 << 14 // sessions (threads and their subagents) routed by one server
)

// httpError is a non-2xx answer of the OpenCode server.
type httpError struct {
	Method, Path string
	Status       int
	Body         string // the start of the body: OpenCode's {name, data{message}}
}

func (e *httpError) Error() string {
	return fmt.Sprintf("opencode: %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

func isStatus(err error, code int) bool {
	var he *httpError
	return errors.As(err, &he) && he.Status == code
}

// call sends one request (body marshalled as JSON unless nil) and returns
// the answer's body. dir scopes the request to an OpenCode instance.
func (s *server) call(ctx context.Context, method, path, dir string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("opencode: %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	u := s.url + path
	if dir != "" {
		u += "?" + url.Values{"directory": {dir}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("opencode: %s %s: %w", method, path, err)
	}
	req.SetBasicAuth(serverUser, s.pass)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("opencode: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("opencode: %s %s: reading the answer: %w", method, path, err)
	}
	if len(data) > maxReplyBytes {
		return nil, fmt.Errorf("opencode: %s %s: answer over %d bytes", method, path, maxReplyBytes)
	}
	if resp.StatusCode/100 != 2 {
		if len(data) > errBodyBytes {
			data = data[:errBodyBytes]
		}
		return nil, &httpError{Method: method, Path: path, Status: resp.StatusCode, Body: string(data)}
	}
	return data, nil
}

// busLoop follows GET /global/event until the server stops, reconnecting
// after a broken stream. After a reconnect each agent looks for permission
// requests it may have missed.
func (s *server) busLoop() {
	backoff := 100 * time.Millisecond
	first := true
	for s.ctx.Err() == nil {
		err := s.follow(first)
		if s.ctx.Err() != nil {
			return
		}
		first = false
		s.log.WithError(err).Warn("opencode event stream broke; reconnecting")
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
		if backoff < 2*time.Second {
			backoff *= 2
		}
	}
}

func (s *server) follow(first bool) error {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, s.url+"/global/event", nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(serverUser, s.pass)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("opencode: GET /global/event: HTTP %d", resp.StatusCode)
	}
	sr := newSSEReader(resp.Body)
	for {
		data, err := sr.next()
		if errors.Is(err, errEventTooLong) {
			s.log.Warn("opencode event over the size limit skipped")
			continue
		}
		if err != nil {
			return err
		}
		ev, err := parseEvent(data)
		if err != nil {
			s.log.WithError(err).Warn("opencode event not understood")
			continue
		}
		if ev.Type == "server.connected" {
			s.connOnce.Do(func() { close(s.connected) })
			if !first {
				s.resyncAll()
			}
			continue
		}
		s.dispatch(ev)
	}
}

// dispatch hands an event to the agent of its session. A subagent's
// session (session.created with a known parent) is routed to its parent's
// agent, so its permission requests reach the same thread.
func (s *server) dispatch(ev *event) {
	p := &ev.Props
	if ev.Type == "session.created" && p.Info != nil && p.Info.ParentID != "" {
		s.mu.Lock()
		if a := s.agents[p.Info.ParentID]; a != nil && !s.closed && len(s.agents) < maxRouted {
			s.agents[p.Info.ID] = a
		}
		s.mu.Unlock()
		return
	}
	if p.SessionID == "" {
		return
	}
	if a := s.agent(p.SessionID); a != nil {
		a.deliver(ev)
	}
}

func (s *server) resyncAll() {
	s.mu.Lock()
	seen := map[*Agent]bool{}
	var all []*Agent
	for _, a := range s.agents {
		if !seen[a] {
			seen[a] = true
			all = append(all, a)
		}
	}
	s.mu.Unlock()
	if len(all) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	body, err := s.call(ctx, http.MethodGet, "/permission", "", nil)
	if err != nil {
		s.log.WithError(err).Warn("opencode: listing pending permissions after a reconnect failed")
		return
	}
	var pending []props
	if err := json.Unmarshal(body, &pending); err != nil {
		s.log.WithError(err).Warn("opencode: pending permissions not understood")
		return
	}
	for i := range pending {
		if a := s.agent(pending[i].SessionID); a != nil {
			a.deliver(&event{Type: "permission.asked", Props: pending[i]})
		}
	}
}
