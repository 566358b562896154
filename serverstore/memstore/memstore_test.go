package memstore

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sweep"
	"github.com/go-sealed/session/serverstore/storetest"
)

func newStore(t testing.TB, opts ...Option) *Backend {
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
		Held:             func(t *testing.T, b serverstore.Backend) int { return b.(*Backend).Len() },
		Check:            func(t *testing.T, b serverstore.Backend) { checkConsistent(t, b.(*Backend)) },
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

// checkConsistent fails t unless s's shards, rings, user index and
// counters agree: every entry has the slot its idx names and every slot
// an entry, every tagged entry is indexed under its user and no other,
// every index entry names an entry of that user, and count, anon and
// bytes add up.
func checkConsistent(t testing.TB, s *Backend) {
	t.Helper()
	var n, anon, bytes int64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		slots := 0
		for key, e := range sh.m {
			n++
			bytes += entrySize(key, len(e.data), e.user)
			ring := sh.rings[class(e.user)]
			require.True(t, e.idx < len(ring) && ring[e.idx].key == key, "an entry's slot is not its own")
			require.Equal(t, e.expires, ring[e.idx].expires, "an entry's slot has another expiry")
			if e.user == "" {
				anon++
				continue
			}
			us := s.userShard(e.user)
			us.mu.Lock()
			_, ok := us.m[e.user][key]
			us.mu.Unlock()
			require.True(t, ok, "an entry of user %q is not indexed", e.user)
		}
		for c, r := range sh.rings {
			slots += len(r)
			require.Len(t, sh.uses[c], len(r), "uses and ring disagree")
		}
		require.Equal(t, len(sh.m), slots, "a ring holds a slot without an entry")
		sh.mu.RUnlock()
	}
	require.Equal(t, n, s.count.Load(), "count disagrees with the entries")
	require.Equal(t, anon, s.anon.Load(), "anon disagrees with the entries")
	for i := range s.users {
		us := &s.users[i]
		us.mu.Lock()
		for user, keys := range us.m {
			bytes += userSetOverhead
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
	require.Equal(t, bytes, s.bytes.Load(), "bytes disagrees with the entries")
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

func TestCancelledContext(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	err := s.Update(ctx, storetest.NewKey(), nil, func([]byte, bool) (serverstore.Entry, bool, error) {
		called = true
		return serverstore.Entry{}, false, nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, called, "Update ran fn under a cancelled context")
	require.ErrorIs(t, s.Commit(ctx, storetest.NewKey(), newEntry("v", time.Hour, "")), context.Canceled)
	require.Zero(t, s.Len(), "Commit wrote under a cancelled context")
}

// benchKeys returns n keys, each committed to s with 200 bytes of data.
func benchKeys(b *testing.B, s *Backend, n int) []string {
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

// BenchmarkFlood is a flood at the bound: each op commits a new
// anonymous session to a full Backend, which evicts one.
func BenchmarkFlood(b *testing.B) {
	s := newStore(b, WithMaxBytes(4<<20))
	e := serverstore.Entry{Data: bytes.Repeat([]byte("x"), 200), Expires: time.Now().Add(time.Hour)}
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = storetest.NewKey()
	}
	for _, k := range keys {
		if err := s.Commit(context.Background(), k, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// Keys come back once evicted: the flood's sessions are new.
		if err := s.Commit(context.Background(), keys[i%len(keys)], e); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
