package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
)

// runBackend checks the Backend contract and its optional interfaces.
func runBackend(t *testing.T, newBackend func(t *testing.T) serverstore.Backend) {
	t.Run("CommitFindDelete", func(t *testing.T) {
		b := newBackend(t)
		key := NewKey()
		require.NoError(t, b.Commit(t.Context(), key, entry("one", live, "")))
		requireData(t, b, key, "one")
		require.NoError(t, b.Delete(t.Context(), key))
		requireMissing(t, b, key)
		require.NoError(t, b.Delete(t.Context(), key), "deleting a missing key")
	})

	t.Run("CommitReplaces", func(t *testing.T) {
		b := newBackend(t)
		key, other := NewKey(), NewKey()
		require.NoError(t, b.Commit(t.Context(), key, entry("one", live, "")))
		require.NoError(t, b.Commit(t.Context(), other, entry("other", live, "")))
		require.NoError(t, b.Commit(t.Context(), key, entry("two", live, "")))
		requireData(t, b, key, "two")
		requireData(t, b, other, "other")
	})

	t.Run("FindMissing", func(t *testing.T) {
		b := newBackend(t)
		requireMissing(t, b, NewKey())
	})

	t.Run("EmptyData", func(t *testing.T) {
		// Found with no bytes is not the same as not found.
		b := newBackend(t)
		key := NewKey()
		require.NoError(t, b.Commit(t.Context(), key, entry("", live, "")))
		requireData(t, b, key, "")
	})

	t.Run("LargeData", func(t *testing.T) {
		b := newBackend(t)
		key := NewKey()
		big := make([]byte, 1<<20)
		_, _ = rand.Read(big)
		require.NoError(t, b.Commit(t.Context(), key, serverstore.Entry{Data: big, Expires: time.Now().Add(live)}))
		data, found := find(t, b, key)
		require.True(t, found)
		require.True(t, bytes.Equal(big, data), "1 MiB of data did not round-trip")
	})

	t.Run("NoAliasing", func(t *testing.T) {
		// Callers may reuse their buffers, and the bytes Find returns
		// are theirs.
		b := newBackend(t)
		key := NewKey()
		in := []byte("original")
		require.NoError(t, b.Commit(t.Context(), key, serverstore.Entry{Data: in, Expires: time.Now().Add(live)}))
		copy(in, "XXXXXXXX")
		out, _ := find(t, b, key)
		copy(out, "YYYYYYYY")
		requireData(t, b, key, "original")
	})

	t.Run("NilData", func(t *testing.T) {
		// nil Data is stored as empty: found, with no bytes.
		b := newBackend(t)
		key := NewKey()
		require.NoError(t, b.Commit(t.Context(), key, serverstore.Entry{Expires: time.Now().Add(live)}))
		data, found := find(t, b, key)
		require.True(t, found, "an entry with nil Data not found")
		require.Empty(t, data)
	})

	t.Run("FarFuture", func(t *testing.T) {
		// Expiries past what Unix nanoseconds (2262) or a SQL DATETIME
		// (9999) hold are simply live.
		b := newBackend(t)
		want := map[string]string{}
		for _, year := range []int{3000, 20000, 300000} {
			key, data := NewKey(), fmt.Sprint("year ", year)
			e := serverstore.Entry{Data: []byte(data), Expires: time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC), UserID: "alice"}
			require.NoError(t, b.Commit(t.Context(), key, e))
			requireData(t, b, key, data)
			want[key] = data
		}
		if ui, ok := b.(serverstore.UserIndex); ok {
			require.Equal(t, want, userKeys(t, ui, "alice"))
		}
	})

	t.Run("UserIDsExact", func(t *testing.T) {
		// User IDs differing only in case, accents or spaces, or one
		// the start of another, are different users.
		b := newBackend(t)
		ui, ok := b.(serverstore.UserIndex)
		if !ok {
			t.Skip("backend does not implement serverstore.UserIndex")
		}
		ctx := t.Context()
		users := []string{"alice", "Alice", "alice ", " alice", "alicé", "ALICE", "ali", "alice2"}
		keys := map[string]string{}
		for _, u := range users {
			keys[u] = NewKey()
			require.NoError(t, b.Commit(ctx, keys[u], entry(u, live, u)))
		}
		for _, u := range users {
			require.Equal(t, map[string]string{keys[u]: u}, userKeys(t, ui, u), "user %q", u)
		}
		n, err := ui.DeleteUser(ctx, "alice")
		require.NoError(t, err)
		require.Equal(t, 1, n)
		requireMissing(t, b, keys["alice"])
		for _, u := range users[1:] {
			requireData(t, b, keys[u], u)
		}
	})

	t.Run("CommittedExpiredNeverServed", func(t *testing.T) {
		b := newBackend(t)
		key := NewKey()
		require.NoError(t, b.Commit(t.Context(), key, entry("gone", -time.Hour, "alice")))
		requireMissing(t, b, key)
		// Overwriting a live entry with an expired one ends it too.
		require.NoError(t, b.Commit(t.Context(), key, entry("live", live, "alice")))
		require.NoError(t, b.Commit(t.Context(), key, entry("gone", -time.Second, "alice")))
		requireMissing(t, b, key)
		if ui, ok := b.(serverstore.UserIndex); ok {
			require.Empty(t, userKeys(t, ui, "alice"), "FindUser listed an expired entry")
		}
		require.NoError(t, b.Update(t.Context(), key, nil, func(data []byte, found bool) (serverstore.Entry, bool, error) {
			assert.False(t, found, "Update passed an expired entry to fn")
			return serverstore.Entry{}, false, nil
		}))
	})

	t.Run("Expiry", func(t *testing.T) {
		b := newBackend(t)
		key, keep := NewKey(), NewKey()
		e := entry("soon", 1200*time.Millisecond, "alice")
		require.NoError(t, b.Commit(t.Context(), key, e))
		require.NoError(t, b.Commit(t.Context(), keep, entry("keep", live, "alice")))
		requireData(t, b, key, "soon")
		time.Sleep(time.Until(e.Expires) + 300*time.Millisecond)
		requireMissing(t, b, key)
		requireData(t, b, keep, "keep")
		if ui, ok := b.(serverstore.UserIndex); ok {
			require.Equal(t, map[string]string{keep: "keep"}, userKeys(t, ui, "alice"),
				"FindUser must list live entries only")
			n, err := ui.DeleteUser(t.Context(), "alice")
			require.NoError(t, err)
			require.Equal(t, 1, n, "DeleteUser must count live entries only")
		}
		require.NoError(t, b.Update(t.Context(), key, nil, func(data []byte, found bool) (serverstore.Entry, bool, error) {
			assert.False(t, found, "Update passed an expired entry to fn")
			assert.Nil(t, data)
			return serverstore.Entry{}, false, nil
		}))
		requireMissing(t, b, key)
		// An Update that writes takes the expired entry's key over.
		require.NoError(t, b.Update(t.Context(), key, nil, func([]byte, bool) (serverstore.Entry, bool, error) {
			return entry("new", live, "bob"), true, nil
		}))
		requireData(t, b, key, "new")
		if ui, ok := b.(serverstore.UserIndex); ok {
			require.Equal(t, map[string]string{key: "new"}, userKeys(t, ui, "bob"))
		}
	})

	t.Run("UserIndex", func(t *testing.T) {
		b := newBackend(t)
		ui, ok := b.(serverstore.UserIndex)
		if !ok {
			t.Skip("backend does not implement serverstore.UserIndex")
		}
		ctx := t.Context()
		a1, a2, b1, anon := NewKey(), NewKey(), NewKey(), NewKey()
		require.NoError(t, b.Commit(ctx, a1, entry("a1", live, "alice")))
		require.NoError(t, b.Commit(ctx, a2, entry("a2", live, "alice")))
		require.NoError(t, b.Commit(ctx, b1, entry("b1", live, "bob")))
		require.NoError(t, b.Commit(ctx, anon, entry("anon", live, "")))
		require.Equal(t, map[string]string{a1: "a1", a2: "a2"}, userKeys(t, ui, "alice"))
		require.Equal(t, map[string]string{b1: "b1"}, userKeys(t, ui, "bob"))
		require.Empty(t, userKeys(t, ui, "nobody"))

		// A commit under another user moves the entry, and one with no
		// user takes it out of the index.
		require.NoError(t, b.Commit(ctx, a2, entry("a2 now bob's", live, "bob")))
		require.Equal(t, map[string]string{a1: "a1"}, userKeys(t, ui, "alice"))
		require.Equal(t, map[string]string{b1: "b1", a2: "a2 now bob's"}, userKeys(t, ui, "bob"))
		require.NoError(t, b.Commit(ctx, a1, entry("a1 anonymous", live, "")))
		require.Empty(t, userKeys(t, ui, "alice"))
		require.NoError(t, b.Commit(ctx, a1, entry("a1", live, "alice")))

		require.NoError(t, b.Delete(ctx, b1))
		require.Equal(t, map[string]string{a2: "a2 now bob's"}, userKeys(t, ui, "bob"))

		require.NoError(t, b.Commit(ctx, b1, entry("b1", live, "bob")))
		n, err := ui.DeleteUser(ctx, "bob")
		require.NoError(t, err)
		require.Equal(t, 2, n)
		requireMissing(t, b, a2)
		requireMissing(t, b, b1)
		require.Empty(t, userKeys(t, ui, "bob"))
		requireData(t, b, a1, "a1")
		requireData(t, b, anon, "anon")
		require.Equal(t, map[string]string{a1: "a1"}, userKeys(t, ui, "alice"), "other users untouched")

		n, err = ui.DeleteUser(ctx, "bob")
		require.NoError(t, err)
		require.Zero(t, n, "DeleteUser of a user with no entries")
	})

	t.Run("Scanner", func(t *testing.T) {
		b := newBackend(t)
		sc, ok := b.(serverstore.Scanner)
		if !ok {
			t.Skip("backend does not implement serverstore.Scanner")
		}
		testScanner(t, b, sc)
	})

	t.Run("Update", func(t *testing.T) {
		testUpdate(t, newBackend(t))
	})

	t.Run("UpdateHint", func(t *testing.T) {
		testUpdateHint(t, newBackend(t))
	})

	t.Run("UpdateUnderConcurrency", func(t *testing.T) {
		b := newBackend(t)
		// Every goroutine increments a counter: half with no hint, half
		// with what they read as the hint, as requests do (most hints are
		// stale by then). None may be lost.
		key := NewKey()
		expires := time.Now().Add(live)
		counter := func(n uint64) serverstore.Entry {
			return serverstore.Entry{Data: binary.BigEndian.AppendUint64(nil, n), Expires: expires, UserID: "alice"}
		}
		require.NoError(t, b.Commit(t.Context(), key, counter(0)))
		const n = 50
		var hinted atomic.Int64
		atOnce(n, func() {
			var hint *serverstore.Entry
			if hinted.Add(1)%2 == 0 {
				data, found, err := b.Find(t.Context(), key)
				if !assert.NoError(t, err) || !assert.True(t, found) {
					return
				}
				h := counter(binary.BigEndian.Uint64(data))
				hint = &h
			}
			err := b.Update(t.Context(), key, hint, func(data []byte, found bool) (serverstore.Entry, bool, error) {
				// Widen the window between read and write, where a
				// non-atomic Update loses increments.
				runtime.Gosched()
				return counter(binary.BigEndian.Uint64(data) + 1), true, nil
			})
			// An optimistic backend must retry, not give up, at this
			// modest level of contention.
			assert.NoError(t, err)
		})
		data, found := find(t, b, key)
		require.True(t, found)
		require.Equal(t, uint64(n), binary.BigEndian.Uint64(data), "concurrent Updates lost increments")
	})

	t.Run("Rename", func(t *testing.T) {
		b := newBackend(t)
		ctx := t.Context()
		oldKey, newKey, other := NewKey(), NewKey(), NewKey()
		require.NoError(t, b.Commit(ctx, oldKey, entry("old", live, "alice")))
		require.NoError(t, b.Commit(ctx, other, entry("other", live, "alice")))
		require.NoError(t, b.Rename(ctx, oldKey, newKey, entry("new", live, "bob")))
		requireMissing(t, b, oldKey)
		requireData(t, b, newKey, "new")
		requireData(t, b, other, "other")
		if ui, ok := b.(serverstore.UserIndex); ok {
			require.Equal(t, map[string]string{other: "other"}, userKeys(t, ui, "alice"))
			require.Equal(t, map[string]string{newKey: "new"}, userKeys(t, ui, "bob"))
		}

		// Renaming to the same key replaces the entry.
		require.NoError(t, b.Rename(ctx, newKey, newKey, entry("newer", live, "bob")))
		requireData(t, b, newKey, "newer")

		// A key that is gone is not renamed: nothing is written, so that
		// a session destroyed meanwhile does not come back.
		expired := NewKey()
		require.NoError(t, b.Commit(ctx, expired, entry("expired", 50*time.Millisecond, "alice")))
		time.Sleep(100 * time.Millisecond)
		for name, gone := range map[string]string{"never stored": NewKey(), "deleted": oldKey, "expired": expired} {
			for _, fresh := range []string{NewKey(), gone} {
				err := b.Rename(ctx, gone, fresh, entry("revived", live, "alice"))
				require.ErrorIs(t, err, serverstore.ErrNotFound, "Rename from a key %s", name)
				requireMissing(t, b, fresh)
			}
		}
		if ui, ok := b.(serverstore.UserIndex); ok {
			require.Equal(t, map[string]string{other: "other"}, userKeys(t, ui, "alice"), "nothing revived in the index")
		}

		// A move to an entry that has already expired ends both keys, if
		// the old one was live; if not, it writes nothing.
		ended := entry("ended", -time.Second, "alice")
		require.ErrorIs(t, b.Rename(ctx, NewKey(), other, ended), serverstore.ErrNotFound)
		requireData(t, b, other, "other")
		target := NewKey()
		require.NoError(t, b.Commit(ctx, target, entry("target", live, "")))
		require.NoError(t, b.Rename(ctx, other, target, ended))
		requireMissing(t, b, other)
		requireMissing(t, b, target)
	})

	t.Run("Concurrency", func(t *testing.T) {
		b := newBackend(t)
		testHammer(t, b)
	})

	t.Run("UserIndexUnderConcurrency", func(t *testing.T) {
		b := newBackend(t)
		ui, ok := b.(serverstore.UserIndex)
		if !ok {
			t.Skip("backend does not implement serverstore.UserIndex")
		}
		testIndexUnderConcurrency(t, b, ui)
	})

	t.Run("CancelledContext", func(t *testing.T) {
		b := newBackend(t)
		key := NewKey()
		require.NoError(t, b.Commit(t.Context(), key, entry("kept", live, "alice")))
		for _, c := range backendCalls(b, key, entry("x", live, "alice")) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			start := time.Now()
			err := callBounded(t, ctx, c)
			assert.Error(t, err, "%s ignored a cancelled context", c.name)
			assert.Less(t, time.Since(start), time.Second, "%s took long to notice a cancelled context", c.name)
		}
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel()
		_, _, err := b.Find(ctx, key)
		assert.Error(t, err, "Find ignored a context past its deadline")
	})
}

// atOnce runs f on n goroutines released together, and waits for them.
func atOnce(n int, f func()) {
	var wg sync.WaitGroup
	wg.Add(n)
	start := make(chan struct{})
	for range n {
		go func() {
			defer wg.Done()
			<-start
			f()
		}()
	}
	close(start)
	wg.Wait()
}

// testUpdate checks Backend.Update without a hint on one key.
func testUpdate(t *testing.T, b serverstore.Backend) {
	ctx := t.Context()
	key := NewKey()
	update := func(fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
		return b.Update(ctx, key, nil, fn)
	}

	// A missing key: fn sees nothing, and not writing leaves nothing.
	require.NoError(t, update(func(data []byte, found bool) (serverstore.Entry, bool, error) {
		assert.False(t, found)
		return entry("ignored", live, ""), false, nil
	}))
	requireMissing(t, b, key)

	// Writing to a missing key creates it.
	require.NoError(t, update(func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("v1", live, "alice"), true, nil
	}))
	requireData(t, b, key, "v1")

	// fn sees the current data, owns it, and its entry replaces it.
	require.NoError(t, update(func(data []byte, found bool) (serverstore.Entry, bool, error) {
		assert.True(t, found)
		assert.Equal(t, "v1", string(data))
		e := entry(string(data)+"+v2", live, "bob")
		copy(data, "XX")
		return e, true, nil
	}))
	requireData(t, b, key, "v1+v2")
	if ui, ok := b.(serverstore.UserIndex); ok {
		require.Empty(t, userKeys(t, ui, "alice"), "Update left the entry under its old user")
		require.Equal(t, map[string]string{key: "v1+v2"}, userKeys(t, ui, "bob"))
	}

	// write false, or an error, leaves the entry as it was.
	require.NoError(t, update(func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("not written", live, ""), false, nil
	}))
	requireData(t, b, key, "v1+v2")
	errFn := errors.New("fn failed")
	err := update(func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("not written", live, ""), true, errFn
	})
	require.ErrorIs(t, err, errFn)
	requireData(t, b, key, "v1+v2")
}

// testUpdateHint checks Backend.Update with a hint on one key: whether
// the hint is right, stale, gone or subtly wrong, what is written is fn's
// result on what the key held.
func testUpdateHint(t *testing.T, b serverstore.Backend) {
	ctx := t.Context()
	updateHinted := func(ctx context.Context, key string, hint serverstore.Entry, fn func([]byte, bool) (serverstore.Entry, bool, error)) error {
		return b.Update(ctx, key, &hint, fn)
	}
	key := NewKey()
	// calls records the data fn saw on each call ("<none>" when not
	// found), and writes next on top of it.
	var calls []string
	writeOnTop := func(next string, user string) func([]byte, bool) (serverstore.Entry, bool, error) {
		calls = nil
		return func(data []byte, found bool) (serverstore.Entry, bool, error) {
			if !found {
				calls = append(calls, "<none>")
				return serverstore.Entry{}, false, nil
			}
			calls = append(calls, string(data))
			return entry(string(data)+next, live, user), true, nil
		}
	}
	v1 := entry("v1", live, "alice")
	require.NoError(t, b.Commit(ctx, key, v1))

	// A right hint: fn runs on it (once, if the backend uses the hint),
	// and its entry is written.
	require.NoError(t, updateHinted(ctx, key, v1, writeOnTop("+a", "alice")))
	require.Equal(t, []string{"v1"}, calls)
	requireData(t, b, key, "v1+a")

	// A stale hint: another write came first. fn may run on the hint,
	// but what is written is its result on what the key holds.
	v2 := entry("v2", live, "bob")
	require.NoError(t, b.Commit(ctx, key, v2))
	require.NoError(t, updateHinted(ctx, key, v1, writeOnTop("+b", "carol")))
	require.Equal(t, "v2", calls[len(calls)-1])
	requireData(t, b, key, "v2+b")

	// A hint with the stored data but another owner and expiry is not
	// what is stored either: the index must follow the real owner.
	require.NoError(t, b.Commit(ctx, key, entry("v3", live, "alice")))
	require.NoError(t, updateHinted(ctx, key, entry("v3", 2*live, "bob"), writeOnTop("+c", "carol")))
	requireData(t, b, key, "v3+c")
	if ui, ok := b.(serverstore.UserIndex); ok {
		require.Empty(t, userKeys(t, ui, "alice"), "the entry stayed under the owner the hint did not name")
		require.Empty(t, userKeys(t, ui, "bob"))
		require.Equal(t, map[string]string{key: "v3+c"}, userKeys(t, ui, "carol"))
	}

	// fn declining to write on the hint is asked again on what is
	// stored, when that differs.
	require.NoError(t, b.Commit(ctx, key, entry("v4", live, "")))
	calls = nil
	require.NoError(t, updateHinted(ctx, key, v1, func(data []byte, found bool) (serverstore.Entry, bool, error) {
		calls = append(calls, string(data))
		return entry(string(data)+"+d", live, ""), string(data) == "v4", nil
	}))
	require.Equal(t, "v4", calls[len(calls)-1])
	requireData(t, b, key, "v4+d")

	// A hint for an entry that is gone: fn's last call finds nothing,
	// and nothing comes back.
	require.NoError(t, b.Delete(ctx, key))
	require.NoError(t, updateHinted(ctx, key, entry("v4+d", live, ""), writeOnTop("+e", "")))
	require.Equal(t, "<none>", calls[len(calls)-1])
	requireMissing(t, b, key)

	// An error from fn is returned, and nothing is written.
	require.NoError(t, b.Commit(ctx, key, v1))
	errFn := errors.New("fn failed")
	err := updateHinted(ctx, key, v1, func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("not written", live, ""), true, errFn
	})
	require.ErrorIs(t, err, errFn)
	requireData(t, b, key, "v1")
}

// testHammer runs 100 goroutines against b at once: each writes, reads and
// deletes a key of its own, and all of them write and read one shared key.
// Run with -race, it finds unsynchronized state; without, it finds lost or
// torn writes.
func testHammer(t *testing.T, b serverstore.Backend) {
	const goroutines, rounds = 100, 10
	shared := NewKey()
	var wg sync.WaitGroup
	wg.Add(goroutines)
	for g := range goroutines {
		go func() {
			defer wg.Done()
			ctx := t.Context()
			own := NewKey()
			for r := range rounds {
				mine := fmt.Sprintf("own %d %d", g, r)
				if !assert.NoError(t, b.Commit(ctx, own, entry(mine, live, fmt.Sprint("user", g%3)))) {
					return
				}
				data, found, err := b.Find(ctx, own)
				if !assert.NoError(t, err) || !assert.True(t, found) || !assert.Equal(t, mine, string(data)) {
					return
				}
				theirs := fmt.Sprintf("shared %03d %03d", g, r)
				if !assert.NoError(t, b.Commit(ctx, shared, entry(theirs, live, ""))) {
					return
				}
				data, found, err = b.Find(ctx, shared)
				// Another goroutine's write may have won, but whatever
				// is there is one whole write.
				if !assert.NoError(t, err) || !assert.True(t, found) || !assert.Regexp(t, `^shared \d{3} \d{3}$`, string(data)) {
					return
				}
				err = b.Update(ctx, shared, nil, func(data []byte, found bool) (serverstore.Entry, bool, error) {
					return entry(string(data), live, ""), found, nil
				})
				if !assert.NoError(t, err) {
					return
				}
			}
			assert.NoError(t, b.Delete(ctx, own))
			_, found, err := b.Find(ctx, own)
			assert.NoError(t, err)
			assert.False(t, found)
		}()
	}
	wg.Wait()
}
