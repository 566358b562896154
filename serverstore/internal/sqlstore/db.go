package sqlstore

import (
	"context"
	"database/sql"
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
	// each other's inserts.
	TxOptions *sql.TxOptions
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

// Exec implements Conn.
func (d SQLDB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return sqlConn{d.DB}.Exec(ctx, query, args...)
}

// QueryRow implements Conn.
func (d SQLDB) QueryRow(ctx context.Context, query string, args []any, dest ...any) (bool, error) {
	return sqlConn{d.DB}.QueryRow(ctx, query, args, dest...)
}

// Query implements Conn.
func (d SQLDB) Query(ctx context.Context, query string, args []any, dest []any, each func() error) error {
	return sqlConn{d.DB}.Query(ctx, query, args, dest, each)
}

// Tx implements DB.
func (d SQLDB) Tx(ctx context.Context, fn func(Conn) error) error {
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
