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
// written. Pending records are bounded by the number of keys with a
// recent turn.
type recorder struct {
	store    Store
	log      logrus.FieldLogger
	onError  func()
	mu       sync.Mutex
	pending  map[string]sessionstore.Record
	wake     chan struct{}
	stop     chan struct{}
	finished chan struct{}
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
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *recorder) loop() {
	defer close(w.finished)
	for {
		select {
		case <-w.wake:
			w.flush()
		case <-w.stop:
			w.flush()
			return
		}
	}
}

func (w *recorder) flush() {
	w.mu.Lock()
	batch := w.pending
	w.pending = make(map[string]sessionstore.Record, len(batch))
	w.mu.Unlock()
	for _, rec := range batch {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := w.store.Put(ctx, rec)
		cancel()
		if err != nil {
			w.onError()
			w.log.WithField("session_key", rec.Key).WithError(err).Warn("session store write failed")
		}
	}
}

// close writes what is pending and stops the writer.
func (w *recorder) close() {
	close(w.stop)
	<-w.finished
}
