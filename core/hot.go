package core

import (
	"context"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/proc"
	"github.com/hotline-dev/hotline/waf"
)

// asyncAgent is an Agent that can run a turn without a goroutine waiting
// for it; *proc.Process is one.
type asyncAgent interface {
	TurnAsync(ctx context.Context, msg proc.UserMessage, h func(*proc.Event), end func(*proc.Result, error)) error
}

// serve runs it, the session's current message: as a hot turn when it can,
// else on a worker goroutine.
func (r *Router) serve(s *session, it *item) {
	if r.hotTurn(s, it) {
		return
	}
	r.wg.Add(1)
	go r.work(s, it)
}

// hotTurn runs a plain text message on a warm agent without a worker
// goroutine: the message is written here and the agent's reader goroutine,
// which sees the result, finishes the turn and moves the session on. A
// warm turn then crosses goroutines once (reader to waiting caller), like
// the process alone; with a worker it crossed three times, and on a
// two-core machine each crossing costs an OS thread wake-up (bench:
// HotTurnVsRaw). It declines whatever needs the full path in turn: no warm
// agent, a prompt the firewall does not simply allow, attachments, an
// agent without TurnAsync.
func (r *Router) hotTurn(s *session, it *item) bool {
	<-it.ready // a queued message's Submit may still be telling its position
	in := it.in
	if len(in.Attachments) > 0 || strings.TrimSpace(in.Text) == "" {
		return false
	}
	if fw := r.cfg.Firewall; fw != nil && fw.CheckPrompt(s.key, in.Text).Action != waf.Allow {
		return false
	}
	s.mu.Lock()
	a := s.agent
	warm := a != nil && s.stopping == nil
	s.mu.Unlock()
	aa, ok := a.(asyncAgent)
	if !warm || !ok {
		return false
	}
	select {
	case <-a.Done():
		return false // died while idle: the full path starts a new one
	default:
	}
	r.cfg.Observer.Queued(-1)
	h := &hotEnd{r: r, s: s, a: a, it: it, start: time.Now()}
	h.log = turnLog{r.log, s.key, turnSeq.Add(1)}
	s.mu.Lock()
	s.turning = true
	s.mu.Unlock()
	r.markInFlight(s, in.MessageID)
	in.Reply.Started()
	h.sink = r.sink(in.Reply, h.start)
	h.timer = r.turnTimer(s)
	if err := aa.TurnAsync(r.ctx, proc.UserMessage{Text: in.Text}, h.sink.Handle, h.end); err != nil {
		h.end(nil, err) // never started: ends like any failed turn
	}
	return true
}

// hotEnd finishes one hot turn.
type hotEnd struct {
	r     *Router
	s     *session
	a     Agent
	it    *item
	start time.Time
	log   turnLog
	sink  EventSink
	timer *alarm
}

// end runs on the goroutine that saw the turn end, usually the agent's
// reader. A plain result is reported right here. Anything that must stop
// the agent (a failure, a reset asked during the turn) or wait for the
// timeout's interrupt goes to a goroutine of its own: stopping waits for
// the reader, which is this goroutine.
func (h *hotEnd) end(res *proc.Result, err error) {
	r, s := h.r, h.s
	if !h.timer.stop() {
		r.goAfter(s, func() {
			<-h.timer.fired
			r.finish(s, h.a, h.it, res, err, h.start, h.log)
		})
		return
	}
	if fail := r.judge(s, h.a, res, err, h.start, h.log); fail != nil {
		r.goAfter(s, func() {
			r.afterFailure(s, h.a)
			if r.report(s, h.it, res, fail, h.start) {
				s.forget()
			}
		})
		return
	}
	if r.report(s, h.it, res, nil, h.start) {
		r.goAfter(s, s.forget)
		return
	}
	if next := r.advance(s); next != nil {
		r.serve(s, next)
	}
}

// goAfter runs f and then the session's queue on a worker goroutine.
func (r *Router) goAfter(s *session, f func()) {
	r.wg.Add(1)
	go func() {
		f()
		if next := r.advance(s); next != nil {
			r.work(s, next) // owns the wg count from here
			return
		}
		r.wg.Done()
	}()
}
