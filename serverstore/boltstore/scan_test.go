package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// orderedKeys returns n well-formed keys in key order, starting after
// every key of the keys from before (nil if none).
func orderedKeys(n int, before []string) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%064x", len(before)+i)
	}
	return keys
}

// mixed stores in s, in key order, a run of expired entries longer than
// two batches of Scan, then n entries: live ones of three users and
// expired ones in turn. It returns the live ones' data by key.
func mixed(t *testing.T, s *Backend, n int) map[string]string {
	t.Helper()
	expired := orderedKeys(2*scanBatch+1, nil)
	putAll(t, s, expired, func(int) serverstore.Entry { return newEntry("expired", -time.Minute, "alice") })
	keys := orderedKeys(n, expired)
	live := map[string]string{}
	putAll(t, s, keys, func(i int) serverstore.Entry {
		if i%4 == 3 {
			return newEntry("expired", -time.Minute, "bob")
		}
		live[keys[i]] = fmt.Sprint("live ", i)
		return newEntry(live[keys[i]], time.Hour, []string{"", "alice", "bob"}[i%3])
	})
	return live
}

// readTxs returns how many read transactions s's file has started.
func readTxs(s *Backend) int {
	return s.db.Stats().TxN
}

// TestScanBatches checks that Scan goes through the entries in batches,
// each in a read transaction of its own that ends before the loop's body
// runs, skipping runs of expired entries longer than a batch.
func TestScanBatches(t *testing.T) {
	s := newStore(t, WithSweepInterval(0))
	const n = 3*scanBatch + 7
	want := mixed(t, s, n)
	before := readTxs(s)
	got := map[string]string{}
	for kd, err := range s.Scan(t.Context()) {
		require.NoError(t, err)
		_, dup := got[kd.Key]
		require.False(t, dup, "Scan yielded a key twice")
		got[kd.Key] = string(kd.Data)
		require.Zero(t, s.db.Stats().OpenTxN, "Scan yields inside its read transaction")
	}
	require.Equal(t, want, got)
	entries := len(readLayout(t, s).entries)
	require.GreaterOrEqual(t, readTxs(s)-before, entries/scanBatch, "Scan read %d entries in fewer batches than %d each", entries, scanBatch)

	// Count and DeleteAll go through the run of expired entries too.
	count, err := s.Count(t.Context())
	require.NoError(t, err)
	require.Equal(t, len(want), count)
	deleted, err := s.DeleteAll(t.Context())
	require.NoError(t, err)
	require.Equal(t, len(want), deleted)
	l := readLayout(t, s)
	require.Zero(t, len(l.entries))
	require.Zero(t, len(l.expiry), "DeleteAll left expiry index entries")
	require.Zero(t, len(l.users), "DeleteAll left user index entries")
}

// TestScanBatchBytes checks that one batch of Scan copies about
// scanBatchBytes of data out of its transaction, not scanBatch entries
// whatever their size.
func TestScanBatchBytes(t *testing.T) {
	s := newStore(t, WithSweepInterval(0))
	const size = scanBatchBytes / 4
	keys := orderedKeys(12, nil)
	putAll(t, s, keys, func(i int) serverstore.Entry {
		return serverstore.Entry{Data: bytes.Repeat([]byte{byte(i)}, size), Expires: time.Now().Add(time.Hour)}
	})
	before := readTxs(s)
	n := 0
	for kd, err := range s.Scan(t.Context()) {
		require.NoError(t, err)
		require.Equal(t, bytes.Repeat([]byte{byte(n)}, size), kd.Data)
		n++
	}
	require.Equal(t, len(keys), n)
	require.GreaterOrEqual(t, readTxs(s)-before, 3, "12 entries of a quarter of the limit each take 3 batches")
}

// TestScanBodyWrites writes from the body of a Scan loop, growing the file
// past what bolt has mapped: bolt remaps it only when no read transaction
// is open, so a Scan that yielded inside its own would hang here.
func TestScanBodyWrites(t *testing.T) {
	// No cleanup closes s: after a hang, Close would hang too.
	s, err := Open(tempPath(t), WithSweepInterval(0))
	require.NoError(t, err)
	keys := orderedKeys(2*scanBatch, nil)
	putAll(t, s, keys, func(int) serverstore.Entry { return newEntry("x", time.Hour, "alice") })
	big := serverstore.Entry{Data: bytes.Repeat([]byte("y"), 1<<20), Expires: time.Now().Add(time.Hour)}
	done := make(chan int)
	go func() {
		// The big entries may be yielded too: their keys are random.
		n := 0
		for kd, err := range s.Scan(context.Background()) {
			if err != nil || s.Delete(context.Background(), kd.Key) != nil {
				break
			}
			if n++; n%20 == 0 && s.Commit(context.Background(), storetest.NewKey(), big) != nil {
				break
			}
		}
		done <- n
	}()
	select {
	case n := <-done:
		require.GreaterOrEqual(t, n, len(keys), "the loop stopped on an error")
	case <-time.After(time.Minute):
		t.Fatal("a write in the body of a Scan loop hangs")
	}
	for _, key := range keys {
		requireMissing(t, s, key)
	}
	checkConsistent(t, s)
	require.NoError(t, s.Close())
}

// TestScanStops checks that a Scan whose context ends, or whose Backend
// closes, meanwhile yields that error once, at its next batch, and
// nothing after it.
func TestScanStops(t *testing.T) {
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			s := newStore(t, WithSweepInterval(0))
			keys := orderedKeys(3*scanBatch, nil)
			putAll(t, s, keys, func(int) serverstore.Entry { return newEntry("x", time.Hour, "") })
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var got []error
			n := 0
			for _, err := range s.Scan(ctx) {
				require.Empty(t, got, "Scan yielded after an error")
				if err != nil {
					got = append(got, err)
					continue
				}
				if n++; n == 1 {
					if how == "cancel" {
						cancel()
					} else {
						closeSoon(t, s)
					}
				}
			}
			require.Equal(t, scanBatch, n, "the rest of the batch is yielded, and no more")
			require.Len(t, got, 1)
			if how == "cancel" {
				require.ErrorIs(t, got[0], context.Canceled)
			} else {
				require.ErrorIs(t, got[0], ErrClosed)
			}
		})
	}
}

// closeSoon closes s, failing t if Close waits for long: it waits for the
// read transactions under way, and a Scan loop's body must run outside of
// the Scan's.
func closeSoon(t *testing.T, s *Backend) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("Close waits for the body of a Scan loop: Scan yields inside its read transaction")
	}
}

// TestCountBatches checks that Count goes through the entries in batches
// of countBatch, each in a read transaction of its own.
func TestCountBatches(t *testing.T) {
	s := newStore(t, WithSweepInterval(0))
	want := mixed(t, s, countBatch+scanBatch)
	before := readTxs(s)
	n, err := s.Count(t.Context())
	require.NoError(t, err)
	require.Equal(t, len(want), n)
	require.GreaterOrEqual(t, readTxs(s)-before, 2, "Count read more than %d entries in one transaction", countBatch)
}

// TestDeleteAllBatches checks that DeleteAll deletes in write
// transactions of at most deleteBatch entries, keeps the indexes in step,
// leaves other buckets of the file alone, and writes nothing when there
// is nothing to delete.
func TestDeleteAllBatches(t *testing.T) {
	db, err := bolt.Open(tempPath(t), 0o600, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	s, err := OpenDB(db, WithBucket("web"), WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	other, err := OpenDB(db, WithBucket("api"), WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	kept := storetest.NewKey()
	require.NoError(t, other.Commit(t.Context(), kept, newEntry("kept", time.Hour, "alice")))

	before := txID(t, s)
	n, err := s.DeleteAll(t.Context())
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, before, txID(t, s), "a DeleteAll of an empty bucket wrote")

	want := mixed(t, s, 2*deleteBatch+3)
	entries := len(readLayout(t, s).entries)
	before = txID(t, s)
	n, err = s.DeleteAll(t.Context())
	require.NoError(t, err)
	require.Equal(t, len(want), n, "DeleteAll counts the live entries it deleted")
	require.GreaterOrEqual(t, txID(t, s)-before, (entries+deleteBatch-1)/deleteBatch,
		"DeleteAll deleted %d entries in fewer transactions than %d each", entries, deleteBatch)
	l := readLayout(t, s)
	require.Zero(t, len(l.entries))
	require.Zero(t, len(l.expiry))
	require.Zero(t, len(l.users))

	requireData(t, other, kept, "kept")
	got, err := other.FindUser(t.Context(), "alice")
	require.NoError(t, err)
	require.Len(t, got, 1)
}

// TestScanReadOnlyEmptyFile checks the store-wide reads of a read-only
// file where no Backend ever wrote: there is nothing, and no error.
func TestScanReadOnlyEmptyFile(t *testing.T) {
	path := tempPath(t)
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	s := openStore(t, path, WithBoltOptions(&bolt.Options{ReadOnly: true}))
	for kd, err := range s.Scan(t.Context()) {
		require.NoError(t, err)
		t.Fatalf("Scan of an empty file yielded %q", kd.Key)
	}
	n, err := s.Count(t.Context())
	require.NoError(t, err)
	require.Zero(t, n)
}
