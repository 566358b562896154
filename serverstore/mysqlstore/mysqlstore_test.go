package mysqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/go-sealed/session"
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

// newStore returns a Store on a table of its own, which is dropped when t
// ends, with no sweeper unless opts start one.
func newStore(t testing.TB, db *sql.DB, opts ...Option) *Store {
	t.Helper()
	opts = append([]Option{WithTable(sqltest.RandomName("sessions_test_")), WithSweepInterval(0)}, opts...)
	s, err := New(t.Context(), db, opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+quote(s.name))
		assert.NoError(t, err)
	})
	return s
}

// count returns how many rows s's table holds, expired ones included.
func count(t testing.TB, s *Store) int {
	t.Helper()
	var n int
	require.NoError(t, s.db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+quote(s.name)).Scan(&n))
	return n
}

// insertRows inserts n rows expiring at expires, tagged with user
// ("" for none), straight into s's table.
func insertRows(t testing.TB, s *Store, n int, expires time.Time, user func(i int) string) {
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

func noUser(int) string { return "" }

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
		db := connect(t, interpolate)
		storetest.Run(t, func(t *testing.T) serverstore.Backend {
			return newStore(t, db)
		})
	})
}

func TestUnreachable(t *testing.T) {
	db := open(t, "root@tcp(127.0.0.1:1)/test?timeout=1s", false)

	// New migrates: it fails, by its context's deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := New(ctx, db)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "mysqlstore: migrate: "), err.Error())
	require.Less(t, time.Since(start), 3*time.Second)

	s, err := New(t.Context(), db, WithoutMigration())
	require.NoError(t, err, "New WithoutMigration must not need the server")
	t.Cleanup(func() { _ = s.Close() })
	storetest.RunUnreachable(t, s)

	_, err = s.Sweep(ctx)
	require.Error(t, err)
}

func TestUnresponsive(t *testing.T) {
	// A server that accepts connections and never answers: every call
	// must still give up by its deadline.
	db := open(t, "root@tcp("+sqltest.Blackhole(t)+")/test", false)
	s, err := New(t.Context(), db, WithoutMigration())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	storetest.RunUnreachable(t, s)
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
	_, err := New(t.Context(), nil)
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

func TestMigrate(t *testing.T) {
	db := connect(t, true)
	s := newStore(t, db)
	ctx := t.Context()
	key := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, key, entry("kept", time.Hour, "alice")))

	// Idempotent, and leaves the data alone: again through Migrate, and
	// through New on the existing table.
	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.Migrate(ctx))
	again, err := New(ctx, db, WithTable(s.name.Table), WithSweepInterval(0))
	require.NoError(t, err)
	defer again.Close()
	data, found, err := again.Find(ctx, key)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "kept", string(data))

	// Instances starting at once do not trip over each other.
	var wg sync.WaitGroup
	fresh := sqltest.RandomName("sessions_test_")
	t.Cleanup(func() { _, _ = db.ExecContext(context.Background(), "DROP TABLE IF EXISTS `"+fresh+"`") })
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := New(ctx, db, WithTable(fresh), WithSweepInterval(0))
			if assert.NoError(t, err) {
				_ = s.Close()
			}
		}()
	}
	wg.Wait()

	// The indexes, by name and columns.
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
	key := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, key, entry("x", time.Hour, "alice")))
	got, err := s.FindUser(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, map[string][]byte{key: []byte("x")}, got)
	insertRows(t, s, 3, time.Now().Add(-time.Hour), noUser)
	n, err := s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.NoError(t, s.Rename(ctx, key, storetest.NewKey(), entry("y", time.Hour, "")))
	require.NoError(t, s.Update(ctx, key, func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("z", time.Hour, ""), true, nil
	}))
}

func TestSweep(t *testing.T) {
	modes(t, func(t *testing.T, interpolate bool) {
		db := connect(t, interpolate)
		s := newStore(t, db, WithSweepBatch(1000))
		ctx := t.Context()
		live := map[string]string{}
		for i := range 10 {
			key := storetest.NewKey()
			live[key] = fmt.Sprint(i)
			require.NoError(t, s.Commit(ctx, key, entry(live[key], time.Hour, "alice")))
		}
		insertRows(t, s, 2500, time.Now().Add(-time.Hour), func(int) string { return "alice" })
		require.Equal(t, 2510, count(t, s))

		// One statement deletes one batch.
		n, err := sweepBatch(ctx, s.db, s.q.sweep, time.Now(), 1000)
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
	})
}

func TestSweeper(t *testing.T) {
	db := connect(t, true)
	s := newStore(t, db, WithSweepInterval(50*time.Millisecond))
	insertRows(t, s, 30, time.Now().Add(-time.Hour), noUser)
	key := storetest.NewKey()
	require.NoError(t, s.Commit(t.Context(), key, entry("live", time.Hour, "")))
	require.Eventually(t, func() bool { return count(t, s) == 1 }, 10*time.Second, 20*time.Millisecond,
		"the sweeper did not remove the expired rows")
}

func TestClose(t *testing.T) {
	db := connect(t, true)
	require.NoError(t, db.PingContext(t.Context()))
	before := sqltest.Sweepers()
	s := newStore(t, db, WithSweepInterval(time.Millisecond))
	insertRows(t, s, 10, time.Now().Add(-time.Hour), noUser)
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
	db := connect(t, true)
	s, err := New(t.Context(), db, WithTable(sqltest.RandomName("sessions_test_")), WithSweepInterval(time.Hour))
	require.NoError(t, err)
	table := quote(s.name)
	t.Cleanup(func() { _, _ = db.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+table) })
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
	db := connect(t, true)
	s := newStore(t, db)
	ctx := t.Context()
	key := storetest.NewKey()
	_, err := db.ExecContext(ctx, "INSERT INTO "+quote(s.name)+" (`key`, `data`, `expires`, `user_id`) VALUES (?, 'old', ?, 'alice')",
		key, datetime(time.Now().Add(-time.Millisecond)))
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
	db := connect(t, true)
	s := newStore(t, db)
	require.NoError(t, s.Update(t.Context(), storetest.NewKey(), func(data []byte, found bool) (serverstore.Entry, bool, error) {
		return serverstore.Entry{}, false, nil
	}))
	require.Zero(t, count(t, s), "an Update that wrote nothing left a row")
}

func TestUpdateWaitHonoursContext(t *testing.T) {
	// An Update waiting for another's lock gives up at its deadline.
	db := connect(t, true)
	s := newStore(t, db)
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

func TestClientFoundRows(t *testing.T) {
	// clientFoundRows changes what INSERT ... ON DUPLICATE KEY UPDATE
	// reports: concurrent Updates of a new key must still see each
	// other's writes.
	connect(t, true)
	cfg, err := mysql.ParseDSN(testDSN())
	require.NoError(t, err)
	cfg.ClientFoundRows = true
	s := newStore(t, open(t, cfg.FormatDSN(), true))
	key := storetest.NewKey()
	const n = 30
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, s.Update(t.Context(), key, func(data []byte, found bool) (serverstore.Entry, bool, error) {
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

func TestUserIDsExact(t *testing.T) {
	// User IDs differing only in case, accents or trailing spaces are
	// different users.
	db := connect(t, true)
	s := newStore(t, db)
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

	// The longest user ID fits; a longer one is refused, not cut short.
	long := strings.Repeat("u", MaxUserID)
	require.NoError(t, s.Commit(ctx, storetest.NewKey(), entry("x", time.Hour, long)))
	got, err := s.FindUser(ctx, long)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, ErrUserIDTooLong, s.Commit(ctx, storetest.NewKey(), entry("x", time.Hour, long+"u")))
	require.Equal(t, ErrUserIDTooLong, s.Rename(ctx, storetest.NewKey(), storetest.NewKey(), entry("x", time.Hour, long+"u")))
	require.Equal(t, ErrUserIDTooLong, s.Update(ctx, storetest.NewKey(), func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("x", time.Hour, long+"u"), true, nil
	}))
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
		s := newStore(t, db)
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

func TestFarFuture(t *testing.T) {
	// Expiries beyond DATETIME's range are stored as its end.
	db := connect(t, true)
	s := newStore(t, db)
	key := storetest.NewKey()
	require.NoError(t, s.Commit(t.Context(), key, serverstore.Entry{Data: []byte("x"), Expires: time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC)}))
	_, found, err := s.Find(t.Context(), key)
	require.NoError(t, err)
	require.True(t, found)
}

func TestNilData(t *testing.T) {
	// nil data is stored as empty, not as NULL.
	db := connect(t, true)
	s := newStore(t, db)
	key := storetest.NewKey()
	require.NoError(t, s.Commit(t.Context(), key, serverstore.Entry{Expires: time.Now().Add(time.Hour)}))
	data, found, err := s.Find(t.Context(), key)
	require.NoError(t, err)
	require.True(t, found)
	require.Empty(t, data)
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

func TestOnlyHashesStored(t *testing.T) {
	db := connect(t, true)
	s := newStore(t, db)
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
	require.NoError(t, db.QueryRowContext(ctx, "SELECT `key`, `data` FROM "+quote(s.name)).Scan(&key, &data))
	require.Equal(t, 1, count(t, s))
	require.Regexp(t, `^[0-9a-f]{64}$`, key)
	require.Equal(t, hex.EncodeToString(sum[:]), key, "the key is not the hex SHA-256 of the token")
	for _, secret := range []string{token, string(raw)} {
		require.NotContains(t, string(data), secret, "the table holds the token")
		require.NotContains(t, key, secret)
	}
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
		s := newStore(t, db)
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

		idx, plan := explainKey(t, db, s.q.find, key, now)
		require.Equal(t, "PRIMARY", idx, plan)
		idx, plan = explainKey(t, db, s.q.lock, now, key)
		require.Equal(t, "PRIMARY", idx, plan)
		idx, plan = explainKey(t, db, s.q.findUser, "user7", now)
		require.Equal(t, "user_id_idx", idx, plan)
		idx, plan = explainKey(t, db, s.q.deleteUser, "user7", now)
		require.Equal(t, "user_id_idx", idx, plan)
		idx, plan = explainKey(t, db, s.q.sweep, now, 1000)
		require.Equal(t, "expires_idx", idx, plan)
	})
}

func benchmark(b *testing.B, run func(b *testing.B, s *Store)) {
	for _, mode := range []struct {
		name        string
		interpolate bool
	}{{"Prepared", false}, {"Interpolated", true}} {
		b.Run(mode.name, func(b *testing.B) {
			db := connect(b, mode.interpolate)
			run(b, newStore(b, db))
		})
	}
}

func BenchmarkFind(b *testing.B) {
	benchmark(b, func(b *testing.B, s *Store) {
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
	})
}

func BenchmarkCommit(b *testing.B) {
	benchmark(b, func(b *testing.B, s *Store) {
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
	})
}

func BenchmarkUpdate(b *testing.B) {
	benchmark(b, func(b *testing.B, s *Store) {
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
	})
}
