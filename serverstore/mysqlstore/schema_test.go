package mysqlstore

import (
	"context"
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
	db := connect(t, true)
	const (
		key     = "`key` CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL"
		data    = "`data` LONGBLOB NOT NULL"
		expires = "`expires` DATETIME(6) NOT NULL"
		userID  = "`user_id` VARBINARY(255) NULL"
		indexes = "PRIMARY KEY (`key`), KEY (`expires`), KEY (`user_id`)"
	)
	cols := func(parts ...string) string { return "(" + strings.Join(parts, ", ") + ") ENGINE=InnoDB" }
	bad := []struct {
		name, create string
		problems     []string // each in the error
	}{
		{"wrong types", cols("`key` VARCHAR(255) NOT NULL", "`data` TEXT NOT NULL", "`expires` TIMESTAMP NOT NULL", "`user_id` VARCHAR(255) NULL", indexes), []string{
			"column data is text COLLATE ", // the server's default collation
			"NOT NULL (want LONGBLOB NOT NULL)",
			"column expires is timestamp NOT NULL (want DATETIME(6) NOT NULL)",
			"column user_id is varchar(255) COLLATE ",
		}},
		{"short blob", cols(key, "`data` BLOB NOT NULL", expires, userID, indexes), []string{"column data is blob NOT NULL"}},
		{"seconds", cols(key, data, "`expires` DATETIME NOT NULL", userID, indexes), []string{"column expires is datetime NOT NULL"}},
		{"short user", cols(key, data, expires, "`user_id` VARBINARY(64) NULL", indexes), []string{"column user_id is varbinary(64) (want VARBINARY(255) NULL)"}},
		{"user not null", cols(key, data, expires, "`user_id` VARBINARY(255) NOT NULL", indexes), []string{"column user_id is varbinary(255) NOT NULL"}},
		{"padded key", cols("`key` BINARY(128) NOT NULL", data, expires, userID, indexes), []string{"column key is binary(128) NOT NULL"}},
		{"missing column", cols(key, data, expires, "PRIMARY KEY (`key`), KEY (`expires`)"), []string{
			"column user_id is missing (want VARBINARY(255) NULL)",
			"no index on user_id (want KEY `user_id_idx` (`user_id`))",
		}},
		{"no primary key", cols(key, data, expires, userID, "KEY (`key`), KEY (`expires`), KEY (`user_id`)"), []string{
			"no unique index on exactly key (want PRIMARY KEY (`key`))",
		}},
		{"prefix key", cols(key, data, expires, userID, "PRIMARY KEY (`key`(16)), KEY (`expires`), KEY (`user_id`)"), []string{
			"no unique index on exactly key",
		}},
		{"wider primary key", cols(key, data, expires, userID, "PRIMARY KEY (`key`, `expires`), KEY (`expires`), KEY (`user_id`)"), []string{
			"no unique index on exactly key",
		}},
		{"no expires index", cols(key, data, expires, userID, "PRIMARY KEY (`key`), KEY (`user_id`, `expires`)"), []string{
			"no index on expires (want KEY `expires_idx` (`expires`))",
		}},
		{"foreign column", cols(key, data, expires, userID, "`tenant` INT NOT NULL", indexes), []string{
			"column tenant is NOT NULL without a default",
		}},
		{"MyISAM", "(" + strings.Join([]string{key, data, expires, userID, indexes}, ", ") + ") ENGINE=MyISAM", []string{
			"its engine is MyISAM (want InnoDB",
		}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			table := createTable(t, db, c.create)
			before := showCreate(t, db, table)
			_, err := New(t.Context(), db, WithTable(table), WithSweepInterval(0))
			require.Error(t, err)
			msg := err.Error()
			assert.Contains(t, msg, "mysqlstore: table `"+table+"` exists but the store cannot use it: ")
			for _, p := range c.problems {
				assert.Contains(t, msg, p)
			}
			assert.Contains(t, msg, "drop or rename that table (New then creates it as Schema shows), or give the store another table name with WithTable")
			assert.Equal(t, before, showCreate(t, db, table), "New altered the table")
		})
	}

	t.Run("view", func(t *testing.T) {
		base := newBackend(t, db)
		view := sqltest.RandomName("sessions_test_")
		_, err := db.ExecContext(t.Context(), "CREATE VIEW `"+view+"` AS SELECT * FROM "+quote(base.name))
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = db.ExecContext(context.Background(), "DROP VIEW `"+view+"`") })
		_, err = New(t.Context(), db, WithTable(view), WithSweepInterval(0))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "exists but the store cannot use it: it is a VIEW")
	})

	t.Run("compatible", func(t *testing.T) {
		// Other string types for the key, a longer user_id, other index
		// names, wider secondary indexes, a column of the application's
		// own that INSERTs may leave out: all work.
		table := createTable(t, db, cols("`KEY` VARBINARY(64) NOT NULL", data, expires, "`user_id` VARBINARY(300) NULL",
			"`note` VARCHAR(10) NOT NULL DEFAULT ''", "`n` INT NOT NULL AUTO_INCREMENT UNIQUE",
			"PRIMARY KEY (`KEY`), KEY `by_expiry` (`expires`, `user_id`), KEY `by_user` (`user_id`, `expires`)"))
		s, err := New(t.Context(), db, WithTable(table), WithSweepInterval(0))
		require.NoError(t, err)
		defer s.Close()
		harness(db).UseEveryStatement(t, s)
	})
}

// createTable creates a table of a random name with the definition def
// (what follows the name in CREATE TABLE), dropped when t ends, and
// returns its name.
func createTable(t *testing.T, db *sql.DB, def string) string {
	t.Helper()
	table := sqltest.RandomName("sessions_test_")
	_, err := db.ExecContext(t.Context(), "CREATE TABLE `"+table+"` "+def)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = db.ExecContext(context.Background(), "DROP TABLE IF EXISTS `"+table+"`") })
	return table
}

// showCreate returns the server's CREATE TABLE statement for table.
func showCreate(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	var name, create string
	require.NoError(t, db.QueryRowContext(t.Context(), "SHOW CREATE TABLE `"+table+"`").Scan(&name, &create))
	return create
}
