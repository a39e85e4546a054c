package core

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hotline-dev/hotline/sessionstore"
)

// recorder writes session records behind the turns: a turn never waits for
// the store, and when records for one key pile up only the latest is
// written. Records are gathered for flushDelay before a write so that a
// busy bridge does not wake the writer once per turn. Pending records are
// bounded by the number of keys with a recent turn.
type recorder struct {
	store    Store
	log      logrus.FieldLogger
	onError  func()
	writeMu  sync.Mutex // held across store writes, so a sync write lands after an older batched one
	mu       sync.Mutex
	pending  map[string]sessionstore.Record
	armed    bool // a flush is due; later puts need not wake the writer
	wake     chan struct{}
	stop     chan struct{}
	finished chan struct{}
	timeouts sharedTimeout
}

func newRecorder(store Store, log logrus.FieldLogger, onError func()) *recorder {
	w := &recorder{
		store: store, log: log, onError: onError,
		pending: make(map[string]sessionstore.Record),
		wake:    make(chan struct{}, 1), stop: make(chan struct{}), finished: make(chan struct{}),
	}
	go w.loop()
	return w
}

// put queues rec, replacing an unwritten record of the same key.
func (w *recorder) put(rec sessionstore.Record) {
	w.mu.Lock()
	w.pending[rec.Key] = rec
	arm := !w.armed
	w.armed = true
	w.mu.Unlock()
	if arm {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

const flushDelay = 5 * time.Millisecond

func (w *recorder) loop() {
	defer close(w.finished)
	for {
		select {
		case <-w.wake:
			t := time.NewTimer(flushDelay)
			select {
			case <-t.C:
			case <-w.stop:
				t.Stop()
			}
			w.flush()
		case <-w.stop:
			w.flush()
			return
		}
	}
}

// putSync writes rec now, superseding any unwritten record of its key.
func (w *recorder) putSync(rec sessionstore.Record) {
	w.mu.Lock()
	delete(w.pending, rec.Key)
	w.mu.Unlock()
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	w.write(rec)
}

func (w *recorder) write(rec sessionstore.Record) {
	err := w.store.Put(w.timeouts.get(), rec)
	if err != nil {
		w.onError()
		w.log.WithField("session_key", rec.Key).WithError(err).Warn("session store write failed")
	}
}

func (w *recorder) flush() {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	w.mu.Lock()
	batch := w.pending
	w.pending = make(map[string]sessionstore.Record, len(batch))
	w.armed = false
	w.mu.Unlock()
	for _, rec := range batch {
		w.write(rec)
	}
}

// close writes what is pending and stops the writer.
func (w *recorder) close() {
	close(w.stop)
	<-w.finished
	w.timeouts.close()
}

const (
	writeTimeout = 5 * time.Second
	writeSlack   = time.Second
)

// sharedTimeout hands out contexts that end writeTimeout to
// writeTimeout+writeSlack from now: the writes of one writeSlack share one
// context and so one timer. A timer per write cost a hot turn a wake-up of
// another OS thread (see watchdog).
type sharedTimeout struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc // of the newest ctx; older ones end by their deadline
	renew  time.Time          // a write after this gets a new ctx
}

func (t *sharedTimeout) get() context.Context {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx == nil || now.After(t.renew) {
		t.ctx, t.cancel = context.WithDeadline(context.Background(), now.Add(writeTimeout+writeSlack))
		t.renew = now.Add(writeSlack)
	}
	return t.ctx
}

func (t *sharedTimeout) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancel != nil {
		t.cancel()
	}
}
