package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bench"
	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/internal/redistest"
	"github.com/hotline-dev/hotline/internal/testenv"
	"github.com/hotline-dev/hotline/sessionstore"
)

// BenchmarkTurnStore measures what writing the session record at each turn
// boundary adds to a hot turn: the in-memory store is the baseline.
func BenchmarkTurnStore(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) core.Store
	}{
		{"memory", func(*testing.B) core.Store { return nil }},
		{"bolt", func(b *testing.B) core.Store {
			s, err := sessionstore.NewBolt(b.TempDir()+"/sessions.db", sessionstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return resilient(b, s)
		}},
		{"redis", func(b *testing.B) core.Store {
			srv := redistest.Start(b)
			s, err := sessionstore.NewRedis(context.Background(), sessionstore.Options{RedisURL: srv.URL()})
			if err != nil {
				b.Fatal(err)
			}
			return resilient(b, s)
		}},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			store := st.open(b)
			r := testenv.Router(b, func(c *core.Config) {
				if store != nil {
					c.Store = store
				}
			})
			resp := nop{done: make(chan ended, 1)}
			routerTurn(b, r, "bench:w:c:store", "warm up", resp)
			var s bench.Samples
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				routerTurn(b, r, "bench:w:c:store", "ping", resp)
				s.Add(time.Since(t0))
			}
			s.Report(b, "")
		})
	}
}

func resilient(b *testing.B, s sessionstore.Store) core.Store {
	r := sessionstore.NewResilient(s, nil)
	b.Cleanup(func() { r.Close() })
	return r
}
