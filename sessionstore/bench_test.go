package sessionstore

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/internal/redistest"
)

// Each benchmark runs the in-memory fake first as the same-run baseline;
// compare a backend's ns/op with it (and Resilient with its raw backend).
// The ops/s metric is per goroutine for serial runs and total for
// parallel ones.

type benchBackend struct {
	name string
	open func(b *testing.B) Store
}

func benchBackends(b *testing.B) []benchBackend {
	srv := redistest.Start(b)
	log, _ := nullLog()
	openRedis := func(b *testing.B) Store {
		s, err := NewRedis(context.Background(), Options{RedisURL: srv.URL(), Prefix: fmt.Sprintf("bench%d:", time.Now().UnixNano()), Log: log})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	openBolt := func(b *testing.B) Store {
		s, err := NewBolt(filepath.Join(b.TempDir(), "s.db"), Options{Log: log})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	return []benchBackend{
		{"memory-baseline", func(*testing.B) Store { return newFake() }},
		{"bolt", openBolt},
		{"redis", openRedis},
		{"resilient-bolt", func(b *testing.B) Store { return NewResilient(openBolt(b), log) }},
		{"resilient-redis", func(b *testing.B) Store { return NewResilient(openRedis(b), log) }},
	}
}

func reportOps(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkPut(b *testing.B) {
	base := baseTime()
	for _, be := range benchBackends(b) {
		b.Run(be.name+"/serial", func(b *testing.B) {
			s := be.open(b)
			defer s.Close()
			ctx := context.Background()
			rec := mkRecord("", base, StateWarm)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				rec.Key = fmt.Sprintf("slack:T1:C1:%d", i%1000)
				rec.LastActive = base.Add(time.Duration(i) * time.Millisecond)
				if err := s.Put(ctx, rec); err != nil {
					b.Fatal(err)
				}
			}
			reportOps(b)
		})
		b.Run(be.name+"/parallel", func(b *testing.B) {
			s := be.open(b)
			defer s.Close()
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				rec := mkRecord("", base, StateWarm)
				for pb.Next() {
					i := n.Add(1)
					rec.Key = fmt.Sprintf("slack:T1:C1:%d", i%1000)
					rec.LastActive = base.Add(time.Duration(i) * time.Millisecond)
					if err := s.Put(ctx, rec); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportOps(b)
		})
	}
}

func BenchmarkGet(b *testing.B) {
	base := baseTime()
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			defer s.Close()
			ctx := context.Background()
			keys := make([]string, 1000)
			for i := range keys {
				keys[i] = fmt.Sprintf("slack:T1:C1:%d", i)
				if err := s.Put(ctx, mkRecord(keys[i], base, StateWarm)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := s.Get(ctx, keys[i%len(keys)]); err != nil {
					b.Fatal(err)
				}
			}
			reportOps(b)
		})
	}
}

// BenchmarkCodec is the encoding share of a Put or Get.
func BenchmarkCodec(b *testing.B) {
	rec := mkRecord("slack:T1:C1:1712345678.000100", baseTime(), StateWarm)
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := encodeRecord(rec); err != nil {
				b.Fatal(err)
			}
		}
		reportOps(b)
	})
	enc, _ := encodeRecord(rec)
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeRecord(enc); err != nil {
				b.Fatal(err)
			}
		}
		reportOps(b)
	})
}

// BenchmarkResilientOverhead alternates Puts on a raw backend and on a
// Resilient over a second handle of the same backend, so load on the
// machine hits both alike; the x-raw metric is wrapper time / raw time.
func BenchmarkResilientOverhead(b *testing.B) {
	for _, be := range benchBackends(b)[1:3] { // bolt, redis
		b.Run(be.name, func(b *testing.B) {
			raw := be.open(b)
			defer raw.Close()
			log, _ := nullLog()
			wrapped := NewResilient(be.open(b), log)
			defer wrapped.Close()
			ctx, base := context.Background(), baseTime()
			var tRaw, tWrapped time.Duration
			for i := 0; b.Loop(); i++ {
				rec := mkRecord(fmt.Sprintf("slack:T1:C1:%d", i%1000), base.Add(time.Duration(i)*time.Millisecond), StateWarm)
				for _, s := range []Store{raw, wrapped} {
					t0 := time.Now()
					if err := s.Put(ctx, rec); err != nil {
						b.Fatal(err)
					}
					if s == raw {
						tRaw += time.Since(t0)
					} else {
						tWrapped += time.Since(t0)
					}
				}
			}
			b.ReportMetric(float64(tWrapped)/float64(tRaw), "x-raw")
		})
	}
}
