package core

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-dev/hotline/sessionstore"
)

// ensureAgent returns the session's warm agent, starting one (with
// --resume when the store knows the conversation) if there is none.
func (r *Router) ensureAgent(s *session, resp Responder) (Agent, bool, error) {
	s.mu.Lock()
	a, st := s.agent, s.stopping
	s.mu.Unlock()
	if a != nil {
		select {
		case <-a.Done():
			s.stopAgent(sessionstore.StateIdle) // died while idle: reap it, start anew
		default:
			return a, false, nil
		}
	}
	if st != nil {
		<-st // an eviction is flushing this conversation's transcript
	}
	r.loadRecord(s, resp)
	if err := r.acquireSlot(s); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	rec := s.rec
	s.mu.Unlock()
	spec := Spawn{Key: s.key, Control: s}
	if rec.SessionID != "" && rec.State != sessionstore.StateReset {
		spec.SessionID, spec.Resume = rec.SessionID, true
	} else {
		spec.SessionID = newUUID()
		rec = sessionstore.Record{Key: s.key, Created: time.Now()}
	}
	a, err := r.cfg.Spawn(r.ctx, spec)
	if err != nil {
		<-r.slots
		return nil, false, err
	}
	rec.SessionID = spec.SessionID
	rec.State = sessionstore.StateWarm
	rec.LastActive = time.Now()
	s.mu.Lock()
	s.agent = a
	s.rec = rec
	s.mu.Unlock()
	r.cfg.Observer.Spawned(spec.Resume)
	r.log.WithFields(map[string]any{"session_key": s.key, "pid": a.PID(), "resume": spec.Resume}).Info("agent started")
	return a, spec.Resume, nil
}

// loadRecord reads the session's record once. A store that does not answer
// is retried briefly; after that the thread starts a new conversation and
// is told so.
func (r *Router) loadRecord(s *session, resp Responder) {
	s.mu.Lock()
	loaded := s.loaded
	s.mu.Unlock()
	if loaded {
		return
	}
	var rec sessionstore.Record
	var err error
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
		rec, err = r.cfg.Store.Get(ctx, s.key)
		cancel()
		if err == nil || errors.Is(err, sessionstore.ErrNotFound) {
			break
		}
		r.cfg.Observer.StoreError()
		time.Sleep(time.Duration(100<<i) * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded = true
	switch {
	case err == nil:
		s.rec = rec
	case !errors.Is(err, sessionstore.ErrNotFound):
		r.log.WithField("session_key", s.key).WithError(err).Warn("session store unavailable; starting a new conversation")
		resp.Notice("The session store is unavailable, so this thread's earlier conversation could not be looked up; starting a new one.")
	}
}

// acquireSlot takes a warm-agent slot, evicting the least recently used
// idle session when all are taken, or waiting in line until a slot frees or
// a session goes idle. Waiters are woken one at a time (wakeOne), so a
// burst of thousands of new threads does not stampede.
func (r *Router) acquireSlot(self *session) error {
	for {
		select {
		case r.slots <- struct{}{}:
			return nil
		default:
		}
		if v := r.lruIdle(self); v != nil {
			r.log.WithField("session_key", v.key).Info("evicting least recently used session")
			r.cfg.Observer.Evicted()
			v.stopAgent(sessionstore.StateIdle)
			continue
		}
		w := make(chan struct{}, 1)
		r.mu.Lock()
		r.waiters = append(r.waiters, w)
		r.mu.Unlock()
		// The timer only heals a wake-up that raced with registering.
		t := time.NewTimer(time.Second)
		select {
		case <-w:
		case <-t.C:
		case r.slots <- struct{}{}:
			t.Stop()
			r.dropWaiter(w)
			return nil
		case <-r.ctx.Done():
			t.Stop()
			r.dropWaiter(w)
			return ErrClosed
		}
		t.Stop()
		r.dropWaiter(w)
	}
}

// wakeOne tells the longest waiting spawn that a session went idle.
func (r *Router) wakeOne() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.waiters) > 0 {
		r.waiters[0] <- struct{}{}
		r.waiters = r.waiters[1:]
	}
}

func (r *Router) dropWaiter(w chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, x := range r.waiters {
		if x == w {
			r.waiters = append(r.waiters[:i], r.waiters[i+1:]...)
			return
		}
	}
}

// lruIdle finds the least recently used session whose agent is warm and idle.
func (r *Router) lruIdle(self *session) *session {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best *session
	var bestAt time.Time
	for _, s := range r.sessions {
		if s == self {
			continue
		}
		s.mu.Lock()
		ok := s.agent != nil && !s.running && len(s.queue) == 0 && s.stopping == nil
		at := s.lastUsed
		s.mu.Unlock()
		if ok && (best == nil || at.Before(bestAt)) {
			best, bestAt = s, at
		}
	}
	return best
}

// reaper stops agents idle past IdleTimeout and forgets sessions that have
// neither an agent nor work.
func (r *Router) reaper() {
	defer r.wg.Done()
	every := r.cfg.IdleTimeout / 4
	every = min(max(every, 10*time.Millisecond), 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			r.reap(time.Now().Add(-r.cfg.IdleTimeout))
		}
	}
}

func (r *Router) reap(before time.Time) {
	var idle []*session
	r.mu.Lock()
	for k, s := range r.sessions {
		s.mu.Lock()
		free := !s.running && len(s.queue) == 0 && s.stopping == nil
		switch {
		case free && s.agent == nil:
			s.gone = true
			delete(r.sessions, k)
		case free && s.lastUsed.Before(before):
			idle = append(idle, s)
		}
		s.mu.Unlock()
	}
	r.mu.Unlock()
	for _, s := range idle {
		r.log.WithField("session_key", s.key).Info("stopping idle agent")
		r.cfg.Observer.Evicted()
		s.stopAgent(sessionstore.StateIdle)
	}
}

// forget drops the conversation: the next agent starts a new one. The
// reset record is written even for a session never loaded, so that a
// restart cannot resume the old conversation.
func (s *session) forget() {
	s.stopAgent(sessionstore.StateReset)
	now := time.Now()
	s.mu.Lock()
	s.rec = sessionstore.Record{Key: s.key, Agent: s.r.cfg.Agent, Created: now, LastActive: now, State: sessionstore.StateReset}
	s.loaded = true
	rec := s.rec
	s.mu.Unlock()
	s.r.putRecord(rec)
}

// reset forgets the conversation, now or after the running turn.
func (s *session) reset() {
	s.mu.Lock()
	busy := s.turning
	if busy {
		s.resetNext = true
	}
	s.mu.Unlock()
	if !busy {
		s.forget()
	}
}

// newUUID returns a random RFC 4122 version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
