package express

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the Backend of connect-redis 10's records: the session object's
// JSON as a string under prefix + sid, with a TTL (SET ... EX) that
// connect-redis sets from cookie.expires, or to its ttl option, on each
// save, and renews on each touch. Make one with NewRedis.
type Redis struct {
	c   redis.UniversalClient
	cfg backendConfig
}

var _ Backend = (*Redis)(nil)

// NewRedis returns the Backend of connect-redis's records on client. It
// takes WithPrefix, WithTTL and WithTimeout, connect-redis's prefix and
// ttl options and a bound on each call; the client's own timeouts apply
// too. A single server, a Cluster or a Sentinel client will do: each call
// touches one key, but Renew, which writes the new key before it deletes
// the old one (see Store.Renew).
func NewRedis(client redis.UniversalClient, opts ...BackendOption) (*Redis, error) {
	if client == nil {
		return nil, errors.New("express: NewRedis called with a nil client")
	}
	cfg, err := configure("NewRedis", backendConfig{prefix: "sess:", ttl: DefaultRedisTTL, timeout: DefaultTimeout},
		opts, "WithPrefix", "WithTTL", "WithTimeout")
	if err != nil {
		return nil, err
	}
	return &Redis{c: client, cfg: cfg}, nil
}

// getScript reads a record and its TTL in one step, so that the two
// describe the same write.
var getScript = redis.NewScript(`return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}`)

// swapScript writes ARGV[2] with a TTL of ARGV[3] ms if the key holds
// ARGV[1], and returns 1 if it did.
var swapScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
	return 1
end
return 0`)

// Get implements Backend: one script call, which reads the string and its
// TTL.
func (r *Redis) Get(ctx context.Context, sid string) ([]byte, time.Time, error) {
	ctx, cancel := bound(ctx, r.cfg.timeout)
	defer cancel()
	now := time.Now()
	v, err := getScript.Run(ctx, r.c, []string{r.cfg.prefix + sid}).Slice()
	if err != nil {
		return nil, time.Time{}, err
	}
	data, _ := v[0].(string)
	pttl, _ := v[1].(int64)
	switch {
	case v[0] == nil || pttl == -2:
		return nil, time.Time{}, nil
	case pttl < 0: // kept with no TTL (connect-redis's disableTTL)
		return []byte(data), time.Time{}, nil
	}
	return []byte(data), now.Add(time.Duration(pttl) * time.Millisecond), nil
}

// Set implements Backend: SET with the TTL left until expires, in
// milliseconds.
func (r *Redis) Set(ctx context.Context, sid string, data []byte, expires time.Time) error {
	ctx, cancel := bound(ctx, r.cfg.timeout)
	defer cancel()
	return r.c.Set(ctx, r.cfg.prefix+sid, data, ttlMillis(expires)).Err()
}

// Swap implements Backend with a script that compares and writes.
func (r *Redis) Swap(ctx context.Context, sid string, old, data []byte, expires time.Time) (bool, error) {
	ctx, cancel := bound(ctx, r.cfg.timeout)
	defer cancel()
	n, err := swapScript.Run(ctx, r.c, []string{r.cfg.prefix + sid}, old, data, ttlMillis(expires).Milliseconds()).Int()
	return n == 1, err
}

// Destroy implements Backend: DEL, which reports whether the key was
// there; a key Redis still has is live.
func (r *Redis) Destroy(ctx context.Context, sid string) (bool, error) {
	ctx, cancel := bound(ctx, r.cfg.timeout)
	defer cancel()
	n, err := r.c.Del(ctx, r.cfg.prefix+sid).Result()
	return n > 0, err
}

// TTL implements Backend: connect-redis's ttl option.
func (r *Redis) TTL() time.Duration { return r.cfg.ttl }

// ttlMillis is the time left until expires, rounded up to a whole
// millisecond, and at least one.
func ttlMillis(expires time.Time) time.Duration {
	d := time.Until(expires)
	return max(time.Millisecond, (d + time.Millisecond - 1).Truncate(time.Millisecond))
}
