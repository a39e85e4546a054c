package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/sirupsen/logrus"
)

// Timeouts applied when the URL does not set them: short enough that an
// outage shows as an error within seconds, which is what lets Resilient
// take over.
const (
	redisDialTimeout = 2 * time.Second
	redisIOTimeout   = 2 * time.Second
	startPingTimeout = 2 * time.Second
	// idleRounds bounds how often Idle re-reads the index after dropping
	// members whose records have expired.
	idleRounds = 4
)

// Redis stores each record as a JSON string under <prefix>s:<key> with a
// TTL that ends Retention after LastActive, and indexes warm records in
// the sorted set <prefix>idle, scored by LastActive in microseconds (exact
// in a float64 until the year 2255).
type Redis struct {
	rdb       *redis.Client
	prefix    string
	idleKey   string
	retention time.Duration
	log       logrus.FieldLogger
	closed    atomic.Bool
}

var _ Store = (*Redis)(nil)

// NewRedis connects to opts.RedisURL. A malformed URL is an error. An
// unreachable server is not: the store starts degraded (logged as a
// warning), its calls fail until the server answers, and go-redis
// reconnects by itself. This way a bridge can start during a Redis outage
// and serve warm sessions through Resilient.
func NewRedis(ctx context.Context, opts Options) (*Redis, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ro, err := redis.ParseURL(opts.RedisURL)
	if err != nil {
		// The URL may hold a password, and url.Error quotes the URL.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("%w: REDIS_URL: %v", ErrInvalid, err)
	}
	if ro.DialTimeout == 0 {
		ro.DialTimeout = redisDialTimeout
	}
	if ro.ReadTimeout == 0 {
		ro.ReadTimeout = redisIOTimeout
	}
	if ro.WriteTimeout == 0 {
		ro.WriteTimeout = redisIOTimeout
	}
	if ro.DialerRetries == 0 {
		// go-redis retries a failed dial 5 times by default; one retry
		// lets an outage surface fast while a reconnect still succeeds.
		ro.DialerRetries = 1
	}
	ro.ContextTimeoutEnabled = true
	// CLIENT SETINFO and maintenance notifications only add round trips
	// and error noise on the servers we target.
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	r := &Redis{
		rdb:       redis.NewClient(ro),
		prefix:    opts.Prefix,
		idleKey:   opts.Prefix + "idle",
		retention: opts.Retention,
		log:       opts.Log.WithFields(logrus.Fields{"component": "sessionstore", "backend": "redis", "addr": ro.Addr, "db": ro.DB}),
	}
	pctx, cancel := context.WithTimeout(ctx, startPingTimeout)
	defer cancel()
	if err := r.rdb.Ping(pctx).Err(); err != nil {
		r.log.WithError(err).Warn("redis unreachable at start; session store degraded until it answers")
	}
	return r, nil
}

func (r *Redis) recKey(key string) string { return r.prefix + "s:" + key }

func score(t time.Time) float64 { return float64(t.UnixMicro()) }

func (r *Redis) check(ctx context.Context) error {
	if r.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

func (r *Redis) mapErr(err error) error {
	if errors.Is(err, redis.ErrClosed) {
		return ErrClosed
	}
	return err
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) (Record, error) {
	if err := validateKey(key); err != nil {
		return Record{}, err
	}
	if err := r.check(ctx); err != nil {
		return Record{}, err
	}
	b, err := r.rdb.Get(ctx, r.recKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, r.mapErr(err)
	}
	rec, err := decodeRecord(b)
	if err != nil {
		return Record{}, err
	}
	// The TTL already ends at expiry; this covers a clock step or a TTL
	// set by an older version.
	if expired(rec, r.retention, time.Now()) {
		return Record{}, ErrNotFound
	}
	return rec, nil
}

// Put implements Store. Record and index change in one MULTI so that a
// reader never sees one without the other.
func (r *Redis) Put(ctx context.Context, rec Record) error {
	val, err := encodeRecord(rec)
	if err != nil {
		return err
	}
	if err := r.check(ctx); err != nil {
		return err
	}
	// The TTL is computed here rather than with PEXPIREAT so that a clock
	// difference between bridge and server does not shift expiry.
	ttl := time.Until(rec.LastActive.Add(r.retention))
	k := r.recKey(rec.Key)
	_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if ttl < time.Millisecond {
			p.Del(ctx, k)
			p.ZRem(ctx, r.idleKey, rec.Key)
			return nil
		}
		p.Set(ctx, k, val, ttl)
		if rec.State == StateWarm {
			p.ZAdd(ctx, r.idleKey, redis.Z{Score: score(rec.LastActive), Member: rec.Key})
		} else {
			p.ZRem(ctx, r.idleKey, rec.Key)
		}
		return nil
	})
	return r.mapErr(err)
}

// Delete implements Store.
func (r *Redis) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if err := r.check(ctx); err != nil {
		return err
	}
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.recKey(key))
		p.ZRem(ctx, r.idleKey, key)
		return nil
	})
	return r.mapErr(err)
}

// Idle implements Store with ZRANGEBYSCORE. Members whose record expired
// (the TTL removes the string but not the set member) are removed as they
// are met; members older than the retention are dropped first in one
// ZREMRANGEBYSCORE.
func (r *Redis) Idle(ctx context.Context, before time.Time, limit int) ([]Record, error) {
	if err := validateIdleArgs(before, limit); err != nil {
		return nil, err
	}
	if err := r.check(ctx); err != nil {
		return nil, err
	}
	now := time.Now()
	cut := strconv.FormatInt(now.Add(-r.retention).UnixMicro(), 10)
	if err := r.rdb.ZRemRangeByScore(ctx, r.idleKey, "-inf", cut).Err(); err != nil {
		return nil, r.mapErr(err)
	}
	// Scores are whole microseconds, so the inclusive bound may return
	// members at before's microsecond; the exact check below drops them.
	maxScore := strconv.FormatInt(before.UnixMicro(), 10)
	for round := 0; ; round++ {
		out, stale, err := r.idleRound(ctx, maxScore, before, limit, now)
		if err != nil || stale == 0 || len(out) == limit || round == idleRounds-1 {
			return out, err
		}
	}
}

// idleRound reads up to limit members and their records, removes the
// members without a record, and reports how many it removed.
func (r *Redis) idleRound(ctx context.Context, maxScore string, before time.Time, limit int, now time.Time) ([]Record, int, error) {
	members, err := r.rdb.ZRangeByScore(ctx, r.idleKey, &redis.ZRangeBy{Min: "-inf", Max: maxScore, Count: int64(limit)}).Result()
	if err != nil || len(members) == 0 {
		return nil, 0, r.mapErr(err)
	}
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = r.recKey(m)
	}
	vals, err := r.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, 0, r.mapErr(err)
	}
	var out []Record
	var stale []any
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			stale = append(stale, members[i])
			continue
		}
		rec, err := decodeRecord([]byte(s))
		if err != nil {
			r.log.WithError(err).WithField("key", members[i]).Warn("skipping corrupt session record")
			continue
		}
		if rec.State == StateWarm && rec.LastActive.Before(before) && !expired(rec, r.retention, now) {
			out = append(out, rec)
		}
	}
	if len(stale) > 0 {
		keys := make([]string, 1, len(stale)+1)
		keys[0] = r.idleKey
		for _, m := range stale {
			keys = append(keys, r.recKey(m.(string)))
		}
		if err := dropStale.Run(ctx, r.rdb, keys, stale...).Err(); err != nil {
			return nil, 0, r.mapErr(err)
		}
	}
	return out, len(stale), nil
}

// dropStale removes set members whose record is gone, checking again on
// the server: a Put between our MGET and this call re-created the record,
// and its fresh index entry must stay.
var dropStale = redis.NewScript(`
for i, m in ipairs(ARGV) do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then
    redis.call('ZREM', KEYS[1], m)
  end
end
return 0
`)

// SetRedisLogger routes go-redis' own messages (failed dials, pool
// trouble), which otherwise go to stderr, to log at warning level. It is
// process-wide, as go-redis' logger is; call it once from main.
func SetRedisLogger(log logrus.FieldLogger) {
	redis.SetLogger(redisLogger{log.WithField("component", "go-redis")})
}

type redisLogger struct{ log logrus.FieldLogger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Warnf(format, v...)
}

// Ping implements Store.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.check(ctx); err != nil {
		return err
	}
	return r.mapErr(r.rdb.Ping(ctx).Err())
}

// Close closes the client. It is safe to call twice.
func (r *Redis) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	return r.rdb.Close()
}
