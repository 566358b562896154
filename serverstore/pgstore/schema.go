package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/go-sealed/session/serverstore/internal/sqlstore"
)

// Schema is the schema New creates (see Migrate) for the default table
// name, to copy into a migration file. It is idempotent. SchemaFor gives
// it for another table name.
const Schema = `CREATE TABLE IF NOT EXISTS "sessions" (
	key     text COLLATE "C" PRIMARY KEY,
	data    bytea       NOT NULL,
	expires timestamptz NOT NULL,
	user_id text COLLATE "C" NULL
);
CREATE INDEX IF NOT EXISTS "sessions_expires_idx" ON "sessions" (expires);
CREATE INDEX IF NOT EXISTS "sessions_user_id_idx" ON "sessions" (user_id) WHERE user_id IS NOT NULL;
`

// schemaTemplate is Schema with the table's quoted name as %[1]s and its
// unqualified name, to derive index names from, as %[2]s.
const schemaTemplate = `CREATE TABLE IF NOT EXISTS %[1]s (
	key     text COLLATE "C" PRIMARY KEY,
	data    bytea       NOT NULL,
	expires timestamptz NOT NULL,
	user_id text COLLATE "C" NULL
);
CREATE INDEX IF NOT EXISTS "%[2]s_expires_idx" ON %[1]s (expires);
CREATE INDEX IF NOT EXISTS "%[2]s_user_id_idx" ON %[1]s (user_id) WHERE user_id IS NOT NULL;
`

// PostgreSQL identifiers have at most 63 bytes (longer ones are silently
// truncated); the longest index name adds 12 to the table name.
const (
	maxIdent   = 63
	nameExtra  = len("_user_id_idx")
	pkgName    = "pgstore"
	lockPrefix = "github.com/go-sealed/session/pgstore "
)

// SchemaFor returns the schema for the table named table (see WithTable),
// or an error if the name is not valid.
func SchemaFor(table string) (string, error) {
	n, err := sqlstore.ParseName(table, maxIdent, nameExtra)
	if err != nil {
		return "", errors.New(pkgName + ": " + err.Error())
	}
	return schemaFor(n), nil
}

func schemaFor(n sqlstore.Name) string {
	return fmt.Sprintf(schemaTemplate, quote(n), n.Table)
}

func quote(n sqlstore.Name) string {
	if n.Schema == "" {
		return pgx.Identifier{n.Table}.Sanitize()
	}
	return pgx.Identifier{n.Schema, n.Table}.Sanitize()
}

// Migrate creates the Backend's table and indexes if the table does not
// exist: Schema, for the Backend's table name. If a table of that name
// exists (where the Backend's statements find it, on the search_path
// unless the name has a schema), it creates nothing, and checks that the
// Backend can use that table (its kind, its columns and their types, its
// indexes), returning an error that names the table, says what is wrong
// with it and how to fix it if not: a Backend on someone else's
// "sessions" table fails here rather than on its first request. New calls
// it unless given WithoutMigration. It holds a transaction-scoped
// advisory lock while it runs, so that instances starting together do
// not race to create the table (concurrent CREATE TABLE IF NOT EXISTS can
// fail in PostgreSQL). It never alters or drops anything.
func (b *Backend) Migrate(ctx context.Context) error {
	ctx, cancel := b.c.Bound(ctx)
	defer cancel()
	var incompatible error
	err := pgx.BeginTxFunc(ctx, b.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// One lock for every table: a name can be spelled several ways
		// ("x", "public.x"), and migrations are rare and quick.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, lockPrefix+"migrate"); err != nil {
			return err
		}
		t, found, err := lookupTable(ctx, tx, b.name)
		if err != nil {
			return err
		}
		if !found {
			// No arguments: sent as a simple query, which may hold
			// several statements.
			_, err := tx.Exec(ctx, schemaFor(b.name))
			return err
		}
		incompatible, err = checkTable(ctx, tx, b.name, t)
		return err
	})
	if err != nil {
		return b.c.Wrap("migrate", err)
	}
	return incompatible
}

// table is an existing table as the catalog names it.
type table struct {
	oid          uint32
	schema, name string
	kind         string // pg_class.relkind: "r" a table, "p" a partitioned one, "v" a view...
}

// lookupTable finds the table named n as the Backend's statements do.
func lookupTable(ctx context.Context, tx pgx.Tx, n sqlstore.Name) (t table, found bool, err error) {
	err = tx.QueryRow(ctx, `SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = to_regclass($1)`, quote(n)).Scan(&t.oid, &t.schema, &t.name, &t.kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return table{}, false, nil
	}
	return t, err == nil, err
}

// kinds names the relation kinds of pg_class that are not tables.
var kinds = map[string]string{
	"v": "a view",
	"m": "a materialized view",
	"f": "a foreign table",
	"S": "a sequence",
	"i": "an index",
	"I": "a partitioned index",
	"c": "a composite type",
}

// wantColumns are what the Backend needs of its table's columns: those of
// Schema, or others that hold the same values and compare them the same
// way. Column names are case-sensitive, and the statements name them in
// lower case.
var wantColumns = []sqlstore.WantColumn{
	{Name: "key", Want: `text COLLATE "C" PRIMARY KEY`, Fits: func(c sqlstore.Column) bool {
		// Keys are 64 lowercase hex digits. A longer character(n)
		// pads them with spaces, and Scan and FindUser would return
		// them so.
		switch c.Type {
		case "text":
			return true
		case "character varying":
			return c.Length == 0 || c.Length >= 64
		case "character":
			return c.Length == 64
		}
		return false
	}},
	{Name: "data", Want: "bytea NOT NULL", Fits: func(c sqlstore.Column) bool {
		return c.Type == "bytea"
	}},
	// An instant, to the microsecond: the hinted updates compare it
	// with what they wrote, and a timestamp without time zone would
	// depend on the session's TimeZone.
	{Name: "expires", Want: "timestamptz NOT NULL", Fits: func(c sqlstore.Column) bool {
		return c.Type == "timestamp with time zone" && c.Precision == 6
	}},
	// NULL for sessions without a user.
	{Name: "user_id", Want: `text COLLATE "C" NULL`, Fits: func(c sqlstore.Column) bool {
		text := c.Type == "text" || c.Type == "character varying" && (c.Length == 0 || c.Length >= 255)
		return text && c.Nullable
	}},
}

// wantIndexes are the indexes the Backend needs, on table: the unique one
// its upserts (ON CONFLICT (key)) rest on, and those that keep sweeps and
// a user's lookups from scanning the whole table.
func wantIndexes(table string) []sqlstore.WantIndex {
	return []sqlstore.WantIndex{
		{Column: "key", Unique: true, Want: "PRIMARY KEY (key)"},
		{Column: "expires", Want: "CREATE INDEX ON " + table + " (expires)"},
		{Column: "user_id", Want: "CREATE INDEX ON " + table + " (user_id) WHERE user_id IS NOT NULL"},
	}
}

// userIndexPredicate is the condition of Schema's partial index on
// user_id, as pg_get_expr gives it: the one condition with which a
// partial index serves the Backend's lookups by user.
const userIndexPredicate = "(user_id IS NOT NULL)"

// checkTable returns the error for an existing table t, named n, that the
// Backend cannot use, saying what is wrong with it; nil if it can. err is
// a failure to read the catalog.
func checkTable(ctx context.Context, tx pgx.Tx, n sqlstore.Name, t table) (incompatible, err error) {
	var problems []string
	if t.kind != "r" && t.kind != "p" {
		kind, ok := kinds[t.kind]
		if !ok {
			kind = fmt.Sprintf("a relation of kind %q", t.kind)
		}
		problems = append(problems, "it is "+kind)
	}
	cols, err := columns(ctx, tx, t)
	if err != nil {
		return nil, err
	}
	indexes, err := indexes(ctx, tx, t)
	if err != nil {
		return nil, err
	}
	if err := sqlstore.CheckTable(quote(n), problems, cols, indexes, wantColumns, wantIndexes(quote(n))); err != nil {
		return fmt.Errorf("%s: %w", pkgName, err), nil
	}
	return nil, nil
}

// columns returns t's columns, from information_schema, with their types
// as declared ("timestamp(0) with time zone") for messages.
func columns(ctx context.Context, tx pgx.Tx, t table) ([]sqlstore.Column, error) {
	rows, err := tx.Query(ctx, `SELECT column_name::text, data_type::text,
			COALESCE(character_maximum_length, 0)::int8, COALESCE(datetime_precision, 0)::int8,
			(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
				WHERE a.attrelid = $3 AND a.attnum = ordinal_position),
			is_nullable = 'YES', COALESCE(collation_name, '')::text,
			is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO' AND is_generated = 'NEVER'
		FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2
		ORDER BY ordinal_position`, t.schema, t.name, t.oid)
	if err != nil {
		return nil, err
	}
	var cols []sqlstore.Column
	var c sqlstore.Column
	_, err = pgx.ForEachRow(rows, []any{&c.Name, &c.Type, &c.Length, &c.Precision, &c.Decl, &c.Nullable, &c.Collation, &c.Required}, func() error {
		cols = append(cols, c)
		return nil
	})
	return cols, err
}

// indexes returns t's valid B-tree indexes, which alone serve the
// Backend's ranges and orders, with their key columns (not those of an
// INCLUDE). An expression is "(expression)". A unique index counts as
// such only if it can be the arbiter of ON CONFLICT (key): not partial,
// not deferrable. Of the partial indexes, only those with Schema's
// condition on user_id are kept.
func indexes(ctx context.Context, tx pgx.Tx, t table) ([]sqlstore.Index, error) {
	rows, err := tx.Query(ctx, `SELECT ic.relname::text, i.indisunique AND i.indimmediate AND i.indpred IS NULL,
			am.amname::text, COALESCE(pg_get_expr(i.indpred, i.indrelid), ''),
			ARRAY(SELECT COALESCE(a.attname::text, '(expression)')
				FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
				LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
				WHERE k.n <= i.indnkeyatts ORDER BY k.n)
		FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
		WHERE i.indrelid = $1 AND i.indisvalid
		ORDER BY ic.relname`, t.oid)
	if err != nil {
		return nil, err
	}
	var out []sqlstore.Index
	var ix sqlstore.Index
	var method, predicate string
	_, err = pgx.ForEachRow(rows, []any{&ix.Name, &ix.Unique, &method, &predicate, &ix.Columns}, func() error {
		usable := method == "btree" &&
			(predicate == "" || predicate == userIndexPredicate && len(ix.Columns) > 0 && ix.Columns[0] == "user_id")
		if usable {
			out = append(out, ix)
		}
		ix.Columns = nil // the next row scans into a new slice
		return nil
	})
	return out, err
}
