package cookiesession

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/go-sealed/session"
	"github.com/stretchr/testify/require"
)

// FuzzOpen feeds Load arbitrary tokens. Load must never fail or panic, and
// must accept exactly the tokens the store sealed, byte for byte, giving
// back the sealed record: whatever the fuzzer derives from a real seal
// (flipped, cut, extended, re-encoded) is rejected. A store whose key
// sealed nothing the fuzzer sees accepts nothing at all.
func FuzzOpen(f *testing.F) {
	s := newStore(f, seqKey(1), seqKey(2))
	s.rand = rand.NewChaCha8([32]byte{1}) // deterministic seeds
	retired := newStore(f, seqKey(2))
	retired.rand = rand.NewChaCha8([32]byte{2})
	stranger := newStore(f, seqKey(3))

	valid := map[string]*session.Record{}
	var tokens []string
	seal := func(st *Store, rec *session.Record, reissue bool) {
		tok := mustSave(f, st, rec)
		want := rec.Clone()
		want.Reissue = reissue
		if len(want.Data) == 0 {
			want.Data = nil
		}
		valid[tok] = want
		tokens = append(tokens, tok)
	}
	rec := testRecord()
	seal(s, rec, false)
	seal(retired, rec, true)
	empty := testRecord()
	empty.ID, empty.UserID, empty.Data, empty.Persistent = "", "", nil, false
	seal(s, empty, false)
	big := testRecord()
	big.Data = bytes.Repeat([]byte("0123456789"), 40)
	seal(s, big, false)

	for _, tok := range tokens {
		f.Add(tok)
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		for _, i := range []int{0, 8, 8 * headerLen, 8 * (headerLen + nonceLen), 8*len(raw) - 1} {
			b := bytes.Clone(raw)
			b[i/8] ^= 1 << (i % 8)
			f.Add(base64.RawURLEncoding.EncodeToString(b))
		}
		f.Add(tok[:len(tok)-1])
		f.Add(tok[:len(tok)/2])
		f.Add(tok + "A")
		f.Add(base64.StdEncoding.EncodeToString(raw))
	}
	for _, seed := range []string{"", "A", "garbage", "AQ", "AbtAX5I", strings.Repeat("_", 200), "\x00\xff\n", vectorToken} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, token string) {
		rec := load(t, s, token)
		if rec != nil {
			want, ok := valid[token]
			require.True(t, ok, "accepted a token it never sealed: %q", token)
			require.Equal(t, want, rec)
		}
		require.Nil(t, load(t, stranger, token), "a key that sealed nothing accepted %q", token)
	})
}
