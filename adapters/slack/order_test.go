package slack

import (
	"context"
	"slices"
	"sync"
	"testing"
)

// A slow job makes later jobs of its key wait behind it, in order; other
// keys run inline at once; after the line drains the key runs inline again.
func TestThreadOrder(t *testing.T) {
	o := newThreadOrder()
	ctx := context.Background()
	var mu sync.Mutex
	var ran []string
	rec := func(s string) func(context.Context) {
		return func(context.Context) { mu.Lock(); ran = append(ran, s); mu.Unlock() }
	}
	hold, held := make(chan struct{}), make(chan struct{})
	o.do(ctx, "a", true, func(context.Context) { close(held); <-hold; rec("a1")(ctx) })
	<-held
	o.do(ctx, "a", false, rec("a2")) // fast, but a is busy: queued
	o.do(ctx, "b", false, rec("b1")) // other thread: inline
	mu.Lock()
	if !slices.Equal(ran, []string{"b1"}) {
		t.Fatalf("ran %v while a was held, want only b1", ran)
	}
	mu.Unlock()
	close(hold)
	o.wait()
	o.do(ctx, "a", false, rec("a3")) // line drained: inline
	if !slices.Equal(ran, []string{"b1", "a1", "a2", "a3"}) {
		t.Fatalf("ran %v", ran)
	}
	if len(o.lines) != 0 || len(o.slots) != 0 {
		t.Fatalf("left %d lines, %d slots", len(o.lines), len(o.slots))
	}
}

// After ctx ends, queued jobs are dropped and the worker stops.
func TestThreadOrderStopsOnCancel(t *testing.T) {
	o := newThreadOrder()
	ctx, cancel := context.WithCancel(context.Background())
	hold := make(chan struct{})
	o.do(ctx, "a", true, func(context.Context) { <-hold })
	ranLate := false
	o.do(ctx, "a", false, func(context.Context) { ranLate = true })
	cancel()
	close(hold)
	o.wait()
	if ranLate {
		t.Fatal("a queued job ran after cancel")
	}
	o.do(ctx, "b", true, func(context.Context) { t.Error("job accepted after cancel") })
	o.wait()
}
