package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sqlstore"
	"github.com/go-sealed/session/serverstore/internal/sweep"
)

// Defaults of the options.
const (
	DefaultTable         = sqlstore.DefaultTable
	DefaultSweepInterval = sqlstore.DefaultSweepInterval
	DefaultSweepBatch    = sqlstore.DefaultSweepBatch
	DefaultTimeout       = sqlstore.DefaultTimeout
)

// Option configures a Backend made by New.
type Option func(*sqlstore.Config)

// WithTable sets the table's name, DefaultTable ("sessions") by default:
// ASCII letters, digits and underscores, not starting with a digit, at
// most 64 characters, and no database prefix (an attached database would
// have to be attached on every connection of the pool). The name is
// always quoted, so it may be a keyword ("order"); SQLite matches it
// without regard to case. The indexes are named after it:
// "<table>_expires_idx", "<table>_user_id_idx".
func WithTable(name string) Option {
	return func(c *sqlstore.Config) { c.Table = name }
}

// WithSweepInterval sets how often the Backend deletes expired rows,
// DefaultSweepInterval (5 minutes) by default; 0 runs no sweeper (run
// Sweep yourself, or let another process sweep). Expired rows are never
// served, swept or not: sweeping only reclaims their space.
func WithSweepInterval(d time.Duration) Option {
	return func(c *sqlstore.Config) { c.SweepInterval = d }
}

// WithSweepBatch sets how many rows one transaction of a sweep, or of
// DeleteAll, deletes at most, DefaultSweepBatch (1000) by default. A
// sweep runs transactions until one deletes fewer, so that none holds
// the database's write lock for long.
func WithSweepBatch(n int) Option {
	return func(c *sqlstore.Config) { c.SweepBatch = n }
}

// WithLogger sets where the sweeper reports failures, slog.Default() by
// default. Failures are logged at level Error, sweeps that deleted rows at
// Debug.
func WithLogger(l *slog.Logger) Option {
	return func(c *sqlstore.Config) { c.Logger = l }
}

// WithoutMigration makes New leave the schema alone, for deployments that
// apply Schema with their own migration tool: the Backend fails at its
// first use if the table does not exist, or is not one it can use. New
// still sets the database's journal mode to WAL.
func WithoutMigration() Option {
	return func(c *sqlstore.Config) { c.Migrate = false }
}

// WithTimeout bounds every call of the Backend (and each batch of Scan,
// DeleteAll and Sweep, each of which is a statement of its own) to d,
// DefaultTimeout (5 seconds) by default, whatever the caller's context
// allows. It bounds, above all, the wait for the database's write lock
// while another connection or process holds it: the busy timeout of
// each call's connection is set to the time left before its deadline. An
// earlier deadline of the caller's context still applies. 0 or less sets
// none: a call then waits for the lock until its context's deadline, or,
// without one, for as long as the DSN's busy_timeout says.
func WithTimeout(d time.Duration) Option {
	return func(c *sqlstore.Config) { c.Timeout = d }
}

// Backend is a serverstore.Backend on a SQLite table. It implements
// serverstore.UserIndex and serverstore.Scanner too. Make one with New; it
// is safe for concurrent use, and several processes may share the
// database file.
type Backend struct {
	c    *sqlstore.Core
	db   sqlstore.SQLDB
	name sqlstore.Name
	q    sqlstore.Queries
}

var (
	_ serverstore.Backend   = (*Backend)(nil)
	_ serverstore.UserIndex = (*Backend)(nil)
	_ serverstore.Scanner   = (*Backend)(nil)
)

// New returns a Backend on the table of db's database named by WithTable
// ("sessions" by default). db must come from the driver of
// modernc.org/sqlite, which importing this package registers as
// "sqlite": sql.Open("sqlite", "sessions.sqlite"). New sets the database's
// journal mode to WAL (which the file keeps), so that reads never wait
// for a write; each call sets its connection's busy timeout itself (see
// WithTimeout), so the DSN needs no parameters. A database in memory
// needs db.SetMaxOpenConns(1): each connection of a pool has an
// in-memory database of its own.
//
// Unless WithoutMigration is given, New then creates the table and its
// indexes if the table is missing, or checks that the Backend can use it
// if it exists (see Migrate). It starts a goroutine that deletes expired
// rows every 5 minutes (see WithSweepInterval); Close stops it. db
// remains the caller's: close it after the Backend.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Backend, error) {
	if db == nil {
		return nil, errors.New(pkgName + ": nil db")
	}
	if _, ok := db.Driver().(*sqlite.Driver); !ok {
		return nil, fmt.Errorf("%s: db's driver is %T, not modernc.org/sqlite's (sql.Open(\"sqlite\", path))", pkgName, db.Driver())
	}
	cfg, name, err := sqlstore.Setup(opts, maxIdent, 0)
	if err == nil && name.Schema != "" {
		err = fmt.Errorf("table name %q: no database prefix (an attached database is not attached on every connection of the pool)", cfg.Table)
	}
	if err != nil {
		return nil, errors.New(pkgName + ": " + err.Error())
	}
	q := newQueries(quote(name.Table))
	d := sqlstore.Dialect{
		Name:    pkgName,
		Queries: q,
		Time:    func(t time.Time) any { return t.UnixMicro() },
		// Nothing is worth running again: transactions begin
		// IMMEDIATE, so none fails for a stale snapshot, and a wait
		// for the write lock is the busy timeout's, which ends at the
		// deadline.
		Retryable: func(error) bool { return false },
	}
	b := &Backend{
		db:   sqlstore.SQLDB{DB: db, Begin: "BEGIN IMMEDIATE", Writes: make(chan struct{}, 1)},
		name: name,
		q:    q,
	}
	pctx, cancel := cfg.Bound(ctx)
	defer cancel()
	var readOnly bool
	if b.db.Setup, readOnly, err = prepare(pctx, db); err != nil {
		return nil, err
	}
	if readOnly {
		cfg.SweepInterval = 0 // it could delete nothing
	}
	b.c = sqlstore.NewCore(b.db, d, cfg)
	if cfg.Migrate {
		if err := b.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	// The sweeper refers to b.c, not to b: a Backend dropped without
	// Close is collected, and its cleanup stops it.
	sweep.StopWith(b, b.c.StartSweeper())
	return b, nil
}

// Close stops the sweeper, interrupting a sweep in progress, and waits
// for it to return. It is safe to call more than once and always returns
// nil. It does not close db, and the Backend keeps working after it, only
// without sweeper.
func (b *Backend) Close() error {
	b.c.Close()
	return nil
}

// Sweep deletes the rows that have expired, in batches (WithSweepBatch),
// and returns how many it deleted. The sweeper calls it periodically; call
// it yourself when you run none (WithSweepInterval(0)).
func (b *Backend) Sweep(ctx context.Context) (int, error) { return b.c.Sweep(ctx) }

// Find implements serverstore.Backend.
func (b *Backend) Find(ctx context.Context, key string) ([]byte, bool, error) {
	return b.c.Find(ctx, key)
}

// Commit implements serverstore.Backend: an upsert, or a delete when
// e.Expires has passed.
func (b *Backend) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	return b.c.Commit(ctx, key, e)
}

// Delete implements serverstore.Backend.
func (b *Backend) Delete(ctx context.Context, key string) error { return b.c.Delete(ctx, key) }

// Update implements serverstore.Backend. Without a hint, it runs a
// transaction that takes the database's write lock (BEGIN IMMEDIATE)
// while fn runs; with one, a single UPDATE writes fn's entry if the row
// still holds the hint, and the transaction runs only if it does not.
func (b *Backend) Update(ctx context.Context, key string, hint *serverstore.Entry, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	return b.c.Update(ctx, key, hint, fn)
}

// Rename implements serverstore.Backend with a transaction that deletes
// oldKey and upserts newKey, if oldKey held a live row.
func (b *Backend) Rename(ctx context.Context, oldKey, newKey string, e serverstore.Entry) error {
	return b.c.Rename(ctx, oldKey, newKey, e)
}

// FindUser implements serverstore.UserIndex, through the user_id index.
func (b *Backend) FindUser(ctx context.Context, userID string) (map[string][]byte, error) {
	return b.c.FindUser(ctx, userID)
}

// DeleteUser implements serverstore.UserIndex. It deletes userID's live
// rows; expired ones are left to the sweeper.
func (b *Backend) DeleteUser(ctx context.Context, userID string) (int, error) {
	return b.c.DeleteUser(ctx, userID)
}

// Scan implements serverstore.Scanner: it reads the live rows in pages of
// 100, in the order of their keys, each page one query that starts after
// the last key of the one before.
func (b *Backend) Scan(ctx context.Context) iter.Seq2[serverstore.KeyData, error] {
	return b.c.Scan(ctx)
}

// Count implements serverstore.Scanner with a COUNT of the live rows.
func (b *Backend) Count(ctx context.Context) (int, error) { return b.c.Count(ctx) }

// DeleteAll implements serverstore.Scanner: it deletes every row of the
// Backend's table, and no other, in batches (WithSweepBatch), and returns
// how many of them were live.
func (b *Backend) DeleteAll(ctx context.Context) (int, error) { return b.c.DeleteAll(ctx) }

// newQueries returns the Backend's statements on table, a quoted name.
// See sqlstore.Queries for what each does, and its arguments. Writes run
// alone or in an IMMEDIATE transaction, which holds the database's write
// lock: no row needs locking, so Lock is a plain SELECT and LockNew
// empty.
func newQueries(table string) sqlstore.Queries {
	r := strings.NewReplacer("TABLE", table).Replace
	return sqlstore.Queries{
		Find: r(`SELECT "data" FROM TABLE WHERE "key" = ? AND "expires" > ?`),
		Upsert: r(`INSERT INTO TABLE ("key", "data", "expires", "user_id") VALUES (?, ?, ?, ?)` +
			"\n" + `ON CONFLICT ("key") DO UPDATE SET "data" = excluded."data", "expires" = excluded."expires", "user_id" = excluded."user_id"`),
		Delete:     r(`DELETE FROM TABLE WHERE "key" = ?`),
		DeleteLive: r(`DELETE FROM TABLE WHERE "key" = ? AND "expires" > ?`),
		FindUser:   r(`SELECT "key", "data" FROM TABLE WHERE "user_id" = ? AND "expires" > ?`),
		DeleteUser: r(`DELETE FROM TABLE WHERE "user_id" = ? AND "expires" > ?`),
		Lock:       r(`SELECT "data", "expires" > ? FROM TABLE WHERE "key" = ?`),
		// IS compares NULLs as equal.
		Swap: r(`UPDATE TABLE SET "data" = ?, "expires" = ?, "user_id" = ?` + "\n" +
			`WHERE "key" = ? AND "data" = ? AND "expires" = ? AND "user_id" IS ? AND "expires" > ?`),
		Scan:  r(`SELECT "key", "data" FROM TABLE WHERE "key" > ? AND "expires" > ? ORDER BY "key" LIMIT ?`),
		Count: r(`SELECT COUNT(*) FROM TABLE WHERE "expires" > ?`),
		// DELETE ... LIMIT needs a compile-time option of SQLite: the
		// rows are picked by key in a subquery instead.
		DeleteLiveBatch: r(`DELETE FROM TABLE WHERE "key" IN (SELECT "key" FROM TABLE WHERE "expires" > ? LIMIT ?)`),
		Sweep:           r(`DELETE FROM TABLE WHERE "key" IN (SELECT "key" FROM TABLE WHERE "expires" <= ? LIMIT ?)`),
	}
}
