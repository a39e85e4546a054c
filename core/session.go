package core

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hotline-dev/hotline/proc"
	"github.com/hotline-dev/hotline/sessionstore"
)

var (
	errGone     = errors.New("session evicted")
	errShutdown = errors.New("the bridge restarted while working on this message; please send it again")
)

// item is one accepted message. ready closes once Submit has told the
// Responder its queue position, so Started never overtakes Queued.
type item struct {
	in       Inbound
	ready    chan struct{}
	accepted time.Time
}

// session is one conversation. At most one worker goroutine runs its turns;
// it exits when the queue is empty, so an idle warm session costs no
// goroutine of its own.
type session struct {
	key string
	r   *Router

	mu        sync.Mutex
	queue     []*item
	running   bool // a worker owns the session
	cur       *item
	turning   bool // a turn of cur is between its start and its end
	agent     Agent
	stopping  chan struct{} // closed when an eviction's Stop has finished
	gone      bool          // removed from the router's map
	idle      *sync.Cond    // signalled when running turns false
	lastUsed  time.Time
	rec       sessionstore.Record
	loaded    bool  // rec came from the store
	stopCause error // why the current turn is being interrupted
	resetNext bool  // forget the conversation after the current turn
	turns     int
}

// enqueue accepts it. An idle session hands it straight to a new worker
// (start is true: the caller starts it); otherwise it waits in the queue.
// pos is how many messages are ahead of it, the running one included.
func (s *session) enqueue(it *item, depth int) (pos int, start bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return 0, false, errGone
	}
	s.lastUsed = time.Now()
	if !s.running {
		s.running, s.cur, s.stopCause = true, it, nil
		return 0, true, nil
	}
	if len(s.queue) >= depth {
		return 0, false, ErrQueueFull
	}
	s.queue = append(s.queue, it)
	return len(s.queue), false, nil
}

// work runs it and then the session's queue until it is empty.
func (r *Router) work(s *session, it *item) {
	defer r.wg.Done()
	for ; it != nil; it = r.advance(s) {
		r.cfg.Observer.Queued(-1)
		<-it.ready
		r.turn(s, it)
	}
}

// advance makes the next queued message current, or marks the session
// idle and returns nil.
func (r *Router) advance(s *session) *item {
	s.mu.Lock()
	if len(s.queue) == 0 {
		s.running = false
		s.cur = nil
		s.lastUsed = time.Now()
		if s.idle != nil {
			s.idle.Broadcast()
		}
		warm := s.agent != nil
		s.mu.Unlock()
		if warm {
			r.wakeOne() // an idle warm agent can be evicted for a waiting thread
		}
		return nil
	}
	it := s.queue[0]
	s.queue[0] = nil
	s.queue = s.queue[1:]
	s.cur = it
	s.stopCause = nil
	s.mu.Unlock()
	return it
}

// waitIdle blocks until no worker runs the session.
func (s *session) waitIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idle == nil {
		s.idle = sync.NewCond(&s.mu)
	}
	for s.running {
		s.idle.Wait()
	}
}

// dropQueued fails every message that has not started.
func (s *session) dropQueued(err error) {
	s.mu.Lock()
	q := s.queue
	s.queue = nil
	s.mu.Unlock()
	for _, it := range q {
		<-it.ready
		s.r.cfg.Observer.Queued(-1)
		it.in.Reply.Failed(err)
	}
}

// interrupt asks the running turn to end; the agent is killed if it does
// not end within StopGrace.
func (s *session) interrupt(cause error) bool {
	s.mu.Lock()
	a, busy := s.agent, s.turning
	if busy && s.stopCause == nil {
		s.stopCause = cause
	}
	s.mu.Unlock()
	if !busy || a == nil {
		return false
	}
	grace := s.r.cfg.StopGrace
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := a.Interrupt(ctx); err != nil {
		s.r.log.WithField("session_key", s.key).WithError(err).Warn("interrupt failed; killing agent")
		a.Kill()
		return true
	}
	s.r.wg.Add(1)
	go s.killIfStuck(a, grace)
	return true
}

// killIfStuck kills a if its turn is still running after grace: an
// acknowledged interrupt should end the turn within milliseconds.
func (s *session) killIfStuck(a Agent, grace time.Duration) {
	defer s.r.wg.Done()
	t := time.NewTimer(grace)
	defer t.Stop()
	for {
		select {
		case <-a.Done():
			return
		case <-t.C:
			s.mu.Lock()
			stuck := s.agent == a && s.turning && s.stopCause != nil
			s.mu.Unlock()
			if stuck {
				a.Kill()
			}
			return
		}
	}
}

// stopAgent stops the warm agent gracefully (the CLI flushes its transcript
// after result; SIGKILL could lose the last turn) and records state.
func (s *session) stopAgent(state sessionstore.State) {
	s.mu.Lock()
	a := s.agent
	s.agent = nil
	var ch chan struct{}
	if a != nil {
		ch = make(chan struct{})
		s.stopping = ch
	}
	rec := s.rec
	s.mu.Unlock()
	if a == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*s.r.cfg.StopGrace)
	if err := a.Stop(ctx); err != nil {
		s.r.log.WithField("session_key", s.key).WithError(err).Warn("agent stop")
	}
	cancel()
	<-s.r.slots
	if rec.Key != "" && rec.State == sessionstore.StateWarm {
		rec.State = state
		s.r.putRecord(rec)
	}
	s.mu.Lock()
	if s.stopping == ch {
		s.stopping = nil
	}
	s.mu.Unlock()
	close(ch)
}

// toMessage turns an Inbound into the agent's user message.
func toMessage(in Inbound) (proc.UserMessage, []string) {
	msg := proc.UserMessage{Text: in.Text}
	var skipped []string
	for _, a := range in.Attachments {
		if isImage(a.MediaType) {
			msg.Images = append(msg.Images, proc.Image{MediaType: a.MediaType, Data: a.Data})
			continue
		}
		skipped = append(skipped, a.Name)
	}
	return msg, skipped
}

func isImage(mt string) bool {
	switch mt {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}
