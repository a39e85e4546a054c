package sessionstore

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

var errDown = errors.New("fake backend down")

// fakeStore is an in-memory Store that can be switched off, for testing
// Resilient without timing; it is also the benchmarks' baseline.
type fakeStore struct {
	down   atomic.Bool
	puts   atomic.Int64
	mu     sync.Mutex
	recs   map[string]Record
	closed bool
}

func newFake() *fakeStore { return &fakeStore{recs: map[string]Record{}} }

func (f *fakeStore) fail() error {
	if f.down.Load() {
		return errDown
	}
	return nil
}

func (f *fakeStore) Get(ctx context.Context, key string) (Record, error) {
	if err := f.fail(); err != nil {
		return Record{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.recs[key]
	if !ok {
		return Record{}, ErrNotFound
	}
	return r, nil
}

func (f *fakeStore) Put(ctx context.Context, rec Record) error {
	if err := validateRecord(rec); err != nil {
		return err
	}
	if err := f.fail(); err != nil {
		return err
	}
	f.puts.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs[rec.Key] = rec
	return nil
}

func (f *fakeStore) Delete(ctx context.Context, key string) error {
	if err := f.fail(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.recs, key)
	return nil
}

func (f *fakeStore) Idle(ctx context.Context, before time.Time, limit int) ([]Record, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Record
	for _, r := range f.recs {
		if r.State == StateWarm && r.LastActive.Before(before) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastActive.Before(out[j].LastActive) })
	return out[:min(limit, len(out))], nil
}

func (f *fakeStore) Ping(ctx context.Context) error { return f.fail() }

func (f *fakeStore) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeStore) snapshot() map[string]Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]Record, len(f.recs))
	for k, v := range f.recs {
		out[k] = v
	}
	return out
}
