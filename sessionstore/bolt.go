package sessionstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Bucket layout. Both index buckets are keyed by indexKey(LastActive, key)
// with empty values: bbolt keeps keys sorted, so a cursor walks them
// oldest first without reading records.
var (
	bucketRecords = []byte("records") // session key -> JSON record
	bucketIdle    = []byte("idle")    // warm records only, for Idle
	bucketExpiry  = []byte("expiry")  // every record, for the retention purge
)

// lockTimeout bounds the wait for bbolt's file lock, so a second bridge
// on the same data dir fails with an error instead of hanging. A variable
// so the test need not wait for it.
var lockTimeout = 5 * time.Second

const (
	purgeBatch  = 1000
	maxPurgeGap = time.Hour
)

// Bolt is the embedded single-file store. Every write is one bbolt
// transaction, fsynced before it returns, so a crash never leaves a record
// without its index entries.
type Bolt struct {
	db        *bolt.DB
	retention time.Duration
	log       logrus.FieldLogger

	closed    atomic.Bool
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ Store = (*Bolt)(nil)

// NewBolt opens (creating if needed) the store file at path, purges
// records past their retention, and starts a periodic purge that Close
// stops.
func NewBolt(path string, opts Options) (*Bolt, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, fmt.Errorf("%w: empty bolt path", ErrInvalid)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("sessionstore: %s is locked; is another bridge using this data dir? %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("sessionstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketRecords, bucketIdle, bucketExpiry} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sessionstore: prepare %s: %w", path, err)
	}
	b := &Bolt{
		db:        db,
		retention: opts.Retention,
		log:       opts.Log.WithFields(logrus.Fields{"component": "sessionstore", "backend": "bolt", "path": path}),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if _, err := b.purge(time.Now()); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sessionstore: purge %s: %w", path, err)
	}
	go b.purgeLoop(min(b.retention/4, maxPurgeGap))
	return b, nil
}

// indexKey encodes t as 8 big-endian bytes with the sign bit flipped, so
// that byte order equals time order (also before 1970), followed by key.
func indexKey(t time.Time, key string) []byte {
	k := make([]byte, 8+len(key))
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano())^(1<<63))
	copy(k[8:], key)
	return k
}

// parseIndexKey is the inverse of indexKey; ok is false for bytes that no
// indexKey call produced (a damaged file).
func parseIndexKey(k []byte) (t time.Time, key string, ok bool) {
	if len(k) <= 8 {
		return time.Time{}, "", false
	}
	n := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
	return time.Unix(0, n), string(k[8:]), true
}

func (b *Bolt) check(ctx context.Context) error {
	if b.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// mapErr turns bbolt's closed-database error into ErrClosed for a Close
// that raced with the call.
func mapErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Get implements Store.
func (b *Bolt) Get(ctx context.Context, key string) (Record, error) {
	if err := validateKey(key); err != nil {
		return Record{}, err
	}
	if err := b.check(ctx); err != nil {
		return Record{}, err
	}
	var rec Record
	err := b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRecords).Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		var err error
		rec, err = decodeRecord(v)
		return err
	})
	if err != nil {
		return Record{}, mapErr(err)
	}
	if expired(rec, b.retention, time.Now()) {
		return Record{}, ErrNotFound
	}
	return rec, nil
}

// Put implements Store. A record already past its retention is not
// stored (and replaces any older one), as Redis would expire it at once.
func (b *Bolt) Put(ctx context.Context, rec Record) error {
	val, err := encodeRecord(rec)
	if err != nil {
		return err
	}
	if err := b.check(ctx); err != nil {
		return err
	}
	gone := expired(rec, b.retention, time.Now())
	return mapErr(b.db.Update(func(tx *bolt.Tx) error {
		if err := b.remove(tx, rec.Key); err != nil || gone {
			return err
		}
		ik := indexKey(rec.LastActive, rec.Key)
		if err := tx.Bucket(bucketRecords).Put([]byte(rec.Key), val); err != nil {
			return err
		}
		if err := tx.Bucket(bucketExpiry).Put(ik, nil); err != nil {
			return err
		}
		if rec.State == StateWarm {
			return tx.Bucket(bucketIdle).Put(ik, nil)
		}
		return nil
	}))
}

// remove deletes key's record and the index entries derived from it.
func (b *Bolt) remove(tx *bolt.Tx, key string) error {
	recs := tx.Bucket(bucketRecords)
	old := recs.Get([]byte(key))
	if old == nil {
		return nil
	}
	if prev, err := decodeRecord(old); err == nil {
		ik := indexKey(prev.LastActive, key)
		if err := tx.Bucket(bucketIdle).Delete(ik); err != nil {
			return err
		}
		if err := tx.Bucket(bucketExpiry).Delete(ik); err != nil {
			return err
		}
	} else {
		// Its index entries cannot be found now; Idle skips them and the
		// purge removes them once their time passes the retention.
		b.log.WithError(err).WithField("key", key).Warn("replacing corrupt session record")
	}
	return recs.Delete([]byte(key))
}

// Delete implements Store.
func (b *Bolt) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if err := b.check(ctx); err != nil {
		return err
	}
	return mapErr(b.db.Update(func(tx *bolt.Tx) error { return b.remove(tx, key) }))
}

// Idle implements Store by walking the warm index from the retention
// cut-off, so expired entries awaiting the purge cost nothing.
func (b *Bolt) Idle(ctx context.Context, before time.Time, limit int) ([]Record, error) {
	if err := validateIdleArgs(before, limit); err != nil {
		return nil, err
	}
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	now := time.Now()
	var out []Record
	err := b.db.View(func(tx *bolt.Tx) error {
		recs := tx.Bucket(bucketRecords)
		c := tx.Bucket(bucketIdle).Cursor()
		for k, _ := c.Seek(indexKey(now.Add(-b.retention), "")); k != nil && len(out) < limit; k, _ = c.Next() {
			ts, key, ok := parseIndexKey(k)
			if !ok {
				continue
			}
			if !ts.Before(before) {
				break
			}
			rec, ok := b.indexed(recs, key, ts)
			if ok && rec.State == StateWarm && !expired(rec, b.retention, now) {
				out = append(out, rec)
			}
		}
		return nil
	})
	if err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}

// indexed returns the record an index entry points to, if the entry is
// current (the record exists and still has that LastActive).
func (b *Bolt) indexed(recs *bolt.Bucket, key string, ts time.Time) (Record, bool) {
	v := recs.Get([]byte(key))
	if v == nil {
		return Record{}, false
	}
	rec, err := decodeRecord(v)
	if err != nil {
		b.log.WithError(err).WithField("key", key).Warn("skipping corrupt session record")
		return Record{}, false
	}
	return rec, rec.LastActive.UnixNano() == ts.UnixNano()
}

// Ping implements Store.
func (b *Bolt) Ping(ctx context.Context) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	return mapErr(b.db.View(func(*bolt.Tx) error { return nil }))
}

// Close stops the purge and closes the file. It is safe to call twice.
func (b *Bolt) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.stop)
		<-b.done
		b.closeErr = b.db.Close()
	})
	return b.closeErr
}

func (b *Bolt) purgeLoop(every time.Duration) {
	defer close(b.done)
	t := time.NewTicker(max(every, time.Second))
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case now := <-t.C:
			if _, err := b.purge(now); err != nil && !b.closed.Load() {
				b.log.WithError(err).Warn("purging expired sessions failed; retrying next period")
			}
		}
	}
}

// purge deletes every record whose LastActive is at or before now minus
// the retention, in batches so no transaction grows without bound.
func (b *Bolt) purge(now time.Time) (int, error) {
	cutoff := now.Add(-b.retention)
	total := 0
	for {
		n := 0
		err := b.db.Update(func(tx *bolt.Tx) error {
			var victims [][]byte
			c := tx.Bucket(bucketExpiry).Cursor()
			for k, _ := c.First(); k != nil && len(victims) < purgeBatch; k, _ = c.Next() {
				if ts, _, ok := parseIndexKey(k); ok && ts.After(cutoff) {
					break
				}
				victims = append(victims, bytes.Clone(k))
			}
			n = len(victims)
			return b.purgeEntries(tx, victims)
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < purgeBatch {
			break
		}
	}
	if total > 0 {
		b.log.WithField("entries", total).Info("purged expired session entries")
	}
	return total, nil
}

func (b *Bolt) purgeEntries(tx *bolt.Tx, victims [][]byte) error {
	recs := tx.Bucket(bucketRecords)
	for _, ik := range victims {
		if ts, key, ok := parseIndexKey(ik); ok {
			// Delete the record only if this entry is its current one; a
			// stale entry must not take a newer record with it.
			if _, current := b.indexed(recs, key, ts); current {
				if err := recs.Delete([]byte(key)); err != nil {
					return err
				}
			}
		}
		if err := tx.Bucket(bucketIdle).Delete(ik); err != nil {
			return err
		}
		if err := tx.Bucket(bucketExpiry).Delete(ik); err != nil {
			return err
		}
	}
	return nil
}
