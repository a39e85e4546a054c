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

	"github.com/hotline-dev/hotline/internal/redistest"
	"github.com/sirupsen/logrus"
)

// TestResilientRedisOutage kills Redis while a writer keeps putting, then
// restarts it while the writer goes on, and checks that the latest record
// of every key arrives.
func TestResilientRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	ctx := testCtx(t)
	log, hook := nullLog()
	opts := Options{RedisURL: srv.URL(), Prefix: "fault:", Log: log}
	backend, err := NewRedis(ctx, opts)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	r := newResilient(backend, log, 50*time.Millisecond)
	t.Cleanup(func() { _ = r.Close() })

	w := startWriter(ctx, r, 16)
	w.waitPuts(t, 100)
	if err := r.Healthy(); err != nil {
		t.Fatalf("Healthy before the outage: %v", err)
	}

	srv.Kill()
	waitFor(t, "degraded", func() bool { return r.Healthy() != nil })
	herr := r.Healthy()
	w.waitPuts(t, w.puts.Load()+500) // Puts go on, buffered
	if herr == nil || !strings.Contains(herr.Error(), "degraded") {
		t.Fatalf("Healthy during the outage = %v", herr)
	}

	srv.Restart(t) // empty: the test server keeps nothing on disk
	w.waitPuts(t, w.puts.Load()+500)
	latest, err := w.stop()
	if err != nil {
		t.Fatalf("writer: %v", err)
	}
	waitFor(t, "flusher convergence", func() bool { return r.Pending() == 0 && r.Healthy() == nil })

	for k, want := range latest { // through the wrapper
		got, err := r.Get(ctx, k)
		if err != nil {
			t.Fatalf("Get %s after recovery: %v", k, err)
		}
		mustSame(t, got, want)
	}
	checkRedisHolds(t, opts, latest)
	if !logged(hook.AllEntries(), logrus.WarnLevel, "degraded") || !logged(hook.AllEntries(), logrus.InfoLevel, "recovered") {
		t.Fatal("outage and recovery were not logged")
	}
}

// checkRedisHolds reads through a fresh client, bypassing any buffer.
func checkRedisHolds(t *testing.T, opts Options, latest map[string]Record) {
	t.Helper()
	ctx := testCtx(t)
	fresh, err := NewRedis(ctx, opts)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	defer fresh.Close()
	var warm []string
	for k, want := range latest {
		got, err := fresh.Get(ctx, k)
		if err != nil {
			t.Fatalf("Get %s from Redis: %v", k, err)
		}
		mustSame(t, got, want)
		if want.State == StateWarm {
			warm = append(warm, k)
		}
	}
	idle, err := fresh.Idle(ctx, time.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatalf("Idle from Redis: %v", err)
	}
	got := keysOf(idle)
	slices.Sort(got)
	slices.Sort(warm)
	if !slices.Equal(got, warm) {
		t.Fatalf("Idle from Redis = %v, want %v", got, warm)
	}
}

// writer puts records in a loop on its own goroutine, cycling through
// keys and states, until stop.
type writer struct {
	puts   atomic.Int64
	quit   chan struct{}
	done   chan struct{}
	latest map[string]Record
	err    error
}

func startWriter(ctx context.Context, s Store, keys int) *writer {
	w := &writer{quit: make(chan struct{}), done: make(chan struct{}), latest: map[string]Record{}}
	base := baseTime()
	go func() {
		defer close(w.done)
		for n := 0; ; n++ {
			select {
			case <-w.quit:
				return
			default:
			}
			rec := mkRecord(fmt.Sprintf("slack:T1:C1:%d", n%keys), base.Add(time.Duration(n)*time.Millisecond), []State{StateWarm, StateIdle}[n/keys%2])
			rec.Turns = n
			if err := s.Put(ctx, rec); err != nil {
				w.err = fmt.Errorf("Put %d: %w", n, err)
				return
			}
			w.latest[rec.Key] = rec
			w.puts.Add(1)
		}
	}()
	return w
}

func (w *writer) waitPuts(t *testing.T, n int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d puts", n), func() bool {
		select {
		case <-w.done:
			t.Fatalf("writer stopped: %v", w.err)
		default:
		}
		return w.puts.Load() >= n
	})
}

func (w *writer) stop() (map[string]Record, error) {
	close(w.quit)
	<-w.done
	return w.latest, w.err
}

func logged(entries []*logrus.Entry, lvl logrus.Level, word string) bool {
	for _, e := range entries {
		if e.Level == lvl && strings.Contains(e.Message, word) {
			return true
		}
	}
	return false
}

// TestRedisDownAtStart: a bridge can start during an outage; the store
// works once Redis answers.
func TestRedisDownAtStart(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	ctx := testCtx(t)
	log, hook := nullLog()
	s, err := NewRedis(ctx, Options{RedisURL: srv.URL(), Log: log})
	if err != nil {
		t.Fatalf("NewRedis with Redis down: %v", err)
	}
	defer s.Close()
	if !logged(hook.AllEntries(), logrus.WarnLevel, "unreachable") {
		t.Fatal("start-up outage not logged")
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded with Redis down")
	}
	srv.Restart(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after Redis came up: %v", err)
	}
	rec := mkRecord("k", baseTime(), StateWarm)
	if err := s.Put(ctx, rec); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	mustSame(t, got, rec)
}

func TestNewRedisBadURL(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:1/0", "redis://127.0.0.1:1/notadb", "::"} {
		_, err := NewRedis(context.Background(), Options{RedisURL: u})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("NewRedis(%q): err = %v, want ErrInvalid", u, err)
		}
	}
	for _, u := range []string{"redis://:s3cret@127.0.0.1:1/x", "redis://:s3cret@127.0.0.1:port/0", "redis://:s3cret@[::1/0"} {
		_, err := NewRedis(context.Background(), Options{RedisURL: u})
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("bad URL error %v leaks the password or is nil", err)
		}
	}
}
