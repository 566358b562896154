package mongostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
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
	"github.com/go-sealed/session/serverstore/internal/sqlstore/sqltest"
	"github.com/go-sealed/session/serverstore/internal/sweep"
	"github.com/go-sealed/session/serverstore/storetest"
)

// testURL is the server the tests use: SESSION_TEST_MONGO_URL, or the
// FerretDB that scripts/mongo.sh starts. Each test works in collections
// of its own, with random names, in the database testDB, and drops them.
func testURL() string {
	if u := os.Getenv("SESSION_TEST_MONGO_URL"); u != "" {
		return u
	}
	return "mongodb://127.0.0.1:27017"
}

const testDB = "go_sealed_test"

// connect returns a client of the test server, disconnected when t ends,
// or skips t (see storetest.Require) if the server does not answer.
// monitor, if not nil, sees every command the client sends.
func connect(t testing.TB, monitor *event.CommandMonitor) *mongo.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(testURL()).
		SetServerSelectionTimeout(3 * time.Second).
		SetMonitor(monitor))
	if err == nil {
		t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
		err = client.Ping(ctx, nil)
	}
	storetest.Require(t, "MongoDB at "+testURL()+" (scripts/mongo.sh start runs FerretDB there)", err)
	return client
}

// randomName is a collection name no other test uses.
func randomName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t_" + hex.EncodeToString(b[:])
}

// open returns a Backend with no sweeper (unless opts add one) on a
// collection of its own of client's test database, which is dropped when
// t ends.
func open(t testing.TB, client *mongo.Client, opts ...Option) *Backend {
	t.Helper()
	db := client.Database(testDB)
	name := randomName()
	dropWhenDone(t, db, name)
	b, err := New(t.Context(), db, append([]Option{WithCollection(name), WithSweepInterval(0)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// dropWhenDone drops db's collection name, and its locks collection if
// any, when t ends.
func dropWhenDone(t testing.TB, db *mongo.Database, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = db.Collection(name).Drop(ctx)
		_ = db.Collection(name + lockSuffix).Drop(ctx)
	})
}

// held counts every document of b's collection, expired ones included.
func held(t *testing.T, b serverstore.Backend) int {
	n, err := b.(*Backend).coll.CountDocuments(t.Context(), bson.D{})
	require.NoError(t, err)
	return int(n)
}

func TestConformance(t *testing.T) {
	client := connect(t, nil)
	newBackend := func(t *testing.T) serverstore.Backend { return open(t, client) }
	var opts []storetest.Option
	if !open(t, client).ttl {
		// A server without TTL indexes (FerretDB): the sweeper runs.
		opts = append(opts, storetest.WithSweeper(storetest.Sweeper{
			New: func(t *testing.T, interval time.Duration) serverstore.Backend {
				db := client.Database(testDB)
				name := randomName()
				dropWhenDone(t, db, name)
				b, err := New(t.Context(), db, WithCollection(name), WithSweepInterval(interval))
				require.NoError(t, err)
				return b
			},
			Frame:            sweep.Frame,
			Held:             held,
			ServesAfterClose: true,
		}))
	}
	storetest.Run(t, newBackend, opts...)
}

// unconnected returns a Backend on client that has asked its server
// nothing (New would fail on a server that does not answer).
func unconnected(client *mongo.Client, opts ...Option) *Backend {
	return &Backend{newCore(client.Database(testDB), configOf(opts))}
}

// clientOf returns a client of the server at addr, which it does not
// contact until used.
func clientOf(t *testing.T, addr string) *mongo.Client {
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + addr).SetServerSelectionTimeout(time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client
}

func TestUnreachable(t *testing.T) {
	client := clientOf(t, "127.0.0.1:1")
	storetest.RunUnreachable(t, unconnected(client))
	// New asks the server, and fails in time.
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err := New(ctx, client.Database(testDB))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mongostore: create index")
}

func TestUnresponsive(t *testing.T) {
	// A server that accepts connections and never answers: every call
	// must still give up by its deadline.
	storetest.RunUnreachable(t, unconnected(clientOf(t, sqltest.Blackhole(t))))
}

func TestTimeout(t *testing.T) {
	// With no deadline of the caller's, the Backend's own timeout ends
	// every call to a server that never answers.
	const timeout = 300 * time.Millisecond
	b := unconnected(clientOf(t, sqltest.Blackhole(t)), WithTimeout(timeout))
	key, e := storetest.NewKey(), serverstore.Entry{Data: []byte("x"), Expires: time.Now().Add(time.Hour), UserID: "alice"}
	write := func([]byte, bool) (serverstore.Entry, bool, error) { return e, true, nil }
	calls := map[string]func(context.Context) error{
		"Find":         func(ctx context.Context) error { _, _, err := b.Find(ctx, key); return err },
		"Commit":       func(ctx context.Context) error { return b.Commit(ctx, key, e) },
		"Delete":       func(ctx context.Context) error { return b.Delete(ctx, key) },
		"Update":       func(ctx context.Context) error { return b.Update(ctx, key, nil, write) },
		"UpdateHinted": func(ctx context.Context) error { return b.Update(ctx, key, &e, write) },
		"Rename":       func(ctx context.Context) error { return b.Rename(ctx, key, storetest.NewKey(), e) },
		"FindUser":     func(ctx context.Context) error { _, err := b.FindUser(ctx, "alice"); return err },
		"DeleteUser":   func(ctx context.Context) error { _, err := b.DeleteUser(ctx, "alice"); return err },
		"Scan": func(ctx context.Context) error {
			for _, err := range b.Scan(ctx) {
				return err
			}
			return nil
		},
		"Count":     func(ctx context.Context) error { _, err := b.Count(ctx); return err },
		"DeleteAll": func(ctx context.Context) error { _, err := b.DeleteAll(ctx); return err },
		"Sweep":     func(ctx context.Context) error { _, err := b.Sweep(ctx); return err },
	}
	var wg sync.WaitGroup
	for name, call := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := call(context.Background())
			elapsed := time.Since(start)
			assert.Error(t, err, name)
			assert.Less(t, elapsed, timeout+2*time.Second, "%s was not bounded by WithTimeout", name)
		}()
	}
	wg.Wait()
}

func TestOptions(t *testing.T) {
	// Checked before the server is asked anything.
	db := clientOf(t, "127.0.0.1:1").Database(testDB)
	bad := map[string]Option{
		"empty name":     WithCollection(""),
		"dollar":         WithCollection("a$b"),
		"NUL":            WithCollection("a\x00b"),
		"system":         WithCollection("system.sessions"),
		"negative sweep": WithSweepInterval(-time.Second),
	}
	for name, o := range bad {
		start := time.Now()
		_, err := New(t.Context(), db, o)
		assert.Error(t, err, name)
		assert.Less(t, time.Since(start), 100*time.Millisecond, "%s: New asked the server before checking its options", name)
	}
	_, err := New(t.Context(), nil)
	assert.Error(t, err)
}
