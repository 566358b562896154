package sqlitestore

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sweep"
	"github.com/go-sealed/session/serverstore/storetest"
)

// lockHolderEnv, set to "MODE:PATH", makes the test binary a process that
// locks the database at PATH (see holdLock) instead of running tests.
const lockHolderEnv = "SQLITESTORE_TEST_LOCK_HOLDER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(lockHolderEnv); spec != "" {
		mode, path, _ := strings.Cut(spec, ":")
		if err := holdLock(mode, path); err != nil {
			fmt.Fprintln(os.Stderr, "lock holder:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holdLock locks the database at path, says "locked" on standard output,
// and holds the lock until standard input closes. Mode "write" takes the
// write lock (BEGIN IMMEDIATE), which WAL lets readers ignore; mode
// "exclusive" takes the database for itself (locking_mode EXCLUSIVE),
// which stops readers too.
func holdLock(mode, path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	stmts := map[string][]string{
		"write":     {"BEGIN IMMEDIATE"},
		"exclusive": {"PRAGMA locking_mode = EXCLUSIVE", "BEGIN EXCLUSIVE"},
	}[mode]
	if stmts == nil {
		return fmt.Errorf("unknown mode %q", mode)
	}
	for _, stmt := range stmts {
		if _, err := c.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	_, err = c.ExecContext(ctx, "ROLLBACK")
	return err
}

// lockInOtherProcess locks the database at path from another process, as
// holdLock does in mode, and returns the function that ends that process,
// releasing the lock (also called when t ends).
func lockInOtherProcess(t *testing.T, path, mode string) (release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+mode+":"+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var once sync.Once
	release = func() {
		once.Do(func() {
			_ = stdin.Close()
			assert.NoError(t, cmd.Wait(), "the lock holder failed")
		})
	}
	t.Cleanup(release)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "the lock holder did not lock")
	require.Equal(t, "locked\n", line)
	return release
}

// call is a named call of a Backend method.
type call struct {
	name string
	fn   func(ctx context.Context) error
}

// writes returns a call of each of s's methods that write, on key with e.
func writes(s *Backend, key string, e serverstore.Entry) []call {
	write := func([]byte, bool) (serverstore.Entry, bool, error) { return e, true, nil }
	return []call{
		{"Commit", func(ctx context.Context) error { return s.Commit(ctx, storetest.NewKey(), e) }},
		{"Delete", func(ctx context.Context) error { return s.Delete(ctx, key) }},
		{"Update", func(ctx context.Context) error { return s.Update(ctx, key, nil, write) }},
		{"UpdateHinted", func(ctx context.Context) error { return s.Update(ctx, key, &e, write) }},
		{"Rename", func(ctx context.Context) error { return s.Rename(ctx, key, storetest.NewKey(), e) }},
		{"DeleteUser", func(ctx context.Context) error { _, err := s.DeleteUser(ctx, "alice"); return err }},
		{"DeleteAll", func(ctx context.Context) error { _, err := s.DeleteAll(ctx); return err }},
		{"Sweep", func(ctx context.Context) error { _, err := s.Sweep(ctx); return err }},
	}
}

// requireReads checks that s serves what it holds: key's "kept", tagged
// alice, and nothing else.
func requireReads(t *testing.T, s *Backend, key string) {
	t.Helper()
	ctx := t.Context()
	data, found, err := s.Find(ctx, key)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "kept", string(data))
	users, err := s.FindUser(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, map[string][]byte{key: []byte("kept")}, users)
	n, err := s.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	for _, err := range s.Scan(ctx) {
		require.NoError(t, err)
	}
}

// requireCleanError checks err, of a call that failed: the Backend's
// prefix, a reason that matches reason, and neither key nor data.
func requireCleanError(t *testing.T, name string, err error, reason, key, data string) {
	t.Helper()
	require.Error(t, err, name)
	msg := err.Error()
	require.True(t, strings.HasPrefix(msg, "sqlitestore: "), "%s: %s", name, msg)
	require.Regexp(t, reason, msg, name)
	require.NotContains(t, msg, key, name)
	require.NotContains(t, msg, data, name)
}

// locked is the reason of a call that waited for the lock until its
// deadline: SQLite's, or, when the machine is so busy that SQLite's wait
// overran the deadline, the context's.
const locked = `database is locked|context deadline exceeded`

// TestLockedByAnotherProcess: while another process holds the write lock
// longer than a call may wait, writes fail by their deadline with
// SQLite's "database is locked" (see locked), reads go on (WAL), and
// writes work again once the lock is released; while it holds the
// database exclusively, every call fails cleanly by its deadline, the
// Manager answers 500, and all is well again after.
func TestLockedByAnotherProcess(t *testing.T) {
	path := tempPath(t)
	db := openDB(t, path, testParams)
	s := newBackend(t, db)
	ctx := t.Context()
	key := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, key, entry("kept", time.Hour, "alice")))
	const deadline = 300 * time.Millisecond
	// The same table, for calls whose context has no deadline: the
	// Backend's timeout bounds them.
	bounded, err := New(ctx, db, WithTable(s.name.Table), WithoutMigration(), WithSweepInterval(0), WithTimeout(deadline))
	require.NoError(t, err)
	defer bounded.Close()

	t.Run("write", func(t *testing.T) {
		release := lockInOtherProcess(t, path, "write")
		requireReads(t, s, key)
		for _, c := range writes(s, key, entry("changed", time.Hour, "bob")) {
			cctx, cancel := context.WithTimeout(ctx, deadline)
			start := time.Now()
			err := c.fn(cctx)
			cancel()
			elapsed := time.Since(start)
			requireCleanError(t, c.name, err, locked, key, "changed")
			require.GreaterOrEqual(t, elapsed, deadline*8/10, "%s gave up long before its deadline", c.name)
			require.Less(t, elapsed, deadline+time.Second, "%s waited past its deadline", c.name)
		}
		// Without a deadline of the caller's, the Backend's timeout
		// bounds the wait.
		start := time.Now()
		err := bounded.Commit(context.Background(), storetest.NewKey(), entry("changed", time.Hour, ""))
		requireCleanError(t, "Commit", err, locked, key, "changed")
		require.Less(t, time.Since(start), deadline+time.Second)
		requireReads(t, s, key)

		release()
		other := storetest.NewKey()
		require.NoError(t, s.Commit(ctx, other, entry("x", time.Hour, "")))
		require.NoError(t, s.Delete(ctx, other))
		requireReads(t, s, key)
	})

	t.Run("exclusive", func(t *testing.T) {
		m := session.New(serverstore.New(bounded))
		m.Cookie.Secure = false
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.Get(r).Put("n", 1)
		}))
		get := func() int {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			return rec.Code
		}

		// In WAL mode every open connection holds a shared lock on the
		// file: the other process can take it for itself only while
		// this one has none open, as when it is idle with
		// SetMaxIdleConns(0).
		db.SetMaxIdleConns(0)
		defer db.SetMaxIdleConns(2) // database/sql's default
		release := lockInOtherProcess(t, path, "exclusive")
		storetest.RunUnreachable(t, s)
		require.Equal(t, http.StatusInternalServerError, get())

		release()
		requireReads(t, s, key)
		require.Equal(t, http.StatusOK, get())
		n, err := s.Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n, "the session of the request after the lock was not saved")
	})
}

// TestReadOnly opens the database read-only (mode=ro: what SQLite does by
// itself with a file the process cannot write): New starts without a
// sweeper, reads are served, every write fails with a clear error, and
// the file is unchanged.
func TestReadOnly(t *testing.T) {
	path := tempPath(t)
	rw := openDB(t, path, testParams)
	s, err := New(t.Context(), rw, WithSweepInterval(0))
	require.NoError(t, err)
	key := storetest.NewKey()
	require.NoError(t, s.Commit(t.Context(), key, entry("kept", time.Hour, "alice")))
	require.NoError(t, rw.Close()) // checkpoints the WAL into the file
	orig, err := os.ReadFile(path)
	require.NoError(t, err)

	before := storetest.Goroutines(sweep.Frame)
	ro, err := New(t.Context(), openDB(t, path, "mode=ro&"+testParams))
	require.NoError(t, err)
	defer ro.Close()
	require.Equal(t, before, storetest.Goroutines(sweep.Frame), "a read-only Backend has no sweeper")
	requireReads(t, ro, key)
	// Sweep and DeleteAll too, even with nothing to delete: so a
	// sweeper would only log errors.
	for _, c := range writes(ro, key, entry("changed", time.Hour, "bob")) {
		requireCleanError(t, c.name, c.fn(t.Context()), "attempt to write a readonly database", key, "changed")
	}
	requireReads(t, ro, key)

	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(orig, after), "a read-only Backend changed the file")
}
