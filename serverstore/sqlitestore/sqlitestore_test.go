package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sqlstore"
	"github.com/go-sealed/session/serverstore/internal/sqlstore/sqltest"
	"github.com/go-sealed/session/serverstore/storetest"
)

// tempPath returns the path of a database file in a directory of its own,
// removed when t ends.
func tempPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "sessions.sqlite")
}

// testParams are the DSN parameters of most tests: a busy timeout for
// the statements the tests run themselves. The Backend needs none: it
// sets the busy timeout of its own calls, and WAL (see
// TestConcurrentWrites, on a DSN without parameters).
const testParams = "_pragma=busy_timeout(5000)"

// openDB opens the database at path with the DSN parameters params ("":
// none), closed when t ends.
func openDB(t testing.TB, path, params string) *sql.DB {
	t.Helper()
	dsn := "file:" + path
	if params != "" {
		dsn += "?" + params
	}
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// harness describes db's database and the Backend to sqltest.
func harness(db *sql.DB) sqltest.Harness {
	return sqltest.Harness{
		Name: pkgName,
		Open: func(ctx context.Context, o sqltest.Options) (sqltest.Backend, error) {
			return New(ctx, db, sqltest.Apply(o, WithTable, WithSweepInterval, WithSweepBatch, WithoutMigration, WithTimeout)...)
		},
		Table: func(s sqltest.Backend) sqlstore.Name { return s.(*Backend).name },
		Quote: quote,
		Exec: func(ctx context.Context, query string, args ...any) error {
			_, err := db.ExecContext(ctx, query, args...)
			return err
		},
		QueryRow: func(ctx context.Context, query string, args []any, dest ...any) error {
			return db.QueryRowContext(ctx, query, args...).Scan(dest...)
		},
		Insert: func(t testing.TB, s sqltest.Backend, key, data string, expires time.Time, user string) {
			_, err := db.ExecContext(t.Context(), `INSERT INTO `+quote(s.(*Backend).name.Table)+` ("key", "data", "expires", "user_id") VALUES (?, ?, ?, ?)`,
				key, []byte(data), expires.UnixMicro(), sqlstore.NullIfEmpty(user))
			require.NoError(t, err)
		},
		InsertExpired: func(t testing.TB, s sqltest.Backend, n int, user string) {
			insertRows(t, db, s.(*Backend), n, time.Now().Add(-time.Hour), user)
		},
		SweepBatch: func(ctx context.Context, s sqltest.Backend, before time.Time, limit int) (int, error) {
			return s.(*Backend).c.SweepBatch(ctx, before, limit)
		},
		SweeperDone: func(s sqltest.Backend) <-chan struct{} { return s.(*Backend).c.Sweeper().Done() },
	}
}

// insertRows inserts n rows with random keys expiring at expires, tagged
// with user ("" for none), straight into s's table, in one statement.
func insertRows(t testing.TB, db *sql.DB, s *Backend, n int, expires time.Time, user string) {
	t.Helper()
	_, err := db.ExecContext(t.Context(), `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO `+quote(s.name.Table)+` ("key", "data", "expires", "user_id")
		SELECT lower(hex(randomblob(32))), x'00', ?, ? FROM n`, n, expires.UnixMicro(), sqlstore.NullIfEmpty(user))
	require.NoError(t, err)
}

// newBackend returns a Backend with no sweeper on a table of its own in
// db, dropped when t ends.
func newBackend(t testing.TB, db *sql.DB) *Backend {
	return harness(db).New(t, sqltest.Options{}).(*Backend)
}

func entry(data string, ttl time.Duration, user string) serverstore.Entry {
	return serverstore.Entry{Data: []byte(data), Expires: time.Now().Add(ttl), UserID: user}
}

func TestConformance(t *testing.T) {
	h := harness(openDB(t, tempPath(t), testParams))
	storetest.Run(t, h.NewBackend, storetest.WithSweeper(h.Sweeper()))
}

// TestShared runs the tests sqlitestore shares with pgstore and
// mysqlstore.
func TestShared(t *testing.T) {
	sqltest.Run(t, harness(openDB(t, tempPath(t), testParams)))
}

func TestScanOneConnection(t *testing.T) {
	db := openDB(t, tempPath(t), testParams)
	db.SetMaxOpenConns(1)
	sqltest.ScanOneConnection(t, harness(db))
}

func TestOptions(t *testing.T) {
	db := openDB(t, tempPath(t), testParams)
	bad := map[string]Option{
		"empty name":     WithTable(""),
		"space":          WithTable("my sessions"),
		"injection":      WithTable(`sessions"; DROP TABLE users; --`),
		"quote":          WithTable(`a"b`),
		"leading digit":  WithTable("1sessions"),
		"database":       WithTable("aux.sessions"),
		"too long":       WithTable(strings.Repeat("s", 65)),
		"non-ASCII":      WithTable("séssions"),
		"negative sweep": WithSweepInterval(-time.Second),
		"zero batch":     WithSweepBatch(0),
	}
	for name, o := range bad {
		_, err := New(t.Context(), db, o)
		if assert.Error(t, err, name) {
			assert.True(t, strings.HasPrefix(err.Error(), "sqlitestore: "), err.Error())
		}
	}
	// A negative timeout is none, not an error.
	s, err := New(t.Context(), db, WithTimeout(-1), WithSweepInterval(0))
	require.NoError(t, err)
	_ = s.Close()
	for _, name := range []string{"sessions", "Sessions_2", "order", "_s", strings.Repeat("s", 64)} {
		s, err := New(t.Context(), db, WithTable(name), WithSweepInterval(0))
		if assert.NoError(t, err, name) {
			harness(db).UseEveryStatement(t, s)
			_ = s.Close()
		}
	}
	_, err = New(t.Context(), nil)
	require.Error(t, err)

	// Another driver's database is refused before it is asked anything.
	other, err := sql.Open("mysql", "root@tcp(127.0.0.1:1)/test")
	require.NoError(t, err)
	defer other.Close()
	_, err = New(t.Context(), other)
	require.ErrorContains(t, err, "sqlitestore: db's driver is *mysql.MySQLDriver, not modernc.org/sqlite's")
}

func TestSchema(t *testing.T) {
	got, err := SchemaFor(DefaultTable)
	require.NoError(t, err)
	require.Equal(t, Schema, got, "the Schema constant differs from what Migrate runs")
	_, err = SchemaFor(`x"; DROP TABLE y`)
	require.Error(t, err)
	_, err = SchemaFor("aux.sessions")
	require.Error(t, err)

	// Schema, applied by hand (twice: it is idempotent), is a table New
	// WithoutMigration uses as it is.
	db := openDB(t, tempPath(t), testParams)
	for range 2 {
		for _, stmt := range strings.SplitAfter(Schema, ";\n") {
			if strings.TrimSpace(stmt) != "" {
				_, err := db.ExecContext(t.Context(), stmt)
				require.NoError(t, err)
			}
		}
	}
	s, err := New(t.Context(), db, WithoutMigration(), WithSweepInterval(0))
	require.NoError(t, err)
	require.NoError(t, s.Migrate(t.Context()), "Schema is not a table Migrate accepts")
	harness(db).UseEveryStatement(t, s)
}

// TestIndexes checks the indexes Migrate makes, and that the statements
// use them.
func TestIndexes(t *testing.T) {
	db := openDB(t, tempPath(t), testParams)
	s := newBackend(t, db)
	ctx := t.Context()
	insertRows(t, db, s, 2000, time.Now().Add(time.Hour), "")
	key := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, key, entry("x", time.Hour, "user7")))
	_, err := db.ExecContext(ctx, "ANALYZE")
	require.NoError(t, err)
	now := time.Now().UnixMicro()
	table := s.name.Table
	for _, c := range []struct {
		name, query string
		args        []any
		index       string
	}{
		{"Find", s.q.Find, []any{key, now}, "sqlite_autoindex_" + table + "_1"},
		{"Lock", s.q.Lock, []any{now, key}, "sqlite_autoindex_" + table + "_1"},
		{"FindUser", s.q.FindUser, []any{"user7", now}, table + "_user_id_idx"},
		{"DeleteUser", s.q.DeleteUser, []any{"user7", now}, table + "_user_id_idx"},
		{"Sweep", s.q.Sweep, []any{now, 1000}, table + "_expires_idx"},
		{"Scan", s.q.Scan, []any{key, now, 100}, "sqlite_autoindex_" + table + "_1"},
	} {
		plan := queryPlan(t, db, c.query, c.args...)
		assert.Contains(t, plan, "USING INDEX "+c.index, "%s: %s", c.name, plan)
		assert.NotContains(t, plan, "SCAN "+table+"\n", "%s scans the table: %s", c.name, plan)
	}
}

// queryPlan returns the details of SQLite's EXPLAIN QUERY PLAN for query,
// one line each.
func queryPlan(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		b.WriteString(detail + "\n")
	}
	require.NoError(t, rows.Err())
	return b.String()
}

func TestWAL(t *testing.T) {
	// New puts a new database in WAL mode, which the file keeps: another
	// handle, opened afterwards, finds it.
	path := tempPath(t)
	newBackend(t, openDB(t, path, testParams))
	var mode string
	require.NoError(t, openDB(t, path, "").QueryRow("PRAGMA journal_mode").Scan(&mode))
	require.Equal(t, "wal", mode)
}

func TestInMemory(t *testing.T) {
	// Each connection of a pool has an in-memory database of its own:
	// New refuses a pool of more than one.
	db := openDB(t, ":memory:", testParams)
	_, err := New(t.Context(), db)
	require.ErrorContains(t, err, "sqlitestore: the database is in memory, where each connection of the pool has a database of its own: call db.SetMaxOpenConns(1) before New")
	db.SetMaxOpenConns(1)
	s, err := New(t.Context(), db, WithSweepInterval(0))
	require.NoError(t, err)
	defer s.Close()
	harness(db).UseEveryStatement(t, s)
}

// TestConcurrentWrites hammers one database file with writes from many
// goroutines, through two handles (two pools, as two processes would
// have), with a DSN that sets no busy timeout: none may fail with
// "database is locked", and none may be lost.
func TestConcurrentWrites(t *testing.T) {
	path := tempPath(t)
	first := newBackend(t, openDB(t, path, ""))
	second, err := New(t.Context(), openDB(t, path, ""), WithTable(first.name.Table), WithSweepInterval(0))
	require.NoError(t, err)
	defer second.Close()
	backends := []*Backend{first, second}
	ctx := t.Context()

	const goroutines, rounds = 64, 20
	shared := storetest.NewKey() // every goroutine appends to it
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*rounds*4)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := backends[g%2]
			user := fmt.Sprint("user", g%4)
			for i := range rounds {
				key := storetest.NewKey()
				e := entry(fmt.Sprint(g, "/", i), time.Hour, user)
				errs <- s.Commit(ctx, key, e)
				errs <- s.Update(ctx, shared, nil, func(data []byte, _ bool) (serverstore.Entry, bool, error) {
					return entry(string(data)+"x", time.Hour, ""), true, nil
				})
				renamed := storetest.NewKey()
				errs <- s.Rename(ctx, key, renamed, e)
				if i%2 == 0 {
					errs <- s.Delete(ctx, renamed)
				}
				if _, _, err := s.Find(ctx, renamed); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	data, found, err := first.Find(ctx, shared)
	require.NoError(t, err)
	require.True(t, found)
	require.Len(t, data, goroutines*rounds, "concurrent Updates lost writes")
	n, err := first.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, goroutines*rounds/2+1, n)
}

// TestCancelledTransactions ends transactions at random points, by
// deadlines as short as they come: the driver then reports the context's
// error even for a statement that ran, a BEGIN included. No connection
// may go back to the pool inside a transaction, where the next
// transaction on it would fail to begin and its writes would wait.
func TestCancelledTransactions(t *testing.T) {
	db := openDB(t, tempPath(t), testParams)
	db.SetMaxOpenConns(2)
	s := newBackend(t, db)
	key := storetest.NewKey()
	write := func([]byte, bool) (serverstore.Entry, bool, error) { return entry("x", time.Hour, ""), true, nil }
	for i := range 500 {
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i%50)*10*time.Microsecond)
		_ = s.Update(ctx, key, nil, write)
		cancel()
	}
	for range 4 {
		require.NoError(t, s.Update(t.Context(), key, nil, write))
		require.NoError(t, s.Rename(t.Context(), key, key, entry("y", time.Hour, "")))
	}
}

func TestBusyTimeoutRestored(t *testing.T) {
	// The Backend sets the busy timeout of its calls' connections, and
	// gives them back with the DSN's, for the application's own queries.
	db := openDB(t, tempPath(t), "_pragma=busy_timeout(1234)")
	db.SetMaxOpenConns(1)
	s := newBackend(t, db)
	require.NoError(t, s.Commit(t.Context(), storetest.NewKey(), entry("x", time.Hour, "")))
	require.NoError(t, s.Update(t.Context(), storetest.NewKey(), nil, func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("y", time.Hour, ""), true, nil
	}))
	var busy int
	require.NoError(t, db.QueryRow("PRAGMA busy_timeout").Scan(&busy))
	require.Equal(t, 1234, busy)
}

func TestBusyTimeout(t *testing.T) {
	for left, want := range map[time.Duration]int64{
		-time.Second:           1,
		0:                      1,
		time.Millisecond:       1,
		10 * time.Millisecond:  9,
		300 * time.Millisecond: 270,
		5 * time.Second:        4950,
	} {
		assert.Equal(t, want, busyTimeout(left), left)
	}
}

func BenchmarkBackend(b *testing.B) {
	db := openDB(b, tempPath(b), testParams)
	sqltest.Benchmark(b, func(b *testing.B) sqltest.Backend { return newBackend(b, db) })
}
