package sessionstore

import (
	"context"
	"errors"
	"time"
)

// run is the flusher, owned by Resilient and ended by Close. It flushes
// on a signal, retries on a backoff timer while writes fail, and otherwise
// probes the backend every probeEvery so an outage shows in Healthy even
// without traffic.
func (r *Resilient) run() {
	defer close(r.done)
	var backoff time.Duration
	timer := time.NewTimer(r.probeEvery)
	defer timer.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-r.wake:
			if backoff > 0 {
				continue // the backoff timer will flush everything buffered
			}
		case <-timer.C:
		}
		if r.flush(r.ctx) {
			backoff = 0
			timer.Reset(r.probeEvery)
			continue
		}
		backoff = nextBackoff(backoff)
		timer.Reset(backoff)
	}
}

func nextBackoff(d time.Duration) time.Duration {
	if d <= 0 {
		return minBackoff
	}
	return min(2*d, maxBackoff)
}

// flush writes buffered changes until none is left (then it pings, which
// confirms recovery when the failure was a read) and reports whether the
// backend accepted everything.
func (r *Resilient) flush(ctx context.Context) bool {
	for {
		batch := r.snapshot()
		if len(batch) == 0 {
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := r.s.Ping(pctx)
			cancel()
			return r.settle(ctx, err)
		}
		for _, e := range batch {
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := r.apply(wctx, e.key, e.op)
			cancel()
			if errors.Is(err, ErrInvalid) {
				// Put validated it, so only a backend limit gets here;
				// retrying would never succeed.
				r.log.WithError(err).WithField("key", e.key).Error("session store refused a buffered change; dropped")
				err = nil
			}
			if err != nil {
				return r.settle(ctx, err)
			}
			r.mu.Lock()
			if cur, ok := r.pending[e.key]; ok && cur.seq == e.op.seq {
				delete(r.pending, e.key)
			}
			r.mu.Unlock()
		}
		// The backend takes writes again: let new changes write through
		// while the rest drains, or a busy bridge would never recover.
		r.settle(ctx, nil)
	}
}

// settle records the outcome of a flush round.
func (r *Resilient) settle(ctx context.Context, err error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			r.markDegradedLocked(err)
		}
		return false
	}
	if r.degraded {
		r.log.WithField("downtime", time.Since(r.since).Round(time.Millisecond).String()).Info("session store recovered; buffered changes written")
	}
	r.degraded, r.lastErr = false, nil
	return true
}

// snapshot copies up to flushBatch buffered changes whose key has no
// write-through in flight (that write could land after ours).
func (r *Resilient) snapshot() []keyedOp {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []keyedOp
	for k, o := range r.pending {
		if len(out) == flushBatch {
			break
		}
		if r.inflight[k] == 0 {
			out = append(out, keyedOp{key: k, op: o})
		}
	}
	return out
}
