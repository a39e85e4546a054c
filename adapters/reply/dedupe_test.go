package reply

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func newTestDedupe(ttl time.Duration, max int) (*Dedupe, *time.Time) {
	d := NewDedupe(ttl, max)
	now := time.Unix(1_700_000_000, 0)
	d.now = func() time.Time { return now }
	return d, &now
}

func TestDedupeTTL(t *testing.T) {
	d, now := newTestDedupe(10*time.Minute, 100)
	if d.Seen("ev1") {
		t.Fatal("first sighting reported as seen")
	}
	*now = now.Add(9 * time.Minute)
	if !d.Seen("ev1") {
		t.Fatal("retry within ttl not detected")
	}
	// A sighting does not extend the ttl: it counts from the first one.
	*now = now.Add(time.Minute)
	if d.Seen("ev1") {
		t.Fatal("id still remembered after ttl")
	}
	if !d.Seen("ev1") {
		t.Fatal("id not recorded again after expiry")
	}
}

func TestDedupeBoundEvictsOldest(t *testing.T) {
	d, now := newTestDedupe(time.Hour, 3)
	for _, id := range []string{"a", "b", "c", "d"} {
		*now = now.Add(time.Second)
		if d.Seen(id) {
			t.Fatalf("%s reported as seen", id)
		}
	}
	if d.Len() != 3 {
		t.Fatalf("Len = %d, want bound 3", d.Len())
	}
	if d.Seen("a") {
		t.Fatal("oldest id a should have been evicted")
	}
	// Recording a again evicted b; c and d are still there.
	for _, id := range []string{"c", "d", "a"} {
		if !d.Seen(id) {
			t.Fatalf("%s forgotten", id)
		}
	}
}

func TestDedupeStaysBoundedUnderChurn(t *testing.T) {
	d, now := newTestDedupe(time.Hour, 100)
	for i := 0; i < 100000; i++ {
		*now = now.Add(time.Millisecond)
		d.Seen(fmt.Sprint(i))
	}
	d.mu.Lock()
	n, capacity := len(d.seen), cap(d.order)
	d.mu.Unlock()
	if n != 100 || capacity > 1000 {
		t.Fatalf("map %d entries, queue capacity %d: not bounded", n, capacity)
	}
}

func TestDedupeEmptyIDAndDefaults(t *testing.T) {
	d := NewDedupe(0, 0)
	if d.ttl != DefaultDedupeTTL || d.max != DefaultDedupeMax {
		t.Fatalf("defaults %v %d", d.ttl, d.max)
	}
	if d.Seen("") || d.Seen("") {
		t.Fatal("empty id must never count as seen")
	}
}

func TestDedupeConcurrent(t *testing.T) {
	d := NewDedupe(time.Hour, 10000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := map[string]int{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				id := fmt.Sprint(i)
				if !d.Seen(id) {
					mu.Lock()
					firsts[id]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for i := 0; i < 500; i++ {
		if n := firsts[fmt.Sprint(i)]; n != 1 {
			t.Fatalf("id %d accepted %d times", i, n)
		}
	}
}
