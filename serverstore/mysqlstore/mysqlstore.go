package mysqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
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
)

// MaxUserID is the longest user ID, in bytes, the user_id column holds.
// Writes of longer ones fail with ErrUserIDTooLong rather than let a
// server outside strict mode cut them short, which could make two users
// one.
const MaxUserID = 255

// ErrUserIDTooLong is returned by a write of an entry whose UserID is
// longer than MaxUserID bytes. Nothing is written.
var ErrUserIDTooLong = errors.New("mysqlstore: user ID longer than 255 bytes")

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
	maxIdent  = 64
	pkgName   = "mysqlstore"
	errPrefix = pkgName + ": "
)

// SchemaFor returns the schema for the table named table (see WithTable),
// or an error if the name is not valid.
func SchemaFor(table string) (string, error) {
	n, err := sqlstore.ParseName(table, maxIdent, 0)
	if err != nil {
		return "", errors.New(errPrefix + err.Error())
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

// Option configures a Store made by New.
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
// Schema with their own migration tool. New then asks the server
// nothing: the Store fails at its first use if the table does not exist,
// or is not one it can use.
func WithoutMigration() Option {
	return func(c *sqlstore.Config) { c.Migrate = false }
}

// Store is a serverstore.Backend on a MySQL or MariaDB table. It
// implements serverstore.UserIndex, serverstore.Transactor and
// serverstore.Renamer. Make one with New; it is safe for concurrent use.
type Store struct {
	db      *sql.DB
	name    sqlstore.Name
	q       queries
	batch   int
	sweeper *sweep.Sweeper
}

var (
	_ serverstore.Backend          = (*Store)(nil)
	_ serverstore.UserIndex        = (*Store)(nil)
	_ serverstore.Transactor       = (*Store)(nil)
	_ serverstore.HintedTransactor = (*Store)(nil)
	_ serverstore.Renamer          = (*Store)(nil)
)

// queries are the Store's statements, for its table.
type queries struct {
	find, upsert, delete, deleteLive string
	findUser, deleteUser             string
	lock, lockNew, update, swap      string
	sweep                            string
}

// placeholderExpires is the expiry of the placeholder rows of Update:
// the earliest DATETIME.
const placeholderExpires = "1000-01-01 00:00:00"

func newQueries(table string) queries {
	r := strings.NewReplacer("TABLE", table)
	return queries{
		find: r.Replace("SELECT `data` FROM TABLE WHERE `key` = ? AND `expires` > ?"),
		// VALUES() is deprecated from MySQL 8.0.20 in favour of a row
		// alias, which MariaDB lacks; both still accept VALUES().
		upsert: r.Replace("INSERT INTO TABLE (`key`, `data`, `expires`, `user_id`) VALUES (?, ?, ?, ?)\n" +
			"ON DUPLICATE KEY UPDATE `data` = VALUES(`data`), `expires` = VALUES(`expires`), `user_id` = VALUES(`user_id`)"),
		delete:     r.Replace("DELETE FROM TABLE WHERE `key` = ?"),
		deleteLive: r.Replace("DELETE FROM TABLE WHERE `key` = ? AND `expires` > ?"),
		findUser:   r.Replace("SELECT `key`, `data` FROM TABLE WHERE `user_id` = ? AND `expires` > ?"),
		deleteUser: r.Replace("DELETE FROM TABLE WHERE `user_id` = ? AND `expires` > ?"),
		// lock reads and locks key's row, expired or not, for Update.
		lock: r.Replace("SELECT `data`, `expires` > ? FROM TABLE WHERE `key` = ? FOR UPDATE"),
		// lockNew makes a row for a key that had none, so that there is
		// a row to lock: an expired placeholder, which the transaction
		// replaces or rolls back. If a concurrent transaction made the
		// row first, this waits for it, then locks it (changing nothing).
		lockNew: r.Replace("INSERT INTO TABLE (`key`, `data`, `expires`) VALUES (?, '', '" + placeholderExpires + "')\n" +
			"ON DUPLICATE KEY UPDATE `key` = `key`"),
		update: r.Replace("UPDATE TABLE SET `data` = ?, `expires` = ?, `user_id` = ? WHERE `key` = ?"),
		// swap writes key's row only if it is live and holds exactly the
		// given entry. InnoDB reads the row for an UPDATE as last
		// committed, waiting for a transaction that is changing it.
		swap: r.Replace("UPDATE TABLE SET `data` = ?, `expires` = ?, `user_id` = ?\n" +
			"WHERE `key` = ? AND `data` = ? AND `expires` = ? AND `user_id` <=> ? AND `expires` > ?"),
		// The expires index finds the rows; no ORDER BY, as which
		// expired rows go first does not matter.
		sweep: r.Replace("DELETE FROM TABLE WHERE `expires` <= ? LIMIT ?"),
	}
}

// New returns a Store on the table of db's database named by WithTable
// ("sessions" by default). Unless WithoutMigration is given, it first
// creates the table and its indexes if they are missing (see Migrate).
// It starts a goroutine that deletes expired rows every 5 minutes (see
// WithSweepInterval); Close stops it. db remains the caller's: close it
// after the Store. See the package documentation for the DSN parameters
// that matter.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New(errPrefix + "nil db")
	}
	cfg, name, err := sqlstore.Setup(opts, maxIdent, 0)
	if err != nil {
		return nil, errors.New(errPrefix + err.Error())
	}
	s := &Store{db: db, name: name, q: newQueries(quote(name)), batch: cfg.SweepBatch}
	if cfg.Migrate {
		if err := s.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	// The sweeper refers to db and the statement, not to s: a Store
	// dropped without Close is collected, and its cleanup stops it.
	sweepSQL := s.q.sweep
	s.sweeper = sqlstore.StartSweeper(pkgName, cfg.SweepInterval, cfg.SweepBatch,
		func(ctx context.Context, before time.Time, limit int) (int, error) {
			return sweepBatch(ctx, db, sweepSQL, before, limit)
		}, cfg.Logger)
	sweep.StopWith(s, s.sweeper)
	return s, nil
}

// Migrate creates the Store's table and indexes if the table does not
// exist: Schema, for the Store's table name. If a table of that name
// exists already, it checks that the Store can use it (its columns, their
// types, its indexes and engine) and otherwise returns an error saying
// what is wrong, so that a Store on someone else's "sessions" table fails
// here rather than on its first request. New calls it unless given
// WithoutMigration. It never alters or drops anything.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, schemaFor(s.name)); err != nil {
		return wrap("migrate", err)
	}
	return s.checkTable(ctx)
}

// Close stops the sweeper, interrupting a sweep in progress, and waits
// for it to return. It is safe to call more than once and always returns
// nil. It does not close db, and the Store keeps working after it, only
// without sweeper.
func (s *Store) Close() error {
	s.sweeper.Stop()
	return nil
}

// Sweep deletes the rows that have expired, in batches (WithSweepBatch),
// and returns how many it deleted. The sweeper calls it periodically; call
// it yourself when you run none (WithSweepInterval(0)).
func (s *Store) Sweep(ctx context.Context) (int, error) {
	n, err := sqlstore.Sweep(ctx, s.batch, func(ctx context.Context, before time.Time, limit int) (int, error) {
		return sweepBatch(ctx, s.db, s.q.sweep, before, limit)
	})
	return n, wrap("sweep", err)
}

// sweepBatch runs one DELETE of a sweep. It runs in READ COMMITTED, which
// locks only the rows it deletes, where REPEATABLE READ would also lock
// the gaps of the expires index it scans, holding up the inserts that
// fall in them.
//
// A sweep that meets an Update extending one of its rows can be aborted as
// deadlocked (it holds the row's expires index entry, and waits for the
// row the Update holds): it is run again, like the Store's transactions.
func sweepBatch(ctx context.Context, db *sql.DB, query string, before time.Time, limit int) (int, error) {
	var n int64
	err := sqlstore.Retry(ctx, retryable, func() error {
		return inTx(ctx, db, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, query, datetime(before), limit)
			if err == nil {
				n, err = res.RowsAffected()
			}
			return err
		})
	})
	return int(n), err
}

// Find implements serverstore.Backend.
func (s *Store) Find(ctx context.Context, key string) ([]byte, bool, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, s.q.find, key, datetime(time.Now())).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap("find", err)
	}
	if data == nil {
		data = []byte{} // an empty BLOB scans as nil
	}
	return data, true, nil
}

// Commit implements serverstore.Backend: an upsert, or a delete when
// e.Expires has passed.
func (s *Store) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	if err := checkUser(e); err != nil {
		return err
	}
	var err error
	if sqlstore.Expired(e.Expires) {
		_, err = s.exec(ctx, s.q.delete, key)
	} else {
		_, err = s.exec(ctx, s.q.upsert, key, sqlstore.NotNil(e.Data), datetime(e.Expires), sqlstore.NullIfEmpty(e.UserID))
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
	rows, err := s.db.QueryContext(ctx, s.q.findUser, userID, datetime(time.Now()))
	if err != nil {
		return nil, wrap("find user", err)
	}
	defer rows.Close()
	found := map[string][]byte{}
	for rows.Next() {
		var key string
		var data []byte
		if err := rows.Scan(&key, &data); err != nil {
			return nil, wrap("find user", err)
		}
		if data == nil {
			data = []byte{}
		}
		found[key] = data
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find user", err)
	}
	return found, nil
}

// DeleteUser implements serverstore.UserIndex. It deletes userID's live
// rows; expired ones are left to the sweeper.
func (s *Store) DeleteUser(ctx context.Context, userID string) (int, error) {
	res, err := s.exec(ctx, s.q.deleteUser, userID, datetime(time.Now()))
	if err != nil {
		return 0, wrap("delete user", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("delete user", err)
}

// Update implements serverstore.Transactor with a READ COMMITTED
// transaction that locks key's row (SELECT ... FOR UPDATE) while fn runs.
// A key without a row gets an expired placeholder row to lock, which the
// transaction replaces, or rolls back when fn writes nothing: so
// concurrent Updates of a new key wait for each other too. A transaction
// the server aborts with a deadlock is retried, fn with it.
func (s *Store) Update(ctx context.Context, key string, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	var fnErr error
	err := sqlstore.Retry(ctx, retryable, func() error {
		fnErr = nil
		return inTx(ctx, s.db, func(tx *sql.Tx) error {
			data, found, err := s.lock(ctx, tx, key)
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
				_, err = tx.ExecContext(ctx, s.q.delete, key)
			default:
				if err = checkUser(e); err == nil {
					_, err = tx.ExecContext(ctx, s.q.update, sqlstore.NotNil(e.Data), datetime(e.Expires), sqlstore.NullIfEmpty(e.UserID), key)
				}
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

// lock reads key's row and locks it, making a placeholder row to lock if
// there is none.
func (s *Store) lock(ctx context.Context, tx *sql.Tx, key string) (data []byte, found bool, err error) {
	now := datetime(time.Now())
	err = tx.QueryRowContext(ctx, s.q.lock, now, key).Scan(&data, &found)
	if !errors.Is(err, sql.ErrNoRows) {
		return data, found, err
	}
	// lockNew inserted a placeholder, or locked the row a concurrent
	// transaction made meanwhile: either way there is a row, locked, to
	// read now. (Its affected-rows count would tell which, but the DSN
	// parameter clientFoundRows changes its meaning.)
	if _, err := tx.ExecContext(ctx, s.q.lockNew, key); err != nil {
		return nil, false, err
	}
	err = tx.QueryRowContext(ctx, s.q.lock, now, key).Scan(&data, &found)
	return data, found, err
}

// UpdateHinted implements serverstore.HintedTransactor: fn runs on hint,
// and one UPDATE writes its entry if the row still holds hint; otherwise
// Update takes over. A request that changes its session thus costs one
// round trip for the write instead of Update's four or more. (An UPDATE
// that changes nothing counts no row, unless the DSN sets
// clientFoundRows; Update then writes the same entry again, which is
// merely slower.)
func (s *Store) UpdateHinted(ctx context.Context, key string, hint serverstore.Entry, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	swap := func(e serverstore.Entry) (bool, error) {
		if err := checkUser(e); err != nil {
			return false, err
		}
		var n int64
		res, err := s.exec(ctx, s.q.swap,
			sqlstore.NotNil(e.Data), datetime(e.Expires), sqlstore.NullIfEmpty(e.UserID),
			key, sqlstore.NotNil(hint.Data), datetime(hint.Expires), sqlstore.NullIfEmpty(hint.UserID), datetime(time.Now()))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return n == 1, wrap("update", err)
	}
	update := func(fn sqlstore.UpdateFunc) error { return s.Update(ctx, key, fn) }
	return sqlstore.UpdateHinted(hint, fn, swap, update)
}

// errNoWrite rolls back an Update whose fn wrote nothing.
var errNoWrite = errors.New("no write")

// Rename implements serverstore.Renamer with a transaction that deletes
// oldKey and upserts newKey, if oldKey held a live row.
func (s *Store) Rename(ctx context.Context, oldKey, newKey string, e serverstore.Entry) error {
	if err := checkUser(e); err != nil {
		return err
	}
	var err error
	switch {
	case sqlstore.Expired(e.Expires):
		// A move to an entry that has expired ends both keys, if there
		// was a live entry to move.
		var res sql.Result
		if res, err = s.exec(ctx, s.q.deleteLive, oldKey, datetime(time.Now())); err == nil {
			if n, rerr := res.RowsAffected(); rerr != nil || n == 0 {
				return cmp.Or(rerr, serverstore.ErrNotFound)
			}
			_, err = s.exec(ctx, s.q.delete, newKey)
		}
	case oldKey == newKey:
		return sqlstore.RenameInPlace(ctx, s.Update, newKey, e)
	default:
		err = sqlstore.Retry(ctx, retryable, func() error {
			return inTx(ctx, s.db, func(tx *sql.Tx) error {
				res, err := tx.ExecContext(ctx, s.q.deleteLive, oldKey, datetime(time.Now()))
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err != nil || n == 0 {
					return cmp.Or(err, serverstore.ErrNotFound) // rolled back: nothing written
				}
				_, err = tx.ExecContext(ctx, s.q.upsert, newKey, sqlstore.NotNil(e.Data), datetime(e.Expires), sqlstore.NullIfEmpty(e.UserID))
				return err
			})
		})
		if errors.Is(err, serverstore.ErrNotFound) {
			return err
		}
	}
	return wrap("rename", err)
}

// inTx runs fn in a READ COMMITTED transaction, committed if fn returns
// nil and rolled back otherwise. READ COMMITTED takes no gap locks, which
// under the default REPEATABLE READ make transactions that lock or delete
// missing keys deadlock with each other's inserts. (It needs the binary
// log, if any, in ROW or MIXED format, the defaults.)
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	// Rolled back however fn ends, a panic included (fn runs an Update's
	// callback, application code): a transaction left open would hold its
	// row lock and its connection for as long as ctx lives.
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
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

// exec runs a write statement on its own, outside a transaction, and
// runs it again if the server rolled it back for a deadlock. On its own a
// statement runs at the server's default isolation, REPEATABLE READ,
// whose gap locks on the expires and user_id indexes can deadlock
// concurrent statements on different rows (a user's logout everywhere
// and another session's save, say); InnoDB then rolls one back, whole,
// and it is safe to run again.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := sqlstore.Retry(ctx, retryable, func() error {
		var err error
		res, err = s.db.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// retryable reports whether err aborted a transaction that may succeed
// when run again.
func retryable(err error) bool {
	var myErr *mysql.MySQLError
	return errors.As(err, &myErr) && myErr.Number == 1213 // ER_LOCK_DEADLOCK
}

// wrap prefixes err, if any, with the package and operation. Of MySQL's
// messages, only a duplicate-key error quotes a value, and no statement
// here can fail with one (the inserts are upserts): so neither key nor
// data end up in an error.
func wrap(op string, err error) error {
	if err == nil || err == ErrUserIDTooLong {
		return err
	}
	return fmt.Errorf("%s%s: %w", errPrefix, op, err)
}
