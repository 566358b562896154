package sqlitestore

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sweep"
	"github.com/go-sealed/session/serverstore/storetest"
)

// TestDiskFull makes the files unable to grow, as on a full disk, with a
// file size limit (RLIMIT_FSIZE, which binds root too; the Go runtime
// ignores the SIGXFSZ that comes with it, so the write fails with EFBIG).
// A write that needs more room fails with a clear error; the Backend
// keeps serving what it held, takes writes again once there is room, and
// the database is intact.
func TestDiskFull(t *testing.T) {
	path := tempPath(t)
	db := openDB(t, path, testParams)
	s := newBackend(t, db)
	ctx := t.Context()
	key := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, key, entry("kept", time.Hour, "alice")))
	var size int64
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(f)
		require.NoError(t, err)
		size = max(size, info.Size())
	}

	// The limit is process-wide: keep the window short, and write
	// nothing else in it.
	var old syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old))
	limited := old
	limited.Cur = uint64(size)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limited))
	restored := false
	restore := func() {
		if !restored {
			restored = true
			require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old))
		}
	}
	defer restore()

	big := serverstore.Entry{Data: bytes.Repeat([]byte("y"), 4<<20), Expires: time.Now().Add(time.Hour), UserID: "bob"}
	other := storetest.NewKey()
	errBig := s.Commit(ctx, other, big)
	errUpdate := s.Update(ctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) { return big, true, nil })
	restore()

	for name, err := range map[string]error{"Commit": errBig, "Update": errUpdate} {
		requireCleanError(t, name, err, `disk I/O error|database or disk is full`, other, "yyyy")
	}
	requireReads(t, s, key)
	_, found, err := s.Find(ctx, other)
	require.NoError(t, err)
	require.False(t, found)

	// With room again, the same Backend writes.
	require.NoError(t, s.Commit(ctx, other, big))
	data, found, err := s.Find(ctx, other)
	require.NoError(t, err)
	require.True(t, found)
	require.Len(t, data, len(big.Data))
	var check string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&check))
	require.Equal(t, "ok", check)
}

// readOnly makes the files and directories paths unwritable, even to
// root (with chattr +i, as file permissions do not stop root), until t
// ends; it skips t where it cannot.
func readOnly(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		var err error
		if os.Geteuid() == 0 {
			var out []byte
			if out, err = exec.Command("chattr", "+i", p).CombinedOutput(); err != nil {
				t.Skipf("running as root, which file permissions do not stop, and chattr +i failed (%v: %s)", err, out)
			}
			t.Cleanup(func() { _ = exec.Command("chattr", "-i", p).Run() })
		} else {
			info, err := os.Stat(p)
			require.NoError(t, err)
			require.NoError(t, os.Chmod(p, info.Mode().Perm()&^0o222))
			t.Cleanup(func() { _ = os.Chmod(p, info.Mode().Perm()) })
		}
	}
}

// TestReadOnlyDirectory puts the database on what is, to the process, a
// read-only disk: its file and its directory unwritable. SQLite then opens
// the file read-only by itself, but cannot read a WAL database without
// its -shm file, which it cannot create: New fails at once with a clear
// error. Opened with immutable=1 (the file is not to change), the
// database serves reads, and writes fail cleanly.
func TestReadOnlyDirectory(t *testing.T) {
	path := tempPath(t)
	rw := openDB(t, path, testParams)
	s, err := New(t.Context(), rw, WithSweepInterval(0))
	require.NoError(t, err)
	key := storetest.NewKey()
	require.NoError(t, s.Commit(t.Context(), key, entry("kept", time.Hour, "alice")))
	require.NoError(t, rw.Close()) // checkpoints the WAL into the file, and removes it
	orig, err := os.ReadFile(path)
	require.NoError(t, err)
	readOnly(t, path, filepath.Dir(path))

	_, err = New(t.Context(), openDB(t, path, testParams))
	require.ErrorContains(t, err, "sqlitestore: open: unable to open database file")

	before := storetest.Goroutines(sweep.Frame)
	ro, err := New(t.Context(), openDB(t, path, "immutable=1&"+testParams))
	require.NoError(t, err)
	defer ro.Close()
	require.Equal(t, before, storetest.Goroutines(sweep.Frame), "a read-only Backend has no sweeper")
	requireReads(t, ro, key)
	for _, c := range writes(ro, key, entry("changed", time.Hour, "bob")) {
		requireCleanError(t, c.name, c.fn(t.Context()), "attempt to write a readonly database", key, "changed")
	}
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(orig, after), "the file changed")
}
