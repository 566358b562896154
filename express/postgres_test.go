package express

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore/storetest"
)

// postgresURL is the database of the tests: SESSION_TEST_POSTGRES_URL, or
// the local server's database "test".
func postgresURL() string {
	if u := os.Getenv("SESSION_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?connect_timeout=5"
}

// postgresPool returns a pool on url, closed when t ends, or skips t if
// the server does not answer.
func postgresPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err == nil {
		t.Cleanup(pool.Close)
		err = pool.Ping(ctx)
	}
	storetest.Require(t, "PostgreSQL", err)
	return pool
}

// postgresTarget returns connect-pg-simple's records in a table of t's
// own, dropped when t ends, or skips t if PostgreSQL does not answer.
func postgresTarget(t *testing.T) target {
	t.Helper()
	pool := postgresPool(t, postgresURL())
	table := "express_test_" + suffix()
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+pgx.Identifier{table}.Sanitize())
	})
	b, err := NewPostgres(context.Background(), pool, WithTable(table), WithCreateTable())
	require.NoError(t, err)
	return target{b: b, env: []string{"STORE=postgres", "DATABASE_URL=" + postgresURL(), "SESSION_TABLE=" + table}, atomicSwap: true}
}

func TestPostgres(t *testing.T) {
	t.Run("Backend", func(t *testing.T) { runBackend(t, postgresTarget(t).b) })
	t.Run("Store", func(t *testing.T) { runStore(t, postgresTarget(t)) })
	t.Run("Node", func(t *testing.T) { runNode(t, postgresTarget(t)) })
}

// TestPostgresTable checks that a missing table fails NewPostgres unless
// WithCreateTable, that the table it creates is connect-pg-simple's, and
// Prune.
func TestPostgresTable(t *testing.T) {
	ctx := context.Background()
	pool := postgresPool(t, postgresURL())
	schema, table := "express_schema_"+suffix(), "sessions"
	_, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = pool.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })

	_, err = NewPostgres(ctx, pool, WithSchema(schema), WithTable(table))
	assert.ErrorContains(t, err, `table "`+schema+`"."sessions" does not exist`)
	b, err := NewPostgres(ctx, pool, WithSchema(schema), WithTable(table), WithCreateTable())
	require.NoError(t, err)
	_, err = NewPostgres(ctx, pool, WithSchema(schema), WithTable(table), WithCreateTable())
	require.NoError(t, err, "creating a table that exists")

	var columns []string
	rows, err := pool.Query(ctx, `SELECT column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, table)
	require.NoError(t, err)
	for rows.Next() {
		var c string
		require.NoError(t, rows.Scan(&c))
		columns = append(columns, c)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"sid character varying NO", "sess json NO", "expire timestamp without time zone NO"}, columns,
		"not connect-pg-simple's table.sql")

	require.NoError(t, b.Set(ctx, "live", []byte(`{}`), time.Now().Add(time.Hour)))
	require.NoError(t, b.Set(ctx, "expired", []byte(`{}`), time.Now().Add(10*time.Millisecond)))
	time.Sleep(20 * time.Millisecond)
	n, err := b.Prune(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	var left int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+b.table).Scan(&left))
	assert.Equal(t, 1, left)
}

// TestPostgresUnresponsive checks that WithTimeout bounds each call.
func TestPostgresUnresponsive(t *testing.T) {
	u, err := url.Parse(postgresURL())
	require.NoError(t, err)
	direct := postgresPool(t, postgresURL()) // skips if there is no server
	table := "express_unresponsive_" + suffix()
	t.Cleanup(func() { _, _ = direct.Exec(context.Background(), "DROP TABLE IF EXISTS "+table) })
	p := proxy(t, u.Host)
	u.Host = p.Addr()
	pool := postgresPool(t, u.String())
	timeout := 300 * time.Millisecond
	b, err := NewPostgres(context.Background(), pool, WithTimeout(timeout), WithTable(table), WithCreateTable())
	require.NoError(t, err)
	p.Stall()
	t.Cleanup(p.Restore) // before the pool closes: pgx gives a stalled connection 15 s to close
	runUnreachable(t, b, timeout)
}
