package sqlstore

import (
	"context"
	"errors"

	"github.com/go-sealed/session/serverstore"
)

// UpdateFunc is the function of serverstore.Backend.Update.
type UpdateFunc = func(data []byte, found bool) (serverstore.Entry, bool, error)

// Update implements serverstore.Backend. Without a hint it runs a
// transaction that locks key's row (Queries.Lock) while fn runs; a key
// without a row gets a placeholder row to lock (Queries.LockNew), which
// the transaction replaces, or rolls back when fn writes nothing, so that
// concurrent Updates of a new key wait for each other too. A transaction
// the server aborts (Dialect.Retryable) is run again, fn with it. With a
// hint, fn runs on it and one statement writes its entry if the row
// still holds the hint (UpdateHinted): a request that changes its session
// costs one round trip for the write instead of the transaction's four.
func (c *Core) Update(ctx context.Context, key string, hint *serverstore.Entry, fn UpdateFunc) error {
	ctx, cancel := c.Bound(ctx)
	defer cancel()
	if hint == nil {
		return c.update(ctx, key, fn)
	}
	h := *hint
	swap := func(e serverstore.Entry) (bool, error) {
		if err := c.check(e); err != nil {
			return false, err
		}
		args := append(c.values(e), key)
		args = append(args, c.values(h)...)
		n, err := c.exec(ctx, c.d.Queries.Swap, append(args, c.now())...)
		return n == 1, c.Wrap("update", err)
	}
	return UpdateHinted(h, fn, swap, func(fn UpdateFunc) error { return c.update(ctx, key, fn) })
}

// errNoWrite rolls back an Update whose fn wrote nothing.
var errNoWrite = errors.New("no write")

// update is Update without a hint or a bound.
func (c *Core) update(ctx context.Context, key string, fn UpdateFunc) error {
	var fnErr error // fn's, or Check's: returned as it is
	err := Retry(ctx, c.d.Retryable, func() error {
		fnErr = nil
		return c.db.Tx(ctx, func(tx Conn) error {
			data, found, err := c.lock(ctx, tx, key)
			if err != nil {
				return err
			}
			e, write, err := fn(data, found)
			if err == nil && write {
				err = c.check(e)
			}
			switch {
			case err != nil:
				fnErr = err
				return err
			case !write:
				return errNoWrite // roll back, dropping a placeholder
			case Expired(e.Expires):
				_, err = tx.Exec(ctx, c.d.Queries.Delete, key)
			default:
				_, err = tx.Exec(ctx, c.d.Queries.Upsert, append([]any{key}, c.values(e)...)...)
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
	return c.Wrap("update", err)
}

// lock reads key's row in tx and locks it, making a placeholder row to
// lock if there is none. data is nil and found false unless the row is
// live.
func (c *Core) lock(ctx context.Context, tx Conn, key string) (data []byte, found bool, err error) {
	q := c.d.Queries
	args := []any{c.now(), key}
	var live bool
	exists, err := tx.QueryRow(ctx, q.Lock, args, &data, &live)
	if err == nil && !exists && q.LockNew != "" {
		// LockNew inserted a placeholder, or locked the row a concurrent
		// transaction made meanwhile: either way there is a row, locked,
		// to read now. (Its affected-rows count would tell which, but
		// MySQL's clientFoundRows changes its meaning.)
		if _, err = tx.Exec(ctx, q.LockNew, key); err == nil {
			exists, err = tx.QueryRow(ctx, q.Lock, args, &data, &live)
		}
	}
	if err != nil || !exists || !live {
		return nil, false, err
	}
	return NotNil(data), true, nil
}

// MaxHint is the largest hint UpdateHinted sends back to the server to
// compare: a swap sends the entry's data twice, the hint and the new data,
// which for a small session costs less than the transaction it saves, and
// for a large one may not.
const MaxHint = 64 << 10

// UpdateHinted is the hinted branch of Update: fn runs on the hint, and
// swap writes its entry in one statement that changes the row only if it
// still holds exactly the hint, and reports whether it did. When it did
// not, or when the hint is over MaxHint, or fn declines to write or
// deletes, update (Update without a hint) takes over, and runs fn again
// on what the row holds.
func UpdateHinted(hint serverstore.Entry, fn UpdateFunc, swap func(serverstore.Entry) (bool, error), update func(UpdateFunc) error) error {
	if len(hint.Data) <= MaxHint {
		e, write, err := fn(hint.Data, true)
		if err != nil {
			return err
		}
		if write && !Expired(e.Expires) {
			swapped, err := swap(e)
			if err != nil || swapped {
				return err
			}
		}
	}
	return update(fn)
}

// Rename implements serverstore.Backend: with Queries.Rename, one
// statement; without, a transaction that deletes oldKey's row if it is
// live and upserts newKey's. A move to an entry that has already expired
// ends both keys, if oldKey was live.
func (c *Core) Rename(ctx context.Context, oldKey, newKey string, e serverstore.Entry) error {
	if err := c.check(e); err != nil {
		return err
	}
	ctx, cancel := c.Bound(ctx)
	defer cancel()
	q := c.d.Queries
	var err error
	switch {
	case Expired(e.Expires):
		var n int64
		if n, err = c.exec(ctx, q.DeleteLive, oldKey, c.now()); err == nil {
			if n == 0 {
				return serverstore.ErrNotFound
			}
			_, err = c.exec(ctx, q.Delete, newKey)
		}
	case oldKey == newKey:
		return RenameInPlace(ctx, c.update, newKey, e)
	case q.Rename != "":
		var n int64
		n, err = c.exec(ctx, q.Rename, append([]any{oldKey, newKey}, append(c.values(e), c.now())...)...)
		if err == nil && n == 0 {
			return serverstore.ErrNotFound
		}
	default:
		err = Retry(ctx, c.d.Retryable, func() error {
			return c.db.Tx(ctx, func(tx Conn) error {
				n, err := tx.Exec(ctx, q.DeleteLive, oldKey, c.now())
				if err != nil {
					return err
				}
				if n == 0 {
					return serverstore.ErrNotFound // rolled back: nothing written
				}
				_, err = tx.Exec(ctx, q.Upsert, append([]any{newKey}, c.values(e)...)...)
				return err
			})
		})
		if errors.Is(err, serverstore.ErrNotFound) {
			return err
		}
	}
	return c.Wrap("rename", err)
}

// RenameInPlace is Rename of a key to itself, through update (Update
// without a hint): key's entry is replaced by e if it is live, and
// serverstore.ErrNotFound returned otherwise, with nothing written.
func RenameInPlace(ctx context.Context, update func(context.Context, string, UpdateFunc) error, key string, e serverstore.Entry) error {
	found := false
	err := update(ctx, key, func(_ []byte, live bool) (serverstore.Entry, bool, error) {
		found = live
		return e, live, nil
	})
	if err == nil && !found {
		return serverstore.ErrNotFound
	}
	return err
}
