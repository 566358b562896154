package memstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// nextTick waits until the Backend can tell a use made now from one made
// before the call.
func nextTick() { time.Sleep(2 * time.Duration(tickNanos)) }

// requireHeld checks whether s holds key, without counting it as a use,
// which Find would.
func requireHeld(t *testing.T, s *Backend, key string, want bool, name string) {
	t.Helper()
	sh := s.shard(key)
	sh.mu.RLock()
	_, held := sh.m[key]
	sh.mu.RUnlock()
	require.Equal(t, want, held, "session %s held", name)
}

// logRecorder is a slog.Handler that keeps every record of memstore's it
// gets.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	if !strings.HasPrefix(r.Message, "memstore") {
		return nil // the Manager's own (events, warnings) are not memstore's
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

// texts returns each record as its level, message and attributes.
func (h *logRecorder) texts() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		out = append(out, b.String())
	}
	return out
}

// recordLogs sends slog.Default to a logRecorder until the test ends.
func recordLogs(t *testing.T) *logRecorder {
	h := &logRecorder{}
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return h
}

// TestFloodKeepsSignedInSessions floods a Manager over a bounded Backend
// with cookie-less requests to a handler that writes to the session, as
// wrk against the demo's /set did: the Backend stays within its bound, and
// a user who signed in before the flood, and made no request during it,
// is still signed in after it.
func TestFloodKeepsSignedInSessions(t *testing.T) {
	logs := recordLogs(t)
	const bound = 256 << 10
	backend := newStore(t, WithMaxBytes(bound))
	m := session.New(serverstore.New(backend))
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if err := s.Renew(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.SetUser("alice")
		s.Put("username", "alice")
	})
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Put("username", "john_doe")
		m.Get(r).Put("lastVisit", time.Now())
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, m.Get(r).UserID())
	})
	h := m.Handler(mux)
	serve := func(path string, cookies ...*http.Cookie) *http.Response {
		req := httptest.NewRequest("GET", path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", path, rec.Body)
		return rec.Result()
	}

	login := serve("/login").Cookies()
	require.NotEmpty(t, login)
	require.Equal(t, 1, backend.Len())

	const flood = 5000
	for range flood {
		require.NotEmpty(t, serve("/set").Cookies(), "a flood request got no session")
	}
	held := backend.Len()
	t.Logf("after %d requests: %d sessions, %d bytes", flood, held, backend.Bytes())
	require.LessOrEqual(t, backend.Bytes(), int64(bound))
	require.Less(t, held, flood/4, "the flood's sessions were not evicted")
	anon, signed := backend.Evicted()
	require.EqualValues(t, flood+1-held, anon)
	require.Zero(t, signed)

	body, _ := io.ReadAll(serve("/whoami", login...).Body)
	require.Equal(t, "alice", string(body), "the signed-in session did not survive the flood")
	require.Empty(t, logs.texts(), "evicting anonymous sessions logged")
	checkConsistent(t, backend)
}

// fillHeap returns the live heap, after a GC, that a Backend made with opts
// holds once n entries of size bytes of data (with distinct users if
// signed) were committed to it, and the Backend's own estimate.
func fillHeap(t *testing.T, n, size int, signed bool, opts ...Option) (heap, estimate int64) {
	ctx := t.Context()
	data := bytes.Repeat([]byte("x"), size)
	exp := time.Now().Add(time.Hour)
	before := liveHeap()
	s := New(append(opts, WithSweepInterval(time.Hour))...)
	for i := range n {
		e := serverstore.Entry{Data: data, Expires: exp}
		if signed {
			e.UserID = fmt.Sprintf("user-%07d", i)
		}
		require.NoError(t, s.Commit(ctx, storetest.NewKey(), e))
	}
	heap = liveHeap() - before
	estimate = s.Bytes()
	checkConsistent(t, s)
	require.NoError(t, s.Close())
	runtime.KeepAlive(s)
	return heap, estimate
}

func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestBoundMatchesHeap floods Stores with four times their byte bound of
// sessions of several shapes, and measures the live heap they keep: it
// must stay within the bound, give or take the 10 % that the estimate
// of an entry's cost may be off by, where an unbounded Backend's grows with
// the flood.
func TestBoundMatchesHeap(t *testing.T) {
	const bound = 8 << 20
	for _, c := range []struct {
		size   int
		signed bool
	}{{100, false}, {300, false}, {4000, false}, {300, true}, {1000, true}} {
		t.Run(fmt.Sprintf("size=%d,signed=%v", c.size, c.signed), func(t *testing.T) {
			n := int(4 * bound / (64 + c.size + entryOverhead))
			heap, estimate := fillHeap(t, n, c.size, c.signed, WithMaxBytes(bound))
			t.Logf("%d entries committed: live heap %.2f MiB, estimate %.2f MiB, bound %d MiB",
				n, float64(heap)/(1<<20), float64(estimate)/(1<<20), bound>>20)
			require.LessOrEqual(t, estimate, int64(bound))
			require.Less(t, heap, int64(bound)*11/10, "the live heap passed the bound")
			require.Greater(t, heap, int64(bound)/2, "the estimate is far above the heap: the bound wastes memory")

			unbounded, _ := fillHeap(t, n, c.size, c.signed, WithMaxBytes(0))
			t.Logf("unbounded: live heap %.2f MiB", float64(unbounded)/(1<<20))
			require.Greater(t, unbounded, 3*int64(bound))
		})
	}
}

// TestDefaultBound floods a Backend made with no option past
// DefaultMaxBytes.
func TestDefaultBound(t *testing.T) {
	const size = 4000
	n := int(DefaultMaxBytes/(64+size+entryOverhead)) * 5 / 4
	heap, estimate := fillHeap(t, n, size, false)
	t.Logf("%d entries committed: live heap %.1f MiB, estimate %.1f MiB", n, float64(heap)/(1<<20), float64(estimate)/(1<<20))
	require.LessOrEqual(t, estimate, int64(DefaultMaxBytes))
	require.Less(t, heap, int64(DefaultMaxBytes)*11/10)
}

// TestUnbounded checks that WithMaxBytes(0) or less removes the default
// bound: the Backend keeps 70 MiB of sessions.
func TestUnbounded(t *testing.T) {
	for _, n := range []int64{0, -1} {
		s := newStore(t, WithMaxBytes(n))
		data := make([]byte, 1<<20)
		for range 70 {
			require.NoError(t, s.Commit(t.Context(), storetest.NewKey(), serverstore.Entry{Data: data, Expires: time.Now().Add(time.Hour)}))
		}
		require.Equal(t, 70, s.Len(), "WithMaxBytes(%d)", n)
		require.NoError(t, s.Close())
	}
}

// TestEvictsAnonymousFirst fills a Backend to its bound with a signed-in
// session, the least recently used, and anonymous ones: new sessions
// evict the least recently used anonymous one, never the signed-in one,
// and overwriting or renaming at the bound evicts nothing.
func TestEvictsAnonymousFirst(t *testing.T) {
	logs := recordLogs(t)
	s := newStore(t, WithMaxEntries(3))
	ctx := t.Context()
	alice, x, y, z, w := storetest.NewKey(), storetest.NewKey(), storetest.NewKey(), storetest.NewKey(), storetest.NewKey()
	for _, k := range []string{alice, x, y} {
		user := ""
		if k == alice {
			user = "alice"
		}
		require.NoError(t, s.Commit(ctx, k, newEntry("v", time.Hour, user)))
		nextTick()
	}
	_, _, _ = s.Find(ctx, x) // y is now the least recently used anonymous
	nextTick()

	require.NoError(t, s.Commit(ctx, z, newEntry("v", time.Hour, "")))
	requireHeld(t, s, y, false, "y")
	requireHeld(t, s, alice, true, "alice")
	nextTick()
	err := s.Update(ctx, w, nil, func([]byte, bool) (serverstore.Entry, bool, error) {
		return newEntry("v", time.Hour, ""), true, nil
	})
	require.NoError(t, err)
	requireHeld(t, s, x, false, "x")
	for k, name := range map[string]string{alice: "alice", z: "z", w: "w"} {
		requireHeld(t, s, k, true, name)
	}

	// At the bound, writes that add no entry evict nothing.
	require.NoError(t, s.Commit(ctx, z, newEntry("v2", time.Hour, "")))
	renewed := storetest.NewKey()
	require.NoError(t, s.Rename(ctx, w, renewed, newEntry("v2", time.Hour, "")))
	for k, name := range map[string]string{alice: "alice", z: "z", renewed: "renewed"} {
		requireHeld(t, s, k, true, name)
	}
	anon, signed := s.Evicted()
	require.Equal(t, [2]int64{2, 0}, [2]int64{anon, signed})
	require.Empty(t, logs.texts())
	checkConsistent(t, s)
}

// TestEvictsSignedInLRUAndWarns fills a Backend with signed-in sessions
// only: a login then evicts the least recently used one, reads counting
// as uses, and says so in a warning, at most one a minute, counting the
// evictions it covers and naming no key or user.
func TestEvictsSignedInLRUAndWarns(t *testing.T) {
	logs := recordLogs(t)
	s := newStore(t, WithMaxEntries(3))
	ctx := t.Context()
	keys := map[string]string{}
	for _, user := range []string{"alice", "bob", "carol", "dave", "erin"} {
		keys[user] = storetest.NewKey()
	}
	for _, user := range []string{"alice", "bob", "carol"} {
		require.NoError(t, s.Commit(ctx, keys[user], newEntry("v", time.Hour, user)))
		nextTick()
	}
	_, _, _ = s.Find(ctx, keys["alice"]) // bob is now the least recently used
	nextTick()

	require.NoError(t, s.Commit(ctx, keys["dave"], newEntry("v", time.Hour, "dave")))
	requireHeld(t, s, keys["bob"], false, "bob")
	for _, user := range []string{"alice", "carol", "dave"} {
		requireHeld(t, s, keys[user], true, user)
	}
	texts := logs.texts()
	require.Len(t, texts, 1)
	require.Contains(t, texts[0], "WARN memstore: evicted signed-in sessions")
	require.Contains(t, texts[0], "sessions=1")
	for user, key := range keys {
		require.NotContains(t, texts[0], key)
		require.NotContains(t, texts[0], user)
	}

	// A second eviction within the minute is counted, not logged yet.
	nextTick()
	require.NoError(t, s.Commit(ctx, keys["erin"], newEntry("v", time.Hour, "erin")))
	requireHeld(t, s, keys["carol"], false, "carol")
	require.Len(t, logs.texts(), 1)
	anon, signed := s.Evicted()
	require.Equal(t, [2]int64{0, 2}, [2]int64{anon, signed})

	// A minute after the first warning, the next one reports it.
	s.flushWarning(nowNano() + warnInterval)
	texts = logs.texts()
	require.Len(t, texts, 2)
	require.Contains(t, texts[1], "sessions=1")
	checkConsistent(t, s)
}

// TestSweeperReportsEvictions checks that evictions left unreported by
// the rate limit are logged by the sweeper, without another eviction.
func TestSweeperReportsEvictions(t *testing.T) {
	logs := recordLogs(t)
	s := newStore(t, WithMaxEntries(1), WithSweepInterval(5*time.Millisecond))
	for _, user := range []string{"alice", "bob", "carol"} {
		require.NoError(t, s.Commit(t.Context(), storetest.NewKey(), newEntry("v", time.Hour, user)))
	}
	require.Len(t, logs.texts(), 1)
	s.lastWarn.Add(-warnInterval) // as if the warning was a minute old
	require.Eventually(t, func() bool { return len(logs.texts()) == 2 }, 10*time.Second, 5*time.Millisecond)
	require.Contains(t, logs.texts()[1], "sessions=1")
}

// TestEvictsExpiredFirst checks that an expired entry goes before a live
// one, even one used longer ago, and that evicting it is no logout.
func TestEvictsExpiredFirst(t *testing.T) {
	logs := recordLogs(t)
	// The periodic sweeper would remove the expired entry by itself:
	// keep it out of the way, so that eviction has to.
	s := newStore(t, WithMaxEntries(2), WithSweepInterval(time.Hour))
	ctx := t.Context()
	bob := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, bob, newEntry("v", time.Hour, "bob")))
	nextTick()
	short := newEntry("v", 30*time.Millisecond, "alice")
	require.NoError(t, s.Commit(ctx, storetest.NewKey(), short))
	time.Sleep(time.Until(short.Expires) + 10*time.Millisecond)
	require.Equal(t, 2, s.Len(), "the expired entry is still held")
	require.NoError(t, s.Commit(ctx, storetest.NewKey(), newEntry("v", time.Hour, "")))
	require.Equal(t, 2, s.Len())
	requireHeld(t, s, bob, true, "bob")
	anon, signed := s.Evicted()
	require.Equal(t, [2]int64{0, 0}, [2]int64{anon, signed})
	require.Empty(t, logs.texts())
	checkConsistent(t, s)
}

// TestEntryLargerThanBound checks the one write a bounded Backend refuses:
// an entry that alone passes the byte bound. Nothing is written, whatever
// the call, and the error reaches the Backend's caller.
func TestEntryLargerThanBound(t *testing.T) {
	s := newStore(t, WithMaxBytes(2048))
	ctx := t.Context()
	small, big := newEntry("v", time.Hour, ""), newEntry(strings.Repeat("x", 2048), time.Hour, "")
	a := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, a, small))
	require.ErrorIs(t, s.Commit(ctx, storetest.NewKey(), big), ErrFull)
	require.ErrorIs(t, s.Commit(ctx, a, big), ErrFull)
	require.ErrorIs(t, s.Update(ctx, a, nil, func([]byte, bool) (serverstore.Entry, bool, error) { return big, true, nil }), ErrFull)
	b := storetest.NewKey()
	require.ErrorIs(t, s.Rename(ctx, a, b, big), ErrFull)
	data, found, err := s.Find(ctx, a)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "v", string(data))
	requireHeld(t, s, b, false, "renamed")
	require.Equal(t, 1, s.Len())
	checkConsistent(t, s)

	st := serverstore.New(s)
	rec := &session.Record{ID: "id", Expires: time.Now().Add(time.Hour), Data: bytes.Repeat([]byte("x"), 2048)}
	_, err = st.Save(ctx, "", rec)
	require.ErrorIs(t, err, ErrFull)
	require.True(t, strings.HasPrefix(err.Error(), "serverstore: save: "), err.Error())
}

// TestBoundUnderConcurrency has many writers add sessions to a bounded
// Backend at once: none is refused, and once they have returned the Backend
// is within its bound.
func TestBoundUnderConcurrency(t *testing.T) {
	const limit, writers = 50, 200
	s := newStore(t, WithMaxEntries(limit))
	var wg sync.WaitGroup
	wg.Add(writers)
	for i := range writers {
		go func() {
			defer wg.Done()
			user := ""
			if i%4 == 0 {
				user = fmt.Sprint("u", i)
			}
			assert.NoError(t, s.Commit(t.Context(), storetest.NewKey(), newEntry("v", time.Hour, user)))
		}()
	}
	wg.Wait()
	require.Equal(t, limit, s.Len())
	checkConsistent(t, s)
}

// TestEvictionRace runs every kind of operation at once on a Backend kept
// at its bound, for the race detector and the consistency check.
func TestEvictionRace(t *testing.T) {
	s := newStore(t, WithMaxEntries(64))
	ctx := t.Context()
	keys := make([]string, 256)
	for i := range keys {
		keys[i] = storetest.NewKey()
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := keys[(g*7919+i*31)%len(keys)]
				user := ""
				if i%3 == 0 {
					user = fmt.Sprint("u", i%5)
				}
				e := newEntry("v", time.Hour, user)
				var err error
				switch i % 6 {
				case 0:
					err = s.Commit(ctx, k, e)
				case 1:
					err = s.Update(ctx, k, nil, func([]byte, bool) (serverstore.Entry, bool, error) { return e, true, nil })
				case 2:
					if err = s.Rename(ctx, k, keys[(i*17)%len(keys)], e); err == serverstore.ErrNotFound {
						err = nil
					}
				case 3:
					err = s.Delete(ctx, k)
				case 4:
					_, err = s.FindUser(ctx, user+"x")
				default:
					_, _, err = s.Find(ctx, k)
				}
				if !assert.NoError(t, err) {
					return
				}
			}
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, s.Len(), 64)
	checkConsistent(t, s)
}

// TestReadsTrackedFromAQuarter checks when Find starts recording uses:
// once the Backend has held more than a quarter of a bound, and not for
// a Backend without bounds.
func TestReadsTrackedFromAQuarter(t *testing.T) {
	for _, c := range []struct {
		opts []Option
		size int
	}{
		{[]Option{WithMaxEntries(8), WithMaxBytes(0)}, 1},
		{[]Option{WithMaxBytes(8 * (64 + 1000 + entryOverhead))}, 1000},
	} {
		s := newStore(t, c.opts...)
		for range 2 {
			require.NoError(t, s.Commit(t.Context(), storetest.NewKey(), newEntry(strings.Repeat("x", c.size), time.Hour, "")))
		}
		require.False(t, s.tracking.Load(), "reads tracked at a quarter of the bound")
		require.NoError(t, s.Commit(t.Context(), storetest.NewKey(), newEntry(strings.Repeat("x", c.size), time.Hour, "")))
		require.True(t, s.tracking.Load(), "reads not tracked past a quarter of the bound")
	}
	s := newStore(t, WithMaxBytes(0))
	require.NoError(t, s.Commit(t.Context(), storetest.NewKey(), newEntry("v", time.Hour, "")))
	require.False(t, s.tracking.Load(), "reads tracked without a bound")
}
