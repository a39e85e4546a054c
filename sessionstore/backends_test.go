package sessionstore

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hotline-dev/hotline/internal/redistest"
)

// perTest remembers one value per *testing.T, so a factory reopens the
// data it created for that test.
type perTest[V any] struct {
	mu sync.Mutex
	m  map[*testing.T]V
}

func (p *perTest[V]) get(t *testing.T, mk func() V) V {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.m[t]; ok {
		return v
	}
	if p.m == nil {
		p.m = map[*testing.T]V{}
	}
	v := mk()
	p.m[t] = v
	t.Cleanup(func() {
		p.mu.Lock()
		delete(p.m, t)
		p.mu.Unlock()
	})
	return v
}

func boltOpener() func(t *testing.T) Store {
	var dirs perTest[string]
	return func(t *testing.T) Store {
		dir := dirs.get(t, t.TempDir)
		log, _ := nullLog()
		s, err := NewBolt(filepath.Join(dir, "sessions.db"), Options{Log: log})
		if err != nil {
			t.Fatalf("NewBolt: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}

// redisOpener shares one server among a test's subtests; each subtest
// gets its own key prefix, which also shows that prefixes isolate.
func redisOpener(srv *redistest.Server) func(t *testing.T) Store {
	var prefixes perTest[string]
	var n atomic.Int64
	return func(t *testing.T) Store {
		prefix := prefixes.get(t, func() string { return fmt.Sprintf("conf%d:", n.Add(1)) })
		log, _ := nullLog()
		s, err := NewRedis(context.Background(), Options{RedisURL: srv.URL(), Prefix: prefix, Log: log})
		if err != nil {
			t.Fatalf("NewRedis: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}

// resilientOver checks that the wrapper keeps the contract while the
// backend is healthy.
func resilientOver(open func(t *testing.T) Store) func(t *testing.T) Store {
	return func(t *testing.T) Store {
		log, _ := nullLog()
		r := NewResilient(open(t), log)
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
}

func TestConformanceBolt(t *testing.T) { runConformance(t, boltOpener()) }

func TestConformanceRedis(t *testing.T) {
	runConformance(t, redisOpener(redistest.Start(t)))
}

func TestConformanceResilientBolt(t *testing.T) { runConformance(t, resilientOver(boltOpener())) }

func TestConformanceResilientRedis(t *testing.T) {
	runConformance(t, resilientOver(redisOpener(redistest.Start(t))))
}
