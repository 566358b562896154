package sqlitestore

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore/internal/sqlstore/sqltest"
)

// TestExistingTable: New on an existing table the Backend cannot use fails,
// naming the table, what is wrong and the fix, and changes nothing; on a
// table that differs from Schema only in ways that do not matter, it
// starts.
func TestExistingTable(t *testing.T) {
	db := openDB(t, tempPath(t), testParams)
	const (
		key     = `"key" TEXT NOT NULL PRIMARY KEY`
		data    = `"data" BLOB NOT NULL`
		expires = `"expires" INTEGER NOT NULL`
		userID  = `"user_id" TEXT`
	)
	indexes := func(table string) []string {
		return []string{
			`CREATE INDEX "` + table + `_e" ON "` + table + `" ("expires")`,
			`CREATE INDEX "` + table + `_u" ON "` + table + `" ("user_id")`,
		}
	}
	bad := []struct {
		name    string
		columns []string
		extra   func(table string) []string // statements after CREATE TABLE; nil: indexes
		// each in the error
		problems []string
	}{
		{"wrong types", []string{`"key" INTEGER PRIMARY KEY`, `"data" TEXT NOT NULL`, `"expires" REAL NOT NULL`, `"user_id" NUMERIC`}, nil, []string{
			"column key is INTEGER (want TEXT NOT NULL PRIMARY KEY)",
			"column data is TEXT NOT NULL (want BLOB NOT NULL)",
			"column expires is REAL NOT NULL (want INTEGER NOT NULL)",
			"column user_id is NUMERIC (want TEXT)",
		}},
		{"expires as text", []string{key, data, `"expires" DATETIME NOT NULL`, userID}, nil, []string{
			"column expires is DATETIME NOT NULL (want INTEGER NOT NULL)",
		}},
		{"user not null", []string{key, data, expires, `"user_id" TEXT NOT NULL`}, nil, []string{
			"column user_id is TEXT NOT NULL (want TEXT)",
		}},
		{"missing column", []string{key, data, expires}, func(table string) []string { return indexes(table)[:1] }, []string{
			"column user_id is missing (want TEXT)",
			`no index on user_id (want CREATE INDEX ... ("user_id"), collation BINARY)`,
		}},
		{"no unique key", []string{`"key" TEXT NOT NULL`, data, expires, userID}, func(table string) []string {
			return append(indexes(table), `CREATE INDEX "`+table+`_k" ON "`+table+`" ("key")`)
		}, []string{
			`no unique index on exactly key (want PRIMARY KEY ("key"), collation BINARY)`,
		}},
		{"wider primary key", []string{`"key" TEXT NOT NULL`, data, expires, userID, `PRIMARY KEY ("key", "expires")`}, nil, []string{
			"no unique index on exactly key",
		}},
		{"case-insensitive key", []string{`"key" TEXT NOT NULL PRIMARY KEY COLLATE NOCASE`, data, expires, userID}, nil, []string{
			"no unique index on exactly key",
		}},
		{"case-insensitive user", []string{key, data, expires, `"user_id" TEXT COLLATE NOCASE`}, nil, []string{
			"no index on user_id",
		}},
		{"no expires index", []string{key, data, expires, userID}, func(table string) []string { return indexes(table)[1:] }, []string{
			`no index on expires (want CREATE INDEX ... ("expires"))`,
		}},
		{"partial expires index", []string{key, data, expires, userID}, func(table string) []string {
			return []string{
				`CREATE INDEX "` + table + `_e" ON "` + table + `" ("expires") WHERE "user_id" IS NOT NULL`,
				indexes(table)[1],
			}
		}, []string{"no index on expires"}},
		{"foreign column", []string{key, data, expires, userID, `"tenant" INTEGER NOT NULL`}, nil, []string{
			"column tenant is NOT NULL without a default",
		}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			extra := c.extra
			if extra == nil {
				extra = indexes
			}
			table := createTable(t, db, c.columns, extra)
			before := catalog(t, db)
			_, err := New(t.Context(), db, WithTable(table), WithSweepInterval(0))
			require.Error(t, err)
			msg := err.Error()
			assert.Contains(t, msg, `sqlitestore: table "`+table+`" exists but the store cannot use it: `)
			for _, p := range c.problems {
				assert.Contains(t, msg, p)
			}
			assert.Contains(t, msg, "drop or rename that table (New then creates it as Schema shows), or give the store another table name with WithTable")
			assert.Equal(t, before, catalog(t, db), "New changed the schema")
		})
	}

	t.Run("view", func(t *testing.T) {
		base := newBackend(t, db)
		view := sqltest.RandomName("sessions_test_")
		_, err := db.ExecContext(t.Context(), `CREATE VIEW "`+view+`" AS SELECT * FROM "`+base.name.Table+`"`)
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = db.Exec(`DROP VIEW "` + view + `"`) })
		_, err = New(t.Context(), db, WithTable(view), WithSweepInterval(0))
		require.ErrorContains(t, err, "exists but the store cannot use it: it is a view")
	})

	t.Run("case", func(t *testing.T) {
		// SQLite matches table names regardless of case: the Backend
		// checks the table its statements will use.
		table := createTable(t, db, []string{`"key" INTEGER`, data, expires, userID}, indexes)
		_, err := New(t.Context(), db, WithTable(strings.ToUpper(table)), WithSweepInterval(0))
		require.ErrorContains(t, err, "column key is INTEGER")
	})

	compatible := []struct {
		name    string
		columns []string
		extra   func(table string) []string
	}{
		// Other types of the same affinity, other index names, wider
		// secondary indexes, a partial user index as Schema's, columns
		// of the application's own that INSERTs may leave out.
		{"variants", []string{`"KEY" VARCHAR(64) PRIMARY KEY NOT NULL`, `"data" BLOB`, `"expires" BIGINT NOT NULL`, `"user_id" VARCHAR(300)`,
			`"note" TEXT NOT NULL DEFAULT ''`, `"n" INTEGER`}, func(table string) []string {
			return []string{
				`CREATE INDEX "` + table + `_by_expiry" ON "` + table + `" ("expires", "user_id")`,
				`CREATE INDEX "` + table + `_by_user" ON "` + table + `" ("user_id", "expires") WHERE user_id IS NOT NULL`,
			}
		}},
		// A rowid alias, which SQLite fills in, beside a unique key.
		{"rowid", []string{`"id" INTEGER PRIMARY KEY`, `"key" TEXT NOT NULL UNIQUE`, data, expires, userID}, indexes},
		{"without rowid", []string{key, data, expires, userID}, indexes},
	}
	for _, c := range compatible {
		t.Run(c.name, func(t *testing.T) {
			table := createTable(t, db, c.columns, c.extra)
			if c.name == "without rowid" {
				// Recreated WITHOUT ROWID.
				_, err := db.Exec(`DROP TABLE "` + table + `"`)
				require.NoError(t, err)
				_, err = db.Exec(`CREATE TABLE "` + table + `" (` + strings.Join(c.columns, ", ") + `) WITHOUT ROWID`)
				require.NoError(t, err)
				for _, stmt := range c.extra(table) {
					_, err := db.Exec(stmt)
					require.NoError(t, err)
				}
			}
			s, err := New(t.Context(), db, WithTable(table), WithSweepInterval(0))
			require.NoError(t, err)
			defer s.Close()
			harness(db).UseEveryStatement(t, s)
		})
	}
}

// createTable creates a table of a random name with columns, then runs
// extra's statements for it, and returns its name. It is dropped when t
// ends.
func createTable(t *testing.T, db *sql.DB, columns []string, extra func(table string) []string) string {
	t.Helper()
	table := sqltest.RandomName("sessions_test_")
	_, err := db.ExecContext(t.Context(), `CREATE TABLE "`+table+`" (`+strings.Join(columns, ", ")+`)`)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = db.Exec(`DROP TABLE IF EXISTS "` + table + `"`) })
	for _, stmt := range extra(table) {
		_, err := db.ExecContext(t.Context(), stmt)
		require.NoError(t, err)
	}
	return table
}

// catalog returns the database's schema, every object's statement.
func catalog(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT "type", "name", COALESCE("sql", '') FROM sqlite_schema ORDER BY "name"`)
	require.NoError(t, err)
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, def string
		require.NoError(t, rows.Scan(&typ, &name, &def))
		b.WriteString(typ + " " + name + ": " + def + "\n")
	}
	require.NoError(t, rows.Err())
	return b.String()
}
