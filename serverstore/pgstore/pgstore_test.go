package pgstore

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore/internal/sqlstore"
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

// harness describes pool's database and the Backend to sqltest.
func harness(pool *pgxpool.Pool) sqltest.Harness {
	return sqltest.Harness{
		Name: pkgName,
		Open: func(ctx context.Context, o sqltest.Options) (sqltest.Backend, error) {
			return New(ctx, pool, sqltest.Apply(o, WithTable, WithSweepInterval, WithSweepBatch, WithoutMigration, WithTimeout)...)
		},
		Table: func(s sqltest.Backend) sqlstore.Name { return s.(*Backend).name },
		Quote: func(ident string) string { return pgx.Identifier{ident}.Sanitize() },
		Exec: func(ctx context.Context, query string, args ...any) error {
			_, err := pool.Exec(ctx, query, args...)
			return err
		},
		QueryRow: func(ctx context.Context, query string, args []any, dest ...any) error {
			return pool.QueryRow(ctx, query, args...).Scan(dest...)
		},
		Insert: func(t testing.TB, s sqltest.Backend, key, data string, expires time.Time, user string) {
			_, err := pool.Exec(t.Context(), `INSERT INTO `+quote(s.(*Backend).name)+` (key, data, expires, user_id) VALUES ($1, $2, $3, $4)`,
				key, []byte(data), expires, sqlstore.NullIfEmpty(user))
			require.NoError(t, err)
		},
		InsertExpired: func(t testing.TB, s sqltest.Backend, n int, user string) {
			_, err := pool.Exec(t.Context(), `INSERT INTO `+quote(s.(*Backend).name)+` (key, data, expires, user_id)
				SELECT encode(sha256(convert_to(gen_random_uuid()::text, 'UTF8')), 'hex'), '\x00',
				       now() - interval '1 hour', $2
				FROM generate_series(1, $1)`, n, sqlstore.NullIfEmpty(user))
			require.NoError(t, err)
		},
		SweepBatch: func(ctx context.Context, s sqltest.Backend, before time.Time, limit int) (int, error) {
			return s.(*Backend).c.SweepBatch(ctx, before, limit)
		},
		SweeperDone: func(s sqltest.Backend) <-chan struct{} { return s.(*Backend).c.Sweeper().Done() },
	}
}

// newBackend returns a Backend with no sweeper on a table of its own,
// which is dropped when t ends.
func newBackend(t testing.TB, pool *pgxpool.Pool) *Backend {
	return harness(pool).New(t, sqltest.Options{}).(*Backend)
}

func TestConformance(t *testing.T) {
	h := harness(connect(t))
	storetest.Run(t, h.NewBackend, storetest.WithSweeper(h.Sweeper()))
}

// TestShared runs the tests pgstore shares with mysqlstore.
func TestShared(t *testing.T) {
	sqltest.Run(t, harness(connect(t)))
}

func TestUnreachable(t *testing.T) {
	pool, err := pgxpool.New(t.Context(), "postgres://postgres@127.0.0.1:1/test?connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	sqltest.Unreachable(t, harness(pool))
}

func TestUnresponsive(t *testing.T) {
	// A server that accepts connections and never answers: every call
	// must still give up by its deadline, or by the Backend's timeout
	// when the caller sets none.
	pool, err := pgxpool.New(t.Context(), "postgres://postgres@"+sqltest.Blackhole(t)+"/test")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	sqltest.Unreachable(t, harness(pool))
	sqltest.Timeout(t, harness(pool))
}

func TestScanOneConnection(t *testing.T) {
	connect(t)
	cfg, err := pgxpool.ParseConfig(testURL())
	require.NoError(t, err)
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	sqltest.ScanOneConnection(t, harness(pool))
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
	// A negative timeout is none, not an error.
	s, err := New(t.Context(), pool, WithTimeout(-1), WithoutMigration())
	require.NoError(t, err)
	_ = s.Close()
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

// TestIndexes checks the indexes Migrate makes, by name and definition;
// sqltest checks that it is idempotent.
func TestIndexes(t *testing.T) {
	pool := connect(t)
	s := newBackend(t, pool)
	ctx := t.Context()
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
	harness(pool).UseEveryStatement(t, s)
}

func TestSweepSkipsLockedRows(t *testing.T) {
	// A sweep does not wait for an expired row another transaction holds,
	// nor delete it.
	pool := connect(t)
	h := harness(pool)
	s := newBackend(t, pool)
	ctx := t.Context()
	key := storetest.NewKey()
	h.Insert(t, s, key, "", time.Now().Add(-time.Hour), "")
	h.InsertExpired(t, s, 5, "")
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
	require.Equal(t, 1, h.Count(t, s))
}

// explain returns the plan of query with args, on s's table filled with
// rows of many users and analysed.
func explain(t *testing.T, s *Backend, query string, args ...any) string {
	t.Helper()
	rows, err := s.pool.Query(t.Context(), "EXPLAIN "+query, args...)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return strings.Join(lines, "\n")
}

func TestQueryPlans(t *testing.T) {
	pool := connect(t)
	s := newBackend(t, pool)
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

	plan := explain(t, s, s.q.Find, key, time.Now())
	require.Contains(t, plan, "Index Scan using "+tbl+"_pkey", plan)
	plan = explain(t, s, s.q.Lock, time.Now(), key)
	require.Contains(t, plan, "Index Scan using "+tbl+"_pkey", plan)
	plan = explain(t, s, s.q.FindUser, "user7", time.Now())
	require.Contains(t, plan, tbl+"_user_id_idx", plan)
	plan = explain(t, s, s.q.DeleteUser, "user7", time.Now())
	require.Contains(t, plan, tbl+"_user_id_idx", plan)
	plan = explain(t, s, s.q.Sweep, time.Now(), 1000)
	require.Contains(t, plan, tbl+"_expires_idx", plan)
	// A page of Scan walks the primary key from the last key on.
	plan = explain(t, s, s.q.Scan, key, time.Now(), 100)
	require.Contains(t, plan, "Index Scan using "+tbl+"_pkey", plan)
}

func BenchmarkBackend(b *testing.B) {
	pool := connect(b)
	sqltest.Benchmark(b, func(b *testing.B) sqltest.Backend { return newBackend(b, pool) })
}
