package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// The tests run against real servers: a single node at
// SESSION_TEST_REDIS_URL, and a cluster at SESSION_TEST_REDIS_CLUSTER
// (scripts/redis-cluster.sh starts one on the default addresses). A
// server that is not there skips its tests, or fails them with
// SESSION_TEST_SERVICES=require.

const (
	defaultRedisURL = "redis://127.0.0.1:6379/0"
	defaultCluster  = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003,127.0.0.1:7004,127.0.0.1:7005,127.0.0.1:7006"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; the unreachable-server tests make
	// hundreds on purpose. Errors reach the tests as errors anyway.
	redis.SetLogger(discard{})
	os.Exit(m.Run())
}

type discard struct{}

func (discard) Printf(context.Context, string, ...any) {}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// singleClient returns a client of the single-node test Redis, closed when
// t ends, or skips t if there is none.
func singleClient(t testing.TB, hooks ...redis.Hook) *redis.Client {
	t.Helper()
	return singleClientWith(t, func(*redis.Options) {}, hooks...)
}

// singleClientWith is singleClient with options of its own, set by
// configure.
func singleClientWith(t testing.TB, configure func(*redis.Options), hooks ...redis.Hook) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(envOr("SESSION_TEST_REDIS_URL", defaultRedisURL))
	require.NoError(t, err, "SESSION_TEST_REDIS_URL")
	opt.DialTimeout = 2 * time.Second
	configure(opt)
	c := redis.NewClient(opt)
	for _, h := range hooks {
		c.AddHook(h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		storetest.Require(t, "Redis", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// clusterClient returns a client of the test Redis Cluster, closed when t
// ends, or skips t if there is none or it is not healthy.
func clusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	c := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:       strings.Split(envOr("SESSION_TEST_REDIS_CLUSTER", defaultCluster), ","),
		DialTimeout: 2 * time.Second,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := c.ClusterInfo(ctx).Result()
	if err == nil && !strings.Contains(info, "cluster_state:ok") {
		err = errors.New("cluster_state is not ok")
	}
	if err == nil {
		err = c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error { return n.Ping(ctx).Err() })
	}
	if err != nil {
		_ = c.Close()
		storetest.Require(t, "Redis Cluster", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newTestStore returns a Store on c with a fresh random prefix, whose keys
// are deleted when t ends.
func newTestStore(t testing.TB, c redis.UniversalClient, opts ...Option) (*Backend, string) {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	prefix := "redisstore-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		keys, err := scanKeys(ctx, c, prefix)
		if err == nil && len(keys) > 0 {
			_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range keys {
					p.Unlink(ctx, k) // one key a command: keys may be in any slot
				}
				return nil
			})
		}
		if err != nil {
			t.Errorf("cleaning up test keys: %v", err)
		}
	})
	return New(c, append([]Option{WithPrefix(prefix)}, opts...)...), prefix
}

// scanKeys lists the keys beginning with prefix, on every primary of a
// cluster.
func scanKeys(ctx context.Context, c redis.UniversalClient, prefix string) ([]string, error) {
	scan := func(ctx context.Context, n redis.Cmdable) ([]string, error) {
		var keys []string
		it := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for it.Next(ctx) {
			keys = append(keys, it.Val())
		}
		return keys, it.Err()
	}
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return scan(ctx, c)
	}
	var (
		mu   sync.Mutex
		keys []string
	)
	err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		ks, err := scan(ctx, n)
		mu.Lock()
		keys = append(keys, ks...)
		mu.Unlock()
		return err
	})
	return keys, err
}

// factory makes the conformance suite's backends. Each is checked with
// checkIndex when its test ends, after whatever the test did to it:
// concurrent writes and logouts included.
func factory(c redis.UniversalClient) func(t *testing.T) serverstore.Backend {
	return func(t *testing.T) serverstore.Backend {
		s, prefix := newTestStore(t, c)
		// Cleanups run last first: this check runs before the keys go.
		t.Cleanup(func() { checkIndex(t, c, prefix) })
		return s
	}
}

// checkIndex fails t unless every live session under prefix that has an
// owner is in that user's index with a score no lower than its expiry:
// the property the index's protocol (index first, re-check after every
// removal) exists for.
func checkIndex(t *testing.T, c redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := scanKeys(ctx, c, prefix+"s:")
	require.NoError(t, err)
	for _, k := range keys {
		v, err := c.HMGet(ctx, k, "u", "e").Result()
		require.NoError(t, err)
		user, _ := v[0].(string)
		ms, ok := millis(v[1])
		if user == "" || !ok || time.Until(time.UnixMilli(ms)) < time.Second {
			continue // no owner, or gone (with its index, maybe) by the time it is checked
		}
		key := strings.TrimSuffix(strings.TrimPrefix(k, prefix+"s:{"), "}")
		score, err := c.ZScore(ctx, prefix+"u:{"+user+"}", key).Result()
		require.NoError(t, err, "a live session of %s is missing from their index", user)
		require.GreaterOrEqual(t, score, float64(ms), "an index member's score is below its session's expiry")
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, factory(singleClient(t)))
}

// TestConformanceContextTimeouts runs the suite on a client that stops at
// a context's deadline itself, as the package documentation advises.
func TestConformanceContextTimeouts(t *testing.T) {
	c := singleClientWith(t, func(o *redis.Options) { o.ContextTimeoutEnabled = true })
	storetest.Run(t, factory(c))
}

func TestRedis(t *testing.T) {
	runSpecific(t, singleClient(t))
}

// TestCluster runs the conformance suite and the Redis-specific tests on
// a Redis Cluster, which refuses any command or transaction spanning two
// slots: every operation passing there proves it needs none.
func TestCluster(t *testing.T) {
	c := clusterClient(t)
	t.Run("Conformance", func(t *testing.T) { storetest.Run(t, factory(c)) })
	t.Run("Specific", func(t *testing.T) { runSpecific(t, c) })
}

func TestUnreachable(t *testing.T) {
	t.Run("Node", func(t *testing.T) {
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond})
		t.Cleanup(func() { _ = c.Close() })
		storetest.RunUnreachable(t, New(c))
	})
	t.Run("Cluster", func(t *testing.T) {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}, DialTimeout: 200 * time.Millisecond})
		t.Cleanup(func() { _ = c.Close() })
		storetest.RunUnreachable(t, New(c))
	})
	t.Run("Silent", func(t *testing.T) {
		// A server that accepts connections and never answers, as one
		// behind a network partition, and a client that does not enable
		// ContextTimeoutEnabled: its own ReadTimeout must end every call,
		// within RunUnreachable's grace after the context's deadline.
		addr := silentServer(t)
		c := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: time.Second, WriteTimeout: time.Second})
		t.Cleanup(func() { _ = c.Close() })
		storetest.RunUnreachable(t, New(c))
	})
	t.Run("SilentContextTimeouts", func(t *testing.T) {
		// The same with ContextTimeoutEnabled and a ReadTimeout far
		// beyond the grace: go-redis must stop at the context's deadline.
		addr := silentServer(t)
		c := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = c.Close() })
		storetest.RunUnreachable(t, New(c))
	})
}

// silentServer listens on a loopback port, accepts connections, reads
// whatever is sent and never writes a byte, until t ends.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(io.Discard, conn)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// runSpecific runs the tests of what the conformance suite cannot see:
// the keys and expiries in Redis itself.
func runSpecific(t *testing.T, c redis.UniversalClient) {
	t.Run("KeyLayout", func(t *testing.T) { testKeyLayout(t, c) })
	t.Run("NativeExpiry", func(t *testing.T) { testNativeExpiry(t, c) })
	t.Run("IndexRepair", func(t *testing.T) { testIndexRepair(t, c) })
	t.Run("TransactorConflict", func(t *testing.T) { testTransactorConflict(t, c) })
	t.Run("DefaultPrefix", func(t *testing.T) { testDefaultPrefix(t, c) })
	t.Run("HintNilData", func(t *testing.T) { testHintNilData(t, c) })
	t.Run("ScanPrefixes", func(t *testing.T) { testScanPrefixes(t, c) })
	t.Run("DeleteAllIndexes", func(t *testing.T) { testDeleteAllIndexes(t, c) })
	t.Run("DeleteAllUnderConcurrency", func(t *testing.T) { testDeleteAllUnderConcurrency(t, c) })
}

// testKeyLayout checks what a session leaves in Redis: a hash under the
// key (the token's hash) and the user's index, and no token anywhere.
func testKeyLayout(t *testing.T, c redis.UniversalClient) {
	ctx := t.Context()
	s, prefix := newTestStore(t, c)
	now := time.Now()
	rec := &session.Record{
		ID: "id1", Created: now, Touched: now, Expires: now.Add(time.Hour),
		UserID: "alice", Data: []byte("payload"),
	}
	token, err := serverstore.New(s).Save(ctx, "", rec)
	require.NoError(t, err)
	key := storetest.KeyOf(t, token)

	sessionKey, userKey := prefix+"s:{"+key+"}", prefix+"u:{alice}"
	keys, err := scanKeys(ctx, c, prefix)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{sessionKey, userKey}, keys)
	for _, k := range keys {
		require.NotContains(t, k, token, "a Redis key holds the token")
	}

	h, err := c.HGetAll(ctx, sessionKey).Result()
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"d", "u", "e", "v"}, mapKeys(h))
	require.Equal(t, "alice", h["u"])
	require.Equal(t, fmt.Sprint(rec.Expires.UnixMilli()), h["e"])
	for _, v := range h {
		require.NotContains(t, v, token, "a session hash holds the token")
	}
	members, err := c.ZRangeWithScores(ctx, userKey, 0, -1).Result()
	require.NoError(t, err)
	require.Equal(t, []redis.Z{{Score: float64(rec.Expires.UnixMilli()), Member: key}}, members)
}

func mapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// expireTime returns the absolute expiry Redis holds for key, in Unix
// milliseconds: -2 if there is no key, -1 if it has none.
func expireTime(t *testing.T, c redis.UniversalClient, key string) int64 {
	t.Helper()
	ms, err := c.Do(t.Context(), "pexpiretime", key).Int64()
	require.NoError(t, err)
	return ms
}

// testNativeExpiry checks that sessions expire by Redis's own TTL, to
// the millisecond, and that a user's index lives as long as their
// latest session and no longer.
func testNativeExpiry(t *testing.T, c redis.UniversalClient) {
	ctx := t.Context()
	s, prefix := newTestStore(t, c)
	userKey := prefix + "u:{alice}"
	commit := func(key string, ttl time.Duration) int64 {
		exp := time.Now().Add(ttl)
		require.NoError(t, s.Commit(ctx, key, serverstore.Entry{Data: []byte("x"), Expires: exp, UserID: "alice"}))
		return exp.UnixMilli()
	}

	k1 := storetest.NewKey()
	exp1 := commit(k1, time.Hour)
	require.Equal(t, exp1, expireTime(t, c, prefix+"s:{"+k1+"}"), "the session's expiry is not Entry.Expires")
	pttl, err := c.PTTL(ctx, prefix+"s:{"+k1+"}").Result()
	require.NoError(t, err)
	require.InDelta(t, float64(time.Hour), float64(pttl), float64(5*time.Second))
	require.Equal(t, exp1, expireTime(t, c, userKey))

	// A session ending sooner does not shorten the index; one ending
	// later extends it.
	commit(storetest.NewKey(), 10*time.Minute)
	require.Equal(t, exp1, expireTime(t, c, userKey))
	k3 := storetest.NewKey()
	exp3 := commit(k3, 2*time.Hour)
	require.Equal(t, exp3, expireTime(t, c, userKey))
	// Nor does a session's own expiry being brought forward.
	commit(k3, time.Minute)
	require.Equal(t, exp3, expireTime(t, c, userKey))

	// An entry already expired is not stored, and deletes what was.
	k4 := storetest.NewKey()
	commit(k4, -time.Second)
	require.Equal(t, int64(-2), expireTime(t, c, prefix+"s:{"+k4+"}"))
	commit(k1, -time.Millisecond)
	require.Equal(t, int64(-2), expireTime(t, c, prefix+"s:{"+k1+"}"))

	// The zero time is long past; a far future one is kept to the
	// millisecond.
	k6 := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, k6, serverstore.Entry{Data: []byte("x")}))
	require.Equal(t, int64(-2), expireTime(t, c, prefix+"s:{"+k6+"}"))
	far := time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
	require.NoError(t, s.Commit(ctx, k6, serverstore.Entry{Data: []byte("x"), Expires: far}))
	require.Equal(t, far.UnixMilli(), expireTime(t, c, prefix+"s:{"+k6+"}"))

	// Redis drops a session by itself at its expiry.
	k5 := storetest.NewKey()
	commit(k5, 300*time.Millisecond)
	require.Eventually(t, func() bool {
		n, err := c.Exists(ctx, prefix+"s:{"+k5+"}").Result()
		return err == nil && n == 0
	}, 3*time.Second, 50*time.Millisecond)
}

// testIndexRepair checks that an index member naming a session of
// another user, or none, is neither served nor acted on, and is removed.
func testIndexRepair(t *testing.T, c redis.UniversalClient) {
	ctx := t.Context()
	s, prefix := newTestStore(t, c)
	userA := prefix + "u:{A}"
	key := storetest.NewKey()
	e := func(user string) serverstore.Entry {
		return serverstore.Entry{Data: []byte(user + "'s"), Expires: time.Now().Add(time.Hour), UserID: user}
	}

	require.NoError(t, s.Commit(ctx, key, e("A")))
	require.NoError(t, s.Commit(ctx, key, e("B")))
	got, err := s.FindUser(ctx, "A")
	require.NoError(t, err)
	require.Empty(t, got, "A lists a session now B's")
	got, err = s.FindUser(ctx, "B")
	require.NoError(t, err)
	require.Equal(t, map[string][]byte{key: []byte("B's")}, got)
	require.Zero(t, c.Exists(ctx, userA).Val(), "A's index outlived A's last session")

	// Stale members as a lost update or a crash would leave them: one
	// naming B's session, one naming no session at all.
	stale := func() {
		far := float64(time.Now().Add(time.Hour).UnixMilli())
		require.NoError(t, c.ZAdd(ctx, userA, redis.Z{Score: far, Member: key}, redis.Z{Score: far, Member: storetest.NewKey()}).Err())
	}
	stale()
	got, err = s.FindUser(ctx, "A")
	require.NoError(t, err)
	require.Empty(t, got)
	require.Zero(t, c.ZCard(ctx, userA).Val(), "FindUser left stale members in the index")

	stale()
	n, err := s.DeleteUser(ctx, "A")
	require.NoError(t, err)
	require.Zero(t, n)
	data, found, err := s.Find(ctx, key)
	require.NoError(t, err)
	require.True(t, found, "DeleteUser of A deleted B's session")
	require.Equal(t, "B's", string(data))
	require.Zero(t, c.ZCard(ctx, userA).Val(), "DeleteUser left stale members in the index")
}

// testTransactorConflict checks Update under contention: with retries
// every increment lands; without, some give up with ErrConflict, but none
// of those that report success is lost.
func testTransactorConflict(t *testing.T, c redis.UniversalClient) {
	increment := func(s *Backend, key string) error {
		return s.Update(t.Context(), key, nil, func(data []byte, found bool) (serverstore.Entry, bool, error) {
			var n uint64
			if found {
				n = binary.BigEndian.Uint64(data)
			}
			return serverstore.Entry{Data: binary.BigEndian.AppendUint64(nil, n+1), Expires: time.Now().Add(time.Hour), UserID: "alice"}, true, nil
		})
	}
	count := func(s *Backend, key string) uint64 {
		data, found, err := s.Find(t.Context(), key)
		require.NoError(t, err)
		require.True(t, found)
		return binary.BigEndian.Uint64(data)
	}
	const n = 50

	t.Run("Retries", func(t *testing.T) {
		s, _ := newTestStore(t, c)
		key := storetest.NewKey()
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() { defer wg.Done(); assert.NoError(t, increment(s, key)) }()
		}
		wg.Wait()
		require.Equal(t, uint64(n), count(s, key))
		got, err := s.FindUser(t.Context(), "alice")
		require.NoError(t, err)
		require.Len(t, got, 1)
	})

	t.Run("NoRetries", func(t *testing.T) {
		s, _ := newTestStore(t, c, WithMaxRetries(0))
		key := storetest.NewKey()
		var wg sync.WaitGroup
		var ok, conflicts atomic.Uint64
		for range n {
			spawn(&wg, func() {
				switch err := increment(s, key); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, serverstore.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("Update: %v", err)
				}
			})
		}
		wg.Wait()
		t.Logf("%d updates succeeded, %d gave up", ok.Load(), conflicts.Load())
		require.Equal(t, uint64(n), ok.Load()+conflicts.Load())
		require.Positive(t, ok.Load())
		require.Equal(t, ok.Load(), count(s, key), "an Update that reported success was lost")
	})
}

// testDefaultPrefix checks New's defaults, on keys it removes itself.
func testDefaultPrefix(t *testing.T, c redis.UniversalClient) {
	ctx := t.Context()
	s := New(c)
	key := storetest.NewKey()
	t.Cleanup(func() { c.Del(context.Background(), DefaultPrefix+"s:{"+key+"}") })
	require.NoError(t, s.Commit(ctx, key, serverstore.Entry{Data: []byte("x"), Expires: time.Now().Add(time.Minute)}))
	require.Equal(t, int64(1), c.Exists(ctx, "session:s:{"+key+"}").Val())
	require.NoError(t, s.Delete(ctx, key))
	require.Zero(t, c.Exists(ctx, "session:s:{"+key+"}").Val())
}

func BenchmarkRedisFind(b *testing.B) {
	c := singleClient(b)
	s, _ := newTestStore(b, c)
	key := storetest.NewKey()
	data := make([]byte, 512)
	require.NoError(b, s.Commit(b.Context(), key, serverstore.Entry{Data: data, Expires: time.Now().Add(time.Hour), UserID: "alice"}))
	b.ReportAllocs()
	for b.Loop() {
		if _, found, err := s.Find(b.Context(), key); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}

func BenchmarkRedisCommit(b *testing.B) {
	c := singleClient(b)
	for _, user := range []string{"", "alice"} {
		name := "anonymous"
		if user != "" {
			name = "user"
		}
		b.Run(name, func(b *testing.B) {
			s, _ := newTestStore(b, c)
			key := storetest.NewKey()
			e := serverstore.Entry{Data: make([]byte, 512), Expires: time.Now().Add(time.Hour), UserID: user}
			require.NoError(b, s.Commit(b.Context(), key, e))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Commit(b.Context(), key, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// spawn runs f on a new goroutine counted by wg.
func spawn(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}

// TestUpdateRetryIndexesAgainAfterMemberReplaced: an Update whose first
// attempt indexed the key under its user, and lost its compare-and-set,
// must not count on that member in a later attempt when the session is
// already the user's: meanwhile a FindUser may have dropped the member
// (the session was not the user's yet) and another write put it back
// with a lower score, which would fall out of the index before the
// session expires, out of reach of "log out everywhere".
func TestUpdateRetryIndexesAgainAfterMemberReplaced(t *testing.T) {
	ctx := t.Context()
	c := singleClient(t)
	a, prefix := newTestStore(t, c)
	other := New(c, WithPrefix(prefix)) // another process on the same Redis
	key, user := "k1", "U"
	require.NoError(t, a.Commit(ctx, key, serverstore.Entry{Data: []byte("anon"), Expires: time.Now().Add(time.Hour)}))
	shortExp := time.Now().Add(1500 * time.Millisecond)
	calls := 0
	require.NoError(t, a.Update(ctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) {
		calls++
		switch calls {
		case 1: // a concurrent anonymous write: this attempt's write fails, after it indexed the key under U
			require.NoError(t, other.Commit(ctx, key, serverstore.Entry{Data: []byte("anon2"), Expires: time.Now().Add(time.Hour)}))
		case 2: // U lists their sessions (k1 is not U's: dropped), then another request logs k1 in as U, expiring sooner
			_, err := other.FindUser(ctx, user)
			require.NoError(t, err)
			require.NoError(t, other.Commit(ctx, key, serverstore.Entry{Data: []byte("login"), UserID: user, Expires: shortExp}))
		}
		return serverstore.Entry{Data: []byte("mine"), UserID: user, Expires: time.Now().Add(10 * time.Minute)}, true, nil
	}))
	time.Sleep(time.Until(shortExp) + 200*time.Millisecond)
	// U logs in elsewhere: indexing prunes the members whose score passed.
	require.NoError(t, a.Commit(ctx, "k2", serverstore.Entry{Data: []byte("d2"), UserID: user, Expires: time.Now().Add(time.Hour)}))
	listed, err := a.FindUser(ctx, user)
	require.NoError(t, err)
	assert.Contains(t, listed, key, "FindUser misses a live session of the user")
	n, err := a.DeleteUser(ctx, user)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, found, err := a.Find(ctx, key)
	require.NoError(t, err)
	assert.False(t, found, "DeleteUser left a live session of the user")
}
