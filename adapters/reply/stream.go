package reply

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Poster is what a platform offers a reply stream; the adapters implement it.
// Both calls must honour ctx. Return *RateLimited (possibly wrapped) when the
// platform asks to slow down.
type Poster interface {
	Post(ctx context.Context, text string) (id string, err error)
	Edit(ctx context.Context, id, text string) error
}

// Options configure a Stream.
type Options struct {
	Limit    int           // max characters (runes) per message, e.g. Discord 2000; <= 0: no limit
	Interval time.Duration // minimum time between edits of one message (coalescing); default 1s
	Log      logrus.FieldLogger
}

// DefaultInterval is used when Options.Interval is not positive.
const DefaultInterval = time.Second

// Stream shows one reply while it is being written. Append feeds it text; a
// goroutine, started by the first Append and ended by Finish or Abort,
// posts the first message at once and then edits at most once per Interval
// per message, continuing in new messages past Limit. Finish makes the
// visible messages exactly Split(final, Limit).
//
// Append, IDs and Abort may be called from any goroutine; Finish must not be
// called concurrently with itself.
type Stream struct {
	p   Poster
	opt Options
	log logrus.FieldLogger
	clk clock

	mu      sync.Mutex // guards the fields below; never held during Poster calls
	buf     strings.Builder
	ids     []string
	started bool
	closed  bool // Finish or Abort was called: Append is ignored
	idle    bool // the goroutine waits for text with no timer armed: wake it

	wake      chan struct{} // capacity 1: "there is new text" (sent only when idle)
	stop      chan struct{}
	stopOnce  sync.Once
	done      chan struct{} // closed when the goroutine has returned
	ctx       context.Context
	cancel    context.CancelFunc
	finishing atomic.Bool

	// Owned by the goroutine while it runs, then by Finish.
	shown     []string    // last text each message was set to
	lastCall  []time.Time // when each message was last posted or edited
	notBefore time.Time   // no Poster call before this (rate limits, errors)
	bo        backoff
	frozen    int    // messages before this index are settled for streaming
	cur       cursor // splitter position after the frozen messages
}

// NewStream returns a stream that posts through p. Nothing is posted before
// the first Append or Finish.
func NewStream(p Poster, opt Options) *Stream { return newStream(p, opt, realClock{}) }

func newStream(p Poster, opt Options, clk clock) *Stream {
	if opt.Interval <= 0 {
		opt.Interval = DefaultInterval
	}
	log := opt.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Stream{
		p: p, opt: opt, clk: clk,
		log:  log.WithField("component", "reply"),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
	}
}

// Append adds text to the reply. It never blocks on the platform and never
// drops text; intermediate edits may be coalesced or skipped. Appends after
// Finish or Abort are ignored.
func (s *Stream) Append(delta string) {
	if delta == "" {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.buf.WriteString(delta)
	if !s.started {
		s.started = true
		go s.run()
	}
	// Wake the goroutine only when no timer will bring it back anyway: that
	// keeps Append cheap while edits are being coalesced.
	wake := s.idle
	s.idle = false
	s.mu.Unlock()
	if wake {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// IDs returns the ids of the posted messages, in order.
func (s *Stream) IDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

// abortWait bounds how long Abort lets an in-flight Poster call finish.
var abortWait = 5 * time.Second

// Abort stops the goroutine without finishing; the messages stay as they
// are. An in-flight Poster call may complete (for up to abortWait): a
// cancelled post can still land on the platform later, after whatever the
// caller posts next (an error note), and the thread would read backwards.
// It returns once the goroutine has ended.
func (s *Stream) Abort() {
	ctx, cancel := context.WithTimeout(context.Background(), abortWait)
	defer cancel()
	_ = s.halt(ctx)
	s.cancel()
}

// Finish makes the visible messages exactly Split(final, Limit): it edits
// the posted ones that differ, posts the missing ones and edits surplus ones
// to SurplusMarker. Rate limits and other errors are retried with backoff
// until ctx ends; then the last error is returned (ctx.Err() if none).
// Finish may be called again, for example after a failure.
//
// A final text that is only whitespace is treated like the empty text (no
// parts): both platforms reject blank messages, so retrying could never
// succeed. The caller posts its own placeholder in both cases.
func (s *Stream) Finish(ctx context.Context, final string) error {
	if !s.finishing.CompareAndSwap(false, true) {
		return errors.New("reply: Finish called while another Finish is running")
	}
	defer s.finishing.Store(false)
	if err := s.halt(ctx); err != nil {
		return err
	}
	var parts []string
	if strings.TrimSpace(final) != "" {
		parts = Split(final, s.opt.Limit)
	}
	for i := 0; i < max(len(parts), len(s.shown)); i++ {
		want := SurplusMarker
		if i < len(parts) {
			want = parts[i]
		}
		if err := s.settle(ctx, i, want); err != nil {
			return err
		}
	}
	return nil
}

// close stops further Appends and tells the goroutine to stop.
func (s *Stream) close() (started bool) {
	s.mu.Lock()
	s.closed = true
	started = s.started
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stop) })
	return started
}

// halt stops the goroutine, letting an in-flight Poster call complete (its
// message id is needed) unless ctx ends first.
func (s *Stream) halt(ctx context.Context) error {
	if !s.close() {
		return nil
	}
	select {
	case <-s.done:
		s.cancel() // releases the context; the goroutine is gone
		return nil
	case <-ctx.Done():
		s.cancel()
		<-s.done
		return ctx.Err()
	}
}

// settle retries until message i shows want, or ctx ends.
func (s *Stream) settle(ctx context.Context, i int, want string) error {
	var last error
	for i >= len(s.shown) || s.shown[i] != want {
		at := s.notBefore
		if i < len(s.shown) {
			at = later(at, s.lastCall[i].Add(s.opt.Interval))
		}
		if err := sleepUntil(ctx, s.clk, at); err != nil {
			return firstErr(last, err)
		}
		err := s.call(ctx, i, want)
		if err == nil {
			continue
		}
		last = err
		if ctx.Err() != nil {
			return last
		}
		s.backOff(i, err, false)
	}
	return nil
}

// call posts message i (when it is the next one) or edits it, and records
// the result.
func (s *Stream) call(ctx context.Context, i int, text string) error {
	if i >= len(s.shown) {
		id, err := s.p.Post(ctx, text)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.ids = append(s.ids, id)
		s.mu.Unlock()
		s.shown = append(s.shown, text)
		s.lastCall = append(s.lastCall, s.clk.Now())
	} else {
		s.mu.Lock()
		id := s.ids[i]
		s.mu.Unlock()
		if err := s.p.Edit(ctx, id, text); err != nil {
			return err
		}
		s.shown[i], s.lastCall[i] = text, s.clk.Now()
	}
	s.bo.reset()
	return nil
}

// backOff delays the next Poster call after err. While streaming, errors
// other than rate limits are simply retried at the next tick.
func (s *Stream) backOff(i int, err error, streaming bool) {
	d, limited := s.bo.after(err)
	if streaming && !limited {
		d = s.opt.Interval
	}
	s.notBefore = s.clk.Now().Add(d)
	s.log.WithFields(logrus.Fields{"message": i, "retry_in": d.String(), "rate_limited": limited}).
		WithError(err).Warn("reply: platform call failed; retrying")
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
