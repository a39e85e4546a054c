package opencode

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hotline-dev/hotline/proc"
)

const (
	eventBuffer = 256 // proc events waiting for the Turn goroutine
	// busLag bounds the wait for the bus after the prompt answered. The
	// wait normally ends at the session's idle event; this is only the
	// fallback for a broken stream (the reply text is complete anyway).
	busLag     = 5 * time.Second
	maxDenials = 64
)

// Agent is one thread's OpenCode session on the shared server. It has the
// method set of *proc.Process (core.Agent). All methods are safe for
// concurrent use; Turn runs one turn at a time.
type Agent struct {
	srv     *server
	id      string // OpenCode session id
	dir     string // instance directory ("" = the server's)
	control proc.ControlHandler
	log     logrus.FieldLogger
	lost    bool // Resume named a session OpenCode does not have

	busy     atomic.Bool
	stopping atomic.Bool

	// base ends on Stop, Kill and server exit; prompts and permission
	// handlers derive from it.
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the prompt request and permission handlers

	mu      sync.Mutex
	cur     *turn           // the turn whose events are tracked
	prev    map[string]bool // assistant message ids of the finished turn
	pending map[string]context.CancelFunc

	doneOnce sync.Once
	done     chan struct{}
}

// turn is one prompt in flight.
type turn struct {
	state   *turnState      // guarded by Agent.mu
	denials []proc.Denial   // guarded by Agent.mu
	events  chan proc.Event // mapped events for the Turn goroutine
	quit    chan struct{}   // closed when nobody reads events any more
	end     chan postResult // the prompt's answer, buffered
	idle    chan struct{}   // closed when the bus shows the session idle after this turn's work
	idled   bool            // guarded by Agent.mu
	start   time.Time
}

type postResult struct {
	reply *promptReply
	err   error
}

func newAgent(srv *server, id, dir string, control proc.ControlHandler, log logrus.FieldLogger) *Agent {
	a := &Agent{srv: srv, id: id, dir: dir, control: control, log: log,
		pending: map[string]context.CancelFunc{}, done: make(chan struct{})}
	a.base, a.cancel = context.WithCancel(srv.ctx)
	return a
}

// PID is the shared server's process id.
func (a *Agent) PID() int { return a.srv.pid }

// SessionID is the OpenCode session id; pass it back as the resume id.
func (a *Agent) SessionID() string { return a.id }

// Done is closed once the agent has stopped or its server has exited.
func (a *Agent) Done() <-chan struct{} { return a.done }

// Turn sends one user message and blocks until OpenCode has finished the
// whole agent loop for it. h sees the turn's events (text deltas, whole
// text parts, tool calls and results, retries, and finally EventResult)
// on the calling goroutine, never after Turn returns. If ctx ends first
// Turn returns ctx.Err() and the prompt keeps running; the next Turn waits
// for it first. If the server exits the error matches proc.ErrExited.
func (a *Agent) Turn(ctx context.Context, msg proc.UserMessage, h func(*proc.Event)) (*proc.Result, error) {
	if !a.busy.CompareAndSwap(false, true) {
		return nil, proc.ErrBusy
	}
	defer a.busy.Store(false)
	if err := a.usable(); err != nil {
		return nil, err
	}
	if a.lost {
		res := lostResult(a.id)
		h(&proc.Event{Type: proc.EventResult, Result: res, SessionID: a.id})
		return res, nil
	}
	body, err := a.promptBody(msg)
	if err != nil {
		return nil, err
	}
	if err := a.awaitAbandoned(ctx); err != nil {
		return nil, err
	}
	t := &turn{events: make(chan proc.Event, eventBuffer), quit: make(chan struct{}),
		end: make(chan postResult, 1), idle: make(chan struct{}), start: time.Now()}
	a.mu.Lock()
	t.state = newTurnState(a.prev)
	a.cur = t
	a.mu.Unlock()
	a.wg.Add(1)
	go a.post(t, body)
	for {
		select {
		case ev := <-t.events:
			h(&ev)
		case r := <-t.end:
			if r.err == nil {
				a.catchUp(t, h) // a failed prompt leaves no idle event to wait for
			}
			return a.finish(t, r, h)
		case <-ctx.Done():
			close(t.quit) // abandoned: the state keeps tracking, nobody reads
			return nil, ctx.Err()
		case <-a.done:
			close(t.quit)
			return nil, a.srv.exitError(a.stopping.Load())
		}
	}
}

func (a *Agent) usable() error {
	select {
	case <-a.done:
		return a.srv.exitError(a.stopping.Load())
	default:
	}
	if a.stopping.Load() {
		return proc.ErrClosed
	}
	return nil
}

// awaitAbandoned waits for the prompt of a turn whose caller gave up, so
// that prompts never overlap in one session.
func (a *Agent) awaitAbandoned(ctx context.Context) error {
	a.mu.Lock()
	prev := a.cur
	a.mu.Unlock()
	if prev == nil {
		return nil
	}
	select {
	case r := <-prev.end:
		a.settle(prev, r.reply)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-a.done:
		return a.srv.exitError(a.stopping.Load())
	}
}

// settle retires a finished turn: its messages become the ones whose late
// events the next turn ignores.
func (a *Agent) settle(t *turn, reply *promptReply) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if reply != nil && reply.Info != nil && len(t.state.msgs) < maxTracked {
		t.state.msgs[reply.Info.ID] = true
	}
	if a.cur == t {
		a.cur = nil
		a.prev = t.state.msgs
	}
}

// catchUp passes on the turn's remaining bus events, up to the session's
// idle event.
func (a *Agent) catchUp(t *turn, h func(*proc.Event)) {
	timer := time.NewTimer(busLag)
	defer timer.Stop()
	for {
		select {
		case ev := <-t.events:
			h(&ev)
		case <-t.idle:
			return
		case <-timer.C:
			a.log.Warn("opencode: no idle event after the prompt's answer; finishing without it")
			return
		case <-a.done:
			return
		}
	}
}

// finish delivers the events mapped before the answer, then the result.
func (a *Agent) finish(t *turn, r postResult, h func(*proc.Event)) (*proc.Result, error) {
	for drained := false; !drained; {
		select {
		case ev := <-t.events:
			h(&ev)
		default:
			drained = true
		}
	}
	close(t.quit)
	a.settle(t, r.reply)
	if r.err != nil {
		if !a.srv.alive() || errors.Is(r.err, context.Canceled) {
			return nil, a.srv.exitError(a.stopping.Load())
		}
		if isStatus(r.err, http.StatusNotFound) {
			res := lostResult(a.id)
			h(&proc.Event{Type: proc.EventResult, Result: res, SessionID: a.id})
			return res, nil
		}
		return nil, r.err
	}
	a.mu.Lock()
	steps, denials := len(t.state.msgs), t.denials
	a.mu.Unlock()
	res := buildResult(r.reply, a.id, steps, time.Since(t.start), denials)
	h(&proc.Event{Type: proc.EventResult, Result: res, SessionID: a.id})
	return res, nil
}

func (a *Agent) post(t *turn, body map[string]any) {
	defer a.wg.Done()
	data, err := a.srv.call(a.base, http.MethodPost, "/session/"+url.PathEscape(a.id)+"/message", a.dir, body)
	var r postResult
	if err != nil {
		r.err = err
	} else {
		r.reply, r.err = parseReply(data)
	}
	t.end <- r
}

func (a *Agent) promptBody(msg proc.UserMessage) (map[string]any, error) {
	var parts []map[string]string
	if msg.Text != "" {
		parts = append(parts, map[string]string{"type": "text", "text": msg.Text})
	}
	for _, img := range msg.Images {
		if img.MediaType == "" || len(img.Data) == 0 {
			return nil, errors.New("opencode: an image needs a media type and data")
		}
		parts = append(parts, map[string]string{"type": "file", "mime": img.MediaType,
			"url": "data:" + img.MediaType + ";base64," + base64.StdEncoding.EncodeToString(img.Data)})
	}
	if len(parts) == 0 {
		return nil, errors.New("opencode: empty message")
	}
	body := map[string]any{"parts": parts}
	if m := a.srv.cfg.model(); m != nil {
		body["model"] = m
	}
	if a.srv.cfg.Agent != "" {
		body["agent"] = a.srv.cfg.Agent
	}
	return body, nil
}

// deliver takes one event of this agent's session(s) from the bus.
func (a *Agent) deliver(ev *event) {
	switch ev.Type {
	case "permission.asked":
		a.onPermission(&ev.Props)
		return
	case "permission.replied":
		a.withdraw(ev.Props.RequestID)
		return
	case "question.asked":
		a.dismissQuestion(ev.Props.ID)
		return
	}
	if ev.Props.SessionID != a.id {
		return // a subagent's session: only its permission requests matter here
	}
	var out []proc.Event
	a.mu.Lock()
	t := a.cur
	if t != nil {
		t.state.apply(ev, func(e *proc.Event) { out = append(out, *e) })
		if t.state.idle && !t.idled {
			t.idled = true
			close(t.idle)
		}
	}
	a.mu.Unlock()
	for _, e := range out {
		select {
		case t.events <- e:
		case <-t.quit:
			return
		}
	}
}

// Interrupt aborts the running prompt; its Turn then returns a result
// with subtype error_during_execution. Pending permission requests are
// withdrawn.
func (a *Agent) Interrupt(ctx context.Context) error {
	if err := a.usable(); err != nil {
		return err
	}
	_, err := a.srv.call(ctx, http.MethodPost, "/session/"+url.PathEscape(a.id)+"/abort", a.dir, nil)
	a.withdrawAll()
	return err
}

// Stop ends the agent: a running prompt is aborted and its Turn returns,
// permission handlers are cancelled, and the session stays in OpenCode's
// store for a later resume. The shared server keeps running. If ctx ends
// first the agent is dropped at once (Kill) and ctx.Err() is returned.
func (a *Agent) Stop(ctx context.Context) error {
	first := !a.stopping.Swap(true)
	if first && !a.lost && a.srv.alive() && a.running() {
		actx, cancel := context.WithTimeout(ctx, a.srv.cfg.StopGrace)
		_, err := a.srv.call(actx, http.MethodPost, "/session/"+url.PathEscape(a.id)+"/abort", a.dir, nil)
		cancel()
		if err != nil {
			a.log.WithError(err).Warn("opencode: abort on stop failed")
		}
	}
	a.withdrawAll() // a human's pending approval must not hold the stop
	idle := make(chan struct{})
	go func() { a.wg.Wait(); close(idle) }() // ends: the prompt ends on abort or on cancel below
	select {
	case <-idle:
	case <-ctx.Done():
	case <-time.After(a.srv.cfg.StopGrace):
	}
	a.cancel()
	<-idle
	a.close()
	return ctx.Err()
}

// Kill drops the agent at once: requests are cancelled, and a running
// prompt is aborted in the background (owned by the server).
func (a *Agent) Kill() {
	wasRunning := !a.stopping.Swap(true) && a.running()
	a.cancel()
	if wasRunning && a.srv.alive() {
		a.srv.background(func(ctx context.Context) {
			_, _ = a.srv.call(ctx, http.MethodPost, "/session/"+url.PathEscape(a.id)+"/abort", a.dir, nil)
		})
	}
	a.srv.background(func(context.Context) { a.wg.Wait(); a.close() })
}

func (a *Agent) running() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cur != nil
}

func (a *Agent) close() {
	a.doneOnce.Do(func() {
		a.srv.unregister(a)
		close(a.done)
	})
}

// serverGone is called once the server has exited.
func (a *Agent) serverGone() {
	a.cancel()
	a.srv.background(func(context.Context) { a.wg.Wait(); a.close() })
}
