package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sqlstore/sqltest"
	"github.com/go-sealed/session/serverstore/storetest"
)

// testURL is the database the tests use: SESSION_TEST_POSTGRES_URL, or
// the local server's database "test" (scripts/services.sh makes it). Each
// test works in tables of its own, with random names, and drops them.
func testURL() string {
	if u := os.Getenv("SESSION_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?connect_timeout=5"
}

// connect returns a pool on the test database, closed when t ends, or
// skips t (see storetest.Require) if the server does not answer.
func connect(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, testURL())
	if err == nil {
		t.Cleanup(pool.Close)
		err = pool.Ping(ctx)
	}
	storetest.Require(t, "PostgreSQL", err)
	return pool
}

// newStore returns a Store on a table of its own, which is dropped when t
// ends, with no sweeper unless opts start one.
func newStore(t testing.TB, pool *pgxpool.Pool, opts ...Option) *Store {
	t.Helper()
	table := sqltest.RandomName("sessions_test_")
	opts = append([]Option{WithTable(table), WithSweepInterval(0)}, opts...)
	s, err := New(t.Context(), pool, opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := pool.Exec(ctx, "DROP TABLE IF EXISTS "+quote(s.name))
		assert.NoError(t, err)
	})
	return s
}

// count returns how many rows s's table holds, expired ones included.
func count(t testing.TB, s *Store) int {
	t.Helper()
	var n int
	require.NoError(t, s.pool.QueryRow(t.Context(), "SELECT count(*) FROM "+quote(s.name)).Scan(&n))
	return n
}

// insertExpired inserts n rows that expired an hour ago, tagged with
// user, straight into s's table.
func insertExpired(t testing.TB, s *Store, n int, user string) {
	t.Helper()
	_, err := s.pool.Exec(t.Context(), `INSERT INTO `+quote(s.name)+` (key, data, expires, user_id)
		SELECT encode(sha256(convert_to(gen_random_uuid()::text, 'UTF8')), 'hex'), '\x00',
		       now() - interval '1 hour', $2
		FROM generate_series(1, $1)`, n, user)
	require.NoError(t, err)
}

func entry(data string, ttl time.Duration, user string) serverstore.Entry {
	return serverstore.Entry{Data: []byte(data), Expires: time.Now().Add(ttl), UserID: user}
}

func TestConformance(t *testing.T) {
	pool := connect(t)
	storetest.Run(t, func(t *testing.T) serverstore.Backend {
		return newStore(t, pool)
	})
}

func TestUnreachable(t *testing.T) {
	pool, err := pgxpool.New(t.Context(), "postgres://postgres@127.0.0.1:1/test?connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	// New migrates: it fails, by its context's deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = New(ctx, pool)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "pgstore: migrate: "), err.Error())
	require.Less(t, time.Since(start), 3*time.Second)

	s, err := New(t.Context(), pool, WithoutMigration())
	require.NoError(t, err, "New WithoutMigration must not need the server")
	t.Cleanup(func() { _ = s.Close() })
	storetest.RunUnreachable(t, s)

	_, err = s.Sweep(ctx)
	require.Error(t, err)
}

func TestUnresponsive(t *testing.T) {
	// A server that accepts connections and never answers: every call
	// must still give up by its deadline.
	addr := sqltest.Blackhole(t)
	pool, err := pgxpool.New(t.Context(), "postgres://postgres@"+addr+"/test")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := New(t.Context(), pool, WithoutMigration())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	storetest.RunUnreachable(t, s)
}

func TestOptions(t *testing.T) {
	// Checked before the server is asked anything.
	pool, err := pgxpool.New(t.Context(), "postgres://postgres@127.0.0.1:1/test?connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	bad := map[string]Option{
		"empty name":     WithTable(""),
		"space":          WithTable("my sessions"),
		"injection":      WithTable(`sessions"; DROP TABLE users; --`),
		"quote":          WithTable(`a"b`),
		"leading digit":  WithTable("1sessions"),
		"three parts":    WithTable("a.b.c"),
		"empty schema":   WithTable(".sessions"),
		"too long":       WithTable(strings.Repeat("s", 52)),
		"non-ASCII":      WithTable("séssions"),
		"negative sweep": WithSweepInterval(-time.Second),
		"zero batch":     WithSweepBatch(0),
	}
	for name, o := range bad {
		_, err := New(t.Context(), pool, o, WithoutMigration())
		assert.Error(t, err, name)
	}
	for _, name := range []string{"sessions", "Sessions_2", "user", "_s", "app.sessions", strings.Repeat("s", 51)} {
		s, err := New(t.Context(), pool, WithTable(name), WithoutMigration())
		if assert.NoError(t, err, name) {
			_ = s.Close()
		}
	}
	_, err = New(t.Context(), nil)
	require.Error(t, err)
}

func TestSchema(t *testing.T) {
	got, err := SchemaFor(DefaultTable)
	require.NoError(t, err)
	require.Equal(t, Schema, got, "the Schema constant differs from what Migrate runs")
	got, err = SchemaFor("auth.user")
	require.NoError(t, err)
	require.Contains(t, got, `CREATE TABLE IF NOT EXISTS "auth"."user" (`)
	require.Contains(t, got, `CREATE INDEX IF NOT EXISTS "user_expires_idx" ON "auth"."user" (expires);`)
	_, err = SchemaFor("x; DROP TABLE y")
	require.Error(t, err)
}

func TestMigrate(t *testing.T) {
	pool := connect(t)
	s := newStore(t, pool)
	ctx := t.Context()
	key := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, key, entry("kept", time.Hour, "alice")))

	// Idempotent, and leaves the data alone: again through Migrate, and
	// through New on the existing table.
	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.Migrate(ctx))
	again, err := New(ctx, pool, WithTable(s.name.Table), WithSweepInterval(0))
	require.NoError(t, err)
	defer again.Close()
	data, found, err := again.Find(ctx, key)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "kept", string(data))

	// Instances starting at once do not trip over each other.
	var wg sync.WaitGroup
	fresh := sqltest.RandomName("sessions_test_")
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+pgx.Identifier{fresh}.Sanitize())
	})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := New(ctx, pool, WithTable(fresh), WithSweepInterval(0))
			if assert.NoError(t, err) {
				_ = s.Close()
			}
		}()
	}
	wg.Wait()

	// The indexes, by name and definition.
	rows, err := pool.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1`, s.name.Table)
	require.NoError(t, err)
	indexes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var kv [2]string
		err := r.Scan(&kv[0], &kv[1])
		return kv, err
	})
	require.NoError(t, err)
	defs := map[string]string{}
	for _, kv := range indexes {
		defs[kv[0]] = kv[1]
	}
	tbl := s.name.Table
	require.Len(t, defs, 3, "%v", defs)
	require.Contains(t, defs[tbl+"_pkey"], "UNIQUE INDEX")
	require.Contains(t, defs[tbl+"_pkey"], "(key)")
	require.Contains(t, defs[tbl+"_expires_idx"], "(expires)")
	require.Contains(t, defs[tbl+"_user_id_idx"], "(user_id")
	require.Contains(t, defs[tbl+"_user_id_idx"], "WHERE (user_id IS NOT NULL)")

	var collation string
	require.NoError(t, pool.QueryRow(ctx, `SELECT collation_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'key'`, tbl).Scan(&collation))
	require.Equal(t, "C", collation)
}

// TestQuotedName uses a schema-qualified table whose name is a reserved
// word.
func TestQuotedName(t *testing.T) {
	pool := connect(t)
	ctx := t.Context()
	schema := sqltest.RandomName("session_test_")
	_, err := pool.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	s, err := New(ctx, pool, WithTable(schema+".user"), WithSweepInterval(0))
	require.NoError(t, err)
	defer s.Close()
	key := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, key, entry("x", time.Hour, "alice")))
	got, err := s.FindUser(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, map[string][]byte{key: []byte("x")}, got)
	insertExpired(t, s, 3, "")
	n, err := s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.NoError(t, s.Rename(ctx, key, storetest.NewKey(), entry("y", time.Hour, "")))
	require.NoError(t, s.Update(ctx, key, func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("z", time.Hour, ""), true, nil
	}))
}

func TestSweep(t *testing.T) {
	pool := connect(t)
	s := newStore(t, pool, WithSweepBatch(1000))
	ctx := t.Context()
	live := map[string]string{}
	for i := range 10 {
		key := storetest.NewKey()
		live[key] = fmt.Sprint(i)
		require.NoError(t, s.Commit(ctx, key, entry(live[key], time.Hour, "alice")))
	}
	insertExpired(t, s, 2500, "alice")
	require.Equal(t, 2510, count(t, s))

	// One statement deletes one batch.
	n, err := sweepBatch(ctx, s.pool, s.q.sweep, time.Now(), 1000)
	require.NoError(t, err)
	require.Equal(t, 1000, n)
	require.Equal(t, 1510, count(t, s))

	// Sweep runs batches until the expired rows are all gone.
	n, err = s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1500, n)
	require.Equal(t, 10, count(t, s), "live rows must survive a sweep")
	for key, want := range live {
		data, found, err := s.Find(ctx, key)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, want, string(data))
	}
	n, err = s.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestSweepSkipsLockedRows(t *testing.T) {
	// A sweep does not wait for an expired row another transaction holds,
	// nor delete it.
	pool := connect(t)
	s := newStore(t, pool)
	ctx := t.Context()
	key := storetest.NewKey()
	_, err := pool.Exec(ctx, `INSERT INTO `+quote(s.name)+` (key, data, expires) VALUES ($1, '', now() - interval '1 hour')`, key)
	require.NoError(t, err)
	insertExpired(t, s, 5, "")
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(context.Background())
	_, err = tx.Exec(ctx, `SELECT 1 FROM `+quote(s.name)+` WHERE key = $1 FOR UPDATE`, key)
	require.NoError(t, err)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := s.Sweep(sctx)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.Equal(t, 1, count(t, s))
}

func TestSweeper(t *testing.T) {
	pool := connect(t)
	s := newStore(t, pool, WithSweepInterval(50*time.Millisecond))
	insertExpired(t, s, 30, "")
	key := storetest.NewKey()
	require.NoError(t, s.Commit(t.Context(), key, entry("live", time.Hour, "")))
	require.Eventually(t, func() bool { return count(t, s) == 1 }, 10*time.Second, 20*time.Millisecond,
		"the sweeper did not remove the expired rows")
}

func TestClose(t *testing.T) {
	pool := connect(t)
	before := sqltest.Sweepers()
	s := newStore(t, pool, WithSweepInterval(time.Millisecond))
	insertExpired(t, s, 10, "")
	time.Sleep(20 * time.Millisecond) // let it sweep a few times
	require.Equal(t, before+1, sqltest.Sweepers(), "no sweeper goroutine found")
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "a second Close")
	select {
	case <-s.sweeper.Done():
	default:
		t.Fatal("Close returned before the sweeper goroutine")
	}
	require.Equal(t, before, sqltest.Sweepers(), "the sweeper goroutine is still there after Close")

	// The Store works on without its sweeper.
	key := storetest.NewKey()
	require.NoError(t, s.Commit(t.Context(), key, entry("x", time.Hour, "")))
	_, found, err := s.Find(t.Context(), key)
	require.NoError(t, err)
	require.True(t, found)
}

func TestDroppedStoreStopsSweeper(t *testing.T) {
	// A Store dropped without Close stops its sweeper when collected.
	pool := connect(t)
	s, err := New(t.Context(), pool, WithTable(sqltest.RandomName("sessions_test_")), WithSweepInterval(time.Hour))
	require.NoError(t, err)
	table := quote(s.name)
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+table) })
	done := s.sweeper.Done()
	s = nil
	require.Eventually(t, func() bool {
		runtime.GC()
		select {
		case <-done:
			return true
		default:
			return false
		}
	}, 5*time.Second, 10*time.Millisecond, "the sweeper of a collected Store still runs")
}

func TestExpiredUnswept(t *testing.T) {
	// Rows past their expiry that no sweep has removed are never served.
	pool := connect(t)
	s := newStore(t, pool)
	ctx := t.Context()
	key := storetest.NewKey()
	_, err := pool.Exec(ctx, `INSERT INTO `+quote(s.name)+` (key, data, expires, user_id) VALUES ($1, 'old', $2, 'alice')`,
		key, time.Now().Add(-time.Millisecond))
	require.NoError(t, err)
	_, found, err := s.Find(ctx, key)
	require.NoError(t, err)
	require.False(t, found)
	users, err := s.FindUser(ctx, "alice")
	require.NoError(t, err)
	require.Empty(t, users)
	n, err := s.DeleteUser(ctx, "alice")
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, s.Update(ctx, key, func(data []byte, found bool) (serverstore.Entry, bool, error) {
		assert.False(t, found)
		assert.Nil(t, data)
		return serverstore.Entry{}, false, nil
	}))
	require.Equal(t, 1, count(t, s), "the row is the sweeper's to delete")

	// An Update that writes takes the expired row over.
	require.NoError(t, s.Update(ctx, key, func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("new", time.Hour, "bob"), true, nil
	}))
	data, found, err := s.Find(ctx, key)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "new", string(data))
}

func TestUpdateLeavesNoPlaceholder(t *testing.T) {
	pool := connect(t)
	s := newStore(t, pool)
	require.NoError(t, s.Update(t.Context(), storetest.NewKey(), func(data []byte, found bool) (serverstore.Entry, bool, error) {
		return serverstore.Entry{}, false, nil
	}))
	require.Zero(t, count(t, s), "an Update that wrote nothing left a row")
}

func TestUpdateWaitHonoursContext(t *testing.T) {
	// An Update waiting for another's lock gives up at its deadline.
	pool := connect(t)
	s := newStore(t, pool)
	ctx := t.Context()
	key := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, key, entry("x", time.Hour, "")))
	holding, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.Update(ctx, key, func([]byte, bool) (serverstore.Entry, bool, error) {
			close(holding)
			<-release
			return serverstore.Entry{}, false, nil
		})
	}()
	<-holding
	defer close(release)
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Update(wctx, key, func([]byte, bool) (serverstore.Entry, bool, error) {
		t.Error("fn ran while another Update held the row")
		return serverstore.Entry{}, false, nil
	})
	require.Error(t, err)
	require.Less(t, time.Since(start), 2*time.Second)
}

func TestUserIDsExact(t *testing.T) {
	// User IDs differing only in case, accents or trailing spaces are
	// different users.
	pool := connect(t)
	s := newStore(t, pool)
	ctx := t.Context()
	users := []string{"alice", "Alice", "alice ", "alicé", "ALICE"}
	keys := map[string]string{}
	for _, u := range users {
		keys[u] = storetest.NewKey()
		require.NoError(t, s.Commit(ctx, keys[u], entry(u, time.Hour, u)))
	}
	for _, u := range users {
		got, err := s.FindUser(ctx, u)
		require.NoError(t, err)
		require.Equal(t, map[string][]byte{keys[u]: []byte(u)}, got, "user %q", u)
	}
	n, err := s.DeleteUser(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestFarFuture(t *testing.T) {
	// Expiries beyond the year 9999 are stored as its end.
	pool := connect(t)
	s := newStore(t, pool)
	key := storetest.NewKey()
	require.NoError(t, s.Commit(t.Context(), key, serverstore.Entry{Data: []byte("x"), Expires: time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)}))
	_, found, err := s.Find(t.Context(), key)
	require.NoError(t, err)
	require.True(t, found)
}

func TestNilData(t *testing.T) {
	// nil data is stored as empty, not as NULL.
	pool := connect(t)
	s := newStore(t, pool)
	key := storetest.NewKey()
	require.NoError(t, s.Commit(t.Context(), key, serverstore.Entry{Expires: time.Now().Add(time.Hour)}))
	data, found, err := s.Find(t.Context(), key)
	require.NoError(t, err)
	require.True(t, found)
	require.Empty(t, data)
}

func TestOnlyHashesStored(t *testing.T) {
	pool := connect(t)
	s := newStore(t, pool)
	ctx := t.Context()
	now := time.Now()
	token, err := serverstore.New(s).Save(ctx, "", &session.Record{
		ID: "id1", Created: now, Touched: now, Expires: now.Add(time.Hour), UserID: "alice", Data: []byte("data"),
	})
	require.NoError(t, err)
	raw, err := base64.RawURLEncoding.DecodeString(token)
	require.NoError(t, err)
	sum := sha256.Sum256(raw)

	var key string
	var data []byte
	require.NoError(t, pool.QueryRow(ctx, "SELECT key, data FROM "+quote(s.name)).Scan(&key, &data))
	require.Equal(t, 1, count(t, s))
	require.Regexp(t, `^[0-9a-f]{64}$`, key)
	require.Equal(t, hex.EncodeToString(sum[:]), key, "the key is not the hex SHA-256 of the token")
	for _, secret := range []string{token, string(raw)} {
		require.NotContains(t, string(data), secret, "the table holds the token")
		require.NotContains(t, key, secret)
	}
}

// explain returns the plan of query with args, on s's table filled with
// rows of many users and analysed.
func explain(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.pool.Query(t.Context(), "EXPLAIN "+query, args...)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return strings.Join(lines, "\n")
}

func TestQueryPlans(t *testing.T) {
	pool := connect(t)
	s := newStore(t, pool)
	ctx := t.Context()
	_, err := pool.Exec(ctx, `INSERT INTO `+quote(s.name)+` (key, data, expires, user_id)
		SELECT encode(sha256(convert_to(i::text, 'UTF8')), 'hex'), '\x00', now() + interval '1 hour',
		       CASE WHEN i % 4 = 0 THEN NULL ELSE 'user' || (i % 500) END
		FROM generate_series(1, 5000) i`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, "ANALYZE "+quote(s.name))
	require.NoError(t, err)
	key := storetest.NewKey()
	tbl := s.name.Table

	plan := explain(t, s, s.q.find, key, time.Now())
	require.Contains(t, plan, "Index Scan using "+tbl+"_pkey", plan)
	plan = explain(t, s, s.q.lock, key, time.Now())
	require.Contains(t, plan, "Index Scan using "+tbl+"_pkey", plan)
	plan = explain(t, s, s.q.findUser, "user7", time.Now())
	require.Contains(t, plan, tbl+"_user_id_idx", plan)
	plan = explain(t, s, s.q.deleteUser, "user7", time.Now())
	require.Contains(t, plan, tbl+"_user_id_idx", plan)
	plan = explain(t, s, s.q.sweep, time.Now(), 1000)
	require.Contains(t, plan, tbl+"_expires_idx", plan)
}

func BenchmarkFind(b *testing.B) {
	pool := connect(b)
	s := newStore(b, pool)
	key := storetest.NewKey()
	require.NoError(b, s.Commit(b.Context(), key, entry(strings.Repeat("x", 200), time.Hour, "alice")))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, found, err := s.Find(b.Context(), key); err != nil || !found {
				b.Error(found, err)
				return
			}
		}
	})
}

func BenchmarkCommit(b *testing.B) {
	pool := connect(b)
	s := newStore(b, pool)
	e := entry(strings.Repeat("x", 200), time.Hour, "alice")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		key := storetest.NewKey()
		for pb.Next() {
			if err := s.Commit(b.Context(), key, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkUpdate(b *testing.B) {
	pool := connect(b)
	s := newStore(b, pool)
	e := entry(strings.Repeat("x", 200), time.Hour, "alice")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		key := storetest.NewKey()
		for pb.Next() {
			err := s.Update(b.Context(), key, func([]byte, bool) (serverstore.Entry, bool, error) { return e, true, nil })
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
