package boltstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sweep"
)

// Backend is a serverstore.Backend in a bolt file. It implements
// serverstore.UserIndex and serverstore.Scanner too. Make one with Open or
// OpenDB; it is safe for concurrent use.
type Backend struct {
	*core
}

var (
	_ serverstore.Backend   = (*Backend)(nil)
	_ serverstore.UserIndex = (*Backend)(nil)
	_ serverstore.Scanner   = (*Backend)(nil)
)

// core is the state of a Backend. The sweeper refers to it, not to the
// Backend, so that a Backend dropped without Close can be collected and its
// sweeper stopped (see package sweep).
type core struct {
	db     *bolt.DB
	ownDB  bool // Close closes db
	bucket []byte
	batch  int
	log    *slog.Logger

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	sweeper *sweep.Sweeper
}

// Find implements serverstore.Backend. It returns a copy of the data, and
// nothing for an entry that has expired, swept or not.
func (s *Backend) Find(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx); err != nil {
		return nil, false, err
	}
	var data []byte
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		// Of the three buckets, only entries: opening one costs
		// allocations, and Find is the call every request makes.
		if top := tx.Bucket(s.bucket); top != nil {
			if entries := top.Bucket(entriesName); entries != nil {
				data, found = buckets{entries: entries}.find([]byte(key), now())
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, s.wrap("find", err)
	}
	return data, found, nil
}

// Commit implements serverstore.Backend. The entry, its expiry and its
// user index entry are written in one transaction, replacing those of the
// entry stored under key before. An entry whose Expires has passed is not
// stored: key is deleted instead.
func (s *Backend) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	return s.update(ctx, "commit", func(b buckets, now uint64) error {
		return b.put([]byte(key), e, now)
	})
}

// Delete implements serverstore.Backend.
func (s *Backend) Delete(ctx context.Context, key string) error {
	return s.update(ctx, "delete", func(b buckets, now uint64) error {
		removed, _, err := b.remove([]byte(key), now)
		if err == nil && !removed {
			return errNothingToDo
		}
		return err
	})
}

// Update implements serverstore.Backend: fn runs inside a bolt write
// transaction, which serializes it with every other write to the file, so
// it must be quick. It receives a copy of the data. fn is called at most
// once. If it returns an error, the transaction is rolled back and Update
// returns that error as it is. hint is ignored: reading the entry inside
// the transaction costs no round trip, so there is nothing to spare.
func (s *Backend) Update(ctx context.Context, key string, _ *serverstore.Entry, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	var fnErr error
	err := s.update(ctx, "update", func(b buckets, now uint64) error {
		k := []byte(key)
		data, found := b.find(k, now)
		e, write, err := fn(data, found)
		if err != nil {
			fnErr = err
			return err
		}
		if !write {
			return errNothingToDo
		}
		return b.put(k, e, now)
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// Rename implements serverstore.Backend: oldKey is deleted and e stored
// under newKey in one transaction, if oldKey holds a live entry; if it
// holds none, nothing is written and the error wraps
// serverstore.ErrNotFound.
func (s *Backend) Rename(ctx context.Context, oldKey, newKey string, e serverstore.Entry) error {
	return s.update(ctx, "rename", func(b buckets, now uint64) error {
		if v, ok := decode(b.entries.Get([]byte(oldKey))); !ok || !v.live(now) {
			return serverstore.ErrNotFound
		}
		if oldKey != newKey {
			if _, _, err := b.remove([]byte(oldKey), now); err != nil {
				return err
			}
		}
		return b.put([]byte(newKey), e, now)
	})
}

// errNothingToDo rolls back a write transaction that changed nothing, to
// spare the commit and its fsync.
var errNothingToDo = errors.New("boltstore: nothing to do")

// check returns why an operation may not start: ctx is done or the Backend
// is closed.
func (c *core) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.closed.Load() {
		return ErrClosed
	}
	return nil
}

// update runs fn in a write transaction, committed unless fn returns an
// error; errNothingToDo rolls it back and counts as success. ctx is
// checked before the transaction and again once it has the write lock:
// bolt cannot be interrupted while it waits for the lock or syncs the
// file, but a caller whose context ended while it waited writes nothing.
func (c *core) update(ctx context.Context, op string, fn func(b buckets, now uint64) error) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	var ctxErr error
	err := c.db.Update(func(tx *bolt.Tx) error {
		if ctxErr = ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		b, err := c.writeBuckets(tx)
		if err != nil {
			return err
		}
		return fn(b, now())
	})
	switch {
	case err == nil, err == errNothingToDo:
		return nil
	case ctxErr != nil:
		return ctxErr
	}
	return c.wrap(op, err)
}

// wrap makes err, from bolt, an error of operation op. bolt's errors
// never quote keys or values.
func (c *core) wrap(op string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return ErrClosed
	case errors.Is(err, ErrForeignBucket):
		return fmt.Errorf("%w: %q", ErrForeignBucket, c.bucket)
	}
	return fmt.Errorf("boltstore: %s: %w", op, err)
}
