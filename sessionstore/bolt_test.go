package sessionstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func bucketLen(t *testing.T, b *Bolt, name []byte) int {
	t.Helper()
	n := 0
	err := b.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(name).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatalf("count %s: %v", name, err)
	}
	return n
}

func newTestBolt(t *testing.T, path string, retention time.Duration) *Bolt {
	t.Helper()
	log, _ := nullLog()
	b, err := NewBolt(path, Options{Retention: retention, Log: log})
	if err != nil {
		t.Fatalf("NewBolt: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestBoltPurgeRemovesRecordsAndIndex(t *testing.T) {
	b := newTestBolt(t, filepath.Join(t.TempDir(), "s.db"), 0)
	ctx := testCtx(t)
	base := baseTime()
	for i, k := range []string{"a", "b", "c"} {
		st := []State{StateWarm, StateIdle, StateWarm}[i]
		if err := b.Put(ctx, mkRecord(k, base.Add(time.Duration(i)*time.Hour), st)); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	if got := bucketLen(t, b, bucketIdle); got != 2 {
		t.Fatalf("idle index has %d entries, want 2", got)
	}
	// As if the clock had moved on past a's and b's retention but not c's.
	n, err := b.purge(base.Add(DefaultRetention + 90*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("purge = %d, %v; want 2 entries", n, err)
	}
	if got := [3]int{bucketLen(t, b, bucketRecords), bucketLen(t, b, bucketIdle), bucketLen(t, b, bucketExpiry)}; got != [3]int{1, 1, 1} {
		t.Fatalf("records/idle/expiry after purge = %v, want only c left", got)
	}
	if _, err := b.Get(ctx, "c"); err != nil {
		t.Fatalf("Get c: %v", err)
	}
}

func TestBoltPurgeOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	b := newTestBolt(t, path, 3*time.Hour)
	ctx := testCtx(t)
	if err := b.Put(ctx, mkRecord("old", time.Now().Add(-2*time.Hour), StateWarm)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	b = newTestBolt(t, path, time.Hour) // shorter retention: now expired
	if got := bucketLen(t, b, bucketRecords) + bucketLen(t, b, bucketIdle) + bucketLen(t, b, bucketExpiry); got != 0 {
		t.Fatalf("%d entries left after purge on open, want 0", got)
	}
}

func TestBoltCorruptRecord(t *testing.T) {
	b := newTestBolt(t, filepath.Join(t.TempDir(), "s.db"), 0)
	ctx := testCtx(t)
	good := mkRecord("k", baseTime(), StateWarm)
	if err := b.Put(ctx, good); err != nil {
		t.Fatalf("Put: %v", err)
	}
	err := b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketRecords).Put([]byte("k"), []byte("{not json")) })
	if err != nil {
		t.Fatalf("corrupt: %v", err)
	}
	if _, err := b.Get(ctx, "k"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("Get corrupt: err = %v, want a corrupt-record error", err)
	}
	if idle, err := b.Idle(ctx, time.Now(), 10); err != nil || len(idle) != 0 {
		t.Fatalf("Idle over a corrupt record = %v, %v; want none", keysOf(idle), err)
	}
	// A new Put repairs the key.
	if err := b.Put(ctx, good); err != nil {
		t.Fatalf("Put over corrupt: %v", err)
	}
	got, err := b.Get(ctx, "k")
	if err != nil {
		t.Fatalf("Get repaired: %v", err)
	}
	mustSame(t, got, good)
}

func TestBoltLockedFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	newTestBolt(t, path, 0)
	defer func(d time.Duration) { lockTimeout = d }(lockTimeout)
	lockTimeout = 100 * time.Millisecond
	_, err := NewBolt(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "another bridge") {
		t.Fatalf("second NewBolt on a locked file: err = %v, want a lock error", err)
	}
}

func TestOpen(t *testing.T) {
	ctx := testCtx(t)
	if _, err := Open(ctx, Options{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Open without DataDir: err = %v, want ErrInvalid", err)
	}
	if _, err := Open(ctx, Options{DataDir: t.TempDir(), Retention: -time.Second}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Open with negative retention: err = %v, want ErrInvalid", err)
	}
	dir := filepath.Join(t.TempDir(), "nested", "data")
	log, _ := nullLog()
	s, err := Open(ctx, Options{DataDir: dir, Log: log})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if _, ok := s.(*Bolt); !ok {
		t.Fatalf("Open without RedisURL gave %T, want *Bolt", s)
	}
	if err := s.Put(ctx, mkRecord("k", baseTime(), StateWarm)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, boltFileName)); err != nil {
		t.Fatalf("store file: %v", err)
	}
}
