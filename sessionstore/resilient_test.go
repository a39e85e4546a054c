package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// waitFor polls cond until it holds; the deadline only guards a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newTestResilient(t *testing.T, s Store) *Resilient {
	log, _ := nullLog()
	r := newResilient(s, log, 20*time.Millisecond)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestResilientWritesThroughWhenHealthy(t *testing.T) {
	f := newFake()
	r, ctx := newTestResilient(t, f), testCtx(t)
	rec := mkRecord("k", baseTime(), StateWarm)
	if err := r.Put(ctx, rec); err != nil {
		t.Fatalf("Put: %v", err)
	}
	// Durable on return: the backend has it without waiting for the flusher.
	if got, ok := f.snapshot()["k"]; !ok || got.SessionID != rec.SessionID {
		t.Fatalf("backend after Put = %+v, %v", got, ok)
	}
	if err := r.Healthy(); err != nil {
		t.Fatalf("Healthy: %v", err)
	}
	if r.Pending() != 0 {
		t.Fatalf("Pending = %d, want 0", r.Pending())
	}
}

func TestResilientBuffersDuringOutage(t *testing.T) {
	f := newFake()
	r, ctx := newTestResilient(t, f), testCtx(t)
	base := baseTime()
	gone := mkRecord("gone", base, StateWarm)
	if err := r.Put(ctx, gone); err != nil {
		t.Fatalf("Put: %v", err)
	}
	f.down.Store(true)
	latest := map[string]Record{}
	for i := range 50 {
		rec := mkRecord(fmt.Sprintf("k%d", i%5), base.Add(time.Duration(i)*time.Second), StateWarm)
		rec.Turns = i
		if err := r.Put(ctx, rec); err != nil {
			t.Fatalf("Put %d during outage: %v", i, err)
		}
		latest[rec.Key] = rec
	}
	if err := r.Delete(ctx, "gone"); err != nil {
		t.Fatalf("Delete during outage: %v", err)
	}
	herr := r.Healthy()
	if herr == nil || !errors.Is(herr, errDown) || !strings.Contains(herr.Error(), "degraded") {
		t.Fatalf("Healthy during outage = %v, want degraded wrapping the backend error", herr)
	}
	// Reads see buffered changes, including the delete.
	for k, want := range latest {
		got, err := r.Get(ctx, k)
		if err != nil {
			t.Fatalf("Get %s during outage: %v", k, err)
		}
		mustSame(t, got, want)
	}
	if _, err := r.Get(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get deleted during outage: err = %v, want ErrNotFound", err)
	}
	if _, err := r.Idle(ctx, time.Now(), 10); !errors.Is(err, errDown) {
		t.Fatalf("Idle during outage: err = %v, want the backend error", err)
	}
	f.down.Store(false)
	waitFor(t, "convergence", func() bool { return r.Pending() == 0 && r.Healthy() == nil })
	back := f.snapshot()
	if _, ok := back["gone"]; ok {
		t.Fatal("buffered delete not applied")
	}
	for k, want := range latest {
		mustSame(t, back[k], want)
	}
	if len(back) != len(latest) {
		t.Fatalf("backend holds %d records, want %d", len(back), len(latest))
	}
}

func TestResilientIdleMergesPending(t *testing.T) {
	f := newFake()
	r, ctx := newTestResilient(t, f), testCtx(t)
	base := baseTime()
	for i, k := range []string{"a", "b", "c"} {
		if err := r.Put(ctx, mkRecord(k, base.Add(time.Duration(i)*time.Minute), StateWarm)); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	// Buffer changes by holding the backend down for writes only.
	f.down.Store(true)
	evicted := mkRecord("a", base, StateIdle)
	newer := mkRecord("d", base.Add(-time.Minute), StateWarm)
	for _, rec := range []Record{evicted, newer} {
		if err := r.Put(ctx, rec); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	f.down.Store(false)
	// The flusher may or may not have drained yet; either way the view
	// must be the same.
	idle, err := r.Idle(ctx, time.Now(), 10)
	if want := []string{"d", "b", "c"}; err != nil || !slices.Equal(keysOf(idle), want) {
		t.Fatalf("Idle = %v, %v; want %v", keysOf(idle), err, want)
	}
	idle, err = r.Idle(ctx, time.Now(), 2)
	if want := []string{"d", "b"}; err != nil || !slices.Equal(keysOf(idle), want) {
		t.Fatalf("Idle limit 2 = %v, %v; want %v", keysOf(idle), err, want)
	}
}

func TestResilientPendingBound(t *testing.T) {
	f := newFake()
	r, ctx := newTestResilient(t, f), testCtx(t)
	f.down.Store(true)
	base := baseTime()
	for i := range maxPending {
		if err := r.Put(ctx, mkRecord(fmt.Sprintf("k%d", i), base, StateWarm)); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	if err := r.Put(ctx, mkRecord("one-too-many", base, StateWarm)); !errors.Is(err, ErrPendingFull) {
		t.Fatalf("Put beyond the bound: err = %v, want ErrPendingFull", err)
	}
	// A newer version of a buffered key still fits.
	upd := mkRecord("k0", base.Add(time.Second), StateIdle)
	if err := r.Put(ctx, upd); err != nil {
		t.Fatalf("Put of a buffered key: %v", err)
	}
	if r.Pending() != maxPending {
		t.Fatalf("Pending = %d, want %d", r.Pending(), maxPending)
	}
	f.down.Store(false)
	waitFor(t, "drain", func() bool { return r.Pending() == 0 })
	mustSame(t, f.snapshot()["k0"], upd)
}

func TestResilientRejectsBadInputWithoutBuffering(t *testing.T) {
	f := newFake()
	r, ctx := newTestResilient(t, f), testCtx(t)
	f.down.Store(true)
	bad := mkRecord("k", baseTime(), "bogus")
	if err := r.Put(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Put bad state: err = %v, want ErrInvalid", err)
	}
	if err := r.Delete(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Delete empty key: err = %v, want ErrInvalid", err)
	}
	if r.Pending() != 0 {
		t.Fatalf("Pending = %d after bad input, want 0", r.Pending())
	}
}

func TestResilientReadFailureDegradesAndProbeRecovers(t *testing.T) {
	f := newFake()
	r, ctx := newTestResilient(t, f), testCtx(t)
	f.down.Store(true)
	if _, err := r.Get(ctx, "k"); !errors.Is(err, errDown) {
		t.Fatalf("Get: err = %v, want errDown", err)
	}
	if r.Healthy() == nil {
		t.Fatal("Healthy is nil after a failed read")
	}
	f.down.Store(false)
	waitFor(t, "probe recovery", func() bool { return r.Healthy() == nil })
}

func TestResilientProbeNoticesOutageWithoutTraffic(t *testing.T) {
	f := newFake()
	r := newTestResilient(t, f)
	f.down.Store(true)
	waitFor(t, "degraded", func() bool { return r.Healthy() != nil })
	f.down.Store(false)
	waitFor(t, "recovered", func() bool { return r.Healthy() == nil })
}

func TestResilientCloseFlushesOrReports(t *testing.T) {
	t.Run("flushes", func(t *testing.T) {
		f := newFake()
		log, _ := nullLog()
		r := newResilient(f, log, time.Hour) // no probe: Close must do the work
		ctx := testCtx(t)
		f.down.Store(true)
		if err := r.Put(ctx, mkRecord("k", baseTime(), StateWarm)); err != nil {
			t.Fatalf("Put: %v", err)
		}
		f.down.Store(false)
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, ok := f.snapshot()["k"]; !ok {
			t.Fatal("Close did not write the buffered record")
		}
		if err := r.Put(ctx, mkRecord("k", baseTime(), StateWarm)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Put after Close: err = %v, want ErrClosed", err)
		}
	})
	t.Run("reports", func(t *testing.T) {
		f := newFake()
		log, hook := nullLog()
		r := newResilient(f, log, time.Hour)
		f.down.Store(true)
		if err := r.Put(testCtx(t), mkRecord("k", baseTime(), StateWarm)); err != nil {
			t.Fatalf("Put: %v", err)
		}
		err := r.Close()
		if err == nil || !errors.Is(err, errDown) || !strings.Contains(err.Error(), "1 changes not written") {
			t.Fatalf("Close with backend down = %v, want a report of 1 lost change", err)
		}
		if e := hook.LastEntry(); e == nil || e.Level != logrus.ErrorLevel {
			t.Fatalf("last log entry = %+v, want an error about unwritten changes", e)
		}
	})
}

func TestResilientCancelledCallerDoesNotDegrade(t *testing.T) {
	// Bolt honours ctx, so a cancelled caller makes the write-through fail.
	b := boltOpener()(t)
	r := newTestResilient(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Put(ctx, mkRecord("k", baseTime(), StateWarm)); err != nil {
		t.Fatalf("Put with cancelled ctx: %v (the change should be buffered)", err)
	}
	if err := r.Healthy(); err != nil {
		t.Fatalf("Healthy after a cancelled caller: %v", err)
	}
	waitFor(t, "buffered write", func() bool { return r.Pending() == 0 })
	if _, err := b.Get(testCtx(t), "k"); err != nil {
		t.Fatalf("backend Get: %v", err)
	}
}

// gatedStore blocks the first Put until released, to hold a write in
// flight deterministically.
type gatedStore struct {
	*fakeStore
	first   atomic.Bool
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedStore) Put(ctx context.Context, rec Record) error {
	if g.first.CompareAndSwap(false, true) {
		close(g.entered)
		<-g.gate
	}
	return g.fakeStore.Put(ctx, rec)
}

func TestResilientKeepsOrderBehindSlowWrite(t *testing.T) {
	g := &gatedStore{fakeStore: newFake(), entered: make(chan struct{}), gate: make(chan struct{})}
	r, ctx := newTestResilient(t, g), testCtx(t)
	v1 := mkRecord("k", baseTime(), StateWarm)
	v2 := v1
	v2.Turns, v2.State = 4, StateIdle
	other := mkRecord("other", baseTime(), StateWarm)
	done := make(chan error, 1)
	go func() { done <- r.Put(ctx, v1) }()
	<-g.entered
	// v1 is stuck in the backend: v2 for the same key must wait its turn
	// without blocking us, and other keys still write through.
	if err := r.Put(ctx, v2); err != nil {
		t.Fatalf("Put v2: %v", err)
	}
	if err := r.Put(ctx, other); err != nil {
		t.Fatalf("Put other: %v", err)
	}
	if _, ok := g.snapshot()["other"]; !ok {
		t.Fatal("a slow write on one key held up another key")
	}
	got, err := r.Get(ctx, "k")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	mustSame(t, got, v2)
	// A flush now must leave k alone: v2 landing first would be undone
	// by v1 landing after it.
	r.flush(ctx)
	close(g.gate)
	if err := <-done; err != nil {
		t.Fatalf("Put v1: %v", err)
	}
	waitFor(t, "drain", func() bool { return r.Pending() == 0 })
	mustSame(t, g.snapshot()["k"], v2)
}
