package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-sealed/session/serverstore/internal/sqlstore"
)

// wantColumns are what the Store needs of its table's columns: those of
// Schema, or others that hold the same values and compare them the same
// way.
var wantColumns = []sqlstore.WantColumn{
	{Name: "key", Want: "CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL", Fits: func(c sqlstore.Column) bool {
		// Keys are 64 lowercase hex digits, so any string type that
		// holds them will do, but a longer BINARY: it pads them with
		// zero bytes, and then no key is ever equal to one stored.
		switch c.Type {
		case "char", "varchar", "varbinary":
			return c.Length >= 64
		case "binary":
			return c.Length == 64
		}
		return false
	}},
	// Any shorter BLOB cuts large sessions short (or refuses them, in
	// strict mode).
	{Name: "data", Want: "LONGBLOB NOT NULL", Fits: func(c sqlstore.Column) bool {
		return c.Type == "longblob"
	}},
	// DATETIME(6): the Store writes microseconds, and compares them in
	// its hinted updates; a TIMESTAMP converts with time_zone and ends
	// in 2038.
	{Name: "expires", Want: "DATETIME(6) NOT NULL", Fits: func(c sqlstore.Column) bool {
		return c.Type == "datetime" && c.Precision == 6
	}},
	// NULL for sessions without a user. Binary, so that user IDs that a
	// collation deems equal ("Alice", "alice ") are not one user.
	{Name: "user_id", Want: "VARBINARY(255) NULL", Fits: func(c sqlstore.Column) bool {
		return c.Type == "varbinary" && c.Length >= MaxUserID && c.Nullable
	}},
}

// wantIndexes are the indexes the Store needs: the unique key its upserts
// rest on, and those that keep sweeps and a user's lookups from scanning,
// and locking, the whole table.
var wantIndexes = []sqlstore.WantIndex{
	{Column: "key", Unique: true, Want: "PRIMARY KEY (`key`)"},
	{Column: "expires", Want: "KEY `expires_idx` (`expires`)"},
	{Column: "user_id", Want: "KEY `user_id_idx` (`user_id`)"},
}

// checkTable returns an error if the Store's table, which exists, is not
// one the Store can use, saying what is wrong with it.
func (s *Store) checkTable(ctx context.Context) error {
	var problems []string
	kind, engine, err := s.tableKind(ctx)
	if err != nil {
		return wrap("check table", err)
	}
	switch {
	case kind != "BASE TABLE":
		problems = append(problems, "it is a "+kind)
	case !strings.EqualFold(engine, "InnoDB"):
		problems = append(problems, fmt.Sprintf("its engine is %s (want InnoDB, for transactions and row locks)", engine))
	}
	cols, err := s.columns(ctx)
	if err != nil {
		return wrap("check table", err)
	}
	indexes, err := s.indexes(ctx)
	if err != nil {
		return wrap("check table", err)
	}
	problems = append(problems, sqlstore.Problems(cols, indexes, wantColumns, wantIndexes)...)
	if len(problems) > 0 {
		return errors.New(errPrefix + sqlstore.IncompatibleTable(quote(s.name), problems).Error())
	}
	return nil
}

// tableKind returns the table's type ("BASE TABLE", "VIEW") and engine.
// Where table names are case-sensitive, two tables may differ only in
// case, and information_schema match both: the one spelled as the Store's
// is taken.
func (s *Store) tableKind(ctx context.Context) (kind, engine string, err error) {
	var schema any // nil: the connection's database
	if s.name.Schema != "" {
		schema = s.name.Schema
	}
	rows, err := s.db.QueryContext(ctx, `SELECT table_name, table_type, COALESCE(engine, '')
		FROM information_schema.tables WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?`,
		schema, s.name.Table)
	if err != nil {
		return "", "", err
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var name, k, e string
		if err := rows.Scan(&name, &k, &e); err != nil {
			return "", "", err
		}
		if !found || name == s.name.Table {
			kind, engine, found = k, e, true
		}
	}
	if err := rows.Err(); err != nil {
		return "", "", err
	}
	if !found {
		return "", "", fmt.Errorf("table %s not found in information_schema after CREATE TABLE", quote(s.name))
	}
	return kind, engine, nil
}

// columns returns the table's columns, from SHOW FULL COLUMNS, which
// names the table as every other statement does (information_schema's
// matching of names may differ in case).
func (s *Store) columns(ctx context.Context) ([]sqlstore.Column, error) {
	var cols []sqlstore.Column
	err := show(ctx, s.db, "SHOW FULL COLUMNS FROM "+quote(s.name), func(r map[string]sql.NullString) {
		c := sqlstore.Column{
			Name:      strings.ToLower(r["Field"].String),
			Nullable:  r["Null"].String == "YES",
			Collation: r["Collation"].String,
		}
		// Type is "varbinary(255)", "datetime(6)", "int(11) unsigned".
		typ, _, _ := strings.Cut(strings.ToLower(r["Type"].String), " ")
		typ, arg, _ := strings.Cut(typ, "(")
		n, _ := strconv.ParseInt(strings.TrimSuffix(arg, ")"), 10, 64) // 0 for none, or "10,2"
		c.Type = typ
		switch typ {
		case "datetime", "timestamp", "time":
			c.Precision = n
		default:
			c.Length = n
		}
		extra := strings.ToLower(r["Extra"].String)
		c.Required = !c.Nullable && !r["Default"].Valid &&
			!strings.Contains(extra, "auto_increment") && !strings.Contains(extra, "generated") && !strings.Contains(extra, "persistent")
		cols = append(cols, c)
	})
	return cols, err
}

// indexes returns the table's indexes, from SHOW INDEX. A column indexed
// by a prefix only is named "name(n)", and an expression "(expression)":
// neither serves as an index on the column.
func (s *Store) indexes(ctx context.Context) ([]sqlstore.Index, error) {
	var indexes []sqlstore.Index
	err := show(ctx, s.db, "SHOW INDEX FROM "+quote(s.name), func(r map[string]sql.NullString) {
		name := r["Key_name"].String
		if len(indexes) == 0 || indexes[len(indexes)-1].Name != name {
			indexes = append(indexes, sqlstore.Index{Name: name, Unique: r["Non_unique"].String == "0"})
		}
		col := "(expression)"
		if r["Column_name"].Valid {
			col = strings.ToLower(r["Column_name"].String)
		}
		if r["Sub_part"].Valid {
			col += "(" + r["Sub_part"].String + ")"
		}
		ix := &indexes[len(indexes)-1]
		ix.Columns = append(ix.Columns, col)
	})
	return indexes, err
}

// show runs a SHOW statement and calls row with each row, by column name:
// SHOW's columns differ between MySQL and MariaDB, and their versions.
func show(ctx context.Context, db *sql.DB, query string, row func(map[string]sql.NullString)) error {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]sql.NullString, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		r := make(map[string]sql.NullString, len(names))
		for i, n := range names {
			r[n] = vals[i]
		}
		row(r)
	}
	return rows.Err()
}
