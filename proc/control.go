package proc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

const (
	maxControlInflight = 16 // CLI requests being answered at once
	rejectWriteTimeout = 5 * time.Second
)

// controlState tracks both directions of control traffic.
type controlState struct {
	seq atomic.Uint64
	sem chan struct{}  // slots for CLI requests being handled
	wg  sync.WaitGroup // handler goroutines

	mu       sync.Mutex
	pending  map[string]chan ctlResult     // our requests; nil channel: log only
	inflight map[string]context.CancelFunc // CLI requests being handled
}

type ctlResult struct {
	subtype string
	err     string
}

func (c *controlState) init() {
	c.sem = make(chan struct{}, maxControlInflight)
	c.pending = make(map[string]chan ctlResult)
	c.inflight = make(map[string]context.CancelFunc)
}

func (c *controlState) newID() string {
	return "hotline_" + strconv.FormatUint(c.seq.Add(1), 10)
}

// response delivers a control_response to the request that waits for it.
func (c *controlState) response(id, subtype, errMsg string, log logrus.FieldLogger) {
	c.mu.Lock()
	ch, ok := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	switch {
	case !ok:
		log.WithField("request_id", id).Debug("control_response for no pending request")
	case ch != nil:
		ch <- ctlResult{subtype: subtype, err: errMsg} // buffered 1, sent once
	case subtype != "success":
		log.WithFields(logrus.Fields{"request_id": id, "error": errMsg}).Error("agent refused control request")
	}
}

func (c *controlState) cancel(id string) {
	c.mu.Lock()
	cancel := c.inflight[id]
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

type controlRequestJSON struct {
	Request struct {
		Subtype        string          `json:"subtype"`
		ToolName       string          `json:"tool_name"`
		Input          json.RawMessage `json:"input"`
		ToolUseID      string          `json:"tool_use_id"`
		CallbackID     string          `json:"callback_id"`
		DecisionReason json.RawMessage `json:"decision_reason"`
	} `json:"request"`
}

type hookInputJSON struct {
	HookEventName string          `json:"hook_event_name"`
	ToolName      string          `json:"tool_name"`
	ToolInput     json.RawMessage `json:"tool_input"`
	ToolUseID     string          `json:"tool_use_id"`
}

// decodeControlRequest copies everything it returns: the request is
// answered on another goroutine after the read buffer has moved on.
func decodeControlRequest(line []byte, id string) (ControlRequest, error) {
	raw := bytes.Clone(line)
	var j controlRequestJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return ControlRequest{}, err
		}
	}
	r := j.Request
	req := ControlRequest{RequestID: id, Subtype: r.Subtype, ToolName: r.ToolName,
		Input: r.Input, ToolUseID: r.ToolUseID, CallbackID: r.CallbackID, Raw: raw}
	if s := ""; json.Unmarshal(r.DecisionReason, &s) == nil {
		req.Reason = s
	} else if len(r.DecisionReason) > 0 && string(r.DecisionReason) != "null" {
		req.Reason = string(r.DecisionReason)
	}
	if r.Subtype == "hook_callback" {
		var h hookInputJSON
		_ = json.Unmarshal(r.Input, &h) // absent fields stay empty
		req.HookEvent, req.Input = h.HookEventName, h.ToolInput
		if req.ToolName == "" {
			req.ToolName = h.ToolName
		}
		if req.ToolUseID == "" {
			req.ToolUseID = h.ToolUseID
		}
	}
	return req, nil
}

// onControlRequest answers a CLI request on its own goroutine, at most
// maxControlInflight at a time; beyond that it refuses at once.
func (p *Process) onControlRequest(line []byte, id, subtype string) {
	l := p.log.WithFields(logrus.Fields{"request_id": id, "subtype": subtype})
	if id == "" {
		l.Warn("control_request without request_id; ignored")
		return
	}
	req, err := decodeControlRequest(line, id)
	if err != nil {
		l.WithError(err).Warn("malformed control_request")
		p.rejectControl(id, "malformed control request: "+err.Error())
		return
	}
	select {
	case p.ctl.sem <- struct{}{}:
	default:
		l.Warn("too many control requests outstanding; refusing")
		p.rejectControl(id, "too many outstanding control requests")
		return
	}
	ctx, cancel := context.WithCancel(p.base)
	p.ctl.mu.Lock()
	p.ctl.inflight[id] = cancel
	p.ctl.mu.Unlock()
	p.ctl.wg.Add(1)
	go func() {
		defer p.ctl.wg.Done()
		defer func() { <-p.ctl.sem }()
		defer func() {
			p.ctl.mu.Lock()
			delete(p.ctl.inflight, id)
			p.ctl.mu.Unlock()
			cancel()
		}()
		body, err := p.answerControl(ctx, req)
		if ctx.Err() != nil {
			return // withdrawn, exited or stopping: nobody wants the answer
		}
		if err := p.writeJSON(ctx, controlAnswer(id, body, err)); err != nil {
			l.WithError(err).Warn("writing control_response")
		}
	}()
}

func (p *Process) rejectControl(id, msg string) {
	ctx, cancel := context.WithTimeout(p.base, rejectWriteTimeout)
	defer cancel()
	if err := p.writeJSON(ctx, controlAnswer(id, nil, errors.New(msg))); err != nil {
		p.log.WithError(err).Warn("writing control_response")
	}
}

func (p *Process) answerControl(ctx context.Context, req ControlRequest) (body any, err error) {
	defer func() {
		if r := recover(); r != nil {
			p.log.WithField("panic", fmt.Sprint(r)).Error("control handler panicked")
			body, err = nil, fmt.Errorf("control handler failed")
		}
	}()
	if p.cfg.Control != nil {
		return p.cfg.Control.HandleControl(ctx, req)
	}
	switch req.Subtype {
	case "hook_callback":
		return struct{}{}, nil
	case "can_use_tool":
		return map[string]string{"behavior": "deny", "message": "no approver configured"}, nil
	}
	return nil, fmt.Errorf("unsupported control request %q", req.Subtype)
}

type controlResponseJSON struct {
	Type     string `json:"type"`
	Response struct {
		Subtype   string `json:"subtype"`
		RequestID string `json:"request_id"`
		Response  any    `json:"response,omitempty"`
		Error     string `json:"error,omitempty"`
	} `json:"response"`
}

func controlAnswer(id string, body any, err error) controlResponseJSON {
	var a controlResponseJSON
	a.Type = "control_response"
	a.Response.RequestID = id
	if err != nil {
		a.Response.Subtype, a.Response.Error = "error", err.Error()
		return a
	}
	if body == nil {
		body = struct{}{}
	}
	a.Response.Subtype, a.Response.Response = "success", body
	return a
}

type controlRequestOut struct {
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
	Request   any    `json:"request"`
}

// request sends a control_request and, if wait, waits for its response.
func (p *Process) request(ctx context.Context, body any, wait bool) error {
	id := p.ctl.newID()
	var ch chan ctlResult
	if wait {
		ch = make(chan ctlResult, 1)
	}
	p.ctl.mu.Lock()
	p.ctl.pending[id] = ch
	p.ctl.mu.Unlock()
	forget := func() {
		p.ctl.mu.Lock()
		delete(p.ctl.pending, id)
		p.ctl.mu.Unlock()
	}
	if err := p.writeJSON(ctx, controlRequestOut{Type: "control_request", RequestID: id, Request: body}); err != nil {
		forget()
		return err
	}
	if !wait {
		return nil
	}
	defer forget()
	select {
	case r := <-ch:
		if r.subtype != "success" {
			return fmt.Errorf("proc: agent refused control request: %s", r.err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.done:
		return p.exitError()
	}
}

type hookEntry struct {
	Matcher         string   `json:"matcher"`
	HookCallbackIDs []string `json:"hookCallbackIds"`
}

func (p *Process) initialize(ctx context.Context) error {
	entries := make([]hookEntry, 0, len(p.cfg.Hooks))
	for _, h := range p.cfg.Hooks {
		entries = append(entries, hookEntry{Matcher: h.Matcher, HookCallbackIDs: []string{h.CallbackID}})
	}
	body := map[string]any{"subtype": "initialize", "hooks": map[string]any{"PreToolUse": entries}}
	if err := p.request(ctx, body, false); err != nil {
		return fmt.Errorf("proc: initialize: %w", err)
	}
	return nil
}

// Interrupt asks the CLI to end the running turn and returns once the CLI
// acknowledged it (or ctx ends). The running Turn then returns the CLI's
// result, normally with subtype error_during_execution.
func (p *Process) Interrupt(ctx context.Context) error {
	if err := p.request(ctx, map[string]string{"subtype": "interrupt"}, true); err != nil {
		return fmt.Errorf("proc: interrupt: %w", err)
	}
	return nil
}
