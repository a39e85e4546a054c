package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hotline-dev/hotline/proc"
	"github.com/hotline-dev/hotline/sessionstore"
	"github.com/hotline-dev/hotline/waf"
)

// TurnError is a turn that ended without a result. Its text is for users.
type TurnError struct {
	Msg string
	Err error
}

func (e *TurnError) Error() string { return e.Msg }
func (e *TurnError) Unwrap() error { return e.Err }

var errStopped = errors.New("stopped")

var turnSeq atomic.Uint64

// turnLog names a turn in log lines. Its fields are built only when a line
// is written: most turns write none.
type turnLog struct {
	base logrus.FieldLogger
	key  string
	id   uint64
}

func (l turnLog) entry() logrus.FieldLogger {
	return l.base.WithFields(logrus.Fields{"session_key": l.key, "turn_id": l.id})
}

// turn runs one message through the session's agent.
func (r *Router) turn(s *session, it *item) {
	resp := it.in.Reply
	tid := turnSeq.Add(1)
	log := turnLog{r.log, s.key, tid}
	start := time.Now()
	s.mu.Lock()
	s.turning = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.turning = false
		s.mu.Unlock()
	}()

	msg, skipped := toMessage(it.in)
	if strings.TrimSpace(msg.Text) == "" && len(msg.Images) == 0 {
		resp.Failed(&TurnError{Msg: "There was nothing to send to the agent: only text and images are passed on (not forwarded: " + strings.Join(skipped, ", ") + ")."})
		return
	}
	a, resumed, err := r.ensureAgent(s, resp)
	if err != nil {
		log.entry().WithError(err).Error("agent start failed")
		r.cfg.Observer.TurnDone("spawn_error", time.Since(start))
		resp.Failed(&TurnError{Msg: "Could not start the agent: " + err.Error(), Err: err})
		return
	}
	if !r.promptAllowed(s, it.in) {
		return
	}
	r.markInFlight(s, it.in.MessageID)
	resp.Started()
	if len(skipped) > 0 {
		resp.Notice("Only images are passed to the agent; not forwarded: " + strings.Join(skipped, ", "))
	}
	res, err := r.run(s, a, msg, resp, start)
	if resumed && resumeLost(res, err) {
		log.entry().Warn("resume failed; starting a new conversation")
		s.forget()
		if a, _, err = r.ensureAgent(s, resp); err == nil {
			resp.Notice("The earlier conversation in this thread could not be restored; this message starts a new one.")
			res, err = r.run(s, a, msg, resp, start)
		}
	}
	r.finish(s, a, it, res, err, start, log)
}

// promptAllowed screens the user's prompt when the firewall is set to; a
// denied prompt is answered in the bridge's words and never reaches the
// agent.
func (r *Router) promptAllowed(s *session, in Inbound) bool {
	fw := r.cfg.Firewall
	if fw == nil {
		return true
	}
	v := fw.CheckPrompt(s.key, in.Text)
	if v.Action == waf.Allow {
		return true
	}
	r.cfg.Observer.Verdict(v.Action.String(), v.Rule)
	if v.Action == waf.Ask {
		ctx, cancel := context.WithTimeout(r.ctx, r.cfg.ApprovalTimeout)
		defer cancel()
		d, err := in.Reply.Approve(ctx, Approval{ID: "prompt-" + in.MessageID, Tool: "prompt", Command: in.Text, Reason: waf.FormatReason(v), Rule: v.Rule})
		if err == nil && d.Allow {
			return true
		}
	}
	in.Reply.Failed(&TurnError{Msg: fmt.Sprintf("hotline firewall did not pass this message to the agent (rule %s, %s): %s", v.Rule, v.Category, v.Reason)})
	return false
}

// run writes one turn and waits for its end; a turn past TurnTimeout is
// interrupted (and killed if that does not end it).
func (r *Router) run(s *session, a Agent, msg proc.UserMessage, resp Responder, start time.Time) (*proc.Result, error) {
	sink := r.sink(resp, start)
	t := r.turnTimer(s)
	res, err := a.Turn(r.ctx, msg, sink.Handle)
	if !t.stop() {
		<-t.fired
	}
	return res, err
}

// sink is a turn's EventSink, reporting its first token to the Observer.
func (r *Router) sink(resp Responder, start time.Time) EventSink {
	return EventSink{Resp: resp, OnFirstDelta: func() { r.cfg.Observer.FirstToken(time.Since(start)) }}
}

// turnTimer interrupts the session's turn once TurnTimeout has passed
// (killing the agent if that does not end it). A caller whose stop returns
// false waits for the alarm's fired, so that the timeout's cause is set
// before the turn is judged.
func (r *Router) turnTimer(s *session) *alarm {
	return r.dog.add(r.cfg.TurnTimeout, func() {
		s.interrupt(&TurnError{Msg: fmt.Sprintf("The agent did not finish within %s, so the turn was stopped. The next message continues the conversation.", r.cfg.TurnTimeout)})
	})
}

// EventSink turns one turn's agent events into Responder callbacks. It is
// the hot path: Handle runs on the agent's reader goroutine for every
// stdout line and does not allocate.
type EventSink struct {
	Resp         Responder
	OnFirstDelta func() // optional: called before the first text delta
	first        bool
	sawDelta     bool // deltas seen since the last whole block
}

// Handle dispatches one event.
func (k *EventSink) Handle(ev *proc.Event) {
	switch ev.Type {
	case proc.EventTextDelta:
		if !k.first {
			k.first = true
			if k.OnFirstDelta != nil {
				k.OnFirstDelta()
			}
		}
		k.sawDelta = true
		k.Resp.Delta(ev.Text)
	case proc.EventText:
		if !k.sawDelta && ev.Text != "" {
			k.Resp.Delta(ev.Text) // no partial messages: whole blocks
		}
		k.sawDelta = false
	case proc.EventToolUse:
		k.sawDelta = false
		k.Resp.ToolUse(ev.ToolName, toolSummary(ev.ToolName, ev.Input))
	}
}

// resumeLost reports a --resume that the CLI could not honour.
func resumeLost(res *proc.Result, err error) bool {
	if res == nil {
		return false
	}
	for _, e := range res.Errors {
		if strings.Contains(e, "No conversation found") {
			return true
		}
	}
	return res.IsError && res.NumTurns == 0 && res.Subtype == "error_during_execution" && len(res.Errors) > 0
}

// finish records the turn's end and then reports it, so that whatever the
// user does on seeing the reply (status, reset, the next message) finds
// the session already past this turn.
func (r *Router) finish(s *session, a Agent, it *item, res *proc.Result, err error, start time.Time, log turnLog) {
	fail := r.judge(s, a, res, err, start, log)
	if fail != nil {
		r.afterFailure(s, a)
	}
	if r.report(s, it, res, fail, start) {
		s.forget()
	}
}

// judge decides how the turn ended and, for a result, settles the
// session's record; it does no I/O. A non-nil error is what the user is
// told, and the agent must then be dropped (afterFailure).
func (r *Router) judge(s *session, a Agent, res *proc.Result, err error, start time.Time, log turnLog) error {
	s.mu.Lock()
	cause := s.stopCause
	s.rec.InFlight = "" // the user hears the end of this turn in report
	s.mu.Unlock()
	d := time.Since(start)
	switch {
	case err == nil && res != nil && (cause == nil || errors.Is(cause, errStopped)):
		r.cfg.Observer.TurnDone(outcome(res, cause), d)
		r.settleTurn(s, a)
		return nil
	case cause != nil && !errors.Is(cause, errStopped):
		r.cfg.Observer.TurnDone("interrupted", d)
		return cause
	case errors.Is(err, proc.ErrExited):
		r.cfg.Observer.TurnDone("crash", d)
		log.entry().Warn("agent exited mid-turn: ", err)
		return &TurnError{Msg: "The agent process exited unexpectedly; your next message starts it again and continues the conversation.", Err: err}
	case cause != nil:
		r.cfg.Observer.TurnDone("stopped", d)
		return &TurnError{Msg: "Stopped.", Err: err}
	}
	r.cfg.Observer.TurnDone("error", d)
	return &TurnError{Msg: "The turn failed: " + errText(err), Err: err}
}

// report tells the Responder how the turn ended and writes the record. It
// returns whether a reset asked during the turn is due (s.forget).
func (r *Router) report(s *session, it *item, res *proc.Result, fail error, start time.Time) (reset bool) {
	resp := it.in.Reply
	s.mu.Lock()
	s.turning = false // from here a reset or stop acts at once
	reset = s.resetNext
	s.resetNext = false
	interrupted := s.stopCause != nil
	s.mu.Unlock()
	if fail != nil {
		resp.Failed(fail)
		return reset
	}
	resp.Done(Result{Text: res.Text, IsError: res.IsError, SessionID: res.SessionID, Duration: time.Since(start), Interrupted: interrupted})
	// Written only now: the record clears the in-flight marker, and a
	// bridge that dies while Done is still delivering the reply must tell
	// the thread after its restart. The latest state is written, in case a
	// reset acted meanwhile.
	s.mu.Lock()
	rec := s.rec
	s.mu.Unlock()
	r.putRecord(rec)
	return reset
}

func errText(err error) string {
	if err == nil {
		return "no result"
	}
	return err.Error()
}

func outcome(res *proc.Result, cause error) string {
	switch {
	case cause != nil:
		return "stopped"
	case res.IsError:
		return "api_error"
	}
	return "ok"
}

// afterFailure drops an agent that died or may be out of step with us; the
// next message starts a new one with --resume.
func (r *Router) afterFailure(s *session, a Agent) {
	select {
	case <-a.Done():
	default:
		a.Kill()
	}
	s.stopAgent(sessionstore.StateIdle)
}

// settleTurn updates the session's record for a finished turn; finish
// writes it once the user has been told.
func (r *Router) settleTurn(s *session, a Agent) {
	now := time.Now()
	s.mu.Lock()
	s.turns++
	rec := s.rec
	rec.Key = s.key
	if id := a.SessionID(); id != "" {
		rec.SessionID = id
	}
	rec.Agent = r.cfg.Agent
	rec.LastActive = now
	if rec.Created.IsZero() {
		rec.Created = now
	}
	rec.Turns++
	rec.InFlight = ""
	rec.State = sessionstore.StateWarm
	rec.Owner = r.cfg.Instance
	s.rec = rec
	s.mu.Unlock()
}

func (r *Router) putRecord(rec sessionstore.Record) { r.rec.put(rec) }

// markInFlight records, before the agent sees the message, that its turn
// runs, so that a bridge killed mid-turn can tell the thread after its
// restart. It is written at once (not batched): a crash right after the
// turn started must still find it.
func (r *Router) markInFlight(s *session, msgID string) {
	if msgID == "" {
		return
	}
	s.mu.Lock()
	rec := s.rec
	rec.Key, rec.InFlight, rec.Owner, rec.Agent = s.key, msgID, r.cfg.Instance, r.cfg.Agent
	if rec.LastActive.IsZero() {
		rec.LastActive = time.Now()
	}
	if rec.Created.IsZero() {
		rec.Created = rec.LastActive
	}
	s.rec = rec
	s.mu.Unlock()
	r.rec.putSync(rec)
}

// toolSummary names what a tool call will touch, for status lines.
func toolSummary(tool string, input []byte) string {
	v := jsonField(input, "command")
	if v == "" {
		v = jsonField(input, "file_path")
	}
	if v == "" {
		v = jsonField(input, "notebook_path")
	}
	if v == "" {
		v = jsonField(input, "pattern")
	}
	return v
}
