package reply

import (
	"sync"
	"time"
)

// Dedupe remembers event ids for a while, to drop platform retries and
// replays. It is bounded: past max ids it forgets the oldest.
type Dedupe struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	seen  map[string]time.Time
	order []entry // insertion order, which is also time order
	head  int     // order[:head] are already forgotten
}

type entry struct {
	id string
	at time.Time
}

// Defaults for NewDedupe arguments that are not positive.
const (
	DefaultDedupeTTL = 10 * time.Minute
	DefaultDedupeMax = 10000
)

// NewDedupe returns a Dedupe that remembers ids for ttl, at most max of them
// (the oldest are evicted first). Non-positive arguments take the defaults.
func NewDedupe(ttl time.Duration, max int) *Dedupe {
	if ttl <= 0 {
		ttl = DefaultDedupeTTL
	}
	if max <= 0 {
		max = DefaultDedupeMax
	}
	return &Dedupe{ttl: ttl, max: max, now: time.Now, seen: make(map[string]time.Time)}
}

// Seen reports whether id was seen within the ttl; if not, it records id and
// returns false. The empty id is never recorded (it identifies nothing), so
// Seen("") is always false. Safe for concurrent use.
func (d *Dedupe) Seen(id string) bool {
	if id == "" {
		return false
	}
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(now)
	if _, ok := d.seen[id]; ok {
		return true
	}
	for len(d.seen) >= d.max {
		d.forgetOldest()
	}
	d.seen[id] = now
	d.order = append(d.order, entry{id: id, at: now})
	return false
}

// expire forgets the ids recorded more than ttl ago; they are all at the
// front of order.
func (d *Dedupe) expire(now time.Time) {
	for d.head < len(d.order) && now.Sub(d.order[d.head].at) >= d.ttl {
		d.forgetOldest()
	}
}

func (d *Dedupe) forgetOldest() {
	delete(d.seen, d.order[d.head].id)
	d.order[d.head] = entry{}
	d.head++
	// Reuse the slice's space once half of it is dead, so that memory stays
	// proportional to max.
	if d.head > len(d.order)/2 && d.head > 64 {
		n := copy(d.order, d.order[d.head:])
		clear(d.order[n:])
		d.order, d.head = d.order[:n], 0
	}
}

// Len reports how many ids are remembered.
func (d *Dedupe) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.seen)
}
