package storetest

import (
	"context"
	"sync/atomic"

	"github.com/go-sealed/session/serverstore"
)

// Counts counts the calls made to a backend wrapped by Count, by kind.
type Counts struct {
	Reads   atomic.Int64 // Find and FindUser
	Writes  atomic.Int64 // Commit, Delete, Update, UpdateHinted, Rename and DeleteUser
	Updates atomic.Int64 // Update and UpdateHinted alone
}

// Reset sets every count to 0.
func (c *Counts) Reset() {
	c.Reads.Store(0)
	c.Writes.Store(0)
	c.Updates.Store(0)
}

// Count returns b wrapped so that the returned Counts count its calls, to
// check what a request costs. The wrapper implements exactly the optional
// interfaces b implements, so a serverstore.Store built on it takes the
// same paths as one built on b.
func Count(b serverstore.Backend) (serverstore.Backend, *Counts) {
	c := &counted{b: b}
	type (
		T = serverstore.Transactor
		H = serverstore.HintedTransactor
		R = serverstore.Renamer
		U = serverstore.UserIndex
	)
	tx, isT := b.(T)
	htx, isH := b.(H)
	rn, isR := b.(R)
	ui, isU := b.(U)
	ct, ch, cr, cu := countedTx{c, tx}, countedHTx{countedTx{c, tx}, htx}, countedRn{c, rn}, countedUI{c, ui}
	switch {
	case isH && isR && isU:
		return struct {
			*counted
			H
			R
			U
		}{c, ch, cr, cu}, &c.Counts
	case isH && isR:
		return struct {
			*counted
			H
			R
		}{c, ch, cr}, &c.Counts
	case isH && isU:
		return struct {
			*counted
			H
			U
		}{c, ch, cu}, &c.Counts
	case isH:
		return struct {
			*counted
			H
		}{c, ch}, &c.Counts
	case isT && isR && isU:
		return struct {
			*counted
			T
			R
			U
		}{c, ct, cr, cu}, &c.Counts
	case isT && isR:
		return struct {
			*counted
			T
			R
		}{c, ct, cr}, &c.Counts
	case isT && isU:
		return struct {
			*counted
			T
			U
		}{c, ct, cu}, &c.Counts
	case isR && isU:
		return struct {
			*counted
			R
			U
		}{c, cr, cu}, &c.Counts
	case isT:
		return struct {
			*counted
			T
		}{c, ct}, &c.Counts
	case isR:
		return struct {
			*counted
			R
		}{c, cr}, &c.Counts
	case isU:
		return struct {
			*counted
			U
		}{c, cu}, &c.Counts
	}
	return c, &c.Counts
}

type counted struct {
	b serverstore.Backend
	Counts
}

func (c *counted) Find(ctx context.Context, key string) ([]byte, bool, error) {
	c.Reads.Add(1)
	return c.b.Find(ctx, key)
}

func (c *counted) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	c.Writes.Add(1)
	return c.b.Commit(ctx, key, e)
}

func (c *counted) Delete(ctx context.Context, key string) error {
	c.Writes.Add(1)
	return c.b.Delete(ctx, key)
}

type countedTx struct {
	c  *counted
	tx serverstore.Transactor
}

func (w countedTx) Update(ctx context.Context, key string, fn func([]byte, bool) (serverstore.Entry, bool, error)) error {
	w.c.Writes.Add(1)
	w.c.Updates.Add(1)
	return w.tx.Update(ctx, key, fn)
}

type countedHTx struct {
	countedTx
	htx serverstore.HintedTransactor
}

func (w countedHTx) UpdateHinted(ctx context.Context, key string, hint serverstore.Entry, fn func([]byte, bool) (serverstore.Entry, bool, error)) error {
	w.c.Writes.Add(1)
	w.c.Updates.Add(1)
	return w.htx.UpdateHinted(ctx, key, hint, fn)
}

type countedRn struct {
	c  *counted
	rn serverstore.Renamer
}

func (w countedRn) Rename(ctx context.Context, oldKey, newKey string, e serverstore.Entry) error {
	w.c.Writes.Add(1)
	return w.rn.Rename(ctx, oldKey, newKey, e)
}

type countedUI struct {
	c  *counted
	ui serverstore.UserIndex
}

func (w countedUI) FindUser(ctx context.Context, userID string) (map[string][]byte, error) {
	w.c.Reads.Add(1)
	return w.ui.FindUser(ctx, userID)
}

func (w countedUI) DeleteUser(ctx context.Context, userID string) (int, error) {
	w.c.Writes.Add(1)
	return w.ui.DeleteUser(ctx, userID)
}

// Local forwards serverstore.LocalBackend, so that a counted in-process
// backend keeps what the uncounted one has: no StoreTimeout per call.
func (c *counted) Local() bool {
	l, ok := c.b.(serverstore.LocalBackend)
	return ok && l.Local()
}
