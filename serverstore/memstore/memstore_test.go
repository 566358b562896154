package memstore

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sweep"
	"github.com/go-sealed/session/serverstore/storetest"
)

func newStore(t testing.TB, opts ...Option) *Store {
	s := New(opts...)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) serverstore.Backend {
		s := newStore(t)
		t.Cleanup(func() { checkConsistent(t, s) })
		return s
	}, storetest.WithSweeper(storetest.Sweeper{
		New: func(t *testing.T, interval time.Duration) serverstore.Backend {
			return New(WithSweepInterval(interval))
		},
		Frame:            sweep.Frame,
		Held:             func(t *testing.T, b serverstore.Backend) int { return b.(*Store).Len() },
		Check:            func(t *testing.T, b serverstore.Backend) { checkConsistent(t, b.(*Store)) },
		ServesAfterClose: true,
	}))
}

// TestConformanceCapped runs the suite again with a cap that the
// suite's own entries do not reach, so the bookkeeping behind the cap is
// exercised by every operation without changing any outcome.
func TestConformanceCapped(t *testing.T) {
	storetest.Run(t, func(t *testing.T) serverstore.Backend {
		s := newStore(t, WithMaxEntries(10_000))
		t.Cleanup(func() { checkConsistent(t, s) })
		return s
	})
}

func newEntry(data string, ttl time.Duration, user string) serverstore.Entry {
	return serverstore.Entry{Data: []byte(data), Expires: time.Now().Add(ttl), UserID: user}
}

// checkConsistent fails t unless s's shards, user index and count agree:
// every tagged entry is indexed under its user and no other, every index
// entry names an entry of that user, and count is the number of entries.
func checkConsistent(t testing.TB, s *Store) {
	t.Helper()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for key, e := range sh.m {
			n++
			if e.user != "" {
				us := s.userShard(e.user)
				us.mu.Lock()
				_, ok := us.m[e.user][key]
				us.mu.Unlock()
				require.True(t, ok, "an entry of user %q is not indexed", e.user)
			}
		}
		sh.mu.RUnlock()
	}
	require.EqualValues(t, n, s.count.Load(), "count disagrees with the entries")
	for i := range s.users {
		us := &s.users[i]
		us.mu.Lock()
		for user, keys := range us.m {
			require.NotEmpty(t, keys, "an empty key set is kept for user %q", user)
			for key := range keys {
				sh := s.shard(key)
				sh.mu.RLock()
				e, ok := sh.m[key]
				sh.mu.RUnlock()
				require.True(t, ok && e.user == user, "user %q lists a key that is not theirs", user)
			}
		}
		us.mu.Unlock()
	}
}

// TestSweepSkipsWhenNothingExpired checks the bound on the earliest
// expiry: a sweep of a store with nothing expired must not scan it.
func TestSweepSkipsWhenNothingExpired(t *testing.T) {
	s := newStore(t)
	require.NoError(t, s.Commit(t.Context(), storetest.NewKey(), newEntry("x", time.Hour, "")))
	sh := &s.shards[0]
	sh.mu.Lock() // a scan would block here
	done := make(chan struct{})
	go func() { s.sweep(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Error("sweep scanned a store where nothing has expired")
	}
	sh.mu.Unlock()
	<-done
}

func TestMaxEntries(t *testing.T) {
	s := newStore(t, WithMaxEntries(3))
	ctx := t.Context()
	a, b, c, d := storetest.NewKey(), storetest.NewKey(), storetest.NewKey(), storetest.NewKey()
	for _, k := range []string{a, b, c} {
		require.NoError(t, s.Commit(ctx, k, newEntry("v", time.Hour, "alice")))
	}
	require.ErrorIs(t, s.Commit(ctx, d, newEntry("v", time.Hour, "")), ErrFull)
	err := s.Update(ctx, d, func([]byte, bool) (serverstore.Entry, bool, error) {
		return newEntry("v", time.Hour, ""), true, nil
	})
	require.ErrorIs(t, err, ErrFull)

	// Existing sessions keep working in a full store: overwritten,
	// updated and renewed.
	require.NoError(t, s.Commit(ctx, a, newEntry("v2", time.Hour, "alice")))
	require.NoError(t, s.Update(ctx, b, func(data []byte, found bool) (serverstore.Entry, bool, error) {
		return newEntry("v2", time.Hour, "alice"), true, nil
	}))
	require.NoError(t, s.Rename(ctx, c, d, newEntry("v2", time.Hour, "alice")))
	require.Equal(t, 3, s.Len())

	// A rename from a missing key writes nothing.
	require.ErrorIs(t, s.Rename(ctx, storetest.NewKey(), storetest.NewKey(), newEntry("v", time.Hour, "")), serverstore.ErrNotFound)

	// A delete makes room.
	require.NoError(t, s.Delete(ctx, a))
	require.NoError(t, s.Commit(ctx, c, newEntry("v", time.Hour, "")))
	require.Equal(t, 3, s.Len())
	checkConsistent(t, s)
}

func TestMaxEntriesSweepsExpiredFirst(t *testing.T) {
	// The periodic sweeper would make room by itself: keep it out of
	// the way, so that the write has to.
	s := newStore(t, WithMaxEntries(2), WithSweepInterval(time.Hour))
	ctx := t.Context()
	short := newEntry("v", 30*time.Millisecond, "alice")
	require.NoError(t, s.Commit(ctx, storetest.NewKey(), short))
	require.NoError(t, s.Commit(ctx, storetest.NewKey(), newEntry("v", time.Hour, "bob")))
	time.Sleep(time.Until(short.Expires) + 10*time.Millisecond)
	require.Equal(t, 2, s.Len(), "the expired entry is still held")
	require.NoError(t, s.Commit(ctx, storetest.NewKey(), newEntry("v", time.Hour, "")))
	require.Equal(t, 2, s.Len())
	checkConsistent(t, s)
}

func TestMaxEntriesExactUnderConcurrency(t *testing.T) {
	const limit, writers = 50, 200
	s := newStore(t, WithMaxEntries(limit))
	var ok, full atomic.Int64
	var wg sync.WaitGroup
	wg.Add(writers)
	for range writers {
		go func() {
			defer wg.Done()
			err := s.Commit(t.Context(), storetest.NewKey(), newEntry("v", time.Hour, "u"))
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrFull):
				full.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, limit, ok.Load())
	require.EqualValues(t, writers-limit, full.Load())
	require.Equal(t, limit, s.Len())
	checkConsistent(t, s)
}

func TestFullThroughStore(t *testing.T) {
	st := serverstore.New(newStore(t, WithMaxEntries(1)))
	rec := &session.Record{ID: "id", Expires: time.Now().Add(time.Hour), Data: []byte("x")}
	_, err := st.Save(t.Context(), "", rec)
	require.NoError(t, err)
	_, err = st.Save(t.Context(), "", rec)
	require.ErrorIs(t, err, ErrFull)
	require.True(t, strings.HasPrefix(err.Error(), "serverstore: save: "), err.Error())
}

func TestCancelledContext(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	err := s.Update(ctx, storetest.NewKey(), func([]byte, bool) (serverstore.Entry, bool, error) {
		called = true
		return serverstore.Entry{}, false, nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, called, "Update ran fn under a cancelled context")
	require.ErrorIs(t, s.Commit(ctx, storetest.NewKey(), newEntry("v", time.Hour, "")), context.Canceled)
	require.Zero(t, s.Len(), "Commit wrote under a cancelled context")
}

// benchKeys returns n keys, each committed to s with 200 bytes of data.
func benchKeys(b *testing.B, s *Store, n int) []string {
	keys := make([]string, n)
	e := serverstore.Entry{Data: bytes.Repeat([]byte("x"), 200), Expires: time.Now().Add(time.Hour)}
	for i := range keys {
		keys[i] = storetest.NewKey()
		if err := s.Commit(context.Background(), keys[i], e); err != nil {
			b.Fatal(err)
		}
	}
	return keys
}

func BenchmarkMemstore(b *testing.B) {
	s := newStore(b)
	storetest.Benchmark(b, s, benchKeys(b, s, 10_000))
}
