package redisstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// scanAll returns what b's Scan yields, key to data, failing t on an
// error or a key yielded twice.
func scanAll(t *testing.T, b *Backend) map[string]string {
	t.Helper()
	got := map[string]string{}
	for kd, err := range b.Scan(t.Context()) {
		require.NoError(t, err)
		_, dup := got[kd.Key]
		require.False(t, dup, "Scan yielded a key twice")
		got[kd.Key] = string(kd.Data)
	}
	return got
}

// commitN commits n live entries to b, a third of them anonymous and the
// others alice's and bob's, and returns them, key to data.
func commitN(t *testing.T, b *Backend, n int, tag string) map[string]string {
	t.Helper()
	want := map[string]string{}
	for i := range n {
		key, data := storetest.NewKey(), fmt.Sprintf("%s %d", tag, i)
		e := serverstore.Entry{Data: []byte(data), Expires: time.Now().Add(time.Hour), UserID: []string{"", "alice", "bob"}[i%3]}
		require.NoError(t, b.Commit(t.Context(), key, e))
		want[key] = data
	}
	return want
}

// testScanPrefixes checks that Scan, Count and DeleteAll see only the keys
// under their Backend's prefix: not those of a Backend whose prefix
// matches it as a SCAN pattern (it holds a '*'), nor those of one whose
// prefix begins with it.
func testScanPrefixes(t *testing.T, c redis.UniversalClient) {
	ctx := t.Context()
	_, base := newTestStore(t, c)
	mine := New(c, WithPrefix(base+"a*:"))
	others := []*Backend{New(c, WithPrefix(base+"ab:")), New(c, WithPrefix(base+"a*:x:"))}

	want := commitN(t, mine, 30, "mine")
	theirs := map[*Backend]map[string]string{}
	for _, o := range others {
		theirs[o] = commitN(t, o, 10, "theirs")
	}

	require.Equal(t, want, scanAll(t, mine))
	n, err := mine.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, len(want), n)
	n, err = mine.DeleteAll(ctx)
	require.NoError(t, err)
	require.Equal(t, len(want), n)
	keys, err := scanKeys(ctx, c, base+`a\*:`)
	require.NoError(t, err)
	for _, k := range keys {
		require.Contains(t, k, base+"a*:x:", "DeleteAll left a key of its own prefix")
	}
	for _, o := range others {
		require.Equal(t, theirs[o], scanAll(t, o), "another prefix's sessions after DeleteAll")
		require.Len(t, userKeysOf(t, o, "alice"), 3, "another prefix's index after DeleteAll")
	}
}

// userKeysOf returns the keys o lists under user.
func userKeysOf(t *testing.T, o *Backend, user string) map[string][]byte {
	t.Helper()
	got, err := o.FindUser(t.Context(), user)
	require.NoError(t, err)
	return got
}

// testDeleteAllIndexes checks that DeleteAll leaves no key under its
// prefix: index members of sessions Redis has already expired, which
// only the index still names, go too.
func testDeleteAllIndexes(t *testing.T, c redis.UniversalClient) {
	ctx := t.Context()
	b, prefix := newTestStore(t, c)
	// A session of alice's that Redis expires, and whose member stays in
	// her index, which her live sessions keep.
	require.NoError(t, b.Commit(ctx, storetest.NewKey(), serverstore.Entry{Data: []byte("short"), Expires: time.Now().Add(100 * time.Millisecond), UserID: "alice"}))
	commitN(t, b, 12, "live")
	// An Update indexes with a minute's slack: a member, and an index,
	// that outlive their session by a minute.
	require.NoError(t, b.Update(ctx, storetest.NewKey(), nil, func([]byte, bool) (serverstore.Entry, bool, error) {
		return serverstore.Entry{Data: []byte("updated"), Expires: time.Now().Add(100 * time.Millisecond), UserID: "dave"}, true, nil
	}))
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, int64(5), c.ZCard(ctx, prefix+"u:{alice}").Val(), "alice's index: 4 live sessions and an expired one")
	require.Equal(t, int64(1), c.ZCard(ctx, prefix+"u:{dave}").Val(), "dave's index outlives his session")

	n, err := b.DeleteAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 12, n, "DeleteAll counts the live sessions it deleted")
	keys, err := scanKeys(ctx, c, prefix)
	require.NoError(t, err)
	require.Empty(t, keys, "DeleteAll left keys under its prefix")
}

// testDeleteAllUnderConcurrency runs DeleteAll while writers commit,
// update and delete sessions of a few users: afterwards every live
// session must still be in its user's index (checkIndex), whether
// DeleteAll ended it or not.
func testDeleteAllUnderConcurrency(t *testing.T, c redis.UniversalClient) {
	ctx := t.Context()
	b, prefix := newTestStore(t, c)
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = storetest.NewKey()
	}
	users := []string{"", "alice", "bob", "carol"}
	entry := func() serverstore.Entry {
		return serverstore.Entry{Data: []byte("x"), Expires: time.Now().Add(time.Hour), UserID: users[rand.IntN(len(users))]}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				key := keys[rand.IntN(len(keys))]
				var err error
				switch rand.IntN(4) {
				case 0:
					err = b.Delete(ctx, key)
				case 1:
					err = b.Update(ctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) { return entry(), true, nil })
				default:
					err = b.Commit(ctx, key, entry())
				}
				if !assert.NoError(t, err) {
					return
				}
			}
		}()
	}
	for range 5 {
		_, err := b.DeleteAll(ctx)
		require.NoError(t, err)
	}
	close(stop)
	wg.Wait()
	checkIndex(t, c, prefix)
}

// TestScanRing runs Scan, Count and DeleteAll on a Ring of two shards
// (two databases of the test Redis), which must each be scanned.
func TestScanRing(t *testing.T) {
	base := singleClient(t).Options()
	shardDB := map[string]int{"shard-a": base.DB, "shard-b": base.DB + 1}
	ring := redis.NewRing(&redis.RingOptions{
		Addrs:       map[string]string{"a": "shard-a", "b": "shard-b"},
		Username:    base.Username,
		Password:    base.Password,
		DialTimeout: base.DialTimeout,
		NewClient: func(o *redis.Options) *redis.Client {
			o.DB = shardDB[o.Addr]
			o.Addr = base.Addr
			return redis.NewClient(o)
		},
	})
	t.Cleanup(func() { _ = ring.Close() })
	ctx := t.Context()
	prefix := "redisstore-test:" + storetest.NewKey()[:16] + ":"
	b := New(ring, WithPrefix(prefix))
	// shardKeys counts the keys under prefix in each shard, read directly.
	shardKeys := func() []int {
		var counts []int
		for _, db := range shardDB {
			o := *base
			o.DB = db
			c := redis.NewClient(&o)
			keys, err := scanKeys(ctx, c, prefix)
			_ = c.Close()
			require.NoError(t, err)
			counts = append(counts, len(keys))
		}
		return counts
	}
	t.Cleanup(func() {
		if _, err := b.DeleteAll(context.Background()); err != nil {
			t.Errorf("cleaning up test keys: %v", err)
		}
	})

	want := commitN(t, b, 60, "ring")
	for _, n := range shardKeys() {
		require.Positive(t, n, "a shard holds none of the sessions")
	}
	require.Equal(t, want, scanAll(t, b))
	n, err := b.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, len(want), n)
	n, err = b.DeleteAll(ctx)
	require.NoError(t, err)
	require.Equal(t, len(want), n)
	require.Equal(t, []int{0, 0}, shardKeys(), "DeleteAll left keys in a shard")
}
