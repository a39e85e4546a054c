// Package sessionstore keeps the metadata of chat sessions (CLI session id,
// last activity, reply target) so that a thread resumes its conversation
// after idle eviction or a restart of the bridge.
//
// Two backends implement Store: Bolt, a single crash-safe file (the
// default), and Redis, for deployments that share state. Resilient wraps
// either one so that an outage degrades the bridge instead of stopping it.
package sessionstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"
)

// State is the life-cycle state of a session's agent process.
type State string

const (
	StateWarm  State = "warm"  // a process is running for the session
	StateIdle  State = "idle"  // the process was stopped after idling; resume with --resume
	StateReset State = "reset" // the conversation was forgotten; the next message starts fresh
)

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	return s == StateWarm || s == StateIdle || s == StateReset
}

// ReplyTarget is where the bot answers in the platform.
type ReplyTarget struct {
	Channel string `json:"channel,omitempty"`
	Thread  string `json:"thread,omitempty"`
	Message string `json:"message,omitempty"` // the reply being edited
}

// Record is the stored metadata of one session.
type Record struct {
	Key        string      `json:"key"`        // platform:workspace:channel:thread
	SessionID  string      `json:"session_id"` // CLI session id for --resume
	Agent      string      `json:"agent"`
	WorkDir    string      `json:"workdir"`
	Created    time.Time   `json:"created"`
	LastActive time.Time   `json:"last_active"` // orders Idle; Retention counts from here
	Turns      int         `json:"turns"`
	State      State       `json:"state"`
	Owner      string      `json:"owner"` // instance id that owns the warm process
	Reply      ReplyTarget `json:"reply"`
	// InFlight is the platform id of the message whose turn is running
	// ("" between turns). A record still carrying one after a crash names
	// a message that needs an "interrupted, please resend" notice.
	InFlight string `json:"in_flight,omitempty"`
}

// Errors returned by every Store.
var (
	ErrNotFound = errors.New("sessionstore: record not found")
	ErrInvalid  = errors.New("sessionstore: invalid argument")
	ErrClosed   = errors.New("sessionstore: store is closed")
)

// Store is the session metadata store. Implementations are safe for
// concurrent use.
type Store interface {
	// Get returns the record for key, or ErrNotFound (also for an expired one).
	Get(ctx context.Context, key string) (Record, error)
	// Put inserts or replaces the record under rec.Key.
	Put(ctx context.Context, rec Record) error
	// Delete removes the record; deleting an unknown key is not an error.
	Delete(ctx context.Context, key string) error
	// Idle returns up to limit (1..MaxIdleLimit) warm, unexpired records
	// with LastActive strictly before before, oldest first; equal times
	// (in Redis: within one microsecond) are ordered by key.
	Idle(ctx context.Context, before time.Time, limit int) ([]Record, error)
	// Ping checks that the backend answers.
	Ping(ctx context.Context) error
	// Close releases the backend; calls after Close return ErrClosed.
	Close() error
}

// Limits on input, so that a bad caller gets an error instead of a store
// that cannot hold or index the record.
const (
	MaxKeyLen    = 1024
	MaxIdleLimit = 10000
	// maxRecordBytes keeps one record well below Redis' value limit and
	// bbolt's page overflow cost; real records are a few hundred bytes.
	maxRecordBytes = 1 << 20
)

// Defaults for Options.
const (
	DefaultPrefix    = "hotline:"
	DefaultRetention = 30 * 24 * time.Hour
	boltFileName     = "sessions.db"
)

// Options configure Open, NewBolt and NewRedis.
type Options struct {
	RedisURL  string        // "" selects the embedded file store
	DataDir   string        // the embedded store's file (sessions.db) lives here
	Prefix    string        // Redis key prefix, default "hotline:"
	Retention time.Duration // records expire this long after LastActive; default 30 days
	Log       logrus.FieldLogger
}

func (o Options) withDefaults() (Options, error) {
	if o.Retention < 0 {
		return o, fmt.Errorf("%w: negative retention %s", ErrInvalid, o.Retention)
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Log == nil {
		o.Log = logrus.StandardLogger()
	}
	return o, nil
}

// Open returns the Redis store when opts.RedisURL is set and the embedded
// file store under opts.DataDir otherwise. Wrap the result in NewResilient
// to survive backend outages.
func Open(ctx context.Context, opts Options) (Store, error) {
	if opts.RedisURL != "" {
		return NewRedis(ctx, opts)
	}
	if opts.DataDir == "" {
		return nil, fmt.Errorf("%w: DataDir is required for the embedded store", ErrInvalid)
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("sessionstore: create data dir: %w", err)
	}
	return NewBolt(filepath.Join(opts.DataDir, boltFileName), opts)
}

// validateKey rejects keys that no backend could store or index.
func validateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: key of %d bytes exceeds %d", ErrInvalid, len(key), MaxKeyLen)
	}
	return nil
}

// minIndexTime and maxIndexTime bound LastActive to what UnixNano can
// represent, because both backends order by it.
var (
	minIndexTime = time.Unix(0, -1<<63+1)
	maxIndexTime = time.Unix(0, 1<<63-1)
)

func validateRecord(rec Record) error {
	if err := validateKey(rec.Key); err != nil {
		return err
	}
	if !rec.State.Valid() {
		return fmt.Errorf("%w: state %q of %s is not warm, idle or reset", ErrInvalid, rec.State, rec.Key)
	}
	if rec.LastActive.IsZero() {
		return fmt.Errorf("%w: LastActive of %s is zero", ErrInvalid, rec.Key)
	}
	if rec.LastActive.Before(minIndexTime) || rec.LastActive.After(maxIndexTime) {
		return fmt.Errorf("%w: LastActive %s of %s is out of range", ErrInvalid, rec.LastActive, rec.Key)
	}
	if rec.Turns < 0 {
		return fmt.Errorf("%w: negative turn count for %s", ErrInvalid, rec.Key)
	}
	return nil
}

func validateIdleArgs(before time.Time, limit int) error {
	if limit <= 0 || limit > MaxIdleLimit {
		return fmt.Errorf("%w: idle limit %d not in 1..%d", ErrInvalid, limit, MaxIdleLimit)
	}
	if before.IsZero() {
		return fmt.Errorf("%w: zero idle cut-off", ErrInvalid)
	}
	return nil
}

// encodeRecord validates and serialises rec. JSON keeps records readable
// with redis-cli and bbolt tools; at a few hundred bytes per turn boundary
// its cost is noise next to the backend round trip (see the benchmarks).
func encodeRecord(rec Record) ([]byte, error) {
	if err := validateRecord(rec); err != nil {
		return nil, err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("sessionstore: encode %s: %w", rec.Key, err)
	}
	if len(b) > maxRecordBytes {
		return nil, fmt.Errorf("%w: record %s encodes to %d bytes, limit %d", ErrInvalid, rec.Key, len(b), maxRecordBytes)
	}
	return b, nil
}

// decodeRecord parses stored bytes. Stored data may come from another
// version or a hand edit, so it is checked like outside input.
func decodeRecord(b []byte) (Record, error) {
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return Record{}, fmt.Errorf("sessionstore: corrupt record: %w", err)
	}
	if err := validateRecord(rec); err != nil {
		return Record{}, fmt.Errorf("sessionstore: corrupt record: %w", err)
	}
	return rec, nil
}

// expired reports whether rec is past its retention at now.
func expired(rec Record, retention time.Duration, now time.Time) bool {
	return !rec.LastActive.Add(retention).After(now)
}
