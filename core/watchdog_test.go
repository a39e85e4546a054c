package core

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func waitFired(t *testing.T, a *alarm) {
	t.Helper()
	select {
	case <-a.fired:
	case <-time.After(5 * time.Second):
		t.Fatal("alarm did not fire")
	}
}

// An alarm added while the timer is still armed for an earlier, stopped
// one fires at its own deadline: not when the stale timer goes off, and not
// never.
func TestWatchdogRearmsPastStoppedAlarms(t *testing.T) {
	var w watchdog
	defer w.close()
	early := w.add(20*time.Millisecond, func() { t.Error("a stopped alarm fired") })
	if !early.stop() {
		t.Fatal("stop of a pending alarm reported it fired")
	}
	start := time.Now()
	var at time.Time
	late := w.add(150*time.Millisecond, func() { at = time.Now() })
	waitFired(t, late)
	if got := at.Sub(start); got < 150*time.Millisecond {
		t.Fatalf("fired after %v, before its 150ms deadline", got)
	}
	if late.stop() {
		t.Fatal("stop after firing reported the alarm stopped")
	}
}

// Alarms fire in deadline order whatever order they were added in.
func TestWatchdogDeadlineOrder(t *testing.T) {
	var w watchdog
	defer w.close()
	var mu sync.Mutex
	var order []int
	var alarms []*alarm
	for _, ms := range []int{90, 30, 150, 60} {
		alarms = append(alarms, w.add(time.Duration(ms)*time.Millisecond, func() {
			mu.Lock()
			order = append(order, ms)
			mu.Unlock()
		}))
		time.Sleep(time.Millisecond) // distinct deadlines even for equal offsets
	}
	for _, a := range alarms {
		waitFired(t, a)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(order); i++ {
		if order[i] < order[i-1] {
			t.Fatalf("fired in order %v", order)
		}
	}
}

// Under concurrent adds and stops, exactly the alarms whose stop failed
// fire, each once.
func TestWatchdogConcurrentStops(t *testing.T) {
	var w watchdog
	defer w.close()
	var fires, late atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := w.add(time.Duration(i%7)*time.Millisecond, func() { fires.Add(1) })
			time.Sleep(time.Duration(i%5) * time.Millisecond)
			if !a.stop() {
				late.Add(1)
				waitFired(t, a)
			}
		}()
	}
	wg.Wait()
	if fires.Load() != late.Load() {
		t.Fatalf("%d fires for %d alarms that could not be stopped", fires.Load(), late.Load())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.head != nil || w.tail != nil {
		t.Fatal("alarms left in the list")
	}
}

func TestWatchdogCloseStopsPending(t *testing.T) {
	var w watchdog
	w.add(20*time.Millisecond, func() { t.Error("fired after close") })
	w.close()
	time.Sleep(60 * time.Millisecond)
}
