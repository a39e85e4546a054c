package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Tuning of Resilient.
const (
	maxPending        = 10000 // distinct keys buffered during an outage
	writeTimeout      = 2 * time.Second
	minBackoff        = 50 * time.Millisecond
	maxBackoff        = 5 * time.Second
	probeEvery        = 10 * time.Second
	closeFlushTimeout = 5 * time.Second
	flushBatch        = 256
)

// ErrPendingFull is returned by Resilient.Put and Delete when the backend
// is down and the buffer of unwritten keys is full; that write is lost.
var ErrPendingFull = errors.New("sessionstore: store degraded and the pending-write buffer is full")

// op is the latest unwritten change for one key. seq orders changes so a
// slow write never overtakes a newer one.
type op struct {
	rec Record
	del bool
	seq uint64
}

type keyedOp struct {
	key string
	op  op
}

// Resilient wraps a Store so that a backend outage degrades the bridge
// instead of stopping it.
//
// While the backend is healthy, Put and Delete write through (bounded by
// a 2 s timeout) and their result is durable on return. When a write
// fails, or once the store is degraded, the change goes to a bounded map
// holding the latest change per key and the call returns nil at once; a
// background flusher retries with exponential backoff (50 ms to 5 s) and
// clears the degraded state when every buffered change is written. Get and
// Idle see buffered changes first. A key with a write in flight is
// buffered too, so changes to one key reach the backend in call order.
type Resilient struct {
	s          Store
	log        logrus.FieldLogger
	probeEvery time.Duration

	mu       sync.Mutex
	pending  map[string]op
	inflight map[string]int // write-through calls in progress, per key
	seq      uint64
	degraded bool
	lastErr  error
	since    time.Time
	closed   bool
	writers  sync.WaitGroup

	wake      chan struct{}
	ctx       context.Context // cancelled by Close; bounds the flusher's writes
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ Store = (*Resilient)(nil)

// NewResilient wraps s and starts its flusher; Close stops the flusher,
// makes a last attempt to write buffered changes and closes s.
func NewResilient(s Store, log logrus.FieldLogger) *Resilient {
	return newResilient(s, log, probeEvery)
}

func newResilient(s Store, log logrus.FieldLogger, probe time.Duration) *Resilient {
	if log == nil {
		log = logrus.StandardLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Resilient{
		s:          s,
		log:        log.WithField("component", "sessionstore"),
		probeEvery: probe,
		pending:    make(map[string]op),
		inflight:   make(map[string]int),
		wake:       make(chan struct{}, 1),
		ctx:        ctx,
		cancel:     cancel,
		done:       make(chan struct{}),
	}
	go r.run()
	return r
}

// Healthy returns nil while the backend accepts calls, or an error naming
// the degraded state, since when, how many changes wait, and the last
// backend error. Suitable for /readyz.
func (r *Resilient) Healthy() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.degraded {
		return nil
	}
	return fmt.Errorf("session store degraded since %s, %d changes pending: %w",
		r.since.UTC().Format(time.RFC3339), len(r.pending), r.lastErr)
}

// Pending reports how many keys have changes not yet written.
func (r *Resilient) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// Put implements Store; see the type comment for when it returns before
// the backend has the record.
func (r *Resilient) Put(ctx context.Context, rec Record) error {
	// Reject bad input now: a buffered record the backend refuses would be
	// lost silently later.
	if _, err := encodeRecord(rec); err != nil {
		return err
	}
	return r.write(ctx, rec.Key, op{rec: rec})
}

// Delete implements Store like Put.
func (r *Resilient) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	return r.write(ctx, key, op{del: true})
}

func (r *Resilient) write(ctx context.Context, key string, o op) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	r.seq++
	o.seq = r.seq
	if r.degraded || r.inflight[key] > 0 || r.hasPending(key) {
		err := r.enqueueLocked(key, o)
		r.mu.Unlock()
		r.signal()
		return err
	}
	r.inflight[key]++
	r.writers.Add(1)
	r.mu.Unlock()
	defer r.writers.Done()

	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	err := r.apply(wctx, key, o)
	cancel()

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inflight[key]--; r.inflight[key] == 0 {
		delete(r.inflight, key)
	}
	if err == nil || errors.Is(err, ErrInvalid) {
		if r.hasPending(key) {
			r.signal() // a newer change arrived meanwhile
		}
		return err
	}
	if !r.hasPending(key) { // else a newer change supersedes this one
		if qerr := r.enqueueLocked(key, o); qerr != nil {
			return qerr
		}
	}
	if ctx.Err() == nil { // the caller giving up says nothing about the backend
		r.markDegradedLocked(err)
	}
	r.signal()
	return nil
}

func (r *Resilient) hasPending(key string) bool {
	_, ok := r.pending[key]
	return ok
}

func (r *Resilient) enqueueLocked(key string, o op) error {
	if !r.hasPending(key) && len(r.pending) >= maxPending {
		r.log.WithFields(logrus.Fields{"key": key, "pending": len(r.pending)}).Error("session store change dropped: pending buffer full")
		return fmt.Errorf("%w (%d keys; last backend error: %v)", ErrPendingFull, len(r.pending), r.lastErr)
	}
	r.pending[key] = o
	return nil
}

func (r *Resilient) apply(ctx context.Context, key string, o op) error {
	if o.del {
		return r.s.Delete(ctx, key)
	}
	return r.s.Put(ctx, o.rec)
}

func (r *Resilient) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Resilient) markDegradedLocked(err error) {
	if !r.degraded {
		r.degraded = true
		r.since = time.Now()
		r.log.WithError(err).Warn("session store degraded; buffering changes and retrying")
	}
	r.lastErr = err
}

// noteFailure marks the store degraded after a failed read, so /readyz
// shows an outage even when nothing is being written.
func (r *Resilient) noteFailure(ctx context.Context, err error) {
	if err == nil || ctx.Err() != nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrClosed) {
		return
	}
	r.mu.Lock()
	r.markDegradedLocked(err)
	r.mu.Unlock()
	r.signal()
}

// Get implements Store, answering from buffered changes first.
func (r *Resilient) Get(ctx context.Context, key string) (Record, error) {
	r.mu.Lock()
	o, ok := r.pending[key]
	r.mu.Unlock()
	if ok {
		if o.del {
			return Record{}, ErrNotFound
		}
		return o.rec, nil
	}
	rec, err := r.s.Get(ctx, key)
	r.noteFailure(ctx, err)
	return rec, err
}

// Idle implements Store. Buffered changes replace the backend's version
// of a record; the backend is asked for as many more records as there are
// buffered changes, so superseded ones do not crowd out the rest (a change
// buffered during the call may still make the answer short). The buffer is
// looked at before and after the backend read: the flusher may write a
// change and drop it from the buffer in between, and the backend's answer
// can predate that write.
func (r *Resilient) Idle(ctx context.Context, before time.Time, limit int) ([]Record, error) {
	r.mu.Lock()
	view := maps.Clone(r.pending)
	r.mu.Unlock()
	recs, err := r.s.Idle(ctx, before, limit+len(view))
	if err != nil {
		r.noteFailure(ctx, err)
		return nil, err
	}
	r.mu.Lock()
	if view == nil && len(r.pending) > 0 {
		view = make(map[string]op, len(r.pending))
	}
	maps.Copy(view, r.pending) // the later change of a key wins
	r.mu.Unlock()
	if len(view) == 0 {
		return recs, nil
	}
	out := recs[:0]
	for _, rec := range recs {
		if _, ok := view[rec.Key]; !ok {
			out = append(out, rec)
		}
	}
	for _, o := range view {
		if !o.del && o.rec.State == StateWarm && o.rec.LastActive.Before(before) {
			out = append(out, o.rec)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastActive.Equal(out[j].LastActive) {
			return out[i].LastActive.Before(out[j].LastActive)
		}
		return out[i].Key < out[j].Key
	})
	return out[:min(len(out), limit)], nil
}

// Ping implements Store.
func (r *Resilient) Ping(ctx context.Context) error {
	err := r.s.Ping(ctx)
	r.noteFailure(ctx, err)
	return err
}

// Close stops the flusher, waits for writes in progress, tries once more
// (for up to 5 s) to write buffered changes, and closes the backend. It
// reports changes it could not write.
func (r *Resilient) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		r.cancel()
		<-r.done
		r.writers.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
		defer cancel()
		var lost error
		if !r.flush(ctx) {
			r.mu.Lock()
			n, last := len(r.pending), r.lastErr
			r.mu.Unlock()
			r.log.WithError(last).WithField("pending", n).Error("session store closed with unwritten changes")
			lost = fmt.Errorf("sessionstore: %d changes not written: %w", n, last)
		}
		r.closeErr = errors.Join(lost, r.s.Close())
	})
	return r.closeErr
}
