package slack

import (
	"context"
	"sync"
)

// maxSlow bounds the messages waiting behind file downloads, across threads.
const maxSlow = 256

// threadOrder keeps each thread's messages in arrival order while a slow
// message (one with files to fetch) is prepared, without holding up other
// threads: the dispatcher runs a thread's job inline when nothing of that
// thread is in flight, and otherwise appends it to the thread's line,
// served by one worker goroutine per busy thread.
type threadOrder struct {
	mu    sync.Mutex
	lines map[string][]func(context.Context) // thread key -> jobs behind the running one
	slots chan struct{}                      // one per queued or running job in any line
	wg    sync.WaitGroup
}

func newThreadOrder() *threadOrder {
	return &threadOrder{lines: map[string][]func(context.Context){}, slots: make(chan struct{}, maxSlow)}
}

// do runs job for key after every earlier job of key. It is called only
// from the dispatcher, so a line cannot appear between the check and the
// inline run. When all slots are taken it waits (back-pressure on the
// dispatcher) or gives up when ctx ends.
func (o *threadOrder) do(ctx context.Context, key string, slow bool, job func(context.Context)) {
	o.mu.Lock()
	_, busy := o.lines[key]
	o.mu.Unlock()
	if !busy && !slow {
		job(ctx)
		return
	}
	if ctx.Err() != nil {
		return
	}
	select {
	case o.slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	o.mu.Lock()
	line, busy := o.lines[key]
	o.lines[key] = append(line, job)
	if !busy {
		o.wg.Add(1)
		go o.work(ctx, key)
	}
	o.mu.Unlock()
}

// work serves key's line until it is empty. After ctx ends the remaining
// jobs are dropped, as the dispatcher drops its own queue.
func (o *threadOrder) work(ctx context.Context, key string) {
	defer o.wg.Done()
	for {
		o.mu.Lock()
		line := o.lines[key]
		if len(line) == 0 {
			delete(o.lines, key)
			o.mu.Unlock()
			return
		}
		job := line[0]
		line[0] = nil
		o.lines[key] = line[1:]
		o.mu.Unlock()
		if ctx.Err() == nil {
			job(ctx)
		}
		<-o.slots
	}
}

// wait returns when every worker has stopped.
func (o *threadOrder) wait() { o.wg.Wait() }
