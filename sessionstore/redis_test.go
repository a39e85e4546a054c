package sessionstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// rawRedis is a plain client for inspecting what the store wrote.
func rawRedis(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newTestRedis(t *testing.T, srv *redistest.Server, prefix string) *Redis {
	t.Helper()
	log, _ := nullLog()
	s, err := NewRedis(context.Background(), Options{RedisURL: srv.URL(), Prefix: prefix, Log: log})
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRedisLayout(t *testing.T) {
	srv := redistest.Start(t)
	s, raw, ctx := newTestRedis(t, srv, "lay:"), rawRedis(t, srv), testCtx(t)
	rec := mkRecord("slack:T:C:1", time.Now().Add(-time.Hour), StateWarm)
	if err := s.Put(ctx, rec); err != nil {
		t.Fatalf("Put: %v", err)
	}
	ttl, err := raw.PTTL(ctx, "lay:s:slack:T:C:1").Result()
	if err != nil || ttl <= DefaultRetention-2*time.Hour || ttl > DefaultRetention-time.Hour {
		t.Fatalf("TTL = %v, %v; want about retention minus one hour", ttl, err)
	}
	sc, err := raw.ZScore(ctx, "lay:idle", rec.Key).Result()
	if err != nil || sc != float64(rec.LastActive.UnixMicro()) {
		t.Fatalf("idle score = %v, %v; want %d", sc, err, rec.LastActive.UnixMicro())
	}
	rec.State = StateIdle
	if err := s.Put(ctx, rec); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if n, _ := raw.ZCard(ctx, "lay:idle").Result(); n != 0 {
		t.Fatalf("idle set holds %d members after warm->idle, want 0", n)
	}
	rec.State = StateWarm
	if err := s.Put(ctx, rec); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := s.Delete(ctx, rec.Key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if n, _ := raw.ZCard(ctx, "lay:idle").Result(); n != 0 {
		t.Fatalf("idle set holds %d members after Delete, want 0", n)
	}
	if n, _ := raw.Exists(ctx, "lay:s:slack:T:C:1").Result(); n != 0 {
		t.Fatal("record still exists after Delete")
	}
}

func TestRedisIdleDropsExpiredMembers(t *testing.T) {
	srv := redistest.Start(t)
	s, raw, ctx := newTestRedis(t, srv, "exp:"), rawRedis(t, srv), testCtx(t)
	base := baseTime()
	for i, k := range []string{"a", "b", "c"} {
		if err := s.Put(ctx, mkRecord(k, base.Add(time.Duration(i)*time.Second), StateWarm)); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	// Let Redis expire two records by itself: the set keeps their members.
	for _, k := range []string{"exp:s:a", "exp:s:b"} {
		if err := raw.PExpire(ctx, k, time.Millisecond).Err(); err != nil {
			t.Fatalf("PEXPIRE: %v", err)
		}
	}
	waitFor(t, "expiry", func() bool { return raw.Exists(ctx, "exp:s:a", "exp:s:b").Val() == 0 })
	idle, err := s.Idle(ctx, time.Now(), 1)
	if err != nil || len(idle) != 1 || idle[0].Key != "c" {
		t.Fatalf("Idle(limit 1) = %v, %v; want [c] despite two stale members first", keysOf(idle), err)
	}
	members, err := raw.ZRange(ctx, "exp:idle", 0, -1).Result()
	if err != nil || len(members) != 1 || members[0] != "c" {
		t.Fatalf("idle set = %v, %v; want only c", members, err)
	}
}

func TestRedisIdleDropsMembersPastRetention(t *testing.T) {
	srv := redistest.Start(t)
	s, raw, ctx := newTestRedis(t, srv, "old:"), rawRedis(t, srv), testCtx(t)
	// A member left behind by a crash between versions, older than retention.
	old := float64(time.Now().Add(-DefaultRetention - time.Hour).UnixMicro())
	if err := raw.ZAdd(ctx, "old:idle", redis.Z{Score: old, Member: "ghost"}).Err(); err != nil {
		t.Fatalf("ZADD: %v", err)
	}
	if idle, err := s.Idle(ctx, time.Now(), 10); err != nil || len(idle) != 0 {
		t.Fatalf("Idle = %v, %v; want none", keysOf(idle), err)
	}
	if n, _ := raw.ZCard(ctx, "old:idle").Result(); n != 0 {
		t.Fatalf("idle set holds %d members, want 0", n)
	}
}

func TestRedisPrefixesIsolate(t *testing.T) {
	srv := redistest.Start(t)
	a, b, ctx := newTestRedis(t, srv, "a:"), newTestRedis(t, srv, "b:"), testCtx(t)
	if err := a.Put(ctx, mkRecord("k", baseTime(), StateWarm)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other prefix Get: err = %v, want ErrNotFound", err)
	}
	if idle, err := b.Idle(ctx, time.Now(), 10); err != nil || len(idle) != 0 {
		t.Fatalf("other prefix Idle = %v, %v; want none", keysOf(idle), err)
	}
}

func TestRedisSurvivesServerRestart(t *testing.T) {
	srv := redistest.Start(t)
	s, ctx := newTestRedis(t, srv, ""), testCtx(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	srv.Restart(t)
	// The pooled connection is dead; the client must dial again by itself.
	rec := mkRecord("k", baseTime(), StateWarm)
	waitFor(t, "reconnect", func() bool { return s.Put(ctx, rec) == nil })
	got, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatalf("Get after restart: %v", err)
	}
	mustSame(t, got, rec)
}

func TestOpenRedis(t *testing.T) {
	srv := redistest.Start(t)
	log, _ := nullLog()
	s, err := Open(testCtx(t), Options{RedisURL: srv.URL(), Log: log})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if _, ok := s.(*Redis); !ok {
		t.Fatalf("Open with RedisURL gave %T, want *Redis", s)
	}
	if err := s.Ping(testCtx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
