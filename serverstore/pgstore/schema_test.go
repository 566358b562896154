package pgstore

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore/internal/sqlstore/sqltest"
)

// TestExistingTable: New on an existing table the Backend cannot use
// fails, naming the table, what is wrong and the fix, and changes nothing
// (it adds no index to it either); on a table that differs from Schema
// only in ways that do not matter, it starts.
func TestExistingTable(t *testing.T) {
	pool := connect(t)
	const (
		key     = `key text COLLATE "C" NOT NULL`
		data    = `data bytea NOT NULL`
		expires = `expires timestamptz NOT NULL`
		userID  = `user_id text COLLATE "C" NULL`
		pk      = `PRIMARY KEY (key)`
	)
	// Index statements run after CREATE TABLE; TABLE stands for its name.
	const (
		expiresIdx = `CREATE INDEX ON TABLE (expires)`
		userIdx    = `CREATE INDEX ON TABLE (user_id) WHERE user_id IS NOT NULL`
	)
	cols := func(parts ...string) string { return "(" + strings.Join(parts, ", ") + ")" }
	bad := []struct {
		name, create string
		extra        []string // statements after CREATE TABLE
		problems     []string // each in the error
	}{
		{"wrong types", cols("key varchar(32) NOT NULL", "data text NOT NULL", "expires timestamp NOT NULL", "user_id integer NULL", pk),
			[]string{expiresIdx, userIdx}, []string{
				`column key is character varying(32) NOT NULL (want text COLLATE "C" PRIMARY KEY)`,
				"column data is text NOT NULL (want bytea NOT NULL)",
				"column expires is timestamp without time zone NOT NULL (want timestamptz NOT NULL)",
				`column user_id is integer (want text COLLATE "C" NULL)`,
			}},
		{"seconds", cols(key, data, "expires timestamptz(0) NOT NULL", userID, pk), []string{expiresIdx, userIdx},
			[]string{"column expires is timestamp(0) with time zone NOT NULL (want timestamptz NOT NULL)"}},
		{"padded key", cols("key char(128) NOT NULL", data, expires, userID, pk), []string{expiresIdx, userIdx},
			[]string{"column key is character(128) NOT NULL"}},
		{"user not null", cols(key, data, expires, `user_id text NOT NULL`, pk), []string{expiresIdx, userIdx},
			[]string{"column user_id is text NOT NULL"}},
		{"short user", cols(key, data, expires, `user_id varchar(64) NULL`, pk), []string{expiresIdx, userIdx},
			[]string{"column user_id is character varying(64) (want"}},
		{"quoted column", cols(`"Key" text NOT NULL`, data, expires, userID, `PRIMARY KEY ("Key")`), []string{expiresIdx, userIdx}, []string{
			`column key is missing (want text COLLATE "C" PRIMARY KEY)`,
			"column Key is NOT NULL without a default, and the store does not write it",
		}},
		{"missing column", cols(key, data, expires, pk), []string{expiresIdx}, []string{
			`column user_id is missing (want text COLLATE "C" NULL)`,
			"no index on user_id (want CREATE INDEX ON ",
		}},
		{"no primary key", cols(key, data, expires, userID), []string{`CREATE INDEX ON TABLE (key)`, expiresIdx, userIdx},
			[]string{"no unique index on exactly key (want PRIMARY KEY (key))"}},
		{"partial unique key", cols(key, data, expires, userID), []string{`CREATE UNIQUE INDEX ON TABLE (key) WHERE expires > '2000-01-01'`, expiresIdx, userIdx},
			[]string{"no unique index on exactly key"}},
		{"deferrable key", cols(key, data, expires, userID, pk+" DEFERRABLE"), []string{expiresIdx, userIdx},
			[]string{"no unique index on exactly key"}},
		{"wider primary key", cols(key, data, expires, userID, "PRIMARY KEY (key, expires)"), []string{expiresIdx, userIdx},
			[]string{"no unique index on exactly key"}},
		{"no expires index", cols(key, data, expires, userID, pk), []string{`CREATE INDEX ON TABLE (user_id, expires)`}, []string{
			"no index on expires (want CREATE INDEX ON ",
		}},
		{"hash expires index", cols(key, data, expires, userID, pk), []string{`CREATE INDEX ON TABLE USING hash (expires)`, userIdx}, []string{
			"no index on expires",
		}},
		{"other partial user index", cols(key, data, expires, userID, pk), []string{expiresIdx, `CREATE INDEX ON TABLE (user_id) WHERE user_id <> 'admin'`}, []string{
			"no index on user_id",
		}},
		{"foreign column", cols(key, data, expires, userID, "tenant int NOT NULL", pk), []string{expiresIdx, userIdx}, []string{
			"column tenant is NOT NULL without a default, and the store does not write it",
		}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			table := createTable(t, pool, c.create, c.extra...)
			before := describe(t, pool, table)
			_, err := New(t.Context(), pool, WithTable(table), WithSweepInterval(0))
			require.Error(t, err)
			msg := err.Error()
			assert.Contains(t, msg, `pgstore: table "`+table+`" exists but the store cannot use it: `)
			for _, p := range c.problems {
				assert.Contains(t, msg, p)
			}
			assert.Contains(t, msg, "drop or rename that table (New then creates it as Schema shows), or give the store another table name with WithTable")
			assert.Equal(t, before, describe(t, pool, table), "New altered the table")
		})
	}

	t.Run("view", func(t *testing.T) {
		base := newBackend(t, pool)
		view := sqltest.RandomName("sessions_test_")
		_, err := pool.Exec(t.Context(), "CREATE VIEW "+view+" AS SELECT * FROM "+quote(base.name))
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "DROP VIEW "+view) })
		_, err = New(t.Context(), pool, WithTable(view), WithSweepInterval(0))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "exists but the store cannot use it: it is a view")
	})

	t.Run("compatible", func(t *testing.T) {
		// Other string types for the key and user_id, other index
		// names, wider secondary indexes, a full index on user_id,
		// columns of the application's own that INSERTs may leave out:
		// all work.
		table := createTable(t, pool, cols("key varchar(64) NOT NULL", data, expires, "user_id varchar(300) NULL",
			"note text NOT NULL DEFAULT ''", "n int GENERATED ALWAYS AS IDENTITY", "len int GENERATED ALWAYS AS (length(data)) STORED",
			"CONSTRAINT by_key PRIMARY KEY (key)"),
			`CREATE INDEX by_expiry ON TABLE (expires, user_id)`, `CREATE INDEX by_user ON TABLE (user_id, expires)`)
		before := describe(t, pool, table)
		s, err := New(t.Context(), pool, WithTable(table), WithSweepInterval(0))
		require.NoError(t, err)
		defer s.Close()
		assert.Equal(t, before, describe(t, pool, table), "New altered a table it can use")
		harness(pool).UseEveryStatement(t, s)
	})
}

// createTable creates a table of a random name with the definition def
// (what follows the name in CREATE TABLE), then runs extra with TABLE
// standing for its name, drops it when t ends, and returns its name.
func createTable(t *testing.T, pool *pgxpool.Pool, def string, extra ...string) string {
	t.Helper()
	table := sqltest.RandomName("sessions_test_")
	_, err := pool.Exec(t.Context(), "CREATE TABLE "+table+" "+def)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+table) })
	for _, stmt := range extra {
		_, err := pool.Exec(t.Context(), strings.ReplaceAll(stmt, "TABLE", table))
		require.NoError(t, err)
	}
	return table
}

// describe returns table's columns and indexes, as the catalog defines
// them.
func describe(t *testing.T, pool *pgxpool.Pool, table string) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `
		SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text
		FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
		UNION ALL
		SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = to_regclass($1)
		ORDER BY 1`, pgx.Identifier{table}.Sanitize())
	require.NoError(t, err)
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NotEmpty(t, defs)
	return defs
}
