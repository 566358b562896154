package boltstore

import (
	"bytes"
	"context"
	"errors"

	bolt "go.etcd.io/bbolt"
)

// Sweep removes the entries that have expired, with their index entries,
// and returns how many it removed. It takes them in order of expiry from
// the expiry index, at most WithSweepBatch of them per write transaction,
// and checks ctx between transactions. When nothing has expired it costs
// one read of the index and no write. The sweeper calls it; call it
// yourself when WithSweepInterval disabled the sweeper.
func (s *Backend) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		if err := s.check(ctx); err != nil {
			return total, err
		}
		var due bool
		err := s.db.View(func(tx *bolt.Tx) error {
			if b, ok := s.readBuckets(tx); ok {
				k, _ := b.expiry.Cursor().First()
				due = k != nil && expiryOf(k) <= now()
			}
			return nil
		})
		if err != nil {
			return total, s.wrap("sweep", err)
		}
		if !due {
			return total, nil
		}
		var n int
		var more bool
		err = s.update(ctx, "sweep", func(b buckets, now uint64) error {
			var seen int
			var err error
			n, seen, more, err = b.sweep(now, s.batch)
			if err == nil && seen == 0 {
				return errNothingToDo
			}
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if !more {
			return total, nil
		}
	}
}

// sweep is the sweeper's sweep.Func. It calls Sweep through a Backend of
// its own, not the user's, which must stay collectable.
func (c *core) sweep(ctx context.Context) bool {
	_, err := (&Backend{c}).Sweep(ctx)
	switch {
	case err == nil, ctx.Err() != nil:
	case errors.Is(err, ErrClosed):
		// The bolt.DB given to OpenDB was closed before the Backend.
		c.log.Warn("boltstore: the database is closed; the sweeper stops", "bucket", string(c.bucket))
		return false
	default:
		c.log.Error("boltstore: sweeping expired sessions failed", "bucket", string(c.bucket), "err", err)
	}
	return true
}

// sweep removes up to batch entries expired at now, in order of expiry.
// It reports how many it removed, how many expiry index entries it went
// through (stale ones included), and whether more may be due.
func (b buckets) sweep(now uint64, batch int) (n, seen int, more bool, err error) {
	var due [][]byte
	c := b.expiry.Cursor()
	for k, _ := c.First(); k != nil && expiryOf(k) <= now; k, _ = c.Next() {
		if len(due) == batch {
			more = true
			break
		}
		due = append(due, bytes.Clone(k))
	}
	for _, ik := range due {
		if len(ik) < 8 {
			if err := b.expiry.Delete(ik); err != nil {
				return n, len(due), false, err
			}
			continue
		}
		key := ik[8:]
		raw := b.entries.Get(key)
		v, ok := decode(raw)
		switch {
		case ok && v.expires == expiryOf(ik):
			if err := b.remove1(key, v); err != nil {
				return n, len(due), false, err
			}
			n++
			continue
		case raw != nil && !ok:
			// Undecodable: never served; let it go with its index entry.
			if err := b.entries.Delete(key); err != nil {
				return n, len(due), false, err
			}
		}
		// A stale index entry: drop it alone.
		if err := b.expiry.Delete(ik); err != nil {
			return n, len(due), false, err
		}
	}
	return n, len(due), more, nil
}
