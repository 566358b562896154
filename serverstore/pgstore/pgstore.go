package pgstore

import (
	"context"
	"errors"
	"fmt"
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
	errPrefix  = pkgName + ": "
	lockPrefix = "github.com/go-sealed/session/pgstore "
)

// SchemaFor returns the schema for the table named table (see WithTable),
// or an error if the name is not valid.
func SchemaFor(table string) (string, error) {
	n, err := sqlstore.ParseName(table, maxIdent, nameExtra)
	if err != nil {
		return "", errors.New(errPrefix + err.Error())
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

// Option configures a Store made by New.
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

// WithSweepInterval sets how often the Store deletes expired rows,
// DefaultSweepInterval (5 minutes) by default; 0 runs no sweeper (run
// Sweep yourself, or let another instance sweep). Expired rows are never
// served, swept or not: sweeping only reclaims their space.
func WithSweepInterval(d time.Duration) Option {
	return func(c *sqlstore.Config) { c.SweepInterval = d }
}

// WithSweepBatch sets how many rows one DELETE of a sweep removes at
// most, DefaultSweepBatch (1000) by default. A sweep runs DELETEs until
// one removes fewer, so that no statement holds locks on many rows or runs
// for long.
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
// Schema with their own migration tool. The Store then fails at its first
// use if the table does not exist.
func WithoutMigration() Option {
	return func(c *sqlstore.Config) { c.Migrate = false }
}

// Store is a serverstore.Backend on a PostgreSQL table. It implements
// serverstore.UserIndex, serverstore.Transactor and serverstore.Renamer.
// Make one with New; it is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	name    sqlstore.Name
	q       queries
	batch   int
	sweeper *sweep.Sweeper
}

var (
	_ serverstore.Backend    = (*Store)(nil)
	_ serverstore.UserIndex  = (*Store)(nil)
	_ serverstore.Transactor = (*Store)(nil)
	_ serverstore.Renamer    = (*Store)(nil)

	_ serverstore.HintedTransactor = (*Store)(nil)
)

// queries are the Store's statements, for its table.
type queries struct {
	find, upsert, delete, deleteLive string
	findUser, deleteUser             string
	lock, lockNew, update, swap      string
	rename, sweep                    string
}

func newQueries(table string) queries {
	r := strings.NewReplacer("TABLE", table)
	return queries{
		find: r.Replace(`SELECT data FROM TABLE WHERE key = $1 AND expires > $2`),
		upsert: r.Replace(`INSERT INTO TABLE (key, data, expires, user_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, expires = EXCLUDED.expires, user_id = EXCLUDED.user_id`),
		delete:     r.Replace(`DELETE FROM TABLE WHERE key = $1`),
		deleteLive: r.Replace(`DELETE FROM TABLE WHERE key = $1 AND expires > $2`),
		findUser:   r.Replace(`SELECT key, data FROM TABLE WHERE user_id = $1 AND expires > $2`),
		deleteUser: r.Replace(`DELETE FROM TABLE WHERE user_id = $1 AND expires > $2`),
		// lock reads and locks key's row, expired or not, for Update.
		lock: r.Replace(`SELECT data, expires > $2 FROM TABLE WHERE key = $1 FOR UPDATE`),
		// lockNew makes a row for a key that had none, so that there is
		// a row to lock: an expired placeholder, which the transaction
		// replaces or rolls back. If a concurrent transaction made the
		// row first, this waits for it, then locks and returns its row.
		lockNew: r.Replace(`INSERT INTO TABLE AS t (key, data, expires) VALUES ($1, '', '-infinity')
ON CONFLICT (key) DO UPDATE SET data = t.data
RETURNING data, expires > $2`),
		update: r.Replace(`UPDATE TABLE SET data = $2, expires = $3, user_id = $4 WHERE key = $1`),
		// swap writes key's row only if it is live and holds exactly the
		// entry $2-$4. Under READ COMMITTED, an UPDATE that meets a row a
		// concurrent transaction is changing waits for it, then checks
		// its WHERE against the row as committed.
		swap: r.Replace(`UPDATE TABLE SET data = $5, expires = $6, user_id = $7
WHERE key = $1 AND data = $2 AND expires = $3 AND user_id IS NOT DISTINCT FROM $4 AND expires > $8`),
		// rename is one statement, so atomic without a transaction. It
		// writes newKey only if the row it deletes was live: it affects
		// no row when oldKey held none.
		rename: r.Replace(`WITH old AS (DELETE FROM TABLE WHERE key = $1 RETURNING expires)
INSERT INTO TABLE (key, data, expires, user_id)
SELECT $2::text, $3::bytea, $4::timestamptz, $5::text FROM old WHERE old.expires > $6
ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, expires = EXCLUDED.expires, user_id = EXCLUDED.user_id`),
		// sweep skips rows that a transaction holds (an Update in
		// progress, another instance's sweep) rather than wait for them.
		// The outer expires test is rechecked on the row's latest
		// version, so a row extended meanwhile is never deleted.
		sweep: r.Replace(`DELETE FROM TABLE WHERE key IN (
	SELECT key FROM TABLE WHERE expires <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED
) AND expires <= $1`),
	}
}

// New returns a Store on the table of pool's database named by WithTable
// ("sessions" by default). Unless WithoutMigration is given, it first
// creates the table and its indexes if they are missing (see Migrate).
// It starts a goroutine that deletes expired rows every 5 minutes (see
// WithSweepInterval); Close stops it. The pool remains the caller's:
// close it after the Store.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, errors.New(errPrefix + "nil pool")
	}
	cfg, name, err := sqlstore.Setup(opts, maxIdent, nameExtra)
	if err != nil {
		return nil, errors.New(errPrefix + err.Error())
	}
	s := &Store{pool: pool, name: name, q: newQueries(quote(name)), batch: cfg.SweepBatch}
	if cfg.Migrate {
		if err := s.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	// The sweeper refers to the pool and the statement, not to s: a Store
	// dropped without Close is collected, and its cleanup stops it.
	sweepSQL := s.q.sweep
	s.sweeper = sqlstore.StartSweeper(pkgName, cfg.SweepInterval, cfg.SweepBatch,
		func(ctx context.Context, before time.Time, limit int) (int, error) {
			return sweepBatch(ctx, pool, sweepSQL, before, limit)
		}, cfg.Logger)
	sweep.StopWith(s, s.sweeper)
	return s, nil
}

// Migrate creates the Store's table and indexes if they do not exist:
// Schema, for the Store's table name. New calls it unless given
// WithoutMigration. It holds a transaction-scoped advisory lock while it
// runs, so that instances starting together do not race to create the
// table (concurrent CREATE TABLE IF NOT EXISTS can fail in PostgreSQL).
// It never alters or drops anything.
func (s *Store) Migrate(ctx context.Context) error {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// One lock for every table: a name can be spelled several ways
		// ("x", "public.x"), and migrations are rare and quick.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, lockPrefix+"migrate"); err != nil {
			return err
		}
		// No arguments: sent as a simple query, which may hold several
		// statements.
		_, err := tx.Exec(ctx, schemaFor(s.name))
		return err
	})
	return wrap("migrate", err)
}

// Close stops the sweeper, interrupting a sweep in progress, and waits
// for it to return. It is safe to call more than once and always returns
// nil. It does not close the pool, and the Store keeps working after it,
// only without sweeper.
func (s *Store) Close() error {
	s.sweeper.Stop()
	return nil
}

// Sweep deletes the rows that have expired, in batches (WithSweepBatch),
// and returns how many it deleted. The sweeper calls it periodically; call
// it yourself when you run none (WithSweepInterval(0)). Several instances
// may sweep one table at once: each skips the rows another holds.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	n, err := sqlstore.Sweep(ctx, s.batch, func(ctx context.Context, before time.Time, limit int) (int, error) {
		return sweepBatch(ctx, s.pool, s.q.sweep, before, limit)
	})
	return n, wrap("sweep", err)
}

func sweepBatch(ctx context.Context, pool *pgxpool.Pool, query string, before time.Time, limit int) (int, error) {
	tag, err := pool.Exec(ctx, query, before, limit)
	return int(tag.RowsAffected()), err
}

// Find implements serverstore.Backend.
func (s *Store) Find(ctx context.Context, key string) ([]byte, bool, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, s.q.find, key, time.Now()).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap("find", err)
	}
	return data, true, nil
}

// Commit implements serverstore.Backend: an upsert, or a delete when
// e.Expires has passed.
func (s *Store) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	var err error
	if sqlstore.Expired(e.Expires) {
		_, err = s.exec(ctx, s.q.delete, key)
	} else {
		_, err = s.exec(ctx, s.q.upsert, key, sqlstore.NotNil(e.Data), sqlstore.ClampExpires(e.Expires), sqlstore.NullIfEmpty(e.UserID))
	}
	return wrap("commit", err)
}

// Delete implements serverstore.Backend.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.exec(ctx, s.q.delete, key)
	return wrap("delete", err)
}

// FindUser implements serverstore.UserIndex, through the user_id index.
func (s *Store) FindUser(ctx context.Context, userID string) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx, s.q.findUser, userID, time.Now())
	if err != nil {
		return nil, wrap("find user", err)
	}
	found := map[string][]byte{}
	var key string
	var data []byte
	_, err = pgx.ForEachRow(rows, []any{&key, &data}, func() error {
		found[key] = data
		data = nil // the next row scans into a new slice
		return nil
	})
	if err != nil {
		return nil, wrap("find user", err)
	}
	return found, nil
}

// DeleteUser implements serverstore.UserIndex. It deletes userID's live
// rows; expired ones are left to the sweeper.
func (s *Store) DeleteUser(ctx context.Context, userID string) (int, error) {
	tag, err := s.exec(ctx, s.q.deleteUser, userID, time.Now())
	if err != nil {
		return 0, wrap("delete user", err)
	}
	return int(tag.RowsAffected()), nil
}

// Update implements serverstore.Transactor with a READ COMMITTED
// transaction that locks key's row (SELECT ... FOR UPDATE) while fn runs.
// A key without a row gets an expired placeholder row to lock, which the
// transaction replaces, or rolls back when fn writes nothing: so
// concurrent Updates of a new key wait for each other too. A transaction
// the server aborts (a deadlock, a serialization failure) is retried, fn
// with it.
func (s *Store) Update(ctx context.Context, key string, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	var fnErr error
	err := sqlstore.Retry(ctx, retryable, func() error {
		fnErr = nil
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
			var data []byte
			var found bool
			now := time.Now()
			err := tx.QueryRow(ctx, s.q.lock, key, now).Scan(&data, &found)
			if errors.Is(err, pgx.ErrNoRows) {
				err = tx.QueryRow(ctx, s.q.lockNew, key, now).Scan(&data, &found)
			}
			if err != nil {
				return err
			}
			if !found {
				data = nil
			}
			e, write, err := fn(data, found)
			switch {
			case err != nil:
				fnErr = err
				return err
			case !write:
				return errNoWrite // roll back, dropping a placeholder
			case sqlstore.Expired(e.Expires):
				_, err = tx.Exec(ctx, s.q.delete, key)
			default:
				_, err = tx.Exec(ctx, s.q.update, key, sqlstore.NotNil(e.Data), sqlstore.ClampExpires(e.Expires), sqlstore.NullIfEmpty(e.UserID))
			}
			return err
		})
	})
	switch {
	case fnErr != nil:
		return fnErr
	case errors.Is(err, errNoWrite):
		return nil
	}
	return wrap("update", err)
}

// UpdateHinted implements serverstore.HintedTransactor: fn runs on hint,
// and one UPDATE writes its entry if the row still holds hint; otherwise
// Update takes over. A request that changes its session thus costs one
// round trip for the write instead of Update's four.
func (s *Store) UpdateHinted(ctx context.Context, key string, hint serverstore.Entry, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	swap := func(e serverstore.Entry) (bool, error) {
		tag, err := s.exec(ctx, s.q.swap, key,
			sqlstore.NotNil(hint.Data), sqlstore.ClampExpires(hint.Expires), sqlstore.NullIfEmpty(hint.UserID),
			sqlstore.NotNil(e.Data), sqlstore.ClampExpires(e.Expires), sqlstore.NullIfEmpty(e.UserID), time.Now())
		if err != nil {
			return false, wrap("update", err)
		}
		return tag.RowsAffected() == 1, nil
	}
	update := func(fn sqlstore.UpdateFunc) error { return s.Update(ctx, key, fn) }
	return sqlstore.UpdateHinted(hint, fn, swap, update)
}

// errNoWrite rolls back an Update whose fn wrote nothing.
var errNoWrite = errors.New("no write")

// Rename implements serverstore.Renamer with one statement that deletes
// oldKey and upserts newKey, if oldKey held a live row.
func (s *Store) Rename(ctx context.Context, oldKey, newKey string, e serverstore.Entry) error {
	switch {
	case sqlstore.Expired(e.Expires):
		// A move to an entry that has expired ends both keys, if there
		// was a live entry to move.
		tag, err := s.exec(ctx, s.q.deleteLive, oldKey, time.Now())
		if err == nil && tag.RowsAffected() == 0 {
			return serverstore.ErrNotFound
		}
		if err == nil {
			_, err = s.exec(ctx, s.q.delete, newKey)
		}
		return wrap("rename", err)
	case oldKey == newKey:
		return sqlstore.RenameInPlace(ctx, s.Update, newKey, e)
	}
	tag, err := s.exec(ctx, s.q.rename, oldKey, newKey, sqlstore.NotNil(e.Data), sqlstore.ClampExpires(e.Expires), sqlstore.NullIfEmpty(e.UserID), time.Now())
	if err == nil && tag.RowsAffected() == 0 {
		return serverstore.ErrNotFound
	}
	return wrap("rename", err)
}

// exec runs a write statement on its own, outside a transaction, and
// runs it again if the server aborted it for a deadlock: statements that
// lock several rows (a user's logout everywhere, a rename) can deadlock
// with each other, and PostgreSQL then aborts one, whole.
func (s *Store) exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := sqlstore.Retry(ctx, retryable, func() error {
		var err error
		tag, err = s.pool.Exec(ctx, query, args...)
		return err
	})
	return tag, err
}

// retryable reports whether err aborted a transaction that may succeed
// when run again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") // deadlock_detected, serialization_failure
}

// wrap prefixes err, if any, with the package and operation. PostgreSQL
// errors quote no values in their message (only in their Detail, which
// pgconn.PgError.Error leaves out), so neither key nor data end up in it.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s%s: %w", errPrefix, op, err)
}
