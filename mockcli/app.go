package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/sirupsen/logrus"
)

// app is one mock CLI process: the stdin loop, the current turn and the
// conversation state.
type app struct {
	cfg config
	out *lineWriter
	log *logrus.Entry
	ids *idGen

	sessionID string
	cwd       string
	home      string
	tr        *transcript // nil when HOME is unknown
	resumeBad bool        // --resume named an unknown session

	// Conversation state, touched only by the turn goroutine (turns never
	// overlap) or by the loop while no turn runs.
	history     []string
	histBytes   int
	lastErr     bool // the last result had is_error; read by the loop once the turn is done
	stats       processStats
	resultIndex int

	// Set by the loop, read by turns at their start.
	mu      sync.Mutex
	hooks   []hookReg
	model   string
	initTpl initLine
	waiting map[string]chan controlResponse // our control_requests awaiting an answer

	stdinGone chan struct{} // closed at stdin EOF: unanswerable waits give up
	hang      atomic.Int32  // a turnOutcome; set by a HANG turn, never reset
}

type hookReg struct {
	matcher string
	ids     []string
}

// lineEvent is one stdin line from the reader goroutine.
type lineEvent struct {
	msg inMsg
	err error
}

// readStdin feeds parsed lines to the loop and closes out at EOF. It stops
// at the first fatal line: nothing after it is read.
func readStdin(r io.Reader, out chan<- lineEvent) {
	defer close(out)
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			m, ok, perr := parseLine(line)
			if perr != nil {
				out <- lineEvent{err: perr}
				return
			}
			if ok {
				out <- lineEvent{msg: m}
			}
		}
		if err != nil {
			return
		}
	}
}

// turnState tracks the running turn from the loop's side.
type turnState struct {
	cancel context.CancelFunc
	done   chan struct{}
	intr   *interruptSlot
}

func interruptAnswer(requestID string) []byte {
	return controlSuccess(requestID, []byte(`{"still_queued":[]}`))
}

// interruptSlot hands an interrupt's request id to the running turn.
type interruptSlot struct {
	mu      sync.Mutex
	id      string
	pending bool
	closed  bool
}

// set gives the turn the answer to write; false when it cannot take it.
func (s *interruptSlot) set(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.pending {
		return false
	}
	s.id, s.pending = id, true
	return true
}

// take returns a pending id once.
func (s *interruptSlot) take() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.pending {
		return "", false
	}
	s.pending = false
	return s.id, true
}

// close ends the slot with the turn and returns an id nobody answered.
func (s *interruptSlot) close() (string, bool) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.take()
}

// turnOutcome is the hang mode a turn may leave the process in.
type turnOutcome int

const (
	turnFinished turnOutcome = iota
	turnHang                 // HANG: stop talking, ignore stdin
	turnHangHard             // HANGHARD: also ignore SIGTERM
)

// loopState is what the main loop tracks between events.
type loopState struct {
	lines    <-chan lineEvent
	cur      *turnState
	queued   []userPrompt
	seenLine bool
	eof      bool
	drain    bool // an inline turn just ran: take what arrived meanwhile first
}

// loop is the process's main loop. It returns the exit status.
func (a *app) loop(lines <-chan lineEvent, sigs <-chan os.Signal) int {
	st := &loopState{lines: lines}
	for {
		hang := turnOutcome(a.hang.Load())
		if st.drain {
			// Lines that came in while an inline turn ran belong to the
			// next turn together, as the real CLI merges them.
			select {
			case ev, ok := <-st.lines:
				if exit := a.onEvent(st, ev, ok); exit >= 0 {
					return exit
				}
				continue
			default:
				st.drain = false
			}
		}
		if st.cur == nil && len(st.queued) > 0 && hang == turnFinished {
			st.cur = a.startTurn(st.queued) // nil when it already ran inline
			st.queued = nil
			st.drain = st.cur == nil
			continue
		}
		if st.cur == nil && st.eof && hang == turnFinished {
			a.out.flush()
			if a.lastErr {
				return 1
			}
			return 0
		}
		var curDone chan struct{}
		if st.cur != nil {
			curDone = st.cur.done
		}
		select {
		case ev, ok := <-st.lines:
			if exit := a.onEvent(st, ev, ok); exit >= 0 {
				return exit
			}
		case <-curDone:
			st.cur = nil
		case sig := <-sigs:
			if turnOutcome(a.hang.Load()) == turnHangHard {
				a.log.WithField("signal", sig.String()).Warn("HANGHARD: ignoring signal")
				continue
			}
			// Finished turns are on disk already (saved under the writer
			// lock right after their result); seal waits for one in flight.
			a.out.seal()
			a.log.WithField("signal", sig.String()).Info("exiting 0 on signal")
			return 0
		}
	}
}

// onEvent takes one receive from the stdin channel; exit >= 0 ends the
// process with that status.
func (a *app) onEvent(st *loopState, ev lineEvent, ok bool) int {
	if !ok {
		st.eof, st.lines, st.drain = true, nil, false
		close(a.stdinGone)
		return -1
	}
	if turnOutcome(a.hang.Load()) != turnFinished {
		return -1 // a hung CLI reads nothing
	}
	p, isUser, exit := a.onLine(ev, !st.seenLine, st.cur)
	st.seenLine = true
	if isUser {
		st.queued = append(st.queued, p)
	}
	return exit
}

// onLine handles one stdin line; exit >= 0 ends the process with that
// status (a fatal line, or the first line after an unknown --resume).
func (a *app) onLine(ev lineEvent, first bool, cur *turnState) (p userPrompt, isUser bool, exit int) {
	if ev.err != nil {
		a.log.WithError(ev.err).Error("fatal stdin line: exiting 1")
		a.out.seal()
		return p, false, 1
	}
	if first && a.resumeBad {
		a.out.writeFlush(a.resumeErrorResult())
		a.log.Error("No conversation found with session ID: " + a.sessionID)
		return p, false, 1
	}
	p, isUser = a.handle(ev.msg, cur)
	return p, isUser, -1
}

// handle acts on one stdin line. A valid user line is returned for queueing.
func (a *app) handle(m inMsg, cur *turnState) (userPrompt, bool) {
	switch m.Type {
	case "user":
		p, err := parseUserMessage(m.Message)
		if err != nil {
			a.log.WithError(err).Warn("ignoring user line")
			return userPrompt{}, false
		}
		return p, true
	case "control_request":
		a.handleControlRequest(m, cur)
	case "control_response":
		cr, err := parseControlResponse(m.Response)
		if err != nil {
			a.log.WithError(err).Warn("ignoring control_response")
			return userPrompt{}, false
		}
		a.mu.Lock()
		ch, ok := a.waiting[cr.RequestID]
		delete(a.waiting, cr.RequestID)
		a.mu.Unlock()
		if !ok {
			a.log.WithField("request_id", cr.RequestID).Warn("control_response for unknown request")
			return userPrompt{}, false
		}
		ch <- cr // buffered 1, sent once
	default:
		// Unknown types (keep_alive, control_cancel_request, ...) are
		// ignored like the real CLI does (malformed.jsonl).
	}
	return userPrompt{}, false
}

func (a *app) handleControlRequest(m inMsg, cur *turnState) {
	req, err := parseControlRequest(m.Request)
	if err != nil {
		a.out.writeFlush(controlError(m.RequestID, err.Error()))
		return
	}
	switch req.Subtype {
	case "initialize":
		var hooks []hookReg
		for _, h := range req.Hooks["PreToolUse"] {
			hooks = append(hooks, hookReg{matcher: h.Matcher, ids: h.HookCallbackIDs})
		}
		a.mu.Lock()
		a.hooks = hooks
		a.mu.Unlock()
		line := controlSuccessWith(m.RequestID, initializeResponse(os.Getpid(), a.home+"/.claude/output-styles"),
			func(j *jw) {
				// Nothing is ever pending at initialize time.
				j.R("pending_permission_requests", []byte(`[]`))
				j.R("pending_user_dialog_requests", []byte(`[]`))
			})
		a.out.writeFlush(line)
	case "interrupt":
		// The running turn writes the answer where the real CLI does (after
		// withdrawing a pending permission request); idle, answer at once.
		if cur == nil || !cur.intr.set(m.RequestID) {
			a.out.writeFlush(interruptAnswer(m.RequestID))
		}
		if cur != nil {
			cur.cancel()
		}
	case "set_model":
		if req.Model == "" {
			a.out.writeFlush(controlError(m.RequestID, "set_model requires model"))
			return
		}
		a.setModel(req.Model)
		a.out.writeFlush(controlSuccess(m.RequestID, []byte(`{}`)))
	case "set_permission_mode":
		a.out.writeFlush(controlSuccess(m.RequestID, []byte(`{}`)))
	default:
		a.out.writeFlush(controlError(m.RequestID, "Unsupported control request subtype: "+req.Subtype))
	}
}

func (a *app) setModel(model string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.model = model
	a.initTpl = newInitLine(a.initParams(model))
}

func (a *app) initParams(model string) initParams {
	return initParams{
		cwd:            a.cwd,
		sessionID:      a.sessionID,
		model:          model,
		memoryDir:      a.home + "/.claude/projects/" + projectDirName(a.cwd) + "/memory/",
		socket:         fmt.Sprintf("%s/cc-socks/%d.sock", os.TempDir(), os.Getpid()),
		permissionMode: a.cfg.permissionMode,
	}
}

func controlSuccess(requestID string, body []byte) []byte {
	return controlSuccessWith(requestID, body, nil)
}

// controlSuccessWith lets extra fields follow the body (initialize has some).
func controlSuccessWith(requestID string, body []byte, extra func(*jw)) []byte {
	var j jw
	j.open()
	j.S("type", "control_response")
	j.O("response")
	j.S("subtype", "success")
	j.S("request_id", requestID)
	j.R("response", body)
	if extra != nil {
		extra(&j)
	}
	j.close()
	j.close()
	return j.line()
}

func controlError(requestID, msg string) []byte {
	var j jw
	j.open()
	j.S("type", "control_response")
	j.O("response")
	j.S("subtype", "error")
	j.S("request_id", requestID)
	j.S("error", msg)
	j.close()
	j.close()
	return j.line()
}

// errAborted ends a turn early (interrupt, or stdin gone while waiting).
var errAborted = errors.New("turn aborted")

// pendingAsk is one of mockcli's control_requests awaiting its answer.
type pendingAsk struct {
	id string
	ch chan controlResponse
}

// askSend registers and writes a control_request. It does not wait, so
// the caller can let more stream events out first, as the real CLI does.
func (a *app) askSend(requestID string, line []byte) pendingAsk {
	p := pendingAsk{id: requestID, ch: make(chan controlResponse, 1)}
	a.mu.Lock()
	a.waiting[requestID] = p.ch
	a.mu.Unlock()
	a.out.writeFlush(line)
	return p
}

// askWait waits for the answer. An unanswered request waits forever, like
// the real CLI, unless the turn is interrupted or stdin is closed; then the
// request is withdrawn with control_cancel_request.
func (a *app) askWait(ctx context.Context, p pendingAsk) (controlResponse, error) {
	a.out.flush()
	select {
	case cr := <-p.ch:
		return cr, nil
	case <-ctx.Done():
	case <-a.stdinGone:
	}
	a.mu.Lock()
	delete(a.waiting, p.id)
	a.mu.Unlock()
	a.out.write(cancelRequest(p.id))
	return controlResponse{}, errAborted
}

func cancelRequest(requestID string) []byte {
	var j jw
	j.open()
	j.S("type", "control_cancel_request")
	j.S("request_id", requestID)
	j.close()
	return j.line()
}

// decodeJSON is a small helper for answers whose shape is optional.
func decodeJSON(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}
