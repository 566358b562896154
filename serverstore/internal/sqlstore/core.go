package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sweep"
)

// Queries are a dialect's statements on its table. Each takes its
// arguments in the order listed, as "? ? ?" placeholders or numbered
// ones; times are passed as Dialect.Time makes them. The name of the
// table is in them already.
type Queries struct {
	Find       string // key, now; returns data, of the row if live
	Upsert     string // key, data, expires, user ID (nil: NULL); replaces a row of key
	Delete     string // key
	DeleteLive string // key, now; deletes the row if live
	FindUser   string // user ID, now; returns key, data of each live row of the user
	DeleteUser string // user ID, now; deletes the live rows of the user

	// Lock returns key's data and whether it is live (a boolean), for an
	// Update: of the row expired or not, locking it until the
	// transaction ends.
	Lock string // now, key
	// LockNew inserts a placeholder row for key that is not live (an
	// expired one, which the transaction replaces or rolls back), so
	// that there is a row for Lock to lock; if a concurrent transaction
	// inserted the row first, it waits for that one, then locks its row.
	// "" if the dialect's transactions lock what they read, rows that
	// are not there included (SQLite's, which lock the database).
	LockNew string // key

	// Swap writes key's row only if it is live and holds exactly the
	// hint, atomically, affecting one row if it did.
	Swap string // data, expires, user ID; key, hint data, hint expires, hint user ID; now

	// Rename, if not "", is one statement that deletes oldKey's row and,
	// if it was live, upserts newKey's, affecting no row if it was not.
	// "": Rename runs DeleteLive and Upsert in a transaction.
	Rename string // old key, new key, data, expires, user ID, now

	// Scan returns key, data of at most limit live rows whose key sorts
	// after the last one returned, in the order of key: keyset pages on
	// the primary key.
	Scan  string // last key ("" first), now, limit
	Count string // now; returns the number of live rows

	// DeleteLiveBatch deletes at most limit live rows, for DeleteAll.
	DeleteLiveBatch string // now, limit
	// Sweep deletes at most limit rows that expired at or before
	// before. It must not delete a row a concurrent transaction has
	// made live meanwhile.
	Sweep string // before, limit
}

// Dialect is what a SQL backend supplies to Core beyond its DB.
type Dialect struct {
	// Name is the backend's package name: it prefixes the errors,
	// "pgstore: find: ...", and the sweeper's log messages.
	Name    string
	Queries Queries
	// Time returns t as a statement's argument, t being UTC, truncated
	// to the microsecond and no later than MaxExpires. nil: t itself.
	Time func(t time.Time) any
	// Retryable reports whether err aborted a statement or a
	// transaction that may succeed when run again (a deadlock, a
	// serialization failure).
	Retryable func(err error) bool
	// Check, if not nil, refuses an entry the table cannot hold before
	// anything is written; Core returns its error as it is.
	Check func(serverstore.Entry) error
}

// Core is a serverstore.Backend, UserIndex and Scanner on a table: the
// whole of a SQL backend but its schema. Every method bounds its context
// by Config.Timeout (Config.Bound).
type Core struct {
	db      DB
	d       Dialect
	cfg     Config
	sweeper *sweep.Sweeper // nil: none (see StartSweeper)
}

// ScanBatch is how many rows a page of Scan fetches: Scan holds one page
// in memory at a time.
const ScanBatch = 100

// NewCore returns a Core on db, which asks the server nothing until it
// is used. cfg must have passed Check.
func NewCore(db DB, d Dialect, cfg Config) *Core {
	if d.Time == nil {
		d.Time = func(t time.Time) any { return t }
	}
	return &Core{db: db, d: d, cfg: cfg}
}

// Bound is Config.Bound of c's configuration, for the dialect's own
// calls (its Migrate).
func (c *Core) Bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return c.cfg.Bound(ctx)
}

// Wrap prefixes err, if any, with the backend's name and op. The servers'
// messages quote no key or data (see the dialects' notes), so neither end
// up in it.
func (c *Core) Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", c.d.Name, op, err)
}

// time returns t as an argument of c's statements.
func (c *Core) time(t time.Time) any {
	return c.d.Time(ClampExpires(t))
}

// now is the "now" of c's statements: the application's clock, never the
// database's, which is what serverstore checks expiry with.
func (c *Core) now() any {
	return c.time(time.Now())
}

// values returns e's data, expires and user ID as arguments.
func (c *Core) values(e serverstore.Entry) []any {
	return []any{NotNil(e.Data), c.time(e.Expires), NullIfEmpty(e.UserID)}
}

// check runs the dialect's Check on e.
func (c *Core) check(e serverstore.Entry) error {
	if c.d.Check == nil {
		return nil
	}
	return c.d.Check(e)
}

// exec runs a write statement on its own, outside a transaction, and
// runs it again if the server aborted it as deadlocked: statements that
// lock several rows (a user's logout everywhere, a rename) can deadlock
// with each other, or, at MySQL's default REPEATABLE READ, with saves of
// other sessions in the gaps of the indexes, and the server then rolls
// one back, whole.
func (c *Core) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := Retry(ctx, c.d.Retryable, func() error {
		var err error
		n, err = c.db.Exec(ctx, query, args...)
		return err
	})
	return n, err
}

// Find implements serverstore.Backend.
func (c *Core) Find(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := c.Bound(ctx)
	defer cancel()
	var data []byte
	found, err := c.db.QueryRow(ctx, c.d.Queries.Find, []any{key, c.now()}, &data)
	if err != nil || !found {
		return nil, false, c.Wrap("find", err)
	}
	return NotNil(data), true, nil // an empty BLOB may scan as nil
}

// Commit implements serverstore.Backend: an upsert, or a delete when
// e.Expires has passed.
func (c *Core) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	if err := c.check(e); err != nil {
		return err
	}
	ctx, cancel := c.Bound(ctx)
	defer cancel()
	var err error
	if Expired(e.Expires) {
		_, err = c.exec(ctx, c.d.Queries.Delete, key)
	} else {
		_, err = c.exec(ctx, c.d.Queries.Upsert, append([]any{key}, c.values(e)...)...)
	}
	return c.Wrap("commit", err)
}

// Delete implements serverstore.Backend.
func (c *Core) Delete(ctx context.Context, key string) error {
	ctx, cancel := c.Bound(ctx)
	defer cancel()
	_, err := c.exec(ctx, c.d.Queries.Delete, key)
	return c.Wrap("delete", err)
}

// FindUser implements serverstore.UserIndex.
func (c *Core) FindUser(ctx context.Context, userID string) (map[string][]byte, error) {
	ctx, cancel := c.Bound(ctx)
	defer cancel()
	found := map[string][]byte{}
	var key string
	var data []byte
	err := c.db.Query(ctx, c.d.Queries.FindUser, []any{userID, c.now()}, []any{&key, &data}, func() error {
		found[key] = NotNil(data)
		data = nil // the next row scans into a new slice
		return nil
	})
	if err != nil {
		return nil, c.Wrap("find user", err)
	}
	return found, nil
}

// DeleteUser implements serverstore.UserIndex. It deletes userID's live
// rows; expired ones are left to the sweeper.
func (c *Core) DeleteUser(ctx context.Context, userID string) (int, error) {
	ctx, cancel := c.Bound(ctx)
	defer cancel()
	n, err := c.exec(ctx, c.d.Queries.DeleteUser, userID, c.now())
	if err != nil {
		return 0, c.Wrap("delete user", err)
	}
	return int(n), nil
}
