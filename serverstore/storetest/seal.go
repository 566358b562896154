package storetest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
)

// secretValue is a value whose plaintext must never show in a backend.
const secretValue = "csrf-token-7f3c9a1e-never-in-the-clear"

// runSealing checks that records are sealed at rest: the backend holds
// no value in the clear, a record opens only under its own token, a
// tampered one is a clean empty session, and records of the format
// before sealing still load, and are sealed at their next save.
func runSealing(t *testing.T, newBackend func(t *testing.T) serverstore.Backend) {
	t.Run("NoPlaintextAtRest", func(t *testing.T) {
		s, b, _ := newStore(t, newBackend)
		token := save(t, s, "", record("id1", "alice", secretValue, live))
		renewed, err := s.Renew(t.Context(), token, record("id2", "alice", secretValue+"-renewed", live))
		require.NoError(t, err)
		_, err = s.Update(t.Context(), renewed, nil, func(cur *session.Record) (*session.Record, error) {
			next := *cur
			next.Data = append(bytes.Clone(cur.Data), "-updated"...)
			return &next, nil
		})
		require.NoError(t, err)
		for _, data := range storedData(t, b, KeyOf(t, renewed), "alice") {
			require.NotContains(t, string(data), secretValue, "a value is readable in the backend")
		}
		require.Equal(t, secretValue+"-renewed-updated", string(load(t, s, renewed).Data))
		if info, ok := firstInfo(t, s, "alice"); ok {
			require.Equal(t, "id2", info.ID, "the header stays readable, for ListUser and All")
		}
	})

	t.Run("CopiedUnderAnotherKey", func(t *testing.T) {
		s, b, _ := newStore(t, newBackend)
		victim := save(t, s, "", record("victim", "alice", secretValue, live))
		attacker := save(t, s, "", record("attacker", "mallory", "mine", live))
		data, found := find(t, b, KeyOf(t, victim))
		require.True(t, found)
		require.NoError(t, b.Commit(t.Context(), KeyOf(t, attacker), serverstore.Entry{Data: data, Expires: time.Now().Add(live), UserID: "alice"}))
		rec, err := s.Load(t.Context(), attacker)
		require.ErrorIs(t, err, session.ErrInvalidToken, "a record copied under another token opened")
		require.Nil(t, rec)
	})

	t.Run("TamperedIsEmpty", func(t *testing.T) {
		s, b, _ := newStore(t, newBackend)
		token := save(t, s, "", record("id1", "alice", secretValue, live))
		key := KeyOf(t, token)
		good, _ := find(t, b, key)
		for _, i := range []int{2, len(good) / 2, len(good) - 1} { // a time, the sealed data, the tag
			bad := bytes.Clone(good)
			bad[i] ^= 0x20
			require.NoError(t, b.Commit(t.Context(), key, serverstore.Entry{Data: bad, Expires: time.Now().Add(live), UserID: "alice"}))
			rec, err := s.Load(t.Context(), token)
			require.ErrorIs(t, err, session.ErrInvalidToken, "byte %d changed: not a clean empty session", i)
			require.Nil(t, rec)
		}
	})

	t.Run("FormatBeforeSealingLoads", func(t *testing.T) {
		s, b, _ := newStore(t, newBackend)
		want := record("old", "alice", secretValue, live)
		token := save(t, s, "", record("placeholder", "", "x", live))
		key := KeyOf(t, token)
		require.NoError(t, b.Commit(t.Context(), key, serverstore.Entry{Data: recordV1(want), Expires: want.Expires, UserID: "alice"}))
		requireRecord(t, want, load(t, s, token))

		// Its next save seals it.
		require.Equal(t, token, save(t, s, token, load(t, s, token)))
		data, _ := find(t, b, key)
		require.NotContains(t, string(data), secretValue)
		requireRecord(t, want, load(t, s, token))
	})
}

// storedData returns what b holds for key and, through its user index
// and scanner if it has them, for user: every form in which it hands a
// record's data out.
func storedData(t *testing.T, b serverstore.Backend, key, user string) [][]byte {
	data, found := find(t, b, key)
	require.True(t, found)
	out := [][]byte{data}
	if ui, ok := b.(serverstore.UserIndex); ok {
		for _, d := range userKeys(t, ui, user) {
			out = append(out, []byte(d))
		}
	}
	if sc, ok := b.(serverstore.Scanner); ok {
		for kd, err := range sc.Scan(t.Context()) {
			require.NoError(t, err)
			out = append(out, kd.Data)
		}
	}
	return out
}

// firstInfo returns the first of user's sessions ListUser gives, or of
// all sessions All gives when the backend keeps no user index; false when
// it has neither.
func firstInfo(t *testing.T, s *serverstore.Store, user string) (serverstore.Info, bool) {
	infos, err := s.ListUser(t.Context(), user)
	if err == nil {
		require.NotEmpty(t, infos)
		return infos[0], true
	}
	require.ErrorIs(t, err, serverstore.ErrNoUserIndex)
	for info, err := range s.All(t.Context()) {
		if errors.Is(err, serverstore.ErrNoScan) {
			break
		}
		require.NoError(t, err)
		return info, true
	}
	return serverstore.Info{}, false
}

// recordV1 encodes rec in the record format before sealing (version 1),
// as serverstore documents it.
func recordV1(rec *session.Record) []byte {
	var flags byte
	if rec.Persistent {
		flags |= 1
	}
	b := []byte{1, flags}
	for _, t := range []time.Time{rec.Created, rec.Touched, rec.Expires} {
		b = binary.AppendVarint(b, t.Unix())
		b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	}
	for _, s := range []string{rec.ID, rec.UserID, string(rec.Data)} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}
