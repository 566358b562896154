package compare

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-sealed/session/serverstore/redisstore"
)

// DefaultRedisURL is where the Redis experiments look for a server when
// SESSION_TEST_REDIS_URL is unset.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// RedisURL returns the Redis URL the experiments use.
func RedisURL() string {
	if u := os.Getenv("SESSION_TEST_REDIS_URL"); u != "" {
		return u
	}
	return DefaultRedisURL
}

// redisConnector makes redisstore backends on one Redis, each with its own
// client, all under one key prefix of their own, which close removes.
type redisConnector struct {
	opt    *redis.Options
	prefix string
	admin  *redis.Client // for measuring and cleaning up, not counted
}

// dialRedis connects to the Redis at url, or says why it cannot.
func dialRedis(url string) (*redisConnector, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", url, err)
	}
	opt.DialTimeout = time.Second
	opt.ContextTimeoutEnabled = true // as the redisstore documentation advises
	admin := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := admin.Ping(ctx).Err(); err != nil {
		_ = admin.Close()
		return nil, fmt.Errorf("no Redis at %s: %w", url, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &redisConnector{opt: opt, prefix: "compare:" + hex.EncodeToString(b[:]) + ":", admin: admin}, nil
}

func (c *redisConnector) connect() (*instance, error) {
	client := redis.NewClient(c.opt)
	var rtts atomic.Int64
	client.AddHook(roundTrips{&rtts})
	b := redisstore.New(client, redisstore.WithPrefix(c.prefix))
	return &instance{meter: newMeter(b, &rtts), close: client.Close}, nil
}

// keys lists every key under the connector's prefix.
func (c *redisConnector) keys(ctx context.Context) ([]string, error) {
	var keys []string
	it := c.admin.Scan(ctx, 0, c.prefix+"*", 1000).Iterator()
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	return keys, it.Err()
}

func (c *redisConnector) residentBytes() int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	keys, err := c.keys(ctx)
	if err != nil {
		return -1
	}
	var n int64
	for _, k := range keys {
		u, err := c.admin.MemoryUsage(ctx, k, 0).Result()
		if err != nil {
			return -1
		}
		n += u
	}
	return n
}

func (c *redisConnector) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keys, err := c.keys(ctx)
	for len(keys) > 0 && err == nil {
		n := min(len(keys), 1000)
		err = c.admin.Unlink(ctx, keys[:n]...).Err()
		keys = keys[n:]
	}
	if cerr := c.admin.Close(); err == nil {
		err = cerr
	}
	return err
}

// roundTrips is a go-redis hook counting network round trips: one per
// command, one per pipeline or transaction.
type roundTrips struct{ n *atomic.Int64 }

func (h roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}
