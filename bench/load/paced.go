package load

import (
	"context"
	"errors"
	"sync"
	"time"
)

// measuredPaced sends cfg.Messages messages per thread at a fixed total
// rate (open loop), each to the next thread in turn that has no reply
// pending. Unlike the closed loops, the offered load stays below what the
// machine can serve, so the latencies show the bridge rather than a queue
// of messages waiting for CPU.
func (g *gen) measuredPaced(ctx context.Context) ([]*pending, error) {
	total := g.cfg.Threads * g.cfg.Messages
	sent := make([]int, g.cfg.Threads) // messages sent per thread
	busy := make([]bool, g.cfg.Threads)
	var mu sync.Mutex // guards busy, all and errs
	var all []*pending
	var errs []error
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / g.cfg.Rate))
	defer tick.Stop()
	next := 0
	for n := 0; n < total; {
		select {
		case <-ctx.Done():
			wg.Wait()
			return all, ctx.Err()
		case <-tick.C:
		}
		t, ok := g.pick(&mu, busy, sent, &next)
		if !ok {
			continue // every thread with messages left is still busy: skip this slot
		}
		n++
		m := sent[t] - 1
		wg.Go(func() {
			p, err := g.sendFn(t, m)
			if err == nil {
				err = g.wait(ctx, p)
			}
			mu.Lock()
			defer mu.Unlock()
			busy[t] = false
			if err != nil {
				errs = append(errs, err)
				return
			}
			all = append(all, p)
		})
	}
	wg.Wait()
	return all, errors.Join(errs...)
}

// pick claims the next idle thread with messages left, round robin.
func (g *gen) pick(mu *sync.Mutex, busy []bool, sent []int, next *int) (int, bool) {
	mu.Lock()
	defer mu.Unlock()
	for range len(busy) {
		t := *next
		*next = (*next + 1) % len(busy)
		if !busy[t] && sent[t] < g.cfg.Messages {
			busy[t] = true
			sent[t]++
			return t, true
		}
	}
	return 0, false
}
