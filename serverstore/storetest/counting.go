package storetest

import (
	"context"
	"iter"
	"sync/atomic"

	"github.com/go-sealed/session/serverstore"
)

// Counts counts the calls made to a backend wrapped by Count, by kind.
type Counts struct {
	Reads   atomic.Int64 // Find, FindUser, Scan and Count
	Writes  atomic.Int64 // Commit, Delete, Update, Rename, DeleteUser and DeleteAll
	Updates atomic.Int64 // Update alone
}

// Reset sets every count to 0.
func (c *Counts) Reset() {
	c.Reads.Store(0)
	c.Writes.Store(0)
	c.Updates.Store(0)
}

// Count returns b wrapped so that the returned Counts count its calls, to
// check what a request costs. The wrapper implements the optional
// interfaces too, answering serverstore.ErrNoUserIndex and
// serverstore.ErrNoScan where b has none, which a serverstore.Store on
// it reports as it would for b.
func Count(b serverstore.Backend) (serverstore.Backend, *Counts) {
	c := &counted{Backend: b}
	c.ui, _ = b.(serverstore.UserIndex)
	c.sc, _ = b.(serverstore.Scanner)
	return c, &c.Counts
}

type counted struct {
	serverstore.Backend
	ui serverstore.UserIndex // nil if the backend keeps none
	sc serverstore.Scanner   // nil if the backend has none
	Counts
}

var (
	_ serverstore.UserIndex = (*counted)(nil)
	_ serverstore.Scanner   = (*counted)(nil)
)

func (c *counted) Find(ctx context.Context, key string) ([]byte, bool, error) {
	c.Reads.Add(1)
	return c.Backend.Find(ctx, key)
}

func (c *counted) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	c.Writes.Add(1)
	return c.Backend.Commit(ctx, key, e)
}

func (c *counted) Delete(ctx context.Context, key string) error {
	c.Writes.Add(1)
	return c.Backend.Delete(ctx, key)
}

func (c *counted) Update(ctx context.Context, key string, hint *serverstore.Entry, fn func([]byte, bool) (serverstore.Entry, bool, error)) error {
	c.Writes.Add(1)
	c.Updates.Add(1)
	return c.Backend.Update(ctx, key, hint, fn)
}

func (c *counted) Rename(ctx context.Context, oldKey, newKey string, e serverstore.Entry) error {
	c.Writes.Add(1)
	return c.Backend.Rename(ctx, oldKey, newKey, e)
}

func (c *counted) FindUser(ctx context.Context, userID string) (map[string][]byte, error) {
	if c.ui == nil {
		return nil, serverstore.ErrNoUserIndex
	}
	c.Reads.Add(1)
	return c.ui.FindUser(ctx, userID)
}

func (c *counted) DeleteUser(ctx context.Context, userID string) (int, error) {
	if c.ui == nil {
		return 0, serverstore.ErrNoUserIndex
	}
	c.Writes.Add(1)
	return c.ui.DeleteUser(ctx, userID)
}

func (c *counted) Scan(ctx context.Context) iter.Seq2[serverstore.KeyData, error] {
	if c.sc == nil {
		return func(yield func(serverstore.KeyData, error) bool) { yield(serverstore.KeyData{}, serverstore.ErrNoScan) }
	}
	c.Reads.Add(1)
	return c.sc.Scan(ctx)
}

func (c *counted) Count(ctx context.Context) (int, error) {
	if c.sc == nil {
		return 0, serverstore.ErrNoScan
	}
	c.Reads.Add(1)
	return c.sc.Count(ctx)
}

func (c *counted) DeleteAll(ctx context.Context) (int, error) {
	if c.sc == nil {
		return 0, serverstore.ErrNoScan
	}
	c.Writes.Add(1)
	return c.sc.DeleteAll(ctx)
}
