package sqlstore

import (
	"context"
	"iter"
	"time"

	"github.com/go-sealed/session/serverstore"
)

// Scan implements serverstore.Scanner by keyset pagination on the primary
// key: each page is one query for the next ScanBatch live rows after the
// last key yielded, bounded by Config.Timeout on its own. A page is read
// whole before it is yielded, so that no query (and no connection of the
// pool) is held while the caller's loop runs: it may use the backend. A
// row committed while Scan runs is yielded if its key sorts after the
// page being read; none is yielded twice.
func (c *Core) Scan(ctx context.Context) iter.Seq2[serverstore.KeyData, error] {
	return func(yield func(serverstore.KeyData, error) bool) {
		last := ""
		for {
			page, err := c.page(ctx, last)
			if err != nil {
				yield(serverstore.KeyData{}, c.Wrap("scan", err))
				return
			}
			for _, kd := range page {
				if !yield(kd, nil) {
					return
				}
			}
			if len(page) < ScanBatch {
				return
			}
			last = page[len(page)-1].Key
		}
	}
}

// page returns the live rows of the page after last.
func (c *Core) page(ctx context.Context, last string) ([]serverstore.KeyData, error) {
	ctx, cancel := c.Bound(ctx)
	defer cancel()
	page := make([]serverstore.KeyData, 0, ScanBatch)
	var kd serverstore.KeyData
	err := c.db.Query(ctx, c.d.Queries.Scan, []any{last, c.now(), ScanBatch}, []any{&kd.Key, &kd.Data}, func() error {
		kd.Data = NotNil(kd.Data)
		page = append(page, kd)
		kd.Data = nil // the next row scans into a new slice
		return nil
	})
	return page, err
}

// Count implements serverstore.Scanner, with one COUNT of the live rows.
func (c *Core) Count(ctx context.Context) (int, error) {
	ctx, cancel := c.Bound(ctx)
	defer cancel()
	var n int64
	if _, err := c.db.QueryRow(ctx, c.d.Queries.Count, []any{c.now()}, &n); err != nil {
		return 0, c.Wrap("count", err)
	}
	return int(n), nil
}

// DeleteAll implements serverstore.Scanner: it deletes the table's live
// rows, counting them, then its expired ones, in batches of
// Config.SweepBatch rows as a sweep does, each a statement of its own
// bounded by Config.Timeout, so that none holds many locks or runs long.
// The live rows go until a batch deletes none (a batch may come back
// short while some remain, when rows it picked were deleted or expired
// before it reached them); rows committed meanwhile may be deleted or
// not.
func (c *Core) DeleteAll(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := c.batch(ctx, c.d.Queries.DeleteLiveBatch, time.Now(), c.cfg.SweepBatch)
		total += n
		if err != nil {
			return total, c.Wrap("delete all", err)
		}
		if n == 0 {
			break
		}
	}
	_, err := Sweep(ctx, c.cfg.SweepBatch, c.SweepBatch)
	return total, c.Wrap("delete all", err)
}

// batch runs one batch statement of a sweep or DeleteAll, taking a time
// and a limit, in a transaction of its own: MySQL's then runs at READ
// COMMITTED, which locks only the rows it deletes, where REPEATABLE READ
// would also lock the gaps of the index it scans, holding up the inserts
// that fall in them. A batch that meets an Update extending one of its
// rows can be aborted as deadlocked: it is run again.
func (c *Core) batch(ctx context.Context, query string, t time.Time, limit int) (int, error) {
	ctx, cancel := c.Bound(ctx)
	defer cancel()
	var n int64
	err := Retry(ctx, c.d.Retryable, func() error {
		return c.db.Tx(ctx, func(tx Conn) error {
			var err error
			n, err = tx.Exec(ctx, query, c.time(t), limit)
			return err
		})
	})
	return int(n), err
}
