package boltstore

import (
	"bytes"
	"context"
	"iter"

	bolt "go.etcd.io/bbolt"

	"github.com/go-sealed/session/serverstore"
)

// The store-wide operations go through the entries in batches, each in a
// transaction of its own, so that none keeps the file for long: a long
// read transaction holds back a writer that must grow the file (bolt
// remaps it only when no read is under way), and a long write
// transaction keeps every other writer waiting.
const (
	// scanBatch is how many entries one read transaction of Scan goes
	// through at most; scanBatchBytes, how much data it copies out at
	// most, unless one entry alone is larger.
	scanBatch      = 100
	scanBatchBytes = 1 << 20

	// countBatch is how many entries one read transaction of Count goes
	// through at most: it copies nothing out, and keeps each short.
	countBatch = 10_000

	// deleteBatch is how many entries one write transaction of DeleteAll
	// deletes at most, as a sweep does by default.
	deleteBatch = DefaultSweepBatch
)

// Scan implements serverstore.Scanner: it yields every live entry in key
// order, going through the entries bucket with a cursor, scanBatch
// entries per read transaction, each batch starting after the last key
// of the one before, so that no key is yielded twice. The entries of a
// batch are yielded after its transaction ends: the loop's body may call
// the Backend. An entry written or deleted while Scan runs may be yielded
// or not. After an error (ErrClosed, the context's), Scan yields nothing
// more.
func (s *Backend) Scan(ctx context.Context) iter.Seq2[serverstore.KeyData, error] {
	return func(yield func(serverstore.KeyData, error) bool) {
		var page []serverstore.KeyData
		size := 0
		err := s.walk(ctx, "scan", scanBatch, func(key, raw []byte, now uint64) bool {
			if v, ok := decode(raw); ok && v.live(now) {
				page = append(page, serverstore.KeyData{Key: string(key), Data: bytes.Clone(v.data)})
				size += len(v.data)
			}
			return size < scanBatchBytes
		}, func() bool {
			for _, kd := range page {
				if !yield(kd, nil) {
					return false
				}
			}
			clear(page) // let the data go
			page, size = page[:0], 0
			return true
		})
		if err != nil {
			yield(serverstore.KeyData{}, err)
		}
	}
}

// Count implements serverstore.Scanner: it counts the live entries with a
// cursor over the entries bucket, countBatch of them per read
// transaction.
func (s *Backend) Count(ctx context.Context) (int, error) {
	n := 0
	err := s.walk(ctx, "count", countBatch, func(_, raw []byte, now uint64) bool {
		if v, ok := decode(raw); ok && v.live(now) {
			n++
		}
		return true
	}, func() bool { return true })
	if err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteAll implements serverstore.Scanner: it deletes every entry of the
// Backend's bucket, expired ones included, with its index entries, and
// returns how many live ones it deleted. It goes through the entries in
// key order, deleting deleteBatch of them per write transaction, so that
// other writers wait for one batch at most, not for all of them; ctx is
// checked before each. An entry written while it runs may be deleted or
// not. After an error, the entries of the batches before stay deleted, and
// their count is returned with the error. On an empty bucket it writes
// nothing.
func (s *Backend) DeleteAll(ctx context.Context) (int, error) {
	total := 0
	var after []byte
	for {
		var n int
		var next []byte
		err := s.update(ctx, "delete all", func(b buckets, now uint64) error {
			var keys [][]byte
			next = batch(b.entries.Cursor(), after, deleteBatch, func(key, _ []byte) bool {
				keys = append(keys, bytes.Clone(key))
				return true
			})
			if len(keys) == 0 {
				return errNothingToDo
			}
			// Deleted after the cursor is done with them: bolt's cursor
			// skips keys when the bucket changes under it.
			for _, key := range keys {
				_, live, err := b.remove(key, now)
				if err != nil {
					return err
				}
				if live {
					n++
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if next == nil {
			return total, nil
		}
		after = next
	}
}

// walk goes through the entries in key order, in batches of at most limit
// entries, each in a read transaction of its own that starts after the
// last key of the batch before. It calls visit, inside the transaction, on
// each entry (raw is its stored value), and flush after the transaction
// ends. visit returns false to end its batch early (walk goes on with the
// next), flush returns false to end the walk.
func (c *core) walk(ctx context.Context, op string, limit int, visit func(key, raw []byte, now uint64) bool, flush func() bool) error {
	var after []byte
	for {
		if err := c.check(ctx); err != nil {
			return err
		}
		var next []byte
		err := c.db.View(func(tx *bolt.Tx) error {
			// Only the entries bucket: the indexes are not read.
			if top := tx.Bucket(c.bucket); top != nil {
				if entries := top.Bucket(entriesName); entries != nil {
					now := now()
					next = batch(entries.Cursor(), after, limit, func(key, raw []byte) bool {
						return visit(key, raw, now)
					})
				}
			}
			return nil
		})
		if err != nil {
			return c.wrap(op, err)
		}
		if !flush() || next == nil {
			return nil
		}
		after = next
	}
}

// batch calls visit on the keys after the key after (from the first if
// after is nil) in c's bucket, in key order, until it has visited limit
// of them or visit returns false. It returns a copy of the last key
// visited, to start the next batch after, or nil if it reached the end
// of the bucket.
func batch(c *bolt.Cursor, after []byte, limit int, visit func(key, raw []byte) bool) []byte {
	var k, v []byte
	if after == nil {
		k, v = c.First()
	} else if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
		k, v = c.Next()
	}
	for seen := 1; k != nil; seen++ {
		if !visit(k, v) || seen == limit {
			// The key lives in the transaction's pages: copy it.
			return bytes.Clone(k)
		}
		k, v = c.Next()
	}
	return nil
}
