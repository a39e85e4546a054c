package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

const (
	maxLineBytes   = 64 << 20 // longest stdout line kept; longer is an error
	readBufBytes   = 32 << 10 // pooled: held only while a chunk is handled
	keepLineBuf    = 1 << 20  // a bigger line buffer is left to the GC after use
	maxStderrBytes = 2 << 10  // a longer stderr line is truncated
	maxStderrLine  = 64 << 10 // a longer stderr line is dropped
)

// turn connects the reader to one turn. The reader calls h itself, under
// mu, so an event (and its Raw slice into the read buffer) is valid for the
// whole call without a goroutine hand-off per line; finishing takes mu to
// mark the turn gone, which waits out a running h.
type turn struct {
	h        func(*Event)
	mu       sync.Mutex
	gone     bool // guarded by mu: the turn ended, h must not run
	once     sync.Once
	end      func(*Result, error)
	unwatch  func() bool   // stops the ctx watcher
	p        *Process      // busy is released when the turn ends
	finished chan struct{} // closed when the turn's result was read
}

type delivery struct {
	res *Result
	err error
}

func (t *turn) call(ev *Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.gone && t.h != nil {
		t.h(ev)
	}
}

// finish ends the turn with the first delivery; later ones are dropped.
func (t *turn) finish(d delivery) { t.settle(d, true) }

func (t *turn) settle(d delivery, unwatch bool) {
	t.once.Do(func() {
		t.mu.Lock()
		t.gone = true
		t.mu.Unlock()
		if unwatch {
			t.unwatch()
		}
		t.p.busy.Store(false)
		t.end(d.res, d.err)
	})
}

// Turn writes one user message and calls h for each event until the
// turn's result, which it returns (h also sees it as EventResult). h runs
// on the process's reader goroutine, one event at a time, and never after
// Turn returns. It must not block for long (stdout and control requests
// wait for it) and must not call Turn, Interrupt or Stop of the same
// Process; call those from another goroutine.
//
// If the process exits first the error matches ErrExited (*ExitError). If
// ctx ends first Turn returns ctx.Err() and the process keeps running; the
// next Turn first waits for that abandoned turn's result (discarding its
// events), so turns never overlap on the CLI. A concurrent call gets ErrBusy.
func (p *Process) Turn(ctx context.Context, msg UserMessage, h func(*Event)) (*Result, error) {
	line, err := p.claim(msg)
	if err != nil {
		return nil, err
	}
	if prev := p.cur.Load(); prev != nil {
		select {
		case <-prev.finished:
		case <-ctx.Done():
			p.busy.Store(false)
			return nil, ctx.Err()
		case <-p.done:
			p.busy.Store(false)
			return nil, p.exitError()
		}
	}
	ch := make(chan delivery, 1)
	p.begin(ctx, line, h, func(res *Result, err error) { ch <- delivery{res, err} })
	d := <-ch
	return d.res, d.err
}

// TurnAsync is Turn without the wait: it writes the message and returns;
// end is called exactly once with what Turn would have returned, on the
// goroutine that saw the turn end (for a result, the reader's, after the
// last h). end may start the next turn; it must not wait for the
// process's stdout (Stop, a blocking Turn): the reader is busy calling it.
// An error means the turn did not start and end is not called; ErrBusy
// also covers an abandoned turn that has not ended yet.
func (p *Process) TurnAsync(ctx context.Context, msg UserMessage, h func(*Event), end func(*Result, error)) error {
	line, err := p.claim(msg)
	if err != nil {
		return err
	}
	if prev := p.cur.Load(); prev != nil {
		select {
		case <-prev.finished:
		default:
			p.busy.Store(false)
			return ErrBusy
		}
	}
	p.begin(ctx, line, h, end)
	return nil
}

// claim takes the process for one turn and encodes its line; on error it
// holds nothing.
func (p *Process) claim(msg UserMessage) ([]byte, error) {
	if !p.busy.CompareAndSwap(false, true) {
		return nil, ErrBusy
	}
	var err error
	select {
	case <-p.done:
		err = p.exitError()
	default:
		if p.stopping.Load() {
			err = ErrClosed
		}
	}
	var line []byte
	if err == nil {
		line, err = userLine(msg)
	}
	if err != nil {
		p.busy.Store(false)
		return nil, err
	}
	return line, nil
}

// begin registers the turn and writes its line. From here every outcome
// reaches end: the result, a reader error, the exit (wait), ctx, or the
// write failing.
func (p *Process) begin(ctx context.Context, line []byte, h func(*Event), end func(*Result, error)) {
	t := &turn{h: h, end: end, p: p, finished: make(chan struct{})}
	t.unwatch = context.AfterFunc(ctx, func() { t.settle(delivery{err: ctx.Err()}, false) })
	p.cur.Store(t)
	if p.ended.Load() { // wait may have looked at cur before the Store
		t.finish(delivery{err: p.exitError()})
		return
	}
	if err := p.writeLine(ctx, line); err != nil {
		p.cur.CompareAndSwap(t, nil)
		t.finish(delivery{err: p.writeFailed(ctx, err)})
	}
}

// writeFailed turns a stdin write error into the most useful error: the
// exit error with stderr if the process is dying, else the cause.
func (p *Process) writeFailed(ctx context.Context, err error) error {
	if errors.Is(err, ErrClosed) || ctx.Err() != nil {
		return err
	}
	select {
	case <-p.done:
		return p.exitError()
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrExited, err)
	}
}

// readStdout is the one reader of the agent's stdout. It ends on EOF.
func (p *Process) readStdout() {
	defer p.ioWG.Done()
	var (
		ev Event
		c  ctlInfo
	)
	sp := splitter{limit: p.lineLimit}
	sp.line = func(line []byte) {
		if len(line) == 0 {
			return
		}
		if perr := parseLine(line, &ev, &c); perr != nil {
			p.log.WithError(perr).WithField("line", prefix(line, 200)).Warn("unparsable agent stdout line")
			return
		}
		p.dispatch(line, &ev, &c)
	}
	sp.tooLong = func(result bool) {
		p.log.WithField("result", result).Error("agent wrote an over-long stdout line; discarded")
		p.deliverErr(ErrLineTooLong, result)
	}
	err := readChunks(p.stdoutR, sp.feed)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		p.log.WithError(err).Warn("reading agent stdout")
	}
	sp.end()
	p.afterEOF()
}

// afterEOF kills a process that closed stdout but keeps running: it can no
// longer answer, and Done must not wait for it forever.
func (p *Process) afterEOF() {
	t := time.NewTimer(p.grace)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.log.Warn("agent closed stdout but did not exit; killing")
		p.Kill()
	}
}

func prefix(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// dispatch routes one parsed line: control traffic to the control state,
// everything else to the running turn.
func (p *Process) dispatch(line []byte, ev *Event, c *ctlInfo) {
	switch c.kind {
	case lineControlRequest:
		p.onControlRequest(line, str(c.requestID), ev.Subtype)
		return
	case lineControlResponse:
		p.ctl.response(str(c.requestID), ev.Subtype, str(c.errMsg), p.log)
		return
	case lineControlCancel:
		p.ctl.cancel(str(c.requestID))
		return
	}
	if (ev.Type == EventInit || ev.Type == EventResult) && ev.SessionID != "" && ev.SessionID != p.SessionID() {
		sid := ev.SessionID
		p.sid.Store(&sid)
	}
	t := p.cur.Load()
	if t == nil {
		return // between turns: nobody is listening
	}
	t.call(ev)
	if ev.Type == EventResult {
		p.cur.CompareAndSwap(t, nil)
		close(t.finished)
		r := *ev.Result
		t.finish(delivery{res: &r})
	}
}

func (p *Process) deliverErr(err error, endsTurn bool) {
	t := p.cur.Load()
	if t == nil {
		return
	}
	if endsTurn && p.cur.CompareAndSwap(t, nil) {
		close(t.finished)
	}
	t.finish(delivery{err: err})
}

// readStderr logs the agent's stderr and keeps its tail for errors.
func (p *Process) readStderr() {
	defer p.ioWG.Done()
	sp := splitter{limit: maxStderrLine}
	sp.line = func(line []byte) {
		if len(line) > maxStderrBytes {
			line = line[:maxStderrBytes] // truncated: the rest is dropped
		}
		s := string(line)
		p.stderr.add(s)
		p.log.WithField("stream", "stderr").Warn(s)
	}
	sp.tooLong = func(bool) { p.log.WithField("stream", "stderr").Warn("(over-long stderr line dropped)") }
	_ = readChunks(p.stderrR, sp.feed)
	sp.end()
}
