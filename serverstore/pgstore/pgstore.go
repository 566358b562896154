package pgstore

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

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

// WithTable sets the table's name, DefaultTable ("sessions") by default.
// It may be qualified with a schema, "auth.sessions", which must exist;
// otherwise the table is looked up on the connection's search_path. Each
// part must be ASCII letters, digits and underscores, not starting with
// a digit; the table at most 51 bytes, so that its index names fit in
// PostgreSQL's 63. The name is always quoted, so it is case-sensitive and
// may be a keyword ("user").
func WithTable(name string) Option {
	return func(c *sqlstore.Config) { c.Table = name }
}

// WithSweepInterval sets how often the Backend deletes expired rows,
// DefaultSweepInterval (5 minutes) by default; 0 runs no sweeper (run
// Sweep yourself, or let another instance sweep). Expired rows are never
// served, swept or not: sweeping only reclaims their space.
func WithSweepInterval(d time.Duration) Option {
	return func(c *sqlstore.Config) { c.SweepInterval = d }
}

// WithSweepBatch sets how many rows one DELETE of a sweep, or of
// DeleteAll, removes at most, DefaultSweepBatch (1000) by default. A sweep
// runs DELETEs until one removes fewer, so that no statement holds locks
// on many rows or runs for long.
func WithSweepBatch(n int) Option {
	return func(c *sqlstore.Config) { c.SweepBatch = n }
}

// WithLogger sets where the sweeper reports failures, slog.Default() by
// default. Failures are logged at level Error, sweeps that deleted rows at
// Debug.
func WithLogger(l *slog.Logger) Option {
	return func(c *sqlstore.Config) { c.Logger = l }
}

// WithoutMigration makes New leave the schema alone: for a database user
// without the right to create tables, and for deployments that apply
// Schema with their own migration tool. New then asks the server
// nothing: the Backend fails at its first use if the table does not
// exist, or is not one it can use.
func WithoutMigration() Option {
	return func(c *sqlstore.Config) { c.Migrate = false }
}

// WithTimeout bounds every call of the Backend (and each batch of Scan,
// DeleteAll and Sweep, each of which is a statement of its own) to d,
// DefaultTimeout (5 seconds) by default, whatever the caller's context
// allows: a server that stops answering fails the call after d rather
// than hang it. An earlier deadline of the caller's context still
// applies. 0 or less sets none: calls are then bounded by their context
// alone.
func WithTimeout(d time.Duration) Option {
	return func(c *sqlstore.Config) { c.Timeout = d }
}

// Backend is a serverstore.Backend on a PostgreSQL table. It implements
// serverstore.UserIndex and serverstore.Scanner too. Make one with New; it
// is safe for concurrent use.
type Backend struct {
	c    *sqlstore.Core
	pool *pgxpool.Pool
	name sqlstore.Name
	q    sqlstore.Queries
}

var (
	_ serverstore.Backend   = (*Backend)(nil)
	_ serverstore.UserIndex = (*Backend)(nil)
	_ serverstore.Scanner   = (*Backend)(nil)
)

// New returns a Backend on the table of pool's database named by
// WithTable ("sessions" by default). Unless WithoutMigration is given, it
// first creates the table and its indexes if the table is missing, or
// checks that the Backend can use it if it exists (see Migrate). It
// starts a goroutine that deletes expired rows every 5 minutes (see
// WithSweepInterval); Close stops it. The pool remains the caller's:
// close it after the Backend.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Backend, error) {
	if pool == nil {
		return nil, errors.New(pkgName + ": nil pool")
	}
	cfg, name, err := sqlstore.Setup(opts, maxIdent, nameExtra)
	if err != nil {
		return nil, errors.New(pkgName + ": " + err.Error())
	}
	q := newQueries(quote(name))
	b := &Backend{
		c:    sqlstore.NewCore(db{conn{pool}, pool}, sqlstore.Dialect{Name: pkgName, Queries: q, Retryable: retryable}, cfg),
		pool: pool,
		name: name,
		q:    q,
	}
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
// nil. It does not close the pool, and the Backend keeps working after
// it, only without sweeper.
func (b *Backend) Close() error {
	b.c.Close()
	return nil
}

// Sweep deletes the rows that have expired, in batches (WithSweepBatch),
// and returns how many it deleted. The sweeper calls it periodically; call
// it yourself when you run none (WithSweepInterval(0)). Several instances
// may sweep one table at once: each skips the rows another holds.
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

// Update implements serverstore.Backend. Without a hint, it runs a READ
// COMMITTED transaction that locks key's row (SELECT ... FOR UPDATE)
// while fn runs; with one, a single UPDATE writes fn's entry if the row
// still holds the hint, and the transaction runs only if it does not. A
// transaction the server aborts (a deadlock, a serialization failure) is
// run again, fn with it.
func (b *Backend) Update(ctx context.Context, key string, hint *serverstore.Entry, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	return b.c.Update(ctx, key, hint, fn)
}

// Rename implements serverstore.Backend with one statement that deletes
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
// See sqlstore.Queries for what each does, and its arguments.
func newQueries(table string) sqlstore.Queries {
	r := strings.NewReplacer("TABLE", table).Replace
	return sqlstore.Queries{
		Find: r(`SELECT data FROM TABLE WHERE key = $1 AND expires > $2`),
		Upsert: r(`INSERT INTO TABLE (key, data, expires, user_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, expires = EXCLUDED.expires, user_id = EXCLUDED.user_id`),
		Delete:     r(`DELETE FROM TABLE WHERE key = $1`),
		DeleteLive: r(`DELETE FROM TABLE WHERE key = $1 AND expires > $2`),
		FindUser:   r(`SELECT key, data FROM TABLE WHERE user_id = $1 AND expires > $2`),
		DeleteUser: r(`DELETE FROM TABLE WHERE user_id = $1 AND expires > $2`),
		Lock:       r(`SELECT data, expires > $1 FROM TABLE WHERE key = $2 FOR UPDATE`),
		// Updating the row of a conflict locks it, where DO NOTHING
		// would leave it free to be deleted before Lock gets to it.
		LockNew: r(`INSERT INTO TABLE AS t (key, data, expires) VALUES ($1, '', '-infinity')
ON CONFLICT (key) DO UPDATE SET data = t.data`),
		// Under READ COMMITTED, an UPDATE that meets a row a concurrent
		// transaction is changing waits for it, then checks its WHERE
		// against the row as committed.
		Swap: r(`UPDATE TABLE SET data = $1, expires = $2, user_id = $3
WHERE key = $4 AND data = $5 AND expires = $6 AND user_id IS NOT DISTINCT FROM $7 AND expires > $8`),
		// One statement, so atomic without a transaction. It writes
		// newKey only if the row it deletes was live: it affects no row
		// when oldKey held none.
		Rename: r(`WITH old AS (DELETE FROM TABLE WHERE key = $1 RETURNING expires)
INSERT INTO TABLE (key, data, expires, user_id)
SELECT $2::text, $3::bytea, $4::timestamptz, $5::text FROM old WHERE old.expires > $6
ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, expires = EXCLUDED.expires, user_id = EXCLUDED.user_id`),
		Scan:  r(`SELECT key, data FROM TABLE WHERE key > $1 AND expires > $2 ORDER BY key LIMIT $3`),
		Count: r(`SELECT COUNT(*) FROM TABLE WHERE expires > $1`),
		// The outer test is rechecked on the row's latest version, so
		// that a row ended meanwhile is not counted.
		DeleteLiveBatch: r(`DELETE FROM TABLE WHERE key IN (
	SELECT key FROM TABLE WHERE expires > $1 LIMIT $2
) AND expires > $1`),
		// A sweep skips rows that a transaction holds (an Update in
		// progress, another instance's sweep) rather than wait for
		// them. The outer test is rechecked on the row's latest version,
		// so a row extended meanwhile is never deleted.
		Sweep: r(`DELETE FROM TABLE WHERE key IN (
	SELECT key FROM TABLE WHERE expires <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED
) AND expires <= $1`),
	}
}

// retryable reports whether err aborted a transaction that may succeed
// when run again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") // deadlock_detected, serialization_failure
}

// querier is what a pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// conn is a sqlstore.Conn on a pool or a transaction. PostgreSQL's
// messages quote no values (only their Detail does, which
// pgconn.PgError.Error leaves out), so no key or data ends up in an
// error.
type conn struct{ q querier }

// Exec implements sqlstore.Conn.
func (c conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

// QueryRow implements sqlstore.Conn.
func (c conn) QueryRow(ctx context.Context, query string, args []any, dest ...any) (bool, error) {
	err := c.q.QueryRow(ctx, query, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// Query implements sqlstore.Conn.
func (c conn) Query(ctx context.Context, query string, args []any, dest []any, each func() error) error {
	rows, err := c.q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, dest, each)
	return err
}

// db is the sqlstore.DB of a Backend.
type db struct {
	conn
	pool *pgxpool.Pool
}

// Tx runs fn in a READ COMMITTED transaction; pgx rolls it back if fn
// fails or panics.
func (d db) Tx(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return pgx.BeginTxFunc(ctx, d.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		return fn(conn{tx})
	})
}
