package core

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/hotline-dev/hotline/sessionstore"
)

// memStore keeps records in memory when no Store is configured.
type memStore struct {
	mu   sync.Mutex
	recs map[string]sessionstore.Record
}

func newMemStore() *memStore { return &memStore{recs: make(map[string]sessionstore.Record)} }

func (m *memStore) Get(_ context.Context, key string) (sessionstore.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[key]
	if !ok {
		return r, sessionstore.ErrNotFound
	}
	return r, nil
}

func (m *memStore) Put(_ context.Context, rec sessionstore.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs[rec.Key] = rec
	return nil
}

// jsonField returns a top-level string field of a JSON object, or "".
func jsonField(obj []byte, name string) string {
	if len(obj) == 0 {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[name], &s) != nil {
		return ""
	}
	return s
}
