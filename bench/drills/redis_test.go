package drills

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
	"github.com/hotline-dev/hotline/bench/load"
	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/internal/redistest"
	"github.com/hotline-dev/hotline/sessionstore"
)

// TestDrillRedisOutage is drill 3: Redis is stopped for a while (3 s in
// CI, 60 s at full scale) while every thread keeps talking, then started
// again (empty: redistest keeps no data) after the traffic stopped. No
// accepted message may be lost, and the buffered writes alone must bring
// every thread's record up to all its turns.
func TestDrillRedisOutage(t *testing.T) {
	base := goleak.IgnoreCurrent()
	sessionstore.SetRedisLogger(load.Discard()) // go-redis's dial errors are expected here
	srv := redistest.Start(t)
	raw, err := sessionstore.NewRedis(context.Background(), sessionstore.Options{RedisURL: srv.URL(), Prefix: "drill:", Log: load.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	store := sessionstore.NewResilient(raw, load.Discard())
	fake := fakeslack.New(fakeslack.Options{})
	b := startBridge(t, fake, func(c *core.Config) { c.Store = store })
	c := client{t: t, fake: fake}
	n := scale(4, 30)
	outage := time.Duration(scale(3, 60)) * time.Second
	threads := make([]string, n)
	turns := make([]int, n)
	for i := range threads {
		threads[i], _, _ = c.turn("", fmt.Sprintf("warm %d", i))
		turns[i] = 1
	}
	var down atomic.Bool
	var lost, during atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, thr := range threads {
		wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				p := fmt.Sprintf("SLOW:10 outage %d %d", i, k)
				wasDown := down.Load()
				_, texts, mark := c.turn(thr, p)
				turns[i]++
				if mark != "white_check_mark" || len(texts) != 1 || texts[0] != echo(p) {
					lost.Add(1)
					t.Errorf("thread %d message %d: %s %q", i, k, mark, texts)
				}
				if wasDown {
					during.Add(1)
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond) // some turns before the outage
	srv.Kill()
	down.Store(true)
	time.Sleep(outage)
	if store.Healthy() == nil {
		t.Error("the store never noticed the outage")
	}
	// Traffic stops before Redis returns, so the records can only get
	// there through the buffered writes being flushed.
	close(stop)
	wg.Wait()
	srv.Restart(t)
	down.Store(false)
	converged := store.Pending() == 0 && store.Healthy() == nil
	for deadline := time.Now().Add(wait); !converged && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		converged = store.Pending() == 0 && store.Healthy() == nil
	}
	if !converged {
		t.Fatalf("store did not converge: %d pending, %v", store.Pending(), store.Healthy())
	}
	check, err := sessionstore.NewRedis(context.Background(), sessionstore.Options{RedisURL: srv.URL(), Prefix: "drill:", Log: load.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	stale := 0
	for i, thr := range threads {
		rec, err := check.Get(context.Background(), "slack:"+fakeslack.TeamID+":"+channel+":"+thr)
		if err != nil || rec.Turns != turns[i] {
			stale++
			t.Errorf("thread %d: record %+v (%v), want %d turns", i, rec, err, turns[i])
		}
	}
	check.Close()
	b.close()
	if err := store.Close(); err != nil {
		t.Errorf("store close: %v", err)
	}
	fake.Close()
	srv.Kill()
	report(t, "stopped Redis for %s under load (%d threads, %d messages during the outage), then started it empty: store converged, stale records %d; lost %d",
		outage, n, during.Load(), stale, lost.Load())
	afterDrill(t, b.home(), base)
}
