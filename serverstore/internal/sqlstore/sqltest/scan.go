package sqltest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sqlstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// commitLive commits n live entries, of users "", alice and bob in turn,
// and returns their data by key.
func commitLive(t *testing.T, s Backend, n int) map[string]string {
	t.Helper()
	want := map[string]string{}
	for i := range n {
		key, data := storetest.NewKey(), fmt.Sprint("entry ", i)
		require.NoError(t, s.Commit(t.Context(), key, entry(data, time.Hour, []string{"", "alice", "bob"}[i%3])))
		want[key] = data
	}
	return want
}

// scanAll returns what s.Scan yields, failing t on an error or a key
// yielded twice.
func scanAll(t *testing.T, ctx context.Context, s Backend) map[string]string {
	t.Helper()
	got := map[string]string{}
	for kd, err := range s.Scan(ctx) {
		require.NoError(t, err)
		_, dup := got[kd.Key]
		require.False(t, dup, "Scan yielded a key twice")
		got[kd.Key] = string(kd.Data)
	}
	return got
}

func (h Harness) testScanPages(t *testing.T) {
	// Pages are counted in live rows: expired rows, many more than a
	// page, among the live ones in the order of keys, neither show nor
	// end the scan early.
	s := h.New(t, Options{})
	want := commitLive(t, s, 2*sqlstore.ScanBatch+1)
	h.InsertExpired(t, s, 3*sqlstore.ScanBatch, "alice")
	require.Equal(t, want, scanAll(t, t.Context(), s))
}

func (h Harness) testDeleteAll(t *testing.T) {
	// In batches smaller than the table, DeleteAll deletes every row of
	// its own table, counts the live ones, and leaves other tables alone.
	s := h.New(t, Options{SweepBatch: 7})
	other := h.New(t, Options{})
	ctx := t.Context()
	commitLive(t, s, 30)
	h.InsertExpired(t, s, 10, "alice")
	kept := commitLive(t, other, 5)
	require.Equal(t, 40, h.Count(t, s))

	n, err := s.DeleteAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 30, n, "DeleteAll counts the live rows it deleted")
	require.Zero(t, h.Count(t, s), "DeleteAll left rows, expired ones included")
	require.Equal(t, kept, scanAll(t, ctx, other), "DeleteAll deleted rows of another table")

	n, err = s.DeleteAll(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

// ScanOneConnection checks, on h's database through a handle of one
// connection, that Scan holds no connection while its caller's loop runs:
// the loop may use the backend.
func ScanOneConnection(t *testing.T, h Harness) {
	s := h.New(t, Options{})
	want := commitLive(t, s, 2*sqlstore.ScanBatch+1)
	// A loop waiting for a connection Scan holds fails at this deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	seen := 0
	for kd, err := range s.Scan(ctx) {
		require.NoError(t, err)
		data, found, err := s.Find(ctx, kd.Key)
		require.NoError(t, err, "Find inside a Scan loop")
		require.True(t, found)
		require.Equal(t, want[kd.Key], string(data))
		seen++
	}
	require.Equal(t, len(want), seen)
}

// Timeout checks WithTimeout on h's database, which does not answer:
// every call, given a context without a deadline, fails once the
// backend's timeout has passed, and not much later.
func Timeout(t *testing.T, h Harness) {
	const timeout = 300 * time.Millisecond
	s, err := h.Open(t.Context(), Options{NoMigration: true, Timeout: timeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	key, e := storetest.NewKey(), entry("x", time.Hour, "alice")
	write := func([]byte, bool) (serverstore.Entry, bool, error) { return e, true, nil }
	calls := map[string]func(context.Context) error{
		"Find":         func(ctx context.Context) error { _, _, err := s.Find(ctx, key); return err },
		"Commit":       func(ctx context.Context) error { return s.Commit(ctx, key, e) },
		"Delete":       func(ctx context.Context) error { return s.Delete(ctx, key) },
		"Update":       func(ctx context.Context) error { return s.Update(ctx, key, nil, write) },
		"UpdateHinted": func(ctx context.Context) error { return s.Update(ctx, key, &e, write) },
		"Rename":       func(ctx context.Context) error { return s.Rename(ctx, key, storetest.NewKey(), e) },
		"FindUser":     func(ctx context.Context) error { _, err := s.FindUser(ctx, "alice"); return err },
		"DeleteUser":   func(ctx context.Context) error { _, err := s.DeleteUser(ctx, "alice"); return err },
		"Scan": func(ctx context.Context) error {
			for _, err := range s.Scan(ctx) {
				return err
			}
			return nil
		},
		"Count":     func(ctx context.Context) error { _, err := s.Count(ctx); return err },
		"DeleteAll": func(ctx context.Context) error { _, err := s.DeleteAll(ctx); return err },
		"Sweep":     func(ctx context.Context) error { _, err := s.Sweep(ctx); return err },
		"Migrate":   func(ctx context.Context) error { return s.Migrate(ctx) },
	}
	type result struct {
		err     error
		elapsed time.Duration
	}
	results := make(map[string]chan result, len(calls))
	for name, call := range calls {
		results[name] = make(chan result, 1)
		go func() {
			start := time.Now()
			err := call(context.Background()) // no deadline: only the backend's bounds the call
			results[name] <- result{err, time.Since(start)}
		}()
	}
	guard := time.After(timeout + 5*time.Second)
	for name, ch := range results {
		select {
		case r := <-ch:
			require.Error(t, r.err, "%s succeeded against a server that does not answer", name)
			require.True(t, r.elapsed >= timeout, "%s failed after %v, before the timeout: %v", name, r.elapsed, r.err)
		case <-guard:
			t.Fatalf("%s still running 5s after the backend's timeout", name)
		}
	}
}
