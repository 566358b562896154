package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sealed/session/serverstore/internal/sqlstore"
)

// Schema is the schema New creates (see Migrate) for the default table
// name, to copy into a migration file. It is idempotent. SchemaFor gives
// it for another table name.
const Schema = `CREATE TABLE IF NOT EXISTS "sessions" (
	"key"     TEXT NOT NULL PRIMARY KEY,
	"data"    BLOB NOT NULL,
	"expires" INTEGER NOT NULL,
	"user_id" TEXT
);
CREATE INDEX IF NOT EXISTS "sessions_expires_idx" ON "sessions" ("expires");
CREATE INDEX IF NOT EXISTS "sessions_user_id_idx" ON "sessions" ("user_id") WHERE "user_id" IS NOT NULL;
`

// SQLite has no limit on identifiers worth the name: this one keeps table
// names reasonable, as MySQL's.
const (
	maxIdent = 64
	pkgName  = "sqlitestore"
)

// SchemaFor returns the schema for the table named table (see WithTable),
// or an error if the name is not valid.
func SchemaFor(table string) (string, error) {
	n, err := sqlstore.ParseName(table, maxIdent, 0)
	if err == nil && n.Schema != "" {
		err = fmt.Errorf("table name %q: no database prefix", table)
	}
	if err != nil {
		return "", errors.New(pkgName + ": " + err.Error())
	}
	return strings.Join(schemaFor(n.Table), ";\n") + ";\n", nil
}

// schemaFor returns the statements of the schema for table.
func schemaFor(table string) []string {
	t := quote(table)
	return []string{
		"CREATE TABLE IF NOT EXISTS " + t + ` (
	"key"     TEXT NOT NULL PRIMARY KEY,
	"data"    BLOB NOT NULL,
	"expires" INTEGER NOT NULL,
	"user_id" TEXT
)`,
		"CREATE INDEX IF NOT EXISTS " + quote(table+"_expires_idx") + " ON " + t + ` ("expires")`,
		"CREATE INDEX IF NOT EXISTS " + quote(table+"_user_id_idx") + " ON " + t + ` ("user_id") WHERE "user_id" IS NOT NULL`,
	}
}

// quote quotes an identifier, which ParseName has checked holds no quote.
func quote(ident string) string {
	return `"` + ident + `"`
}

// Migrate creates the Backend's table and indexes if the table does not
// exist: Schema, for the Backend's table name. If a table of that name
// exists already, it creates nothing, and checks that the Backend can use
// it (its columns, their types, its indexes), and otherwise returns an
// error that names the table, says what is wrong with it and how to fix
// it, so that a Backend on someone else's "sessions" table fails here
// rather than on its first request. It runs in one IMMEDIATE transaction,
// so that processes starting at once do not race. New calls it unless
// given WithoutMigration. It never alters or drops anything.
func (b *Backend) Migrate(ctx context.Context) error {
	ctx, cancel := b.c.Bound(ctx)
	defer cancel()
	var unusable error
	err := b.db.Tx(ctx, func(tx sqlstore.Conn) error {
		kind, withoutRowid, found, err := tableKind(ctx, tx, b.name.Table)
		if err != nil {
			return err
		}
		if !found {
			for _, stmt := range schemaFor(b.name.Table) {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return err
				}
			}
			return nil
		}
		unusable, err = checkTable(ctx, tx, b.name.Table, kind, withoutRowid)
		if err == nil && unusable != nil {
			err = unusable // roll back, though nothing was written
		}
		return err
	})
	if unusable != nil {
		return fmt.Errorf("%s: %w", pkgName, unusable)
	}
	return b.c.Wrap("migrate", err)
}

// wantColumns are what the Backend needs of its table's columns: those of
// Schema, or others that hold the same values and compare them the same
// way. Type is the column's affinity, the way SQLite stores what is put
// in it (see affinity).
var wantColumns = []sqlstore.WantColumn{
	// Text, stored as given; not INTEGER or NUMERIC, which would turn a
	// key of digits into a number.
	{Name: "key", Want: "TEXT NOT NULL PRIMARY KEY", Fits: func(c sqlstore.Column) bool {
		return c.Type == "text" || c.Type == "blob"
	}},
	{Name: "data", Want: "BLOB NOT NULL", Fits: func(c sqlstore.Column) bool {
		return c.Type == "blob"
	}},
	// Microseconds since the Unix epoch, compared exactly by the hinted
	// update: REAL would round them.
	{Name: "expires", Want: "INTEGER NOT NULL", Fits: func(c sqlstore.Column) bool {
		return c.Type == "integer"
	}},
	{Name: "user_id", Want: "TEXT", Fits: func(c sqlstore.Column) bool {
		return (c.Type == "text" || c.Type == "blob") && c.Nullable
	}},
}

// wantIndexes are the indexes the Backend needs: the unique one its
// upserts rest on (ON CONFLICT ("key")), and those that keep sweeps and a
// user's lookups from scanning the whole table. An index whose column
// compares with another collation than BINARY lists it as "key COLLATE
// NOCASE", which matches none of them.
var wantIndexes = []sqlstore.WantIndex{
	{Column: "key", Unique: true, Want: `PRIMARY KEY ("key"), collation BINARY`},
	{Column: "expires", Want: `CREATE INDEX ... ("expires")`},
	{Column: "user_id", Want: `CREATE INDEX ... ("user_id"), collation BINARY`},
}

// tableKind returns the type of the object of the main database named
// table ("table", "view", "virtual", "shadow"), matched as SQLite matches
// names, regardless of case, whether it is WITHOUT ROWID, and whether
// there is one.
func tableKind(ctx context.Context, tx sqlstore.Conn, table string) (kind string, withoutRowid, found bool, err error) {
	found, err = tx.QueryRow(ctx, `SELECT "type", "wr" FROM pragma_table_list WHERE "schema" = 'main' AND "name" = ? COLLATE NOCASE`,
		[]any{table}, &kind, &withoutRowid)
	return kind, withoutRowid, found, err
}

// checkTable returns the error that says why the Backend cannot use the
// existing table, of the given kind, or nil if it can; err is a failure
// to read the catalog.
func checkTable(ctx context.Context, tx sqlstore.Conn, table, kind string, withoutRowid bool) (unusable, err error) {
	if kind != "table" {
		what := map[string]string{"view": "a view", "virtual": "a virtual table", "shadow": "a shadow table"}[kind]
		if what == "" {
			what = "of type " + kind
		}
		return sqlstore.IncompatibleTable(quote(table), []string{"it is " + what}), nil
	}
	cols, err := columns(ctx, tx, table, withoutRowid)
	if err != nil {
		return nil, err
	}
	indexes, err := indexes(ctx, tx, table)
	if err != nil {
		return nil, err
	}
	return sqlstore.CheckTable(quote(table), nil, cols, indexes, wantColumns, wantIndexes), nil
}

// columns returns the table's columns, from PRAGMA table_xinfo.
func columns(ctx context.Context, tx sqlstore.Conn, table string, withoutRowid bool) ([]sqlstore.Column, error) {
	type col struct {
		c          sqlstore.Column
		hasDefault bool
		pk         int
		hidden     int // 2, 3: generated
	}
	var cols []col
	var r col
	var decl string
	pks := 0
	err := tx.Query(ctx, `SELECT "name", "type", "notnull", "dflt_value" IS NOT NULL, "pk", "hidden" FROM pragma_table_xinfo(?)`,
		[]any{table}, []any{&r.c.Name, &decl, &r.c.Nullable, &r.hasDefault, &r.pk, &r.hidden}, func() error {
			r.c.Name = strings.ToLower(r.c.Name)
			r.c.Nullable = !r.c.Nullable // the query read "notnull"
			r.c.Type, r.c.Decl = affinity(decl), strings.ToUpper(decl)
			if r.pk > 0 {
				pks++
			}
			cols = append(cols, r)
			return nil
		})
	if err != nil {
		return nil, err
	}
	out := make([]sqlstore.Column, len(cols))
	for i, c := range cols {
		// An INTEGER PRIMARY KEY of a rowid table is the rowid, which
		// SQLite fills in.
		rowid := pks == 1 && c.pk == 1 && c.c.Decl == "INTEGER" && !withoutRowid
		c.c.Required = !c.c.Nullable && !c.hasDefault && c.hidden < 2 && !rowid
		out[i] = c.c
	}
	return out, nil
}

// affinity returns the affinity SQLite gives a column declared with the
// type decl, by its rules (https://sqlite.org/datatype3.html, 3.1).
func affinity(decl string) string {
	t := strings.ToUpper(decl)
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(t, x) {
				return true
			}
		}
		return false
	}
	switch {
	case has("INT"):
		return "integer"
	case has("CHAR", "CLOB", "TEXT"):
		return "text"
	case has("BLOB"), t == "":
		return "blob"
	case has("REAL", "FLOA", "DOUB"):
		return "real"
	}
	return "numeric"
}

// indexes returns the table's indexes, from PRAGMA index_list and
// index_xinfo. A partial index is left out, but one on user_id for the
// rows where it IS NOT NULL, which serves every lookup of a user.
func indexes(ctx context.Context, tx sqlstore.Conn, table string) ([]sqlstore.Index, error) {
	type index struct {
		ix      sqlstore.Index
		partial bool
	}
	var list []index
	var r index
	err := tx.Query(ctx, `SELECT "name", "unique", "partial" FROM pragma_index_list(?)`,
		[]any{table}, []any{&r.ix.Name, &r.ix.Unique, &r.partial}, func() error {
			list = append(list, r)
			return nil
		})
	if err != nil {
		return nil, err
	}
	var out []sqlstore.Index
	for _, x := range list {
		var name sql.NullString // NULL: an expression
		var coll string
		err := tx.Query(ctx, `SELECT "name", "coll" FROM pragma_index_xinfo(?) WHERE "key" ORDER BY "seqno"`,
			[]any{x.ix.Name}, []any{&name, &coll}, func() error {
				col := "(expression)"
				if name.Valid {
					col = strings.ToLower(name.String)
				}
				if !strings.EqualFold(coll, "BINARY") {
					col += " COLLATE " + coll
				}
				x.ix.Columns = append(x.ix.Columns, col)
				return nil
			})
		if err != nil {
			return nil, err
		}
		if x.partial {
			var def string
			if _, err := tx.QueryRow(ctx, `SELECT "sql" FROM sqlite_schema WHERE "type" = 'index' AND "name" = ?`, []any{x.ix.Name}, &def); err != nil {
				return nil, err
			}
			if len(x.ix.Columns) == 0 || x.ix.Columns[0] != "user_id" || !userNotNull(def) {
				continue
			}
			x.ix.Unique = false // unique among some rows only
		}
		out = append(out, x.ix)
	}
	return out, nil
}

// userNotNull reports whether def, the CREATE INDEX statement of a
// partial index, is for the rows whose user_id IS NOT NULL, the only ones
// a lookup by user reads.
func userNotNull(def string) bool {
	norm := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '"', '`', '[', ']', '(', ')':
			return -1
		}
		return r
	}, strings.ToLower(def))
	return strings.HasSuffix(norm, "whereuser_idisnotnull")
}
