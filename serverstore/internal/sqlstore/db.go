package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"math/rand/v2"
	"time"
)

// Conn runs a dialect's statements, on their own or within a
// transaction: what Core needs of a driver.
type Conn interface {
	// Exec runs a statement that returns no rows, and returns how many
	// rows it affected.
	Exec(ctx context.Context, query string, args ...any) (affected int64, err error)

	// QueryRow runs a query that returns at most one row, and scans it
	// into dest. found is false, with no error, if it returned none.
	QueryRow(ctx context.Context, query string, args []any, dest ...any) (found bool, err error)

	// Query runs a query, scans each row it returns into dest and calls
	// each after each row. It returns each's first error, and then stops.
	Query(ctx context.Context, query string, args []any, dest []any, each func() error) error
}

// DB is a dialect's database: a Conn that also runs transactions.
type DB interface {
	Conn

	// Tx runs fn in a transaction at READ COMMITTED or stronger (Core's
	// statements lock the rows they must, and need no gap locks), which
	// is committed if fn returns nil and rolled back otherwise, a panic
	// of fn included: fn runs an Update's function, application code,
	// and a transaction left open would hold its row lock, and its
	// connection, for as long as its context lives.
	Tx(ctx context.Context, fn func(Conn) error) error
}

// SQLDB is a DB on a database/sql handle: a dialect whose driver is a
// database/sql driver (MySQL, SQLite) needs nothing else.
type SQLDB struct {
	DB *sql.DB
	// TxOptions are those of Tx's transactions. MySQL wants READ
	// COMMITTED, which takes no gap locks: under its default REPEATABLE
	// READ, transactions that lock or delete missing keys deadlock with
	// each other's inserts. Unused with Begin.
	TxOptions *sql.TxOptions

	// Setup, if not nil, runs first on the connection of each call and
	// each transaction, with the call's context, for settings of the
	// connection that depend on the call (SQLite's busy timeout, which
	// must end by the context's deadline, as the driver cannot interrupt
	// a wait for a lock). It returns the function that restores the
	// connection before it goes back to the pool, for the application's
	// own use of it; if that fails, the connection is closed instead.
	// Each call then takes a connection of the pool for itself, as
	// database/sql does anyway.
	Setup func(ctx context.Context, c *sql.Conn) (restore func() error, err error)

	// Begin, if not "", is the statement that begins Tx's transactions,
	// instead of BeginTx; they end with COMMIT or ROLLBACK. SQLite's
	// "BEGIN IMMEDIATE" takes the write lock at once, waiting for it as
	// any write does, where BeginTx's deferred transaction, reading first,
	// would fail at its first write if another connection wrote
	// meanwhile.
	Begin string

	// Writes, if not nil, is a channel of capacity 1 that each Exec and
	// each Tx holds a value in while it runs, so that they run one at a
	// time, queued in order, each waiting no longer than its context
	// allows. For SQLite, which has one writer at a time: its own wait
	// for the write lock polls, sleeping up to 100 ms between tries, and
	// with many writers waiting, one can lose every try until its
	// deadline. The wait for a writer of another process is left to it.
	Writes chan struct{}
}

// write waits for d's turn to write, if d has Writes, and returns the
// function that ends it.
func (d SQLDB) write(ctx context.Context) (func(), error) {
	if d.Writes == nil {
		return func() {}, nil
	}
	select {
	case d.Writes <- struct{}{}:
		return func() { <-d.Writes }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

var _ DB = SQLDB{}

// sqlQuerier is what *sql.DB and *sql.Tx have in common.
type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sqlConn is a Conn on a *sql.DB or a *sql.Tx.
type sqlConn struct{ q sqlQuerier }

// Exec implements Conn.
func (c sqlConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// QueryRow implements Conn.
func (c sqlConn) QueryRow(ctx context.Context, query string, args []any, dest ...any) (bool, error) {
	err := c.q.QueryRowContext(ctx, query, args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// Query implements Conn.
func (c sqlConn) Query(ctx context.Context, query string, args []any, dest []any, each func() error) error {
	rows, err := c.q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := each(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// conn returns what d's calls with ctx run on, and the function that
// releases it: d.DB itself, or, with Setup, a connection of its own.
func (d SQLDB) conn(ctx context.Context) (sqlQuerier, func(), error) {
	if d.Setup == nil {
		return d.DB, func() {}, nil
	}
	return d.take(ctx)
}

// take returns a connection of the pool, set up for ctx (Setup), and the
// function that restores it and puts it back.
func (d SQLDB) take(ctx context.Context) (*sql.Conn, func(), error) {
	c, err := d.DB.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	restore := func() error { return nil }
	if d.Setup != nil {
		if restore, err = d.Setup(ctx, c); err != nil {
			_ = c.Close()
			return nil, nil, err
		}
	}
	return c, func() {
		if err := restore(); err != nil {
			discard(c)
		}
		_ = c.Close()
	}, nil
}

// discard closes c's driver connection, rather than let it go back to the
// pool in a state it must not be used in.
func discard(c *sql.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
}

// Exec implements Conn.
func (d SQLDB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	done, err := d.write(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	q, release, err := d.conn(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	return sqlConn{q}.Exec(ctx, query, args...)
}

// QueryRow implements Conn.
func (d SQLDB) QueryRow(ctx context.Context, query string, args []any, dest ...any) (bool, error) {
	q, release, err := d.conn(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return sqlConn{q}.QueryRow(ctx, query, args, dest...)
}

// Query implements Conn.
func (d SQLDB) Query(ctx context.Context, query string, args []any, dest []any, each func() error) error {
	q, release, err := d.conn(ctx)
	if err != nil {
		return err
	}
	defer release()
	return sqlConn{q}.Query(ctx, query, args, dest, each)
}

// Tx implements DB.
func (d SQLDB) Tx(ctx context.Context, fn func(Conn) error) error {
	done, err := d.write(ctx)
	if err != nil {
		return err
	}
	defer done()
	if d.Begin != "" {
		return d.begun(ctx, fn)
	}
	tx, err := d.DB.BeginTx(ctx, d.TxOptions)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit; runs on a panic of fn
	if err := fn(sqlConn{tx}); err != nil {
		return err
	}
	return tx.Commit()
}

// begun is Tx with d.Begin, on a connection of its own.
func (d SQLDB) begun(ctx context.Context, fn func(Conn) error) error {
	c, release, err := d.take(ctx)
	if err != nil {
		return err
	}
	defer release()
	committed := false
	defer func() { // on an error, and on a panic of fn
		if committed {
			return
		}
		// ROLLBACK runs even when ctx is done, and even when Begin
		// failed: it may have failed only as ctx ended, once the
		// transaction had begun. If ROLLBACK fails, the connection may
		// still be in the transaction, holding its locks, or in none
		// (Begin did fail): either way it is closed rather than
		// returned to the pool.
		if _, err := c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
			discard(c)
		}
	}()
	if _, err := c.ExecContext(ctx, d.Begin); err != nil {
		return err
	}
	if err := fn(sqlConn{c}); err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	committed = true
	return nil
}

// maxAttempts bounds Retry.
const maxAttempts = 10

// Retry runs op until it succeeds, fails with an error that retryable
// rejects, ctx is done, or maxAttempts attempts failed. Between attempts
// it waits a few random milliseconds, so that transactions that deadlocked
// each other do not meet again. It is for whole transactions the server
// aborted (a deadlock, a serialization failure), which succeed when run
// again.
func Retry(ctx context.Context, retryable func(error) bool, op func() error) error {
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		wait := time.NewTimer(time.Duration(1+rand.IntN(4*attempt)) * time.Millisecond)
		select {
		case <-ctx.Done():
			wait.Stop()
			return err
		case <-wait.C:
		}
	}
}
