package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sweep"
	"github.com/go-sealed/session/serverstore/storetest"
)

// tempPath returns the path of a file, not yet created, in a fresh
// temporary directory.
func tempPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "sessions.db")
}

// openStore opens a Backend on path and closes it when the test ends.
func openStore(t testing.TB, path string, opts ...Option) *Backend {
	t.Helper()
	s, err := Open(path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newStore opens a Backend on a fresh file.
func newStore(t testing.TB, opts ...Option) *Backend {
	t.Helper()
	return openStore(t, tempPath(t), opts...)
}

func newEntry(data string, ttl time.Duration, user string) serverstore.Entry {
	return serverstore.Entry{Data: []byte(data), Expires: time.Now().Add(ttl), UserID: user}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) serverstore.Backend {
		// The sweeper runs amid every test, the concurrent ones
		// included, and must change no outcome.
		s := newStore(t, WithSweepInterval(5*time.Millisecond))
		// Cleanups run last first: this check runs before Close.
		t.Cleanup(func() { checkConsistent(t, s) })
		return s
	}, storetest.WithSweeper(storetest.Sweeper{
		New: func(t *testing.T, interval time.Duration) serverstore.Backend {
			s, err := Open(tempPath(t), WithSweepInterval(interval))
			require.NoError(t, err)
			db := s.db // not s: storetest drops one
			t.Cleanup(func() { _ = db.Close() })
			return s
		},
		Frame:            sweep.Frame,
		Held:             func(t *testing.T, b serverstore.Backend) int { return len(readLayout(t, b.(*Backend)).entries) },
		Check:            func(t *testing.T, b serverstore.Backend) { checkConsistent(t, b.(*Backend)) },
		ServesAfterClose: false, // TestClosedStore: every call fails with ErrClosed
	}))
}

// TestConformanceShared runs the suite with every backend in a bucket of
// its own in one shared bolt.DB, as OpenDB users have it.
func TestConformanceShared(t *testing.T) {
	db, err := bolt.Open(tempPath(t), 0o600, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) serverstore.Backend {
		s, err := OpenDB(db, WithBucket(fmt.Sprint("sessions-", n.Add(1))))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		t.Cleanup(func() { checkConsistent(t, s) })
		return s
	})
}

// layout is what a Backend's three buckets hold, decoded.
type layout struct {
	entries map[string]stored // by key, data and user copied
	expiry  map[string]uint64 // key → expiry, from the expiry index
	users   map[string]string // key → user, from the user index
	bad     []string          // malformed or duplicate index entries
}

func readLayout(t testing.TB, s *Backend) layout {
	t.Helper()
	l := layout{entries: map[string]stored{}, expiry: map[string]uint64{}, users: map[string]string{}}
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		b, ok := s.readBuckets(tx)
		if !ok {
			return nil
		}
		require.NoError(t, b.entries.ForEach(func(k, v []byte) error {
			d, ok := decode(v)
			require.True(t, ok, "an undecodable entry")
			l.entries[string(k)] = stored{d.expires, bytes.Clone(d.user), bytes.Clone(d.data)}
			return nil
		}))
		require.NoError(t, b.expiry.ForEach(func(k, _ []byte) error {
			if len(k) < 8 {
				l.bad = append(l.bad, fmt.Sprintf("expiry index entry %x", k))
				return nil
			}
			key := string(k[8:])
			if _, dup := l.expiry[key]; dup {
				l.bad = append(l.bad, fmt.Sprintf("expiry index entry %x", k))
			}
			l.expiry[key] = expiryOf(k)
			return nil
		}))
		return b.users.ForEach(func(k, _ []byte) error {
			n, w := binary.Uvarint(k)
			if w <= 0 || uint64(len(k)-w) < n {
				l.bad = append(l.bad, fmt.Sprintf("user index entry %x", k))
				return nil
			}
			key := string(k[w+int(n):])
			if _, dup := l.users[key]; dup {
				l.bad = append(l.bad, fmt.Sprintf("user index entry %x", k))
			}
			l.users[key] = string(k[w : w+int(n)])
			return nil
		})
	}))
	return l
}

// checkConsistent fails t unless s's indexes agree with its entries: each
// entry is in the expiry index under its expiry and, if tagged, in the
// user index under its user, and no index entry names anything else.
func checkConsistent(t testing.TB, s *Backend) {
	t.Helper()
	l := readLayout(t, s)
	require.Empty(t, l.bad)
	wantExpiry := map[string]uint64{}
	wantUsers := map[string]string{}
	for key, e := range l.entries {
		wantExpiry[key] = e.expires
		if len(e.user) > 0 {
			wantUsers[key] = string(e.user)
		}
	}
	require.Equal(t, wantExpiry, l.expiry, "the expiry index disagrees with the entries")
	require.Equal(t, wantUsers, l.users, "the user index disagrees with the entries")
}

func requireData(t testing.TB, s *Backend, key, want string) {
	t.Helper()
	data, found, err := s.Find(context.Background(), key)
	require.NoError(t, err)
	require.True(t, found, "entry not found")
	require.Equal(t, want, string(data))
}

func requireMissing(t testing.TB, s *Backend, key string) {
	t.Helper()
	_, found, err := s.Find(context.Background(), key)
	require.NoError(t, err)
	require.False(t, found, "entry found that should not be")
}

// txID returns the ID of the last committed write transaction.
func txID(t testing.TB, s *Backend) int {
	t.Helper()
	var id int
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }))
	return id
}

// allCalls returns a call of every method of s that touches the file.
func allCalls(s *Backend, key string, e serverstore.Entry) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"Find":       func(ctx context.Context) error { _, _, err := s.Find(ctx, key); return err },
		"Commit":     func(ctx context.Context) error { return s.Commit(ctx, key, e) },
		"Delete":     func(ctx context.Context) error { return s.Delete(ctx, key) },
		"FindUser":   func(ctx context.Context) error { _, err := s.FindUser(ctx, "alice"); return err },
		"DeleteUser": func(ctx context.Context) error { _, err := s.DeleteUser(ctx, "alice"); return err },
		"Rename":     func(ctx context.Context) error { return s.Rename(ctx, key, storetest.NewKey(), e) },
		"Sweep":      func(ctx context.Context) error { _, err := s.Sweep(ctx); return err },
		"Update": func(ctx context.Context) error {
			return s.Update(ctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) { return e, true, nil })
		},
		"Scan": func(ctx context.Context) error {
			for _, err := range s.Scan(ctx) {
				if err != nil {
					return err
				}
			}
			return nil
		},
		"Count":     func(ctx context.Context) error { _, err := s.Count(ctx); return err },
		"DeleteAll": func(ctx context.Context) error { _, err := s.DeleteAll(ctx); return err },
	}
}

// noPanic runs call, turning a panic into a test failure.
func noPanic(t *testing.T, name string, call func() error) (err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s panicked: %v", name, p)
		}
	}()
	return call()
}

func TestClosedStore(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprint("shared=", shared), func(t *testing.T) {
			var s *Backend
			if shared {
				db, err := bolt.Open(tempPath(t), 0o600, nil)
				require.NoError(t, err)
				t.Cleanup(func() { _ = db.Close() })
				s, err = OpenDB(db)
				require.NoError(t, err)
			} else {
				s = newStore(t)
			}
			key := storetest.NewKey()
			require.NoError(t, s.Commit(t.Context(), key, newEntry("x", time.Hour, "alice")))
			require.NoError(t, s.Close())
			require.NoError(t, s.Close(), "a second Close")
			for name, call := range allCalls(s, key, newEntry("y", time.Hour, "alice")) {
				err := noPanic(t, name, func() error { return call(t.Context()) })
				require.ErrorIs(t, err, ErrClosed, name)
				require.NotContains(t, err.Error(), key)
			}
			if shared {
				// The Backend leaves a bolt.DB it does not own open.
				require.NoError(t, s.db.View(func(*bolt.Tx) error { return nil }))
			}
		})
	}
}

// TestDBClosedUnderStore closes the bolt.DB given to OpenDB before the
// Backend: every method fails cleanly.
func TestDBClosedUnderStore(t *testing.T) {
	db, err := bolt.Open(tempPath(t), 0o600, nil)
	require.NoError(t, err)
	s, err := OpenDB(db)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	for name, call := range allCalls(s, storetest.NewKey(), newEntry("y", time.Hour, "alice")) {
		err := noPanic(t, name, func() error { return call(t.Context()) })
		require.ErrorIs(t, err, ErrClosed, name)
	}
	require.NoError(t, s.Close())
}

func TestOpenLocked(t *testing.T) {
	path := tempPath(t)
	first := openStore(t, path)
	key := storetest.NewKey()
	require.NoError(t, first.Commit(t.Context(), key, newEntry("first", time.Hour, "")))

	start := time.Now()
	_, err := Open(path, WithOpenTimeout(200*time.Millisecond))
	took := time.Since(start)
	require.ErrorIs(t, err, ErrLocked)
	require.Contains(t, err.Error(), "file is locked by another process")
	require.Contains(t, err.Error(), path)
	require.Less(t, took, 2*time.Second, "Open did not give up at its timeout")
	require.GreaterOrEqual(t, took, 150*time.Millisecond)

	// The timeout of bolt's own options applies too.
	_, err = Open(path, WithBoltOptions(&bolt.Options{Timeout: 100 * time.Millisecond}))
	require.ErrorIs(t, err, ErrLocked)

	// The file is the first Backend's still, and free once it closes.
	requireData(t, first, key, "first")
	require.NoError(t, first.Close())
	second := openStore(t, path, WithOpenTimeout(200*time.Millisecond))
	requireData(t, second, key, "first")
}

func TestReopen(t *testing.T) {
	path := tempPath(t)
	ctx := t.Context()
	s, err := Open(path, WithSweepInterval(0))
	require.NoError(t, err)
	a1, a2, b1, anon, short := storetest.NewKey(), storetest.NewKey(), storetest.NewKey(), storetest.NewKey(), storetest.NewKey()
	require.NoError(t, s.Commit(ctx, a1, newEntry("a1", time.Hour, "alice")))
	require.NoError(t, s.Commit(ctx, a2, newEntry("a2", time.Hour, "alice")))
	require.NoError(t, s.Commit(ctx, b1, newEntry("b1", time.Hour, "bob")))
	require.NoError(t, s.Commit(ctx, anon, newEntry("anon", time.Hour, "")))
	shortEntry := newEntry("short", 300*time.Millisecond, "alice")
	require.NoError(t, s.Commit(ctx, short, shortEntry))
	require.NoError(t, s.Close())

	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the file is readable by others")

	s = openStore(t, path, WithSweepInterval(0))
	requireData(t, s, a1, "a1")
	requireData(t, s, anon, "anon")
	requireData(t, s, short, "short")
	got, err := s.FindUser(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, "a2", string(got[a2]))
	checkConsistent(t, s)

	// The expiry survived too: the entry expires on time, and the
	// reopened file's index sweeps it.
	time.Sleep(time.Until(shortEntry.Expires) + 50*time.Millisecond)
	requireMissing(t, s, short)
	n, err := s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, readLayout(t, s).entries, 4)
	checkConsistent(t, s)

	n, err = s.DeleteUser(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	requireData(t, s, b1, "b1")
}

func TestSweep(t *testing.T) {
	s := newStore(t, WithSweepInterval(0), WithSweepBatch(3))
	ctx := t.Context()
	var live []string
	for i := range 10 {
		key := storetest.NewKey()
		live = append(live, key)
		require.NoError(t, s.Commit(ctx, key, newEntry(key[:8], time.Hour, fmt.Sprint("u", i%2))))
	}
	before := txID(t, s)
	n, err := s.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, before, txID(t, s), "a sweep with nothing due wrote")

	const ttl = 50 * time.Millisecond
	for i := range 10 {
		e := newEntry("short", ttl, fmt.Sprint("u", i%3))
		require.NoError(t, s.Commit(ctx, storetest.NewKey(), e))
	}
	// An entry whose expiry and user change: only its latest index
	// entries count.
	moved := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, moved, newEntry("moved", ttl, "u0")))
	require.NoError(t, s.Commit(ctx, moved, newEntry("moved", time.Hour, "u9")))
	live = append(live, moved)
	// And one whose expiry moves earlier.
	shortened := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, shortened, newEntry("shortened", time.Hour, "u1")))
	e := newEntry("shortened", ttl, "")
	require.NoError(t, s.Commit(ctx, shortened, e))
	last := e.Expires // committed after every other short entry: the last to expire
	checkConsistent(t, s)

	time.Sleep(time.Until(last) + 10*time.Millisecond)
	before = txID(t, s)
	n, err = s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 11, n)
	require.GreaterOrEqual(t, txID(t, s)-before, 4, "11 entries in batches of 3 take 4 transactions")
	checkConsistent(t, s)
	l := readLayout(t, s)
	require.Len(t, l.entries, len(live))
	for _, key := range live {
		require.Contains(t, l.entries, key)
	}
	requireData(t, s, moved, "moved")
	got, err := s.FindUser(ctx, "u9")
	require.NoError(t, err)
	require.Len(t, got, 1)
	got, err = s.FindUser(ctx, "u0")
	require.NoError(t, err)
	require.Len(t, got, 5)

	n, err = s.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestSweepCancelled(t *testing.T) {
	s := newStore(t, WithSweepInterval(0))
	require.NoError(t, s.Commit(t.Context(), storetest.NewKey(), newEntry("x", 10*time.Millisecond, "")))
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Sweep(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, readLayout(t, s).entries, 1)
}

// sweepers counts the running sweeper goroutines.
func sweepers() int { return storetest.Goroutines(sweep.Frame) }

func TestNoSweeper(t *testing.T) {
	before := sweepers()
	newStore(t, WithSweepInterval(0))
	newStore(t, WithSweepInterval(-time.Second))
	time.Sleep(20 * time.Millisecond) // for a sweeper, if one started, to show
	require.Equal(t, before, sweepers())
}

func TestSweeperLogsErrors(t *testing.T) {
	// A sweep that fails (here because the bucket's format version was
	// changed from under the Backend) is logged, without keys.
	var logged lockedBuffer
	s := newStore(t, WithSweepInterval(10*time.Millisecond), WithLogger(newTextLogger(&logged)))
	key := storetest.NewKey()
	// The entry and the version change go in one transaction: committed
	// apart, a slow fsync between them can let the sweeper remove the
	// entry first, and then no sweep ever fails.
	require.NoError(t, s.db.Update(func(tx *bolt.Tx) error {
		b, err := s.writeBuckets(tx)
		require.NoError(t, err)
		require.NoError(t, b.put([]byte(key), newEntry("x", 20*time.Millisecond, ""), now()))
		return tx.Bucket([]byte(DefaultBucket)).Put(versionName, []byte{99})
	}))
	require.Eventually(t, func() bool { return strings.Contains(logged.String(), "sweeping expired sessions failed") },
		5*time.Second, 10*time.Millisecond)
	require.NotContains(t, logged.String(), key)
}

func TestCommitExpired(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	key := storetest.NewKey()
	before := txID(t, s)
	require.NoError(t, s.Commit(ctx, key, serverstore.Entry{Data: []byte("x")})) // zero Expires
	require.Empty(t, readLayout(t, s).entries)
	require.NoError(t, s.Commit(ctx, key, newEntry("x", time.Hour, "alice")))
	require.NoError(t, s.Commit(ctx, key, newEntry("x", -time.Nanosecond, "alice")))
	l := readLayout(t, s)
	require.Empty(t, l.entries)
	require.Empty(t, l.expiry)
	require.Empty(t, l.users)
	require.Greater(t, txID(t, s), before)

	// A far future, past what Unix nanoseconds hold, is simply live.
	far := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, far, serverstore.Entry{Data: []byte("far"), Expires: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}))
	requireData(t, s, far, "far")
	checkConsistent(t, s)
}

func TestNoWriteWithoutChange(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	before := txID(t, s)
	require.NoError(t, s.Delete(ctx, storetest.NewKey()))
	require.NoError(t, s.Update(ctx, storetest.NewKey(), nil, func([]byte, bool) (serverstore.Entry, bool, error) {
		return newEntry("x", time.Hour, ""), false, nil
	}))
	_, err := s.DeleteUser(ctx, "nobody")
	require.NoError(t, err)
	require.Equal(t, before, txID(t, s), "a call that changed nothing committed a transaction")
}

func TestUserIDs(t *testing.T) {
	// User IDs are opaque bytes: one that starts like another, or holds
	// NULs or the bytes of a length, is a different user all the same.
	s := newStore(t)
	ctx := t.Context()
	users := []string{"a", "a\x00b", "ab", "\x01a", "a\x00", strings.Repeat("u", 300), "\x00"}
	keys := map[string]string{}
	for _, u := range users {
		keys[u] = storetest.NewKey()
		require.NoError(t, s.Commit(ctx, keys[u], newEntry(u, time.Hour, u)))
	}
	for _, u := range users {
		got, err := s.FindUser(ctx, u)
		require.NoError(t, err)
		require.Equal(t, map[string][]byte{keys[u]: []byte(u)}, got, "user %q", u)
	}
	n, err := s.DeleteUser(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	for _, u := range users[1:] {
		requireData(t, s, keys[u], u)
	}
	checkConsistent(t, s)
}

// TestReadOnly opens a file read-only through bolt's options: sessions
// can be read, every write fails with a clear error, and the file is
// intact afterwards.
func TestReadOnly(t *testing.T) {
	path := tempPath(t)
	ctx := t.Context()
	key := storetest.NewKey()
	s, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, s.Commit(ctx, key, newEntry("kept", time.Hour, "alice")))
	require.NoError(t, s.Close())
	orig, err := os.ReadFile(path)
	require.NoError(t, err)

	before := sweepers()
	ro := openStore(t, path, WithBoltOptions(&bolt.Options{ReadOnly: true}))
	require.Equal(t, before, sweepers(), "a read-only Backend has no sweeper")
	requireData(t, ro, key, "kept")
	got, err := ro.FindUser(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, got, 1)

	// A second reader shares the file; a writer cannot have it.
	ro2 := openStore(t, path, WithBoltOptions(&bolt.Options{ReadOnly: true}))
	requireData(t, ro2, key, "kept")
	_, err = Open(path, WithOpenTimeout(100*time.Millisecond))
	require.ErrorIs(t, err, ErrLocked)

	for name, call := range allCalls(ro, key, newEntry("changed", time.Hour, "bob")) {
		err := noPanic(t, name, func() error { return call(ctx) })
		switch name {
		case "Find", "FindUser", "Sweep", "Scan", "Count": // Sweep: nothing is due
			require.NoError(t, err, name)
		default:
			require.ErrorIs(t, err, berrors.ErrDatabaseReadOnly, name)
			require.Contains(t, err.Error(), "read-only", name)
			require.NotContains(t, err.Error(), key, name)
			require.NotContains(t, err.Error(), "changed", name)
		}
	}
	requireData(t, ro, key, "kept")
	require.NoError(t, ro.Close())
	require.NoError(t, ro2.Close())

	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(orig, after), "a read-only Backend changed the file")
	s = openStore(t, path)
	requireData(t, s, key, "kept")
	requireIntact(t, s)
}

// TestReadOnlyEmptyFile opens read-only a bolt file where no Backend ever
// wrote: it holds no sessions, and reads say so without error.
func TestReadOnlyEmptyFile(t *testing.T) {
	path := tempPath(t)
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	s := openStore(t, path, WithBoltOptions(&bolt.Options{ReadOnly: true}))
	requireMissing(t, s, storetest.NewKey())
	got, err := s.FindUser(t.Context(), "alice")
	require.NoError(t, err)
	require.Empty(t, got)
	n, err := s.Sweep(t.Context())
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestReadOnlyFile chmods the file: opening it for writing fails with the
// operating system's clear error, opening it read-only works.
func TestReadOnlyFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root, which file permissions do not stop: TestReadOnly covers a read-only file through bolt's ReadOnly option")
	}
	path := tempPath(t)
	key := storetest.NewKey()
	s, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, s.Commit(t.Context(), key, newEntry("kept", time.Hour, "")))
	require.NoError(t, s.Close())
	require.NoError(t, os.Chmod(path, 0o400))
	orig, err := os.ReadFile(path)
	require.NoError(t, err)

	_, err = Open(path)
	require.ErrorIs(t, err, os.ErrPermission)
	require.Contains(t, err.Error(), "boltstore: open "+path)

	ro := openStore(t, path, WithBoltOptions(&bolt.Options{ReadOnly: true}))
	requireData(t, ro, key, "kept")
	require.ErrorIs(t, ro.Commit(t.Context(), key, newEntry("x", time.Hour, "")), berrors.ErrDatabaseReadOnly)
	require.NoError(t, ro.Close())
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(orig, after))

	// A directory where the file cannot be created.
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o500))
	_, err = Open(filepath.Join(dir, "sessions.db"))
	require.ErrorIs(t, err, os.ErrPermission)
}

// TestWriteFailure opens the file through a descriptor the operating
// system refuses writes to, as a failing or full disk does: every write
// fails with an error, reads go on working, and the file is intact.
func TestWriteFailure(t *testing.T) {
	path := tempPath(t)
	ctx := t.Context()
	key, other := storetest.NewKey(), storetest.NewKey()
	s, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, s.Commit(ctx, key, newEntry("kept", time.Hour, "alice")))
	require.NoError(t, s.Commit(ctx, other, newEntry("other", time.Hour, "")))
	require.NoError(t, s.Close())
	orig, err := os.ReadFile(path)
	require.NoError(t, err)

	readOnlyFD := func(name string, _ int, perm os.FileMode) (*os.File, error) {
		return os.OpenFile(name, os.O_RDONLY, perm)
	}
	s = openStore(t, path, WithBoltOptions(&bolt.Options{OpenFile: readOnlyFD}), WithSweepInterval(0))
	big := bytes.Repeat([]byte("y"), 1<<20)
	for name, call := range allCalls(s, key, serverstore.Entry{Data: big, Expires: time.Now().Add(time.Hour), UserID: "bob"}) {
		err := noPanic(t, name, func() error { return call(ctx) })
		switch name {
		case "Find", "FindUser", "Sweep", "Scan", "Count":
			require.NoError(t, err, name)
		default:
			require.Error(t, err, name)
			require.True(t, strings.HasPrefix(err.Error(), "boltstore: "), err.Error())
			require.NotContains(t, err.Error(), key, name)
		}
		// Every failure rolled back: the Backend still serves what it held.
		requireData(t, s, key, "kept")
		requireData(t, s, other, "other")
	}
	require.NoError(t, s.Close())

	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(orig, after), "a failed write changed the file")
	s = openStore(t, path)
	requireData(t, s, key, "kept")
	requireIntact(t, s)
}

// requireIntact fails t unless bolt's consistency check passes on s's
// file and s's indexes agree with its entries.
func requireIntact(t *testing.T, s *Backend) {
	t.Helper()
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bolt check: %v", err)
		}
		return nil
	}))
	checkConsistent(t, s)
}

func TestOpenNotABoltFile(t *testing.T) {
	path := tempPath(t)
	junk := bytes.Repeat([]byte("not a bolt file "), 1024)
	require.NoError(t, os.WriteFile(path, junk, 0o600))
	_, err := Open(path)
	require.Error(t, err)
	require.Contains(t, err.Error(), "boltstore: open "+path)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(junk, after), "Open changed a file that is not a bolt file")
}

func TestForeignBucket(t *testing.T) {
	db, err := bolt.Open(tempPath(t), 0o600, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("sessions"))
		if err != nil {
			return err
		}
		return b.Put([]byte("app"), []byte("data"))
	}))
	_, err = OpenDB(db)
	require.ErrorIs(t, err, ErrForeignBucket)
	require.Contains(t, err.Error(), `"sessions"`)

	// In a bucket of their own, sessions live beside the application's
	// data, and two Backends do not see each other's.
	s1, err := OpenDB(db, WithBucket("web"))
	require.NoError(t, err)
	defer s1.Close()
	s2, err := OpenDB(db, WithBucket("api"))
	require.NoError(t, err)
	defer s2.Close()
	key := storetest.NewKey()
	require.NoError(t, s1.Commit(t.Context(), key, newEntry("web", time.Hour, "alice")))
	requireMissing(t, s2, key)
	n, err := s2.DeleteUser(t.Context(), "alice")
	require.NoError(t, err)
	require.Zero(t, n)
	requireData(t, s1, key, "web")
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		require.Equal(t, "data", string(tx.Bucket([]byte("sessions")).Get([]byte("app"))))
		return nil
	}))
}

// TestContextExpiresWaitingForWriteLock holds bolt's write lock while a
// Commit waits for it: when its context ends meanwhile, the Commit
// writes nothing once it gets the lock.
func TestContextExpiresWaitingForWriteLock(t *testing.T) {
	s := newStore(t)
	key := storetest.NewKey()
	locked, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.db.Update(func(*bolt.Tx) error {
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Commit(ctx, key, newEntry("late", time.Hour, "")) }()
	<-ctx.Done()
	close(release)
	require.ErrorIs(t, <-done, context.DeadlineExceeded)
	requireMissing(t, s, key)
}

func TestUpdateErrorAndPanic(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	key := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, key, newEntry("v1", time.Hour, "alice")))

	errFn := errors.New("fn failed")
	err := s.Update(ctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) {
		return newEntry("v2", time.Hour, "bob"), true, errFn
	})
	require.Equal(t, errFn, err, "fn's error is returned as it is")

	// A panicking fn rolls the transaction back and leaves the Backend
	// usable.
	require.Panics(t, func() {
		_ = s.Update(ctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) { panic("boom") })
	})
	requireData(t, s, key, "v1")
	require.NoError(t, s.Commit(ctx, key, newEntry("v3", time.Hour, "alice")))
	requireData(t, s, key, "v3")
	checkConsistent(t, s)
}

func TestUndecodableEntry(t *testing.T) {
	// Whatever got into the entries bucket that is not an entry is never
	// served, and writes replace or remove it.
	s := newStore(t, WithSweepInterval(0))
	ctx := t.Context()
	key := storetest.NewKey()
	require.NoError(t, s.db.Update(func(tx *bolt.Tx) error {
		b, err := s.writeBuckets(tx)
		require.NoError(t, err)
		return b.entries.Put([]byte(key), []byte{1, 2, 3})
	}))
	requireMissing(t, s, key)
	require.NoError(t, s.Update(ctx, key, nil, func(_ []byte, found bool) (serverstore.Entry, bool, error) {
		require.False(t, found)
		return newEntry("fixed", time.Hour, "alice"), true, nil
	}))
	requireData(t, s, key, "fixed")
	checkConsistent(t, s)
}

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}

// lockedBuffer is a bytes.Buffer safe for a logger and a test at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// benchKeys returns n keys, each committed to s with 200 bytes of data.
func benchKeys(b *testing.B, s *Backend, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = storetest.NewKey()
	}
	data := bytes.Repeat([]byte("x"), 200)
	putAll(b, s, keys, func(i int) serverstore.Entry {
		return serverstore.Entry{Data: data, Expires: time.Now().Add(time.Hour), UserID: fmt.Sprint("user", i%100)}
	})
	return keys
}

// putAll stores entry(i) under keys[i], for every i, in one transaction:
// quicker than a Commit, and a synced transaction, each. An entry whose
// Expires has passed is stored all the same, as if it had expired since.
func putAll(t testing.TB, s *Backend, keys []string, entry func(i int) serverstore.Entry) {
	t.Helper()
	require.NoError(t, s.db.Update(func(tx *bolt.Tx) error {
		bk, err := s.writeBuckets(tx)
		if err != nil {
			return err
		}
		for i, key := range keys {
			// At time 0, no entry has expired yet.
			if err := bk.put([]byte(key), entry(i), 0); err != nil {
				return err
			}
		}
		return nil
	}))
}

func BenchmarkStore(b *testing.B) {
	s := newStore(b)
	storetest.Benchmark(b, s, benchKeys(b, s, 10_000))
}

// BenchmarkNoSync is BenchmarkStore with bolt's NoSync: the cost of the
// transactions themselves, without the disk's fsync latency that
// dominates synced writes.
func BenchmarkNoSync(b *testing.B) {
	s := newStore(b, WithBoltOptions(&bolt.Options{NoSync: true}))
	storetest.Benchmark(b, s, benchKeys(b, s, 10_000))
}
