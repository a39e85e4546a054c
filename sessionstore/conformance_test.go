package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// runConformance checks the Store contract. open(t) returns a handle on
// the backing data of t: the first call for a t gives an empty store with
// the default retention, later calls for the same t reopen the same data.
// Stores are closed when t ends.
func runConformance(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) Store)
	}{
		{"GetPutDelete", confGetPutDelete},
		{"Upsert", confUpsert},
		{"InvalidInput", confInvalid},
		{"IdleOrderLimitState", confIdle},
		{"IdleTies", confIdleTies},
		{"Retention", confRetention},
		{"Concurrency", confConcurrency},
		{"LargeRecord", confLarge},
		{"Reopen", confReopen},
		{"Closed", confClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

func confGetPutDelete(t *testing.T, open func(t *testing.T) Store) {
	s, ctx := open(t), testCtx(t)
	if _, err := s.Get(ctx, "slack:T1:C1:1.1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get unknown: err = %v, want ErrNotFound", err)
	}
	rec := mkRecord("slack:T1:C1:1.1", baseTime(), StateWarm)
	rec.Reply.Message = "ünïcode ✓ and \"quotes\""
	if err := s.Put(ctx, rec); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := s.Get(ctx, rec.Key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	mustSame(t, got, rec)
	if err := s.Delete(ctx, rec.Key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, rec.Key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "never:put:this:key"); err != nil {
		t.Fatalf("Delete unknown: %v", err)
	}
	if idle, err := s.Idle(ctx, time.Now(), 10); err != nil || len(idle) != 0 {
		t.Fatalf("Idle after Delete = %v, %v; want none", keysOf(idle), err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func confUpsert(t *testing.T, open func(t *testing.T) Store) {
	s, ctx := open(t), testCtx(t)
	base := baseTime()
	v1 := mkRecord("discord:G1:C2:T3", base, StateWarm)
	v2 := v1
	v2.SessionID, v2.Turns, v2.LastActive, v2.State = "sess-2", 4, base.Add(time.Minute), StateIdle
	v2.Reply = ReplyTarget{Channel: "C9", Thread: "T9", Message: "M9"}
	for _, r := range []Record{v1, v2} {
		if err := s.Put(ctx, r); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	got, err := s.Get(ctx, v1.Key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	mustSame(t, got, v2)
	if idle, err := s.Idle(ctx, time.Now(), 10); err != nil || len(idle) != 0 {
		t.Fatalf("Idle after warm->idle = %v, %v; want none", keysOf(idle), err)
	}
	v3 := v2
	v3.State, v3.LastActive = StateWarm, base.Add(2*time.Minute)
	if err := s.Put(ctx, v3); err != nil {
		t.Fatalf("Put: %v", err)
	}
	idle, err := s.Idle(ctx, time.Now(), 10)
	if err != nil || len(idle) != 1 {
		t.Fatalf("Idle after idle->warm = %v, %v; want one", keysOf(idle), err)
	}
	mustSame(t, idle[0], v3)
}

func confInvalid(t *testing.T, open func(t *testing.T) Store) {
	s, ctx := open(t), testCtx(t)
	good := mkRecord("k:1:2:3", baseTime(), StateWarm)
	if err := s.Put(ctx, good); err != nil {
		t.Fatalf("Put: %v", err)
	}
	bad := map[string]Record{}
	r := good
	r.Key = ""
	bad["empty key"] = r
	r = good
	r.Key = strings.Repeat("k", MaxKeyLen+1)
	bad["long key"] = r
	r = good
	r.State = "hot"
	bad["unknown state"] = r
	r = good
	r.State = ""
	bad["empty state"] = r
	r = good
	r.LastActive = time.Time{}
	bad["zero LastActive"] = r
	r = good
	r.Turns = -1
	bad["negative turns"] = r
	r = good
	r.WorkDir = strings.Repeat("x", maxRecordBytes)
	bad["oversized"] = r
	for name, rec := range bad {
		if err := s.Put(ctx, rec); !errors.Is(err, ErrInvalid) {
			t.Errorf("Put(%s): err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.Get(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Get(\"\"): err = %v, want ErrInvalid", err)
	}
	if err := s.Delete(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Delete(\"\"): err = %v, want ErrInvalid", err)
	}
	for _, limit := range []int{0, -1, MaxIdleLimit + 1} {
		if _, err := s.Idle(ctx, time.Now(), limit); !errors.Is(err, ErrInvalid) {
			t.Errorf("Idle(limit %d): err = %v, want ErrInvalid", limit, err)
		}
	}
	// Rejected input loses nothing that was stored.
	got, err := s.Get(ctx, good.Key)
	if err != nil {
		t.Fatalf("Get after bad Puts: %v", err)
	}
	mustSame(t, got, good)
}

func confIdle(t *testing.T, open func(t *testing.T) Store) {
	s, ctx := open(t), testCtx(t)
	base := baseTime()
	var warm []Record
	for _, i := range []int{7, 2, 9, 0, 5, 1, 8, 3, 6, 4} { // stored out of order
		rec := mkRecord(fmt.Sprintf("slack:T:C:%02d", i), base.Add(time.Duration(i)*time.Minute), StateWarm)
		if err := s.Put(ctx, rec); err != nil {
			t.Fatalf("Put: %v", err)
		}
		warm = append(warm, rec)
	}
	slices.SortFunc(warm, func(a, b Record) int { return a.LastActive.Compare(b.LastActive) })
	for i, st := range []State{StateIdle, StateReset} { // older than all warm ones
		if err := s.Put(ctx, mkRecord(fmt.Sprintf("other:%d", i), base.Add(-time.Hour), st)); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	idle, err := s.Idle(ctx, base.Add(5*time.Minute), 100)
	if err != nil {
		t.Fatalf("Idle: %v", err)
	}
	// Strictly before: the record at exactly +5m is not idle yet.
	if want := keysOf(warm[:5]); !slices.Equal(keysOf(idle), want) {
		t.Fatalf("Idle = %v, want %v", keysOf(idle), want)
	}
	for i := range idle {
		mustSame(t, idle[i], warm[i])
	}
	idle, err = s.Idle(ctx, time.Now(), 3)
	if err != nil || !slices.Equal(keysOf(idle), keysOf(warm[:3])) {
		t.Fatalf("Idle limit 3 = %v, %v; want %v", keysOf(idle), err, keysOf(warm[:3]))
	}
	// Leaving warm, deletion and new activity each drop out of the index.
	evicted := warm[0]
	evicted.State = StateIdle
	active := warm[1]
	active.LastActive = time.Now().Add(time.Minute).Truncate(time.Millisecond)
	for _, r := range []Record{evicted, active} {
		if err := s.Put(ctx, r); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	if err := s.Delete(ctx, warm[2].Key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	idle, err = s.Idle(ctx, time.Now(), 100)
	if want := keysOf(warm[3:]); err != nil || !slices.Equal(keysOf(idle), want) {
		t.Fatalf("Idle after changes = %v, %v; want %v", keysOf(idle), err, want)
	}
}

func confIdleTies(t *testing.T, open func(t *testing.T) Store) {
	s, ctx := open(t), testCtx(t)
	at := baseTime()
	keys := []string{"b", "c", "a"}
	for _, k := range keys {
		if err := s.Put(ctx, mkRecord(k, at, StateWarm)); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	idle, err := s.Idle(ctx, at.Add(time.Millisecond), 10)
	if want := []string{"a", "b", "c"}; err != nil || !slices.Equal(keysOf(idle), want) {
		t.Fatalf("Idle with equal times = %v, %v; want %v (by key)", keysOf(idle), err, want)
	}
}

func confRetention(t *testing.T, open func(t *testing.T) Store) {
	s, ctx := open(t), testCtx(t)
	now := time.Now().Truncate(time.Millisecond)
	old := mkRecord("old", now.Add(-DefaultRetention-time.Hour), StateWarm)
	fresh := mkRecord("fresh", now.Add(-DefaultRetention+time.Hour), StateWarm)
	for _, r := range []Record{old, fresh} {
		if err := s.Put(ctx, r); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	if _, err := s.Get(ctx, old.Key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get expired: err = %v, want ErrNotFound", err)
	}
	got, err := s.Get(ctx, fresh.Key)
	if err != nil {
		t.Fatalf("Get within retention: %v", err)
	}
	mustSame(t, got, fresh)
	idle, err := s.Idle(ctx, now, 10)
	if err != nil || !slices.Equal(keysOf(idle), []string{"fresh"}) {
		t.Fatalf("Idle = %v, %v; want [fresh]", keysOf(idle), err)
	}
	// An expired version replaces a live one: the record is gone.
	stale := fresh
	stale.LastActive = old.LastActive
	if err := s.Put(ctx, stale); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := s.Get(ctx, fresh.Key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after expired overwrite: err = %v, want ErrNotFound", err)
	}
	if idle, err := s.Idle(ctx, now, 10); err != nil || len(idle) != 0 {
		t.Fatalf("Idle after expiry = %v, %v; want none", keysOf(idle), err)
	}
}

func confConcurrency(t *testing.T, open func(t *testing.T) Store) {
	s, ctx := open(t), testCtx(t)
	const writers, rounds = 8, 25
	base := baseTime()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				own := mkRecord(fmt.Sprintf("own:%d", w), base.Add(time.Duration(i)*time.Millisecond), StateWarm)
				own.Turns = i
				// Writers fight over one key, flipping its state, so the
				// index must follow whichever write lands last.
				shared := mkRecord("shared", base.Add(time.Duration(w*rounds+i)*time.Millisecond), []State{StateWarm, StateIdle}[i%2])
				shared.Owner = fmt.Sprintf("w%d", w)
				for _, r := range []Record{own, shared} {
					if err := s.Put(ctx, r); err != nil {
						errs <- err
						return
					}
				}
				if _, err := s.Get(ctx, "shared"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent call: %v", err)
	}
	for w := range writers {
		got, err := s.Get(ctx, fmt.Sprintf("own:%d", w))
		if err != nil || got.Turns != rounds-1 {
			t.Fatalf("own:%d = %+v, %v; want the last round", w, got, err)
		}
	}
	shared, err := s.Get(ctx, "shared")
	if err != nil {
		t.Fatalf("Get shared: %v", err)
	}
	idle, err := s.Idle(ctx, time.Now(), 100)
	if err != nil {
		t.Fatalf("Idle: %v", err)
	}
	n := 0
	for _, r := range idle {
		if r.Key == "shared" {
			n++
			mustSame(t, r, shared)
		}
	}
	if want := map[State]int{StateWarm: 1, StateIdle: 0}[shared.State]; n != want || len(idle) != writers+n {
		t.Fatalf("Idle holds shared %d times (state %s) and %d records; index and record disagree", n, shared.State, len(idle))
	}
}

func confLarge(t *testing.T, open func(t *testing.T) Store) {
	s, ctx := open(t), testCtx(t)
	rec := mkRecord("large", baseTime(), StateWarm)
	rec.WorkDir = strings.Repeat("/deep/path", 40000) // 400 kB
	rec.Reply.Message = strings.Repeat("é", 50000)
	if err := s.Put(ctx, rec); err != nil {
		t.Fatalf("Put large: %v", err)
	}
	got, err := s.Get(ctx, rec.Key)
	if err != nil {
		t.Fatalf("Get large: %v", err)
	}
	mustSame(t, got, rec)
}

func confReopen(t *testing.T, open func(t *testing.T) Store) {
	s, ctx := open(t), testCtx(t)
	base := baseTime()
	recs := []Record{mkRecord("a", base, StateWarm), mkRecord("b", base.Add(time.Second), StateIdle)}
	for _, r := range recs {
		if err := s.Put(ctx, r); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open(t)
	for _, r := range recs {
		got, err := s.Get(ctx, r.Key)
		if err != nil {
			t.Fatalf("Get %s after reopen: %v", r.Key, err)
		}
		mustSame(t, got, r)
	}
	idle, err := s.Idle(ctx, time.Now(), 10)
	if err != nil || !slices.Equal(keysOf(idle), []string{"a"}) {
		t.Fatalf("Idle after reopen = %v, %v; want [a]", keysOf(idle), err)
	}
}

func confClosed(t *testing.T, open func(t *testing.T) Store) {
	s, ctx := open(t), testCtx(t)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: err = %v, want ErrClosed", err)
	}
	if err := s.Put(ctx, mkRecord("k", baseTime(), StateWarm)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close: err = %v, want ErrClosed", err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	s2 := open(t)
	if _, err := s2.Get(cctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with cancelled context: err = %v, want context.Canceled", err)
	}
}
