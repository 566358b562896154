package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// setupFunc is the Setup of sqlstore.SQLDB.
type setupFunc = func(ctx context.Context, c *sql.Conn) (restore func() error, err error)

// prepare readies db's database for a Backend, within ctx: it sets the
// journal mode to WAL, or, for a database in memory, checks that the pool
// has one connection. It returns the Setup of the connections of the
// Backend's calls, which refers to nothing of the Backend (the sweeper's
// calls run it), and whether the database is read-only (opened so, or a
// file the process cannot write), which then stays in its journal mode.
func prepare(ctx context.Context, db *sql.DB) (setup setupFunc, readOnly bool, err error) {
	fail := func(err error) (setupFunc, bool, error) {
		return nil, false, fmt.Errorf("%s: open: %w", pkgName, err)
	}
	c, err := db.Conn(ctx)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	// The DSN's busy timeout, which each call's connection is given back.
	var busy int64
	if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
		return fail(err)
	}
	setup = newSetup(busy)
	restore, err := setup(ctx, c)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = restore() }()

	var file string
	if err := c.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
		return fail(err)
	}
	if file == "" {
		// In memory, or a temporary file: the connection's own.
		if n := db.Stats().MaxOpenConnections; n != 1 {
			return nil, false, errors.New(pkgName + ": the database is in memory, where each connection of the pool has a database of its own: call db.SetMaxOpenConns(1) before New")
		}
		return setup, false, nil
	}
	err = c.Raw(func(dc any) error {
		ro, ok := dc.(interface{ IsReadOnly(string) (bool, error) })
		if !ok {
			return fmt.Errorf("the driver's connection is %T, which cannot tell whether it is read-only", dc)
		}
		readOnly, err = ro.IsReadOnly("main")
		return err
	})
	switch {
	case err != nil:
		return fail(err)
	case readOnly:
		return setup, true, nil
	}
	// The file keeps the mode: this changes it once, and then finds it.
	var mode string
	if err := c.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return nil, false, fmt.Errorf("%s: setting the journal mode to WAL: %w", pkgName, err)
	}
	if mode != "wal" {
		return nil, false, fmt.Errorf("%s: the journal mode is %q, and could not be set to WAL", pkgName, mode)
	}
	return setup, false, nil
}

// newSetup returns the Setup of the Backend's connections, for a DSN whose
// busy timeout is busy milliseconds: a call with a deadline waits for
// the database's locks until that deadline and no longer, as the driver
// does not interrupt the wait when the context is done. The connection
// gets the DSN's busy timeout back when the call is over, for the
// application's own use of the pool.
func newSetup(busy int64) setupFunc {
	restore := "PRAGMA busy_timeout = " + strconv.FormatInt(busy, 10)
	return func(ctx context.Context, c *sql.Conn) (func() error, error) {
		deadline, ok := ctx.Deadline()
		if !ok {
			return func() error { return nil }, nil
		}
		if _, err := c.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.FormatInt(busyTimeout(time.Until(deadline)), 10)); err != nil {
			return nil, err
		}
		return func() error {
			_, err := c.ExecContext(context.Background(), restore)
			return err
		}, nil
	}
}

// busyTimeout returns the busy timeout, in milliseconds, of a call with
// left before its deadline: a little less, so that a call that waited
// for the lock all that time fails with SQLite's "database is locked",
// which says why, rather than with the context's error; and at least 1
// (0 fails at once rather than wait).
func busyTimeout(left time.Duration) int64 {
	left -= min(left/10, 50*time.Millisecond)
	return max(int64(left/time.Millisecond), 1)
}
