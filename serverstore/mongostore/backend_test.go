package mongostore

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

func TestTTLIndexOrSweeper(t *testing.T) {
	client := connect(t, nil)
	db := client.Database(testDB)
	ctx := t.Context()

	// What the server answers to a TTL index, asked directly.
	probe := randomName()
	dropWhenDone(t, db, probe)
	_, err := db.Collection(probe).Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: fieldExpires, Value: 1}},
		Options: options.Index().SetExpireAfterSeconds(0),
	})
	serverTTL := err == nil
	if !serverTTL {
		require.True(t, noTTL(err), "the server refused a TTL index otherwise than as not implemented: %v", err)
	}
	t.Logf("the server has TTL indexes: %v", serverTTL)

	b := open(t, client, WithSweepInterval(time.Hour))
	assert.Equal(t, serverTTL, b.ttl)
	assert.Equal(t, serverTTL, b.sweeper == nil, "a sweeper runs where, and only where, the server has no TTL index")

	cur, err := b.coll.Indexes().List(ctx)
	require.NoError(t, err)
	var specs []struct {
		Name   string   `bson:"name"`
		Key    bson.D   `bson:"key"`
		Expire *float64 `bson:"expireAfterSeconds"`
	}
	require.NoError(t, cur.All(ctx, &specs))
	byName := map[string]bson.D{}
	for _, s := range specs {
		byName[s.Name] = s.Key
		if s.Name == indexExpires {
			if serverTTL {
				require.NotNil(t, s.Expire, "the expires index is no TTL index")
				assert.Zero(t, *s.Expire)
			} else {
				assert.Nil(t, s.Expire)
			}
		}
	}
	assert.Equal(t, bson.D{{Key: fieldUser, Value: int32(1)}}, byName[indexUser])
	assert.Equal(t, bson.D{{Key: fieldExpires, Value: int32(1)}}, byName[indexExpires])

	// A second Backend on the same collection finds its indexes there.
	_, err = New(ctx, db, WithCollection(b.cfg.collection), WithSweepInterval(0))
	require.NoError(t, err)

	// Only "not implemented" means no TTL.
	assert.False(t, noTTL(nil))
	assert.False(t, noTTL(context.DeadlineExceeded))
	assert.False(t, noTTL(mongo.CommandError{Code: codeIndexOptionsConflict, Name: "IndexOptionsConflict"}))
}

func TestIndexInTheWay(t *testing.T) {
	client := connect(t, nil)
	db := client.Database(testDB)
	name := randomName()
	dropWhenDone(t, db, name)
	_, err := db.Collection(name).Indexes().CreateOne(t.Context(), mongo.IndexModel{
		Keys:    bson.D{{Key: "data", Value: 1}},
		Options: options.Index().SetName(indexUser),
	})
	require.NoError(t, err)
	_, err = New(t.Context(), db, WithCollection(name))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `the collection "`+name+`" has an index in the way of mongostore's "user"`)
}

// commands records the names of the commands a client sends.
type commands struct {
	mu    sync.Mutex
	names []string
}

func (c *commands) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.names = append(c.names, e.CommandName)
	}}
}

// during returns the commands f sends.
func (c *commands) during(f func()) []string {
	c.mu.Lock()
	c.names = nil
	c.mu.Unlock()
	f()
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.names)
}

// eachMode runs f on a Backend of client's server that uses plain
// compare-and-set, as on MongoDB, and, where the server needs them
// (FerretDB 1.x), on one that takes locks. Plain compare-and-set is
// right on FerretDB too as long as nothing runs concurrently.
func eachMode(t *testing.T, client *mongo.Client, opts []Option, f func(t *testing.T, b *Backend)) {
	t.Run("compare-and-set", func(t *testing.T) {
		b := open(t, client, opts...)
		b.locks = nil
		f(t, b)
	})
	t.Run("locked", func(t *testing.T) {
		b := open(t, client, opts...)
		if b.locks == nil {
			t.Skip("the server's compare-and-set is atomic: no locks")
		}
		f(t, b)
	})
}

func TestRoundTrips(t *testing.T) {
	var cmds commands
	client := connect(t, cmds.monitor())
	eachMode(t, client, nil, func(t *testing.T, b *Backend) {
		ctx := t.Context()
		key := storetest.NewKey()
		v1 := serverstore.Entry{Data: []byte("v1"), Expires: time.Now().Add(time.Hour), UserID: "alice"}
		v2 := serverstore.Entry{Data: []byte("v2"), Expires: time.Now().Add(time.Hour), UserID: "alice"}
		write := func(e serverstore.Entry) func([]byte, bool) (serverstore.Entry, bool, error) {
			return func([]byte, bool) (serverstore.Entry, bool, error) { return e, true, nil }
		}
		// Under a lock, a write takes it (an insert) and releases it (a
		// delete), and an Update reads what it changes, hint or not.
		want := func(plain, underLock []string) []string {
			if b.locks == nil {
				return plain
			}
			return underLock
		}
		lockedUpdate := []string{"insert", "find", "update", "delete"}

		assert.Equal(t, want([]string{"update"}, []string{"insert", "update", "delete"}),
			cmds.during(func() { require.NoError(t, b.Commit(ctx, key, v1)) }), "Commit: one upsert")
		assert.Equal(t, []string{"find"}, cmds.during(func() {
			data, found, err := b.Find(ctx, key)
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, "v1", string(data))
		}), "Find: one find, as a read-only request costs")
		assert.Equal(t, want([]string{"update"}, lockedUpdate),
			cmds.during(func() { require.NoError(t, b.Update(ctx, key, &v1, write(v2))) }),
			"Update with the right hint: one compare-and-set, no read")
		assert.Equal(t, want([]string{"update", "find", "update"}, lockedUpdate),
			cmds.during(func() { require.NoError(t, b.Update(ctx, key, &v1, write(v1))) }),
			"Update with a stale hint: the failed compare-and-set, a read, and the one that succeeds")
		assert.Equal(t, want([]string{"find", "update"}, lockedUpdate),
			cmds.during(func() { require.NoError(t, b.Update(ctx, key, nil, write(v2))) }),
			"Update without hint: a read and a compare-and-set")
		assert.Equal(t, []string{"delete"}, cmds.during(func() {
			n, err := b.DeleteUser(ctx, "alice")
			require.NoError(t, err)
			require.Equal(t, 1, n)
		}), `"log out everywhere": one delete`)
	})
}

func TestConcurrentCommitsOfNewKey(t *testing.T) {
	// Upserts of a key that does not exist yet may all try to insert it:
	// those that meet a duplicate key go again, and replace it.
	b := open(t, connect(t, nil))
	for range 20 {
		key := storetest.NewKey()
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(t, b.Commit(t.Context(), key, serverstore.Entry{Data: []byte("x"), Expires: time.Now().Add(time.Hour)}))
			}()
		}
		wg.Wait()
	}
}

func TestUpdateConflict(t *testing.T) {
	// A write between Update's read and its compare-and-set: fn runs
	// again on what that wrote, or, with no retries left, Update fails
	// with ErrConflict and writes nothing. (Under a lock, no such write
	// can happen: the test writes from fn, which would wait for the lock
	// fn's Update holds.)
	client := connect(t, nil)
	ctx := t.Context()
	for _, retries := range []int{0, 1} {
		b := open(t, client, WithMaxRetries(retries))
		b.locks = nil
		key := storetest.NewKey()
		entry := func(s string) serverstore.Entry {
			return serverstore.Entry{Data: []byte(s), Expires: time.Now().Add(time.Hour)}
		}
		require.NoError(t, b.Commit(ctx, key, entry("v1")))
		var seen []string
		err := b.Update(ctx, key, nil, func(data []byte, _ bool) (serverstore.Entry, bool, error) {
			seen = append(seen, string(data))
			if len(seen) == 1 {
				// Another client's write (a test may break fn's rule).
				require.NoError(t, b.Commit(ctx, key, entry("other")))
			}
			return entry(string(data) + "+mine"), true, nil
		})
		stored, _, ferr := b.Find(ctx, key)
		require.NoError(t, ferr)
		if retries == 0 {
			require.ErrorIs(t, err, serverstore.ErrConflict)
			assert.Equal(t, []string{"v1"}, seen)
			assert.Equal(t, "other", string(stored))
		} else {
			require.NoError(t, err)
			assert.Equal(t, []string{"v1", "other"}, seen)
			assert.Equal(t, "other+mine", string(stored))
		}
	}
}

func TestCommitDuringUpdate(t *testing.T) {
	// A Commit while an Update runs fn: the two are applied one after the
	// other, whichever first. Either the Commit comes after (it waits for
	// the lock, and its entry stays) or before (the compare-and-set
	// fails, and fn runs again on the committed entry).
	eachMode(t, connect(t, nil), nil, func(t *testing.T, b *Backend) {
		ctx := t.Context()
		key := storetest.NewKey()
		entry := func(s string) serverstore.Entry {
			return serverstore.Entry{Data: []byte(s), Expires: time.Now().Add(time.Hour)}
		}
		require.NoError(t, b.Commit(ctx, key, entry("v1")))
		inFn, proceed := make(chan struct{}), make(chan struct{})
		var once sync.Once
		var seen []string
		updated := make(chan error, 1)
		go func() {
			updated <- b.Update(ctx, key, nil, func(data []byte, _ bool) (serverstore.Entry, bool, error) {
				seen = append(seen, string(data))
				once.Do(func() {
					close(inFn)
					<-proceed
				})
				return entry("updated"), true, nil
			})
		}()
		<-inFn
		committed := make(chan error, 1)
		go func() { committed <- b.Commit(ctx, key, entry("committed")) }()
		// Time for the Commit to land, if nothing holds it back.
		select {
		case err := <-committed:
			require.NoError(t, err)
			committed <- nil
		case <-time.After(200 * time.Millisecond):
		}
		close(proceed)
		require.NoError(t, <-updated)
		require.NoError(t, <-committed)
		data, _, err := b.Find(ctx, key)
		require.NoError(t, err)
		switch string(data) {
		case "committed":
			assert.Equal(t, []string{"v1"}, seen, "the Commit came after the Update")
		case "updated":
			assert.Equal(t, "committed", seen[len(seen)-1], "the Update wrote over a Commit it never saw")
		default:
			t.Fatalf("stored %q", data)
		}
	})
}

func TestUpdatesOfTwoProcesses(t *testing.T) {
	// Two Backends on one collection, as two instances of an
	// application, increment one counter at once: compare-and-set (and
	// FerretDB 1.x's lock, which the Backends share through the server
	// only) loses none of the increments.
	client := connect(t, nil)
	a := open(t, client)
	b, err := New(t.Context(), client.Database(testDB), WithCollection(a.cfg.collection), WithSweepInterval(0))
	require.NoError(t, err)
	ctx := t.Context()
	key := storetest.NewKey()
	expires := time.Now().Add(time.Hour)
	counter := func(n uint64) serverstore.Entry {
		return serverstore.Entry{Data: binary.BigEndian.AppendUint64(nil, n), Expires: expires}
	}
	require.NoError(t, a.Commit(ctx, key, counter(0)))
	const each = 40
	var wg sync.WaitGroup
	for _, backend := range []*Backend{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := backend.Update(ctx, key, nil, func(data []byte, _ bool) (serverstore.Entry, bool, error) {
					return counter(binary.BigEndian.Uint64(data) + 1), true, nil
				})
				if !assert.NoError(t, err) {
					return
				}
			}
		}()
	}
	wg.Wait()
	data, found, err := a.Find(ctx, key)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, uint64(4*each), binary.BigEndian.Uint64(data), "increments lost")
}

func TestStaleLock(t *testing.T) {
	// A lock left behind by an Update that lost the server (or its
	// process) blocks its session for two leases at most, and the
	// sweeper removes it once expired.
	client := connect(t, nil)
	b := open(t, client, WithTimeout(200*time.Millisecond)) // a lease of 1 s
	if b.locks == nil {
		t.Skip("the server's compare-and-set is atomic: no locks")
	}
	ctx := t.Context()
	key := storetest.NewKey()
	e := serverstore.Entry{Data: []byte("x"), Expires: time.Now().Add(time.Hour)}
	write := func([]byte, bool) (serverstore.Entry, bool, error) { return e, true, nil }

	// Take the lock as an Update does, and never release it.
	_, err := b.locks.lockServer(ctx, key)
	require.NoError(t, err)
	taken := time.Now()
	err = b.Update(context.Background(), key, nil, write)
	require.ErrorIs(t, err, context.DeadlineExceeded, "Update went ahead while another held the lock")
	assert.Contains(t, err.Error(), "mongostore: update: ")

	require.Eventually(t, func() bool { return b.Update(ctx, key, nil, write) == nil }, 3*b.locks.lease, 50*time.Millisecond,
		"the session stayed locked")
	assert.Less(t, time.Since(taken), 2*b.locks.lease+time.Second, "locked longer than two leases")

	// The stale lock's documents are still there, until a sweep after
	// they expire.
	held := func() int64 {
		n, err := b.locks.coll.CountDocuments(ctx, bson.D{})
		require.NoError(t, err)
		return n
	}
	require.Equal(t, int64(2), held())
	time.Sleep(time.Until(taken.Add(2 * b.locks.lease)))
	_, err = b.Sweep(ctx)
	require.NoError(t, err)
	assert.Zero(t, held(), "the sweep left an expired lock")
}

func TestErrorsQuoteNoKeys(t *testing.T) {
	// A server's messages may quote a key (a duplicate key error does):
	// the Backend's errors give its codes instead.
	client := connect(t, nil)
	b := open(t, client)
	key := storetest.NewKey()
	_, err := b.coll.InsertOne(t.Context(), bson.D{{Key: fieldID, Value: key}})
	require.NoError(t, err)
	_, err = b.coll.InsertOne(t.Context(), bson.D{{Key: fieldID, Value: key}})
	require.True(t, mongo.IsDuplicateKeyError(err))
	wrapped := fail("commit", err)
	assert.NotContains(t, wrapped.Error(), key)
	assert.Contains(t, wrapped.Error(), "mongostore: commit: server error, codes [11000]")
	var se mongo.ServerError
	assert.True(t, errors.As(wrapped, &se), "the driver's error is still there for errors.As")

	// Network failures keep their message, which names the address.
	_, _, err = unconnected(clientOf(t, "127.0.0.1:1")).Find(t.Context(), key)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "127.0.0.1:1")
	assert.NotContains(t, err.Error(), key)
}

func TestFerretDBVersion(t *testing.T) {
	for v, two := range map[string]bool{"v1.24.2": false, "unknown": false, "": false, "v2.0.0": true, "2.1.0": true, "v10.0.0": true} {
		assert.Equal(t, two, ferretDB2(v), v)
	}
}
