package compare

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-sealed/session/serverstore"
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

// redisConnector makes Redis clients on one Redis, each counted, for
// mechanisms that keep their records under one key prefix of their own,
// which close removes.
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

// client returns a new client of the connector's Redis, one server
// instance's, whose commands, round trips and bytes n counts.
func (c *redisConnector) client() (*redis.Client, *netCount) {
	n := &netCount{}
	opt := *c.opt
	d := &net.Dialer{Timeout: opt.DialTimeout}
	opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{conn, &n.bytes}, nil
	}
	client := redis.NewClient(&opt)
	client.AddHook(n)
	return client, n
}

// connect makes a redisstore backend under the connector's prefix, as a
// server session's instance.
func (c *redisConnector) connect() (*instance, error) {
	client, n := c.client()
	b := redisstore.New(client, redisstore.WithPrefix(c.prefix))
	return &instance{store: serverstore.New(b), net: n, close: client.Close}, nil
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

// netCount counts what one Redis client sends: commands, network round
// trips (a command, or a pipeline or transaction, each) and bytes on its
// connections, both ways. It is a go-redis hook.
type netCount struct {
	commands, roundTrips, bytes atomic.Int64
}

func (n *netCount) DialHook(next redis.DialHook) redis.DialHook { return next }

func (n *netCount) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		n.commands.Add(1)
		n.roundTrips.Add(1)
		return next(ctx, cmd)
	}
}

func (n *netCount) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if name := c.Name(); name != "multi" && name != "exec" {
				n.commands.Add(1)
			}
		}
		n.roundTrips.Add(1)
		return next(ctx, cmds)
	}
}

// countingConn counts the bytes read and written on a connection.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	k, err := c.Conn.Read(b)
	c.n.Add(int64(k))
	return k, err
}

func (c countingConn) Write(b []byte) (int, error) {
	k, err := c.Conn.Write(b)
	c.n.Add(int64(k))
	return k, err
}
