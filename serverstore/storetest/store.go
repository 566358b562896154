package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
)

// newStore returns a Store on a fresh backend, the backend itself (to look
// under the Store) and the counts of the Store's calls to it.
func newStore(t *testing.T, newBackend func(t *testing.T) serverstore.Backend) (*serverstore.Store, serverstore.Backend, *Counts) {
	b := newBackend(t)
	counted, counts := Count(b)
	return serverstore.New(counted), b, counts
}

// record returns a record with every stored field set, expiring in ttl.
func record(id, user, data string, ttl time.Duration) *session.Record {
	now := time.Now()
	return &session.Record{
		ID:         id,
		Created:    now.Add(-time.Minute),
		Touched:    now,
		Expires:    now.Add(ttl),
		Persistent: true,
		UserID:     user,
		Data:       []byte(data),
	}
}

// requireRecord fails t unless got holds what want does. Times are
// compared as instants: a store need not keep their location.
func requireRecord(t *testing.T, want, got *session.Record) {
	t.Helper()
	require.NotNil(t, got, "record not found")
	require.Equal(t, want.ID, got.ID)
	require.True(t, want.Created.Equal(got.Created), "Created %v, want %v", got.Created, want.Created)
	require.True(t, want.Touched.Equal(got.Touched), "Touched %v, want %v", got.Touched, want.Touched)
	require.True(t, want.Expires.Equal(got.Expires), "Expires %v, want %v", got.Expires, want.Expires)
	require.Equal(t, want.Persistent, got.Persistent)
	require.Equal(t, want.UserID, got.UserID)
	require.Equal(t, string(want.Data), string(got.Data))
}

// load returns the record token names, or nil when it names none: then
// Load's error must say why, wrapping session.ErrInvalidToken.
func load(t *testing.T, s *serverstore.Store, token string) *session.Record {
	t.Helper()
	rec, err := s.Load(t.Context(), token)
	if err != nil {
		require.ErrorIs(t, err, session.ErrInvalidToken)
		require.Nil(t, rec)
	}
	return rec
}

func save(t *testing.T, s *serverstore.Store, token string, rec *session.Record) string {
	t.Helper()
	token, err := s.Save(t.Context(), token, rec)
	require.NoError(t, err)
	return token
}

// KeyOf returns the backend key of token, as serverstore derives it (the
// hex SHA-256 of the token's 32 bytes), for tests that look at what a
// backend holds for a session.
func KeyOf(t testing.TB, token string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(token)
	require.NoError(t, err)
	require.Len(t, raw, 32)
	return rawKey(raw)
}

func rawKey(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// runStore checks serverstore.Store on the backend.
func runStore(t *testing.T, newBackend func(t *testing.T) serverstore.Backend) {
	t.Run("Sealing", func(t *testing.T) { runSealing(t, newBackend) })
	t.Run("StoreWide", func(t *testing.T) {
		s, b, _ := newStore(t, newBackend)
		if _, ok := b.(serverstore.Scanner); !ok {
			t.Skip("backend does not implement serverstore.Scanner")
		}
		testStoreWide(t, s)
	})

	t.Run("SaveLoad", func(t *testing.T) {
		s, b, counts := newStore(t, newBackend)
		want := record("id1", "alice", "data", live)
		token := save(t, s, "", want)
		require.Len(t, token, 43)
		key := KeyOf(t, token)
		stored, found := find(t, b, key)
		require.True(t, found, "the backend key is not the hex SHA-256 of the token's bytes")
		require.NotContains(t, string(stored), token, "the backend holds the token")

		counts.Reset()
		requireRecord(t, want, load(t, s, token))
		require.EqualValues(t, 1, counts.Reads.Load(), "Load must read once")
		require.Zero(t, counts.Writes.Load(), "Load must not write")
		require.NotEqual(t, token, save(t, s, "", want), "two saves of new sessions got one token")
	})

	t.Run("SaveOverwrites", func(t *testing.T) {
		s, _, _ := newStore(t, newBackend)
		token := save(t, s, "", record("id1", "alice", "one", live))
		want := record("id1", "", "two", 2*live)
		want.Persistent = false
		require.Equal(t, token, save(t, s, token, want))
		requireRecord(t, want, load(t, s, token))
	})

	t.Run("LoadUnknownOrMalformed", func(t *testing.T) {
		s, _, counts := newStore(t, newBackend)
		token := save(t, s, "", record("id1", "", "data", live))
		require.Nil(t, load(t, s, strings.Repeat("A", 43)), "unknown token")
		counts.Reset()
		malformed := []string{
			"", "short", token[:42], token + "A",
			token[:42] + "!",        // outside the alphabet
			token[:42] + "B",        // non-zero padding bits: a second spelling of some token
			strings.Repeat("A", 44), // decodes to 33 bytes
			KeyOf(t, token),         // a key is not a token
		}
		for _, m := range malformed {
			require.Nil(t, load(t, s, m), "malformed token %q", m)
			require.NoError(t, s.Delete(t.Context(), m))
		}
		require.Zero(t, counts.Reads.Load()+counts.Writes.Load(), "a malformed token reached the backend")
		require.NotNil(t, load(t, s, token))
	})

	t.Run("ExpiredNotLoaded", func(t *testing.T) {
		s, _, _ := newStore(t, newBackend)
		token := save(t, s, "", record("id1", "", "data", -time.Second))
		require.Nil(t, load(t, s, token))
		_, err := s.Save(t.Context(), "", &session.Record{ID: "no expiry"})
		require.Error(t, err, "a record without Expires would never load")
	})

	t.Run("Renew", func(t *testing.T) {
		s, _, _ := newStore(t, newBackend)
		old := save(t, s, "", record("id1", "alice", "data", live))
		want := record("id2", "alice", "data", live)
		token, err := s.Renew(t.Context(), old, want)
		require.NoError(t, err)
		require.NotEqual(t, old, token)
		require.Nil(t, load(t, s, old), "the old token still loads after Renew")
		requireRecord(t, want, load(t, s, token))

		// Renewing from a malformed token just stores the record.
		token, err = s.Renew(t.Context(), "malformed", want)
		require.NoError(t, err)
		requireRecord(t, want, load(t, s, token))
	})

	t.Run("RenewGone", func(t *testing.T) {
		// A session that is gone is not renewed: Renew returns "" and
		// leaves nothing behind, so that a request renewing its session
		// while "log out everywhere" runs does not bring it back.
		s, _, _ := newStore(t, newBackend)
		ctx := t.Context()
		for name, end := range map[string]func(token string){
			"deleted": func(token string) { require.NoError(t, s.Delete(ctx, token)) },
			"destroyed with its user": func(token string) {
				if _, err := s.DestroyUser(ctx, "bob"); errors.Is(err, serverstore.ErrNoUserIndex) {
					require.NoError(t, s.Delete(ctx, token))
				} else {
					require.NoError(t, err)
				}
			},
			"expired": func(string) { time.Sleep(100 * time.Millisecond) },
		} {
			old := save(t, s, "", record("id1", "bob", "data", 50*time.Millisecond))
			end(old)
			token, err := s.Renew(ctx, old, record("id2", "bob", "data", live))
			require.NoError(t, err, name)
			require.Empty(t, token, "a %s session was renewed", name)
			require.Nil(t, load(t, s, old), name)
			if list, err := s.ListUser(ctx, "bob"); err == nil {
				require.Empty(t, list, "a %s session came back in the user index", name)
			}
		}
	})

	t.Run("Update", func(t *testing.T) {
		s, b, _ := newStore(t, newBackend)
		ctx := t.Context()
		cur := record("id1", "alice", "v1", live)
		token := save(t, s, "", cur)

		next := record("id1", "alice", "v2", live)
		got, err := s.Update(ctx, token, nil, func(rec *session.Record) (*session.Record, error) {
			requireRecord(t, cur, rec)
			return next, nil
		})
		require.NoError(t, err)
		require.Equal(t, token, got)
		requireRecord(t, next, load(t, s, token))

		// fn returning nil writes nothing.
		got, err = s.Update(ctx, token, nil, func(*session.Record) (*session.Record, error) { return nil, nil })
		require.NoError(t, err)
		require.Empty(t, got)
		requireRecord(t, next, load(t, s, token))

		// fn's error is returned and nothing is written.
		errFn := errors.New("fn failed")
		_, err = s.Update(ctx, token, nil, func(*session.Record) (*session.Record, error) { return cur, errFn })
		require.ErrorIs(t, err, errFn)
		requireRecord(t, next, load(t, s, token))

		// A destroyed session is passed as nil, and stays destroyed.
		require.NoError(t, s.Delete(ctx, token))
		got, err = s.Update(ctx, token, nil, func(rec *session.Record) (*session.Record, error) {
			require.Nil(t, rec)
			return nil, nil
		})
		require.NoError(t, err)
		require.Empty(t, got)
		requireMissing(t, b, KeyOf(t, token))
	})

	t.Run("UpdateLoaded", func(t *testing.T) {
		// The loaded record is a hint (HintedTransactor backends use it
		// to skip a read, the others ignore it): right or wrong, the
		// result is as if Update had read the record itself.
		s, b, _ := newStore(t, newBackend)
		ctx := t.Context()
		token := save(t, s, "", record("id1", "alice", "v1", live))
		appendX := func(seen *[]string) func(*session.Record) (*session.Record, error) {
			return func(rec *session.Record) (*session.Record, error) {
				if rec == nil {
					*seen = append(*seen, "<nil>")
					return nil, nil
				}
				*seen = append(*seen, string(rec.Data))
				out := rec.Clone()
				out.Data = append(out.Data, "+x"...)
				return out, nil
			}
		}

		// Still what is stored: the result is written.
		var seen []string
		loaded := load(t, s, token)
		got, err := s.Update(ctx, token, loaded, appendX(&seen))
		require.NoError(t, err)
		require.Equal(t, token, got)
		require.Equal(t, "v1+x", string(load(t, s, token).Data))
		require.Equal(t, []string{"v1"}, seen)

		// Stale: another save came between the load and the update. fn
		// runs on what is stored, and only that result is written.
		seen = nil
		loaded = load(t, s, token)
		save(t, s, token, record("id1", "bob", "v2", live))
		_, err = s.Update(ctx, token, loaded, appendX(&seen))
		require.NoError(t, err)
		require.Equal(t, "v2+x", string(load(t, s, token).Data))
		require.Equal(t, "v2", seen[len(seen)-1], "the last call of fn saw what is stored")
		if _, ok := b.(serverstore.UserIndex); ok {
			users, err := s.ListUser(ctx, "bob")
			require.NoError(t, err)
			require.Len(t, users, 1, "the stale hint's owner was taken for the stored one")
			users, err = s.ListUser(ctx, "alice")
			require.NoError(t, err)
			require.Empty(t, users)
		}

		// Gone: a session destroyed meanwhile stays destroyed.
		seen = nil
		loaded = load(t, s, token)
		require.NoError(t, s.Delete(ctx, token))
		got, err = s.Update(ctx, token, loaded, appendX(&seen))
		require.NoError(t, err)
		require.Empty(t, got)
		require.Equal(t, "<nil>", seen[len(seen)-1])
		requireMissing(t, b, KeyOf(t, token))

		// Expired since it was loaded: passed as nil, like a stored
		// record past its Expires.
		seen = nil
		short := record("id2", "", "brief", 50*time.Millisecond)
		token = save(t, s, "", short)
		loaded = load(t, s, token)
		time.Sleep(60 * time.Millisecond)
		got, err = s.Update(ctx, token, loaded, appendX(&seen))
		require.NoError(t, err)
		require.Empty(t, got)
		require.Equal(t, "<nil>", seen[len(seen)-1])
	})

	for _, hinted := range []bool{false, true} {
		t.Run(fmt.Sprintf("ConcurrentUpdates/loaded=%v", hinted), func(t *testing.T) {
			s, _, _ := newStore(t, newBackend)
			token := save(t, s, "", record("id1", "", "\x00\x00\x00\x00\x00\x00\x00\x00", live))
			const n = 50
			atOnce(n, func() {
				var loaded *session.Record
				if hinted {
					// Loaded as a request does: by the time it saves,
					// most of these are stale.
					var err error
					if loaded, err = s.Load(t.Context(), token); !assert.NoError(t, err) {
						return
					}
				}
				_, err := s.Update(t.Context(), token, loaded, func(rec *session.Record) (*session.Record, error) {
					runtime.Gosched() // see TransactorCounter
					out := rec.Clone()
					out.Data = binary.BigEndian.AppendUint64(nil, binary.BigEndian.Uint64(rec.Data)+1)
					return out, nil
				})
				assert.NoError(t, err)
			})
			require.Equal(t, uint64(n), binary.BigEndian.Uint64(load(t, s, token).Data), "concurrent Updates lost increments")
		})
	}

	t.Run("Delete", func(t *testing.T) {
		s, _, _ := newStore(t, newBackend)
		token := save(t, s, "", record("id1", "", "data", live))
		require.NoError(t, s.Delete(t.Context(), token))
		require.Nil(t, load(t, s, token))
		require.NoError(t, s.Delete(t.Context(), token), "deleting twice")
	})

	t.Run("Users", func(t *testing.T) {
		s, b, _ := newStore(t, newBackend)
		if _, ok := b.(serverstore.UserIndex); !ok {
			_, err := s.ListUser(t.Context(), "alice")
			require.ErrorIs(t, err, serverstore.ErrNoUserIndex)
			_, err = s.DestroyUser(t.Context(), "alice")
			require.ErrorIs(t, err, serverstore.ErrNoUserIndex)
			return
		}
		testUsers(t, s)
	})
}

// testUsers checks ListUser, DestroyHandle and DestroyUser.
func testUsers(t *testing.T, s *serverstore.Store) {
	ctx := t.Context()
	older := record("alice-laptop", "alice", "1", live)
	older.Touched = older.Touched.Add(-time.Second)
	newer := record("alice-phone", "alice", "2", live)
	tOlder, tNewer := save(t, s, "", older), save(t, s, "", newer)
	tBob := save(t, s, "", record("bob-laptop", "bob", "3", live))
	save(t, s, "", record("anonymous", "", "4", live))

	infos, err := s.ListUser(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, infos, 2)
	require.Equal(t, "alice-phone", infos[0].ID, "most recently used first")
	require.Equal(t, "alice-laptop", infos[1].ID)
	require.True(t, older.Created.Equal(infos[1].Created))
	require.True(t, older.Touched.Equal(infos[1].Touched))
	require.True(t, older.Expires.Equal(infos[1].Expires))
	require.Equal(t, KeyOf(t, tOlder), infos[1].Handle)
	require.Nil(t, load(t, s, infos[0].Handle), "a handle works as a token")

	_, err = s.ListUser(ctx, "")
	require.Error(t, err, "listing the sessions of no user")
	_, err = s.DestroyUser(ctx, "")
	require.Error(t, err, "destroying the sessions of no user")
	_, err = s.DestroyHandle(ctx, "alice", "not a handle")
	require.Error(t, err)

	// Another user's handle does nothing.
	done, err := s.DestroyHandle(ctx, "bob", infos[1].Handle)
	require.NoError(t, err)
	require.False(t, done)
	require.NotNil(t, load(t, s, tOlder))

	done, err = s.DestroyHandle(ctx, "alice", infos[1].Handle)
	require.NoError(t, err)
	require.True(t, done)
	require.Nil(t, load(t, s, tOlder))

	n, err := s.DestroyUser(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Nil(t, load(t, s, tNewer))
	infos, err = s.ListUser(ctx, "alice")
	require.NoError(t, err)
	require.Empty(t, infos)
	require.NotNil(t, load(t, s, tBob), "another user's session was destroyed")
}

// storeCalls returns a call of each of the methods of a serverstore.Store
// on b, with the token and key they use.
func storeCalls(b serverstore.Backend) (calls []namedCall, token, key string) {
	s := serverstore.New(b)
	raw := []byte(strings.Repeat("k", 32))
	token, key = base64.RawURLEncoding.EncodeToString(raw), rawKey(raw)
	rec := record("id1", "alice", "data", live)
	update := func(*session.Record) (*session.Record, error) { return rec, nil }
	calls = []namedCall{
		{"Store.Load", func(ctx context.Context) error { _, err := s.Load(ctx, token); return err }},
		{"Store.SaveNew", func(ctx context.Context) error { _, err := s.Save(ctx, "", rec); return err }},
		{"Store.Save", func(ctx context.Context) error { _, err := s.Save(ctx, token, rec); return err }},
		{"Store.Renew", func(ctx context.Context) error { _, err := s.Renew(ctx, token, rec); return err }},
		{"Store.Update", func(ctx context.Context) error { _, err := s.Update(ctx, token, nil, update); return err }},
		{"Store.UpdateLoaded", func(ctx context.Context) error { _, err := s.Update(ctx, token, rec, update); return err }},
		{"Store.Delete", func(ctx context.Context) error { return s.Delete(ctx, token) }},
	}
	if _, ok := b.(serverstore.UserIndex); ok {
		calls = append(calls,
			namedCall{"Store.ListUser", func(ctx context.Context) error { _, err := s.ListUser(ctx, "alice"); return err }},
			namedCall{"Store.DestroyUser", func(ctx context.Context) error { _, err := s.DestroyUser(ctx, "alice"); return err }},
			namedCall{"Store.DestroyHandle", func(ctx context.Context) error { _, err := s.DestroyHandle(ctx, "alice", key); return err }})
	}
	return calls, token, key
}
