package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
)

// scanned is more entries than any backend fetches in one batch, so that
// Scan is seen to go from batch to batch.
const scanned = 250

// testScanner checks Scan, Count and DeleteAll of a backend holding live
// entries of several users and expired ones.
func testScanner(t *testing.T, b serverstore.Backend, sc serverstore.Scanner) {
	ctx := t.Context()
	n, err := sc.Count(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "Count of an empty backend")
	for kd, err := range sc.Scan(ctx) {
		require.NoError(t, err)
		t.Fatalf("Scan of an empty backend yielded %q", kd.Key)
	}

	want := map[string]string{}
	for i := range scanned {
		key, data := NewKey(), fmt.Sprintf("entry %d", i)
		require.NoError(t, b.Commit(ctx, key, entry(data, live, []string{"", "alice", "bob"}[i%3])))
		want[key] = data
	}
	for range 5 {
		require.NoError(t, b.Commit(ctx, NewKey(), entry("expired", -time.Second, "alice")))
	}

	n, err = sc.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, scanned, n, "Count counts live entries only")
	got := map[string]string{}
	for kd, err := range sc.Scan(ctx) {
		require.NoError(t, err)
		_, dup := got[kd.Key]
		require.False(t, dup, "Scan yielded a key twice")
		got[kd.Key] = string(kd.Data)
	}
	require.Equal(t, want, got, "Scan yields every live entry, with its data, and no expired one")

	seen := 0
	for _, err := range sc.Scan(ctx) {
		require.NoError(t, err)
		if seen++; seen == 3 {
			break // a caller that stops early stops the scan
		}
	}

	n, err = sc.DeleteAll(ctx)
	require.NoError(t, err)
	require.Equal(t, scanned, n, "DeleteAll counts the live entries it deleted")
	for key := range want {
		requireMissing(t, b, key)
	}
	n, err = sc.Count(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	if ui, ok := b.(serverstore.UserIndex); ok {
		require.Empty(t, userKeys(t, ui, "alice"), "DeleteAll left user-index entries")
	}
}

// testStoreWide checks Store.All, Count and DestroyAll end to end.
func testStoreWide(t *testing.T, s *serverstore.Store) {
	ctx := t.Context()
	tokens := map[string]*session.Record{}
	for i := range 20 {
		rec := record(fmt.Sprintf("id%02d", i), []string{"", "alice"}[i%2], "data", live)
		tokens[save(t, s, "", rec)] = rec
	}
	save(t, s, "", record("gone", "alice", "data", 50*time.Millisecond))
	time.Sleep(100 * time.Millisecond)

	n, err := s.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, len(tokens), n)
	byID := map[string]serverstore.Info{}
	for info, err := range s.All(ctx) {
		require.NoError(t, err)
		byID[info.ID] = info
	}
	require.Len(t, byID, len(tokens), "All yields every live session, and no expired one")
	for token, rec := range tokens {
		info := byID[rec.ID]
		require.Equal(t, rec.UserID, info.UserID)
		require.Equal(t, KeyOf(t, token), info.Handle)
		require.True(t, rec.Expires.Equal(info.Expires))
		require.True(t, rec.Created.Equal(info.Created))
		require.Equal(t, rec.Persistent, info.Persistent)
	}

	n, err = s.DestroyAll(ctx)
	require.NoError(t, err)
	require.Equal(t, len(tokens), n)
	for token := range tokens {
		require.Nil(t, load(t, s, token), "a session survived DestroyAll")
		// A request of it still in flight does not bring it back.
		got, err := s.Update(ctx, token, nil, func(cur *session.Record) (*session.Record, error) {
			require.Nil(t, cur)
			return nil, nil
		})
		require.NoError(t, err)
		require.Empty(t, got)
	}
}
