package load

import (
	"context"
	"sync"
	"time"

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
)

// pending is one message the generator sent and is waiting on.
type pending struct {
	thread, userTS, want string
	sent                 time.Time
	firstPost, lastEdit  time.Time
	posts                int // reply messages posted
	edits                int
	done                 chan struct{}
}

// watcher reads the fake's call log and attributes each call to the
// pending message of its thread. Timestamps are the fake's own receive
// times, so the polling cadence does not affect the figures.
type watcher struct {
	fake *fakeslack.Server

	mu      sync.Mutex
	byThr   map[string]*pending // thread ts -> its one pending message
	byUser  map[string]*pending // user message ts -> pending
	postThr map[string]string   // reply ts -> thread ts
	seen    int
}

func newWatcher(fake *fakeslack.Server) *watcher {
	return &watcher{fake: fake, byThr: map[string]*pending{}, byUser: map[string]*pending{}, postThr: map[string]string{}}
}

// expect registers p before its event is sent; a thread has at most one
// pending message (each thread is a closed loop).
func (w *watcher) expect(p *pending) {
	w.mu.Lock()
	w.byThr[p.thread] = p
	w.byUser[p.userTS] = p
	w.mu.Unlock()
}

// run polls until ctx ends.
func (w *watcher) run(ctx context.Context) { poll(ctx, w.scan) }

func (w *watcher) scan() {
	w.mu.Lock()
	seen := w.seen
	w.mu.Unlock()
	calls := w.fake.CallsSince(seen)
	if len(calls) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = seen + len(calls)
	for _, c := range calls {
		w.apply(c)
	}
}

// apply attributes one call; w.mu is held.
func (w *watcher) apply(c fakeslack.Call) {
	if c.Fault {
		return
	}
	switch c.Method {
	case "chat.postMessage":
		p := w.byThr[c.Form.Get("thread_ts")]
		if p == nil || p.isDone() {
			return
		}
		if p.firstPost.IsZero() {
			p.firstPost = c.Time
		}
		p.lastEdit = c.Time
		p.posts++
	case "chat.update":
		thr := w.postThr[c.Form.Get("ts")]
		if thr == "" {
			thr = w.threadOfReply(c.Form.Get("channel"), c.Form.Get("ts"))
		}
		if p := w.byThr[thr]; p != nil && !p.isDone() {
			p.edits++
			p.lastEdit = c.Time
		}
	case "reactions.add":
		if c.Form.Get("name") != "white_check_mark" && c.Form.Get("name") != "x" {
			return
		}
		if p := w.byUser[c.Form.Get("timestamp")]; p != nil && !p.isDone() {
			close(p.done)
			delete(w.byUser, p.userTS)
		}
	}
}

// threadOfReply looks a reply's thread up in the fake and caches it.
// On a miss it caches every message of the channel, so lookups cost
// amortised O(1).
func (w *watcher) threadOfReply(channel, ts string) string {
	for _, m := range w.fake.Messages(channel) {
		w.postThr[m.TS] = m.ThreadTS
	}
	return w.postThr[ts]
}

func (p *pending) isDone() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
