package express

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore/storetest"
)

// redisURL is the Redis server of the tests: SESSION_TEST_REDIS_URL, or
// the local one.
func redisURL() string { return envOr("SESSION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0") }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// redisTarget returns connect-redis's records under a prefix of t's own,
// deleted when t ends, or skips t if Redis does not answer.
func redisTarget(t *testing.T) target {
	t.Helper()
	opt, err := redis.ParseURL(redisURL())
	require.NoError(t, err, "SESSION_TEST_REDIS_URL")
	opt.DialTimeout = 2 * time.Second
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		storetest.Require(t, "Redis", err)
	}
	prefix := "express-test-" + suffix() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
		_ = c.Close()
	})
	b, err := NewRedis(c, WithPrefix(prefix))
	require.NoError(t, err)
	return target{b: b, env: []string{"STORE=redis", "REDIS_URL=" + redisURL(), "SESSION_PREFIX=" + prefix}, atomicSwap: true}
}

// TestRedisCluster runs the Backend and Store checks on a Redis Cluster
// (SESSION_TEST_REDIS_CLUSTER, or scripts/redis-cluster.sh's addresses):
// each call of the Backend touches one key.
func TestRedisCluster(t *testing.T) {
	addrs := strings.Split(envOr("SESSION_TEST_REDIS_CLUSTER", "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003,127.0.0.1:7004,127.0.0.1:7005,127.0.0.1:7006"), ",")
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DialTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := c.ClusterInfo(ctx).Result()
	if err == nil && !strings.Contains(info, "cluster_state:ok") {
		err = errors.New("cluster_state is not ok")
	}
	storetest.Require(t, "Redis Cluster", err)
	prefix := "express-test-" + suffix() + ":"
	t.Cleanup(func() {
		_ = c.ForEachMaster(context.Background(), func(ctx context.Context, n *redis.Client) error {
			if keys, _ := n.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
				for _, k := range keys {
					n.Del(ctx, k)
				}
			}
			return nil
		})
	})
	b, err := NewRedis(c, WithPrefix(prefix))
	require.NoError(t, err)
	t.Run("Backend", func(t *testing.T) { runBackend(t, b) })
	t.Run("Store", func(t *testing.T) { runStore(t, target{b: b, atomicSwap: true}) })
}

func TestRedis(t *testing.T) {
	t.Run("Backend", func(t *testing.T) { runBackend(t, redisTarget(t).b) })
	t.Run("Store", func(t *testing.T) { runStore(t, redisTarget(t)) })
	t.Run("Node", func(t *testing.T) { runNode(t, redisTarget(t)) })
}

// TestRedisUnresponsive checks that WithTimeout bounds each call, with a
// client that honours its context's deadline (ContextTimeoutEnabled).
func TestRedisUnresponsive(t *testing.T) {
	opt, err := redis.ParseURL(redisURL())
	require.NoError(t, err, "SESSION_TEST_REDIS_URL")
	p := proxy(t, opt.Addr)
	p.Stall()
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1,
		DialTimeout: time.Minute, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	defer c.Close()
	timeout := 300 * time.Millisecond
	b, err := NewRedis(c, WithTimeout(timeout))
	require.NoError(t, err)
	runUnreachable(t, b, timeout)
}

// TestNotASession checks that a record that is not an express-session
// session object, under a cookie signed with the secret, fails the load
// rather than starting a new session, which would log the user out of
// both apps.
func TestNotASession(t *testing.T) {
	tg := redisTarget(t)
	st := newStore(t, tg.b)
	for _, data := range []string{`not JSON`, `["an array"]`, `{"no":"cookie"}`, `{"cookie":{"expires":"not a date"}}`} {
		sid := newSID()
		require.NoError(t, tg.b.Set(context.Background(), sid, []byte(data), time.Now().Add(time.Hour)))
		rec, err := st.Load(context.Background(), tokenOf("test secret", sid))
		assert.Nil(t, rec)
		require.Error(t, err, data)
		assert.NotErrorIs(t, err, session.ErrInvalidToken, data)
		assert.ErrorContains(t, err, "not an express-session session object", data)
		assert.NotContains(t, err.Error(), sid, "the error shows the session ID")
	}
}
