package core

import (
	"sync"
	"time"
)

// watchdog runs the turn timeouts of all sessions from one timer. A timer
// per turn cost every warm turn a wake-up of another OS thread: a timer
// due before every other one wakes the runtime's network poller when it is
// added (bench: HotTurnVsRaw). Here a turn's alarm is an entry in a list
// kept in deadline order; the timer is armed for the earliest entry and
// left alone when a turn ends. When it fires with nothing due it re-arms
// for the next entry, or rests when there is none, so a busy session
// touches the timer once per timeout period, not once per turn.
type watchdog struct {
	mu         sync.Mutex
	timer      *time.Timer // nil until the first alarm
	armedAt    time.Time   // when the timer fires; zero when it rests
	head, tail *alarm
	closed     bool
}

// alarm is one turn's timeout.
type alarm struct {
	w          *watchdog
	at         time.Time
	fire       func()
	prev, next *alarm
	pending    bool          // guarded by w.mu: in the list, neither fired nor stopped
	fired      chan struct{} // closed when fire has returned
}

// add calls fire on a goroutine of its own once d has passed, unless the
// alarm is stopped first.
func (w *watchdog) add(d time.Duration, fire func()) *alarm {
	a := &alarm{w: w, fire: fire, pending: true, fired: make(chan struct{})}
	w.mu.Lock()
	defer w.mu.Unlock()
	a.at = time.Now().Add(d)
	w.insert(a)
	switch {
	case w.closed:
	case w.timer == nil:
		w.timer = time.AfterFunc(d, w.expire)
		w.armedAt = a.at
	case w.armedAt.IsZero() || a.at.Before(w.armedAt):
		w.timer.Reset(d)
		w.armedAt = a.at
	}
	return a
}

// stop reports whether the alarm was stopped before it fired. If not, its
// fire is running or has run, and fired is closed when it returns.
func (a *alarm) stop() bool {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if !a.pending {
		return false
	}
	a.pending = false
	w.unlink(a)
	return true
}

// expire fires every alarm that is due and re-arms the timer for the next.
func (w *watchdog) expire() {
	w.mu.Lock()
	now := time.Now()
	var due *alarm // the due alarms, chained through next once unlinked
	for w.head != nil && !w.head.at.After(now) {
		a := w.head
		w.unlink(a)
		a.pending, a.next = false, due
		due = a
	}
	w.armedAt = time.Time{}
	if w.head != nil && !w.closed {
		w.timer.Reset(w.head.at.Sub(now))
		w.armedAt = w.head.at
	}
	w.mu.Unlock()
	for due != nil {
		a := due
		due = a.next
		go a.run()
	}
}

func (a *alarm) run() {
	defer close(a.fired)
	a.fire()
}

// close stops the timer; alarms still pending never fire.
func (w *watchdog) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
	}
}

// insert keeps the list in deadline order. Alarms of one Router share one
// timeout, so a new one nearly always goes last.
func (w *watchdog) insert(a *alarm) {
	p := w.tail
	for p != nil && p.at.After(a.at) {
		p = p.prev
	}
	a.prev = p
	if p == nil {
		a.next, w.head = w.head, a
	} else {
		a.next, p.next = p.next, a
	}
	if a.next == nil {
		w.tail = a
	} else {
		a.next.prev = a
	}
}

func (w *watchdog) unlink(a *alarm) {
	if a.prev == nil {
		w.head = a.next
	} else {
		a.prev.next = a.next
	}
	if a.next == nil {
		w.tail = a.prev
	} else {
		a.next.prev = a.prev
	}
	a.prev, a.next = nil, nil
}
