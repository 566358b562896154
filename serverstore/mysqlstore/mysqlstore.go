package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"iter"
	"log/slog"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

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

// MaxUserID is the longest user ID, in bytes, the user_id column holds.
// Writes of longer ones fail with ErrUserIDTooLong rather than let a
// server outside strict mode cut them short, which could make two users
// one.
const MaxUserID = 255

// ErrUserIDTooLong is returned by a write of an entry whose UserID is
// longer than MaxUserID bytes. Nothing is written.
var ErrUserIDTooLong = errors.New("mysqlstore: user ID longer than 255 bytes")

// Option configures a Backend made by New.
type Option func(*sqlstore.Config)

// WithTable sets the table's name, DefaultTable ("sessions") by default.
// It may be qualified with a database, "auth.sessions", which must exist;
// otherwise the table is in the connection's database. Each part must be
// ASCII letters, digits and underscores, not starting with a digit, of at
// most 64 characters. The name is always quoted, so it may be a keyword
// ("order"); whether it is case-sensitive depends on the server's
// lower_case_table_names.
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
// alone (and the DSN's readTimeout and writeTimeout, if set).
func WithTimeout(d time.Duration) Option {
	return func(c *sqlstore.Config) { c.Timeout = d }
}

// Backend is a serverstore.Backend on a MySQL or MariaDB table. It
// implements serverstore.UserIndex and serverstore.Scanner too. Make one
// with New; it is safe for concurrent use.
type Backend struct {
	c    *sqlstore.Core
	db   *sql.DB
	name sqlstore.Name
	q    sqlstore.Queries
}

var (
	_ serverstore.Backend   = (*Backend)(nil)
	_ serverstore.UserIndex = (*Backend)(nil)
	_ serverstore.Scanner   = (*Backend)(nil)
)

// New returns a Backend on the table of db's database named by WithTable
// ("sessions" by default). Unless WithoutMigration is given, it first
// creates the table and its indexes if they are missing, and checks that
// the Backend can use the table if it exists (see Migrate). It starts a
// goroutine that deletes expired rows every 5 minutes (see
// WithSweepInterval); Close stops it. db remains the caller's: close it
// after the Backend. See the package documentation for the DSN
// parameters that matter.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Backend, error) {
	if db == nil {
		return nil, errors.New(pkgName + ": nil db")
	}
	cfg, name, err := sqlstore.Setup(opts, maxIdent, 0)
	if err != nil {
		return nil, errors.New(pkgName + ": " + err.Error())
	}
	q := newQueries(quote(name))
	// Of MySQL's messages, only a duplicate-key error quotes a value, and
	// no statement here can fail with one (the inserts are upserts): so
	// neither key nor data end up in an error.
	d := sqlstore.Dialect{
		Name:      pkgName,
		Queries:   q,
		Time:      func(t time.Time) any { return datetime(t) },
		Retryable: retryable,
		Check:     checkUser,
	}
	b := &Backend{
		c:    sqlstore.NewCore(sqlstore.SQLDB{DB: db, TxOptions: &sql.TxOptions{Isolation: sql.LevelReadCommitted}}, d, cfg),
		db:   db,
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

// Update implements serverstore.Backend. Without a hint, it runs a READ
// COMMITTED transaction that locks key's row (SELECT ... FOR UPDATE)
// while fn runs; with one, a single UPDATE writes fn's entry if the row
// still holds the hint, and the transaction runs only if it does not. A
// transaction the server aborts as deadlocked is run again, fn with it.
// (An UPDATE that changes nothing counts no row, unless the DSN sets
// clientFoundRows; the transaction then writes the same entry again,
// which is merely slower.)
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

// placeholderExpires is the expiry of the placeholder rows of Update:
// the earliest DATETIME.
const placeholderExpires = "1000-01-01 00:00:00"

// newQueries returns the Backend's statements on table, a quoted name.
// See sqlstore.Queries for what each does, and its arguments.
func newQueries(table string) sqlstore.Queries {
	r := strings.NewReplacer("TABLE", table).Replace
	return sqlstore.Queries{
		Find: r("SELECT `data` FROM TABLE WHERE `key` = ? AND `expires` > ?"),
		// VALUES() is deprecated from MySQL 8.0.20 in favour of a row
		// alias, which MariaDB lacks; both still accept VALUES().
		Upsert: r("INSERT INTO TABLE (`key`, `data`, `expires`, `user_id`) VALUES (?, ?, ?, ?)\n" +
			"ON DUPLICATE KEY UPDATE `data` = VALUES(`data`), `expires` = VALUES(`expires`), `user_id` = VALUES(`user_id`)"),
		Delete:     r("DELETE FROM TABLE WHERE `key` = ?"),
		DeleteLive: r("DELETE FROM TABLE WHERE `key` = ? AND `expires` > ?"),
		FindUser:   r("SELECT `key`, `data` FROM TABLE WHERE `user_id` = ? AND `expires` > ?"),
		DeleteUser: r("DELETE FROM TABLE WHERE `user_id` = ? AND `expires` > ?"),
		Lock:       r("SELECT `data`, `expires` > ? FROM TABLE WHERE `key` = ? FOR UPDATE"),
		// ON DUPLICATE KEY UPDATE locks the row of a conflict, even
		// when it changes nothing.
		LockNew: r("INSERT INTO TABLE (`key`, `data`, `expires`) VALUES (?, '', '" + placeholderExpires + "')\n" +
			"ON DUPLICATE KEY UPDATE `key` = `key`"),
		// InnoDB reads the row for an UPDATE as last committed, waiting
		// for a transaction that is changing it.
		Swap: r("UPDATE TABLE SET `data` = ?, `expires` = ?, `user_id` = ?\n" +
			"WHERE `key` = ? AND `data` = ? AND `expires` = ? AND `user_id` <=> ? AND `expires` > ?"),
		Scan:            r("SELECT `key`, `data` FROM TABLE WHERE `key` > ? AND `expires` > ? ORDER BY `key` LIMIT ?"),
		Count:           r("SELECT COUNT(*) FROM TABLE WHERE `expires` > ?"),
		DeleteLiveBatch: r("DELETE FROM TABLE WHERE `expires` > ? LIMIT ?"),
		// The expires index finds the rows; no ORDER BY, as which
		// expired rows go first does not matter.
		Sweep: r("DELETE FROM TABLE WHERE `expires` <= ? LIMIT ?"),
	}
}

// datetime formats t as a DATETIME(6) literal in UTC. Times are passed as
// such strings rather than as time.Time so that the DSN's loc parameter
// and the server's time_zone never come into it: the column holds UTC
// whoever writes it.
func datetime(t time.Time) string {
	return sqlstore.ClampExpires(t).Format("2006-01-02 15:04:05.000000")
}

// checkUser refuses a user ID too long for its column.
func checkUser(e serverstore.Entry) error {
	if len(e.UserID) > MaxUserID {
		return ErrUserIDTooLong
	}
	return nil
}

// retryable reports whether err aborted a transaction that may succeed
// when run again.
func retryable(err error) bool {
	var myErr *mysql.MySQLError
	return errors.As(err, &myErr) && myErr.Number == 1213 // ER_LOCK_DEADLOCK
}
