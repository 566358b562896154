package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/redisstore"
	"github.com/go-sealed/session/serverstore/storetest"
	"github.com/redis/go-redis/v9"
)

// redisOptions returns the options for the Redis at SESSION_TEST_REDIS_URL
// (default redis://127.0.0.1:6379/0), after checking that it answers. An
// unreachable Redis skips b, or fails it under SESSION_TEST_SERVICES=require.
func redisOptions(b testing.TB) *redis.Options {
	url := os.Getenv("SESSION_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		b.Fatalf("SESSION_TEST_REDIS_URL: %v", err)
	}
	// As redisstore's documentation advises; scs, on a client of the same
	// options, is not affected either way.
	opt.ContextTimeoutEnabled = true
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	storetest.Require(b, "Redis at "+opt.Addr, c.Ping(ctx).Err())
	return opt
}

// redisCounter is a go-redis hook that counts the commands a client sends
// (a pipeline's or transaction's one by one, MULTI and EXEC included) and
// the round trips they take (a pipeline is one).
type redisCounter struct {
	cmds, trips atomic.Int64
}

func (*redisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.cmds.Add(1)
		c.trips.Add(1)
		return next(ctx, cmd)
	}
}

func (c *redisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.cmds.Add(int64(len(cmds)))
		c.trips.Add(1)
		return next(ctx, cmds)
	}
}

func (c *redisCounter) reset() {
	c.cmds.Store(0)
	c.trips.Store(0)
}

func (c *redisCounter) report(b *testing.B) {
	b.ReportMetric(float64(c.cmds.Load())/float64(b.N), "cmds/op")
	b.ReportMetric(float64(c.trips.Load())/float64(b.N), "trips/op")
}

// countedClient returns a client of its own, counted by its own hook, that
// is closed when b ends.
func countedClient(b testing.TB, opt *redis.Options) (*redis.Client, *redisCounter) {
	c := redis.NewClient(opt)
	n := new(redisCounter)
	c.AddHook(n)
	b.Cleanup(func() { _ = c.Close() })
	return c, n
}

// cleanRedis deletes every key under prefix, the sessions a benchmark
// made, when b ends.
func cleanRedis(b testing.TB, c *redis.Client, prefix string) {
	b.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			_ = c.Del(ctx, keys...).Err()
		}
	})
}

// benchPrefix is a key prefix no other run or test shares.
func benchPrefix(lib string) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return "go-sealed-bench:" + lib + ":" + hex.EncodeToString(r[:]) + ":"
}

func benchRedis(b *testing.B) {
	opt := redisOptions(b)
	t := typicalSession()
	b.Run("sealed", func(b *testing.B) {
		c, n := countedClient(b, opt)
		prefix := benchPrefix("sealed")
		cleanRedis(b, c, prefix)
		m := session.New(serverstore.New(redisstore.New(c, redisstore.WithPrefix(prefix))))
		benchServerLib(b, newSealedServer(t, m), n)
	})
	b.Run("scs", func(b *testing.B) {
		c, n := countedClient(b, opt)
		prefix := benchPrefix("scs")
		cleanRedis(b, c, prefix)
		sm := scs.New()
		sm.Store = goredisstore.NewWithPrefix(c, prefix)
		benchServerLib(b, newSCS(t, sm), n)
	})
}

// TestServerRedisRoundTrips checks what BenchmarkServer/redis reports as a
// target: a read-only request is one round trip to Redis, as with scs,
// and a request that changes a key takes no more round trips than with
// scs (two: the read, and a write that checks nothing came between).
func TestServerRedisRoundTrips(t *testing.T) {
	opt := redisOptions(t)
	want := typicalSession()
	trips := func(name string, lib func(*redis.Client, string) serverLib) (readonly, write int64) {
		c, n := countedClient(t, opt)
		prefix := benchPrefix(name)
		cleanRedis(t, c, prefix)
		l := lib(c, prefix)
		cookie, _ := savedCookie(t, l.save)
		n.reset()
		mustOK(t, serve(l.read, withCookie("GET", "/", cookie)))
		readonly = n.trips.Load()
		n.reset()
		mustOK(t, serve(l.write, withCookie("POST", "/theme", cookie)))
		return readonly, n.trips.Load()
	}
	sealedRead, sealedWrite := trips("sealed", func(c *redis.Client, prefix string) serverLib {
		return newSealedServer(want, session.New(serverstore.New(redisstore.New(c, redisstore.WithPrefix(prefix)))))
	})
	scsRead, scsWrite := trips("scs", func(c *redis.Client, prefix string) serverLib {
		sm := scs.New()
		sm.Store = goredisstore.NewWithPrefix(c, prefix)
		return newSCS(want, sm)
	})
	t.Logf("round trips: read-only %d (scs %d), write %d (scs %d)", sealedRead, scsRead, sealedWrite, scsWrite)
	if sealedRead != 1 {
		t.Errorf("a read-only request took %d round trips, want 1", sealedRead)
	}
	if sealedWrite > scsWrite || sealedWrite != 2 {
		t.Errorf("a write took %d round trips, want 2 and no more than scs's %d", sealedWrite, scsWrite)
	}
}
