package mysqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sqlstore"
	"github.com/go-sealed/session/serverstore/internal/sqlstore/sqltest"
	"github.com/go-sealed/session/serverstore/storetest"
)

// testDSN is the database the tests use: SESSION_TEST_MYSQL_DSN, or the
// local server's database "test" (scripts/services.sh makes it). Each
// test works in tables of its own, with random names, and drops them.
// The tests set interpolateParams themselves, running the suite both
// ways; every other parameter is taken as given.
func testDSN() string {
	if d := os.Getenv("SESSION_TEST_MYSQL_DSN"); d != "" {
		return d
	}
	return "root@tcp(127.0.0.1:3306)/test?parseTime=true"
}

// open returns a database handle for dsn with interpolateParams set as
// given, closed when t ends, and a dial timeout of 5 s unless dsn sets one.
func open(t testing.TB, dsn string, interpolate bool) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	cfg.InterpolateParams = interpolate
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	conn, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(20)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// connect returns a handle on the test database, or skips t (see
// storetest.Require) if the server does not answer.
func connect(t testing.TB, interpolate bool) *sql.DB {
	t.Helper()
	db := open(t, testDSN(), interpolate)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	storetest.Require(t, "MySQL", db.PingContext(ctx))
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
		Quote: func(ident string) string { return "`" + ident + "`" },
		Exec: func(ctx context.Context, query string, args ...any) error {
			_, err := db.ExecContext(ctx, query, args...)
			return err
		},
		QueryRow: func(ctx context.Context, query string, args []any, dest ...any) error {
			return db.QueryRowContext(ctx, query, args...).Scan(dest...)
		},
		Insert: func(t testing.TB, s sqltest.Backend, key, data string, expires time.Time, user string) {
			_, err := db.ExecContext(t.Context(), "INSERT INTO "+quote(s.(*Backend).name)+" (`key`, `data`, `expires`, `user_id`) VALUES (?, ?, ?, ?)",
				key, []byte(data), datetime(expires), sqlstore.NullIfEmpty(user))
			require.NoError(t, err)
		},
		InsertExpired: func(t testing.TB, s sqltest.Backend, n int, user string) {
			insertRows(t, s.(*Backend), n, time.Now().Add(-time.Hour), func(int) string { return user })
		},
		SweepBatch: func(ctx context.Context, s sqltest.Backend, before time.Time, limit int) (int, error) {
			return s.(*Backend).c.SweepBatch(ctx, before, limit)
		},
		SweeperDone: func(s sqltest.Backend) <-chan struct{} { return s.(*Backend).c.Sweeper().Done() },
	}
}

// newBackend returns a Backend with no sweeper on a table of its own,
// which is dropped when t ends.
func newBackend(t testing.TB, db *sql.DB) *Backend {
	return harness(db).New(t, sqltest.Options{}).(*Backend)
}

// insertRows inserts n rows expiring at expires, tagged with user
// ("" for none), straight into s's table.
func insertRows(t testing.TB, s *Backend, n int, expires time.Time, user func(i int) string) {
	t.Helper()
	for start := 0; start < n; start += 1000 {
		end := min(start+1000, n)
		var b strings.Builder
		args := make([]any, 0, 3*(end-start))
		b.WriteString("INSERT INTO " + quote(s.name) + " (`key`, `data`, `expires`, `user_id`) VALUES ")
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString("(?, 0x00, ?, ?)")
			args = append(args, storetest.NewKey(), datetime(expires), sqlstore.NullIfEmpty(user(i)))
		}
		_, err := s.db.ExecContext(t.Context(), b.String(), args...)
		require.NoError(t, err)
	}
}

func entry(data string, ttl time.Duration, user string) serverstore.Entry {
	return serverstore.Entry{Data: []byte(data), Expires: time.Now().Add(ttl), UserID: user}
}

// modes runs f with the driver sending arguments in prepared statements
// (the default) and interpolated into the query (interpolateParams).
func modes(t *testing.T, f func(t *testing.T, interpolate bool)) {
	t.Run("Prepared", func(t *testing.T) { f(t, false) })
	t.Run("Interpolated", func(t *testing.T) { f(t, true) })
}

func TestConformance(t *testing.T) {
	modes(t, func(t *testing.T, interpolate bool) {
		h := harness(connect(t, interpolate))
		storetest.Run(t, h.NewBackend, storetest.WithSweeper(h.Sweeper()))
	})
}

// TestShared runs the tests mysqlstore shares with pgstore.
func TestShared(t *testing.T) {
	modes(t, func(t *testing.T, interpolate bool) {
		sqltest.Run(t, harness(connect(t, interpolate)))
	})
}

func TestUnreachable(t *testing.T) {
	sqltest.Unreachable(t, harness(open(t, "root@tcp(127.0.0.1:1)/test?timeout=1s", false)))
}

func TestUnresponsive(t *testing.T) {
	// A server that accepts connections and never answers: every call
	// must still give up by its deadline, or by the Backend's timeout
	// when the caller sets none.
	h := harness(open(t, "root@tcp("+sqltest.Blackhole(t)+")/test", false))
	sqltest.Unreachable(t, h)
	sqltest.Timeout(t, h)
}

func TestScanOneConnection(t *testing.T) {
	db := connect(t, true)
	db.SetMaxOpenConns(1)
	sqltest.ScanOneConnection(t, harness(db))
}

func TestOptions(t *testing.T) {
	// Checked before the server is asked anything.
	db := open(t, "root@tcp(127.0.0.1:1)/test?timeout=1s", false)
	bad := map[string]Option{
		"empty name":     WithTable(""),
		"space":          WithTable("my sessions"),
		"injection":      WithTable("sessions`; DROP TABLE users; --"),
		"backquote":      WithTable("a`b"),
		"leading digit":  WithTable("1sessions"),
		"three parts":    WithTable("a.b.c"),
		"empty database": WithTable(".sessions"),
		"too long":       WithTable(strings.Repeat("s", 65)),
		"non-ASCII":      WithTable("séssions"),
		"negative sweep": WithSweepInterval(-time.Second),
		"zero batch":     WithSweepBatch(0),
	}
	// A negative timeout is none, not an error.
	s, err := New(t.Context(), db, WithTimeout(-1), WithoutMigration())
	require.NoError(t, err)
	_ = s.Close()
	for name, o := range bad {
		_, err := New(t.Context(), db, o, WithoutMigration())
		assert.Error(t, err, name)
	}
	for _, name := range []string{"sessions", "Sessions_2", "order", "_s", "app.sessions", strings.Repeat("s", 64)} {
		s, err := New(t.Context(), db, WithTable(name), WithoutMigration())
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
	got, err = SchemaFor("auth.order")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(got, "CREATE TABLE IF NOT EXISTS `auth`.`order` (\n"), got)
	_, err = SchemaFor("x; DROP TABLE y")
	require.Error(t, err)
}

// TestIndexes checks the indexes and columns Migrate makes; sqltest
// checks that it is idempotent.
func TestIndexes(t *testing.T) {
	db := connect(t, true)
	s := newBackend(t, db)
	ctx := t.Context()
	rows, err := db.QueryContext(ctx, `SELECT index_name, column_name FROM information_schema.statistics
		WHERE table_schema = DATABASE() AND table_name = ? ORDER BY index_name, seq_in_index`, s.name.Table)
	require.NoError(t, err)
	indexes := map[string][]string{}
	for rows.Next() {
		var index, column string
		require.NoError(t, rows.Scan(&index, &column))
		indexes[index] = append(indexes[index], column)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[string][]string{
		"PRIMARY":     {"key"},
		"expires_idx": {"expires"},
		"user_id_idx": {"user_id"},
	}, indexes)

	var engine string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT engine FROM information_schema.tables
		WHERE table_schema = DATABASE() AND table_name = ?`, s.name.Table).Scan(&engine))
	require.Equal(t, "InnoDB", engine)
	var keyType, keyCollation string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT column_type, collation_name FROM information_schema.columns
		WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'key'`, s.name.Table).Scan(&keyType, &keyCollation))
	require.Equal(t, "char(64)", keyType)
	require.Equal(t, "ascii_bin", keyCollation)
}

// TestQuotedName uses a database-qualified table whose name is a reserved
// word.
func TestQuotedName(t *testing.T) {
	db := connect(t, true)
	ctx := t.Context()
	database := sqltest.RandomName("session_test_")
	_, err := db.ExecContext(ctx, "CREATE DATABASE "+database)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = db.ExecContext(context.Background(), "DROP DATABASE "+database) })
	s, err := New(ctx, db, WithTable(database+".order"), WithSweepInterval(0))
	require.NoError(t, err)
	defer s.Close()
	harness(db).UseEveryStatement(t, s)
}

func TestClientFoundRows(t *testing.T) {
	// clientFoundRows changes what INSERT ... ON DUPLICATE KEY UPDATE
	// reports: concurrent Updates of a new key must still see each
	// other's writes.
	connect(t, true)
	cfg, err := mysql.ParseDSN(testDSN())
	require.NoError(t, err)
	cfg.ClientFoundRows = true
	s := newBackend(t, open(t, cfg.FormatDSN(), true))
	key := storetest.NewKey()
	const n = 30
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, s.Update(t.Context(), key, nil, func(data []byte, found bool) (serverstore.Entry, bool, error) {
				return entry(string(data)+"x", time.Hour, ""), true, nil
			}))
		}()
	}
	wg.Wait()
	data, found, err := s.Find(t.Context(), key)
	require.NoError(t, err)
	require.True(t, found)
	require.Len(t, data, n, "concurrent Updates lost writes")
}

func TestMaxUserID(t *testing.T) {
	db := connect(t, true)
	s := newBackend(t, db)
	ctx := t.Context()

	// The longest user ID fits; a longer one is refused, not cut short.
	long := strings.Repeat("u", MaxUserID)
	require.NoError(t, s.Commit(ctx, storetest.NewKey(), entry("x", time.Hour, long)))
	got, err := s.FindUser(ctx, long)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, ErrUserIDTooLong, s.Commit(ctx, storetest.NewKey(), entry("x", time.Hour, long+"u")))
	require.Equal(t, ErrUserIDTooLong, s.Rename(ctx, storetest.NewKey(), storetest.NewKey(), entry("x", time.Hour, long+"u")))
	require.Equal(t, ErrUserIDTooLong, s.Update(ctx, storetest.NewKey(), nil, func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("x", time.Hour, long+"u"), true, nil
	}))
	key := storetest.NewKey()
	hint := entry("x", time.Hour, long)
	require.NoError(t, s.Commit(ctx, key, hint))
	require.Equal(t, ErrUserIDTooLong, s.Update(ctx, key, &hint, func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("y", time.Hour, long+"u"), true, nil
	}))
	data, found, err := s.Find(ctx, key)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "x", string(data), "nothing written")
}

func TestTimeZones(t *testing.T) {
	// Neither the DSN's loc nor the session's time_zone shifts the
	// stored expiry: the column holds UTC.
	connect(t, true)
	cfg, err := mysql.ParseDSN(testDSN())
	require.NoError(t, err)
	cfg.Loc, err = time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	cfg.ParseTime = true
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'-07:00'"
	for _, interpolate := range []bool{false, true} {
		db := open(t, cfg.FormatDSN(), interpolate)
		var zone string
		require.NoError(t, db.QueryRowContext(t.Context(), "SELECT @@session.time_zone").Scan(&zone))
		require.Equal(t, "-07:00", zone)
		s := newBackend(t, db)
		ctx := t.Context()
		key := storetest.NewKey()
		e := entry("x", 2*time.Second, "")
		require.NoError(t, s.Commit(ctx, key, e))
		var stored string
		require.NoError(t, db.QueryRowContext(ctx, "SELECT CAST(`expires` AS CHAR) FROM "+quote(s.name)).Scan(&stored))
		require.Equal(t, e.Expires.UTC().Truncate(time.Microsecond).Format("2006-01-02 15:04:05.000000"), stored)
		_, found, err := s.Find(ctx, key)
		require.NoError(t, err)
		require.True(t, found)
		time.Sleep(time.Until(e.Expires) + 100*time.Millisecond)
		_, found, err = s.Find(ctx, key)
		require.NoError(t, err)
		require.False(t, found)
	}
}

func TestMaxAllowedPacket(t *testing.T) {
	// The 1 MiB sessions of the suite need the server's
	// max_allowed_packet above 1 MiB; log it for the record.
	db := connect(t, true)
	var packet int64
	require.NoError(t, db.QueryRowContext(t.Context(), "SELECT @@max_allowed_packet").Scan(&packet))
	t.Logf("max_allowed_packet = %d bytes", packet)
	require.Greater(t, packet, int64(2<<20))
}

// explainKey returns the index MySQL's EXPLAIN says query uses (the key
// column of its first row), and the whole output for messages.
func explainKey(t *testing.T, db *sql.DB, query string, args ...any) (string, string) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "EXPLAIN "+query, args...)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out []string
	key := ""
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for i, c := range cols {
			out = append(out, c+"="+vals[i].String)
			if c == "key" && len(out) <= len(cols) {
				key = vals[i].String
			}
		}
	}
	require.NoError(t, rows.Err())
	return key, strings.Join(out, " ")
}

func TestQueryPlans(t *testing.T) {
	modes(t, func(t *testing.T, interpolate bool) {
		db := connect(t, interpolate)
		s := newBackend(t, db)
		ctx := t.Context()
		insertRows(t, s, 5000, time.Now().Add(time.Hour), func(i int) string {
			if i%4 == 0 {
				return ""
			}
			return fmt.Sprint("user", i%500)
		})
		key := storetest.NewKey()
		require.NoError(t, s.Commit(ctx, key, entry("x", time.Hour, "user7")))
		_, err := db.ExecContext(ctx, "ANALYZE TABLE "+quote(s.name))
		require.NoError(t, err)
		now := datetime(time.Now())

		idx, plan := explainKey(t, db, s.q.Find, key, now)
		require.Equal(t, "PRIMARY", idx, plan)
		idx, plan = explainKey(t, db, s.q.Lock, now, key)
		require.Equal(t, "PRIMARY", idx, plan)
		idx, plan = explainKey(t, db, s.q.FindUser, "user7", now)
		require.Equal(t, "user_id_idx", idx, plan)
		idx, plan = explainKey(t, db, s.q.DeleteUser, "user7", now)
		require.Equal(t, "user_id_idx", idx, plan)
		idx, plan = explainKey(t, db, s.q.Sweep, now, 1000)
		require.Equal(t, "expires_idx", idx, plan)
		// A page of Scan walks the primary key from the last key on.
		idx, plan = explainKey(t, db, s.q.Scan, key, now, 100)
		require.Equal(t, "PRIMARY", idx, plan)
	})
}

func BenchmarkBackend(b *testing.B) {
	for _, mode := range []struct {
		name        string
		interpolate bool
	}{{"Prepared", false}, {"Interpolated", true}} {
		b.Run(mode.name, func(b *testing.B) {
			db := connect(b, mode.interpolate)
			sqltest.Benchmark(b, func(b *testing.B) sqltest.Backend { return newBackend(b, db) })
		})
	}
}

// TestSweepMeetingAnUpdateIsRetried: a sweep that meets an Update
// extending one of its rows is aborted by InnoDB as deadlocked; it is run
// again, and the extended row survives it.
func TestSweepMeetingAnUpdateIsRetried(t *testing.T) {
	modes(t, func(t *testing.T, interpolate bool) {
		db := connect(t, interpolate)
		s := newBackend(t, db)
		ctx := t.Context()
		key := storetest.NewKey()
		harness(db).Insert(t, s, key, "old", time.Now().Add(-time.Minute), "")
		inFn, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- s.Update(ctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) {
				close(inFn)
				<-release
				return serverstore.Entry{Data: []byte("new"), Expires: time.Now().Add(time.Hour)}, true, nil
			})
		}()
		<-inFn
		swept := make(chan error, 1)
		go func() { _, err := s.Sweep(ctx); swept <- err }()
		time.Sleep(300 * time.Millisecond) // the sweep waits on the Update's row
		close(release)
		require.NoError(t, <-done)
		require.NoError(t, <-swept, "the sweep failed rather than run again")
		data, found, err := s.Find(ctx, key)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, "new", string(data))
	})
}

// TestUpdatePanicRollsBack: a panic in an Update's function (application
// code; net/http recovers a handler's panic) leaves no transaction open,
// with its row lock and its connection.
func TestUpdatePanicRollsBack(t *testing.T) {
	admin := connect(t, true)
	db := open(t, testDSN(), true)
	db.SetMaxOpenConns(1)
	var id int64
	require.NoError(t, db.QueryRowContext(t.Context(), "SELECT CONNECTION_ID()").Scan(&id))
	other := newBackend(t, admin)                                       // its table is dropped through admin
	t.Cleanup(func() { _, _ = admin.Exec(fmt.Sprintf("KILL %d", id)) }) // before the drop, should the test fail
	s, err := New(t.Context(), db, WithTable(other.name.Table), WithoutMigration(), WithSweepInterval(0))
	require.NoError(t, err)
	key := storetest.NewKey()
	func() {
		defer func() { _ = recover() }()
		_ = s.Update(context.Background(), key, nil, func([]byte, bool) (serverstore.Entry, bool, error) {
			panic("handler bug")
		})
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	assert.NoError(t, other.Update(ctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) {
		return serverstore.Entry{Data: []byte("x"), Expires: time.Now().Add(time.Hour)}, true, nil
	}), "the next Update of the key waits on a lock nobody releases")
	assert.Zero(t, db.Stats().InUse, "the panicking Update's connection is still checked out")
}
