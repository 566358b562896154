package boltstore

import (
	"bytes"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// TestDiskFull makes the file unable to grow, as on a full disk, with a
// file size limit (RLIMIT_FSIZE, which binds root too; the Go runtime
// ignores the SIGXFSZ that comes with it, so the write fails with EFBIG).
// A Commit that needs more room fails with an error; the Backend keeps
// serving what it held, takes writes that fit, and the file is intact.
func TestDiskFull(t *testing.T) {
	path := tempPath(t)
	ctx := t.Context()
	s := openStore(t, path, WithSweepInterval(0))
	key := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, key, newEntry("kept", time.Hour, "alice")))
	info, err := os.Stat(path)
	require.NoError(t, err)

	// The limit is process-wide: keep the window short, and write
	// nothing else in it.
	var old syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old))
	limited := old
	limited.Cur = uint64(info.Size())
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

	// bolt flattens the system error into its message.
	require.Error(t, errBig)
	require.Contains(t, errBig.Error(), "boltstore: commit: ")
	require.Contains(t, errBig.Error(), syscall.EFBIG.Error())
	require.NotContains(t, errBig.Error(), other)
	require.Error(t, errUpdate)
	require.Contains(t, errUpdate.Error(), syscall.EFBIG.Error())
	requireData(t, s, key, "kept")
	requireMissing(t, s, other)
	got, err := s.FindUser(ctx, "bob")
	require.NoError(t, err)
	require.Empty(t, got)

	// With room again, the same Backend writes.
	require.NoError(t, s.Commit(ctx, other, big))
	require.NoError(t, s.Close())
	s = openStore(t, path)
	requireData(t, s, key, "kept")
	data, found, err := s.Find(ctx, other)
	require.NoError(t, err)
	require.True(t, found)
	require.Len(t, data, len(big.Data))
	requireIntact(t, s)
}
