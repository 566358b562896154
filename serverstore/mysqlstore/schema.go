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

// Schema is the schema New creates (see Migrate) for the default table
// name, to copy into a migration file. It is idempotent. SchemaFor gives
// it for another table name.
const Schema = "CREATE TABLE IF NOT EXISTS `sessions` (\n" + columns

// columns is the part of the schema after the table name.
const columns = "" +
	"\t`key`     CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,\n" +
	"\t`data`    LONGBLOB NOT NULL,\n" +
	"\t`expires` DATETIME(6) NOT NULL,\n" +
	"\t`user_id` VARBINARY(255) NULL,\n" +
	"\tPRIMARY KEY (`key`),\n" +
	"\tKEY `expires_idx` (`expires`),\n" +
	"\tKEY `user_id_idx` (`user_id`)\n" +
	") ENGINE=InnoDB\n"

// MySQL and MariaDB identifiers have at most 64 characters. Index names
// are the table's own, so the table name needs no room for them.
const (
	maxIdent = 64
	pkgName  = "mysqlstore"
)

// SchemaFor returns the schema for the table named table (see WithTable),
// or an error if the name is not valid.
func SchemaFor(table string) (string, error) {
	n, err := sqlstore.ParseName(table, maxIdent, 0)
	if err != nil {
		return "", errors.New(pkgName + ": " + err.Error())
	}
	return schemaFor(n), nil
}

func schemaFor(n sqlstore.Name) string {
	return "CREATE TABLE IF NOT EXISTS " + quote(n) + " (\n" + columns
}

func quote(n sqlstore.Name) string {
	if n.Schema == "" {
		return "`" + n.Table + "`"
	}
	return "`" + n.Schema + "`.`" + n.Table + "`"
}

// Migrate creates the Backend's table and indexes if the table does not
// exist: Schema, for the Backend's table name. If a table of that name
// exists already, it checks that the Backend can use it (its columns,
// their types, its indexes and engine) and otherwise returns an error
// that names the table, says what is wrong with it and how to fix it, so
// that a Backend on someone else's "sessions" table fails here rather
// than on its first request. New calls it unless given WithoutMigration.
// It never alters or drops anything.
func (b *Backend) Migrate(ctx context.Context) error {
	ctx, cancel := b.c.Bound(ctx)
	defer cancel()
	if _, err := b.db.ExecContext(ctx, schemaFor(b.name)); err != nil {
		return b.c.Wrap("migrate", err)
	}
	return b.checkTable(ctx)
}

// wantColumns are what the Backend needs of its table's columns: those of
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
	// DATETIME(6): the Backend writes microseconds, and compares them in
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

// wantIndexes are the indexes the Backend needs: the unique key its upserts
// rest on, and those that keep sweeps and a user's lookups from scanning,
// and locking, the whole table.
var wantIndexes = []sqlstore.WantIndex{
	{Column: "key", Unique: true, Want: "PRIMARY KEY (`key`)"},
	{Column: "expires", Want: "KEY `expires_idx` (`expires`)"},
	{Column: "user_id", Want: "KEY `user_id_idx` (`user_id`)"},
}

// checkTable returns an error if the Backend's table, which exists, is
// not one the Backend can use, saying what is wrong with it.
func (b *Backend) checkTable(ctx context.Context) error {
	var problems []string
	kind, engine, err := b.tableKind(ctx)
	if err != nil {
		return b.c.Wrap("check table", err)
	}
	switch {
	case kind != "BASE TABLE":
		problems = append(problems, "it is a "+kind)
	case !strings.EqualFold(engine, "InnoDB"):
		problems = append(problems, fmt.Sprintf("its engine is %s (want InnoDB, for transactions and row locks)", engine))
	}
	cols, err := b.columns(ctx)
	if err != nil {
		return b.c.Wrap("check table", err)
	}
	indexes, err := b.indexes(ctx)
	if err != nil {
		return b.c.Wrap("check table", err)
	}
	if err := sqlstore.CheckTable(quote(b.name), problems, cols, indexes, wantColumns, wantIndexes); err != nil {
		return fmt.Errorf("%s: %w", pkgName, err)
	}
	return nil
}

// tableKind returns the table's type ("BASE TABLE", "VIEW") and engine.
// Where table names are case-sensitive, two tables may differ only in
// case, and information_schema match both: the one spelled as the Backend's
// is taken.
func (b *Backend) tableKind(ctx context.Context) (kind, engine string, err error) {
	var schema any // nil: the connection's database
	if b.name.Schema != "" {
		schema = b.name.Schema
	}
	rows, err := b.db.QueryContext(ctx, `SELECT table_name, table_type, COALESCE(engine, '')
		FROM information_schema.tables WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?`,
		schema, b.name.Table)
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
		if !found || name == b.name.Table {
			kind, engine, found = k, e, true
		}
	}
	if err := rows.Err(); err != nil {
		return "", "", err
	}
	if !found {
		return "", "", fmt.Errorf("table %s not found in information_schema after CREATE TABLE", quote(b.name))
	}
	return kind, engine, nil
}

// columns returns the table's columns, from SHOW FULL COLUMNS, which
// names the table as every other statement does (information_schema's
// matching of names may differ in case).
func (b *Backend) columns(ctx context.Context) ([]sqlstore.Column, error) {
	var cols []sqlstore.Column
	err := show(ctx, b.db, "SHOW FULL COLUMNS FROM "+quote(b.name), func(r map[string]sql.NullString) {
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
func (b *Backend) indexes(ctx context.Context) ([]sqlstore.Index, error) {
	var indexes []sqlstore.Index
	err := show(ctx, b.db, "SHOW INDEX FROM "+quote(b.name), func(r map[string]sql.NullString) {
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
