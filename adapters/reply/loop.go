package reply

import (
	"strings"
	"time"
)

// action is one Poster call the streaming goroutine decided on.
type action struct {
	i    int
	text string
}

// run is the streaming goroutine: plan, call, or wait for text or a timer.
func (s *Stream) run() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		text := s.snapshot()
		a, wait := s.plan(text)
		if a != nil {
			s.perform(*a)
			continue
		}
		var timer <-chan time.Time
		stopTimer := func() bool { return false }
		if wait > 0 {
			timer, stopTimer = s.clk.After(wait)
		} else if !s.goIdle(len(text)) {
			continue // text arrived since the snapshot
		}
		select {
		case <-s.stop:
			stopTimer()
			return
		case <-s.wake:
		case <-timer:
		}
		stopTimer()
	}
}

// goIdle marks the goroutine as waiting for text unless the text has grown
// past seen bytes already.
func (s *Stream) goIdle(seen int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf.Len() != seen {
		return false
	}
	s.idle = true
	return true
}

func (s *Stream) snapshot() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String() // the bytes behind it are never overwritten
}

// plan picks the first due call, or says how long until one is due (0: wait
// for more text). Messages whose text will not change any more as far as
// is known are frozen so that planning stays proportional to the tail.
func (s *Stream) plan(text string) (*action, time.Duration) {
	now := s.clk.Now()
	sp := splitter{text: text, limit: s.opt.Limit, c: s.cur}
	var wait time.Duration
	soonest := func(d time.Duration) {
		if wait == 0 || d < wait {
			wait = d
		}
	}
	for i := s.frozen; ; i++ {
		part, ok := sp.next()
		if !ok {
			break
		}
		if i >= len(s.shown) { // the next message to post
			if strings.TrimSpace(part) == "" {
				break // platforms reject blank messages; wait for text
			}
			if d := s.notBefore.Sub(now); d > 0 {
				soonest(d)
				break
			}
			return &action{i: i, text: part}, 0
		}
		if part == s.shown[i] {
			if !sp.done() && i == s.frozen {
				s.frozen, s.cur = i+1, sp.c
			}
			continue
		}
		if strings.TrimSpace(part) == "" {
			continue
		}
		due := later(s.notBefore, s.lastCall[i].Add(s.opt.Interval))
		if d := due.Sub(now); d > 0 {
			soonest(d)
			continue
		}
		return &action{i: i, text: part}, 0
	}
	return nil, wait
}

// perform makes one call; failures are logged and retried at a later tick.
func (s *Stream) perform(a action) {
	err := s.call(s.ctx, a.i, a.text)
	if err == nil || s.ctx.Err() != nil {
		return
	}
	s.backOff(a.i, err, true)
}
