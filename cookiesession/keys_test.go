package cookiesession

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// seqKey returns a deterministic key, different for each i.
func seqKey(i int) []byte {
	h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("test key "), uint64(i)))
	return h[:]
}

// requireNoKeyBytes fails if msg contains any rendering of any of keys.
func requireNoKeyBytes(t *testing.T, msg string, keys ...[]byte) {
	t.Helper()
	for _, k := range keys {
		if len(k) == 0 {
			continue
		}
		for _, enc := range []string{
			string(k),
			hex.EncodeToString(k),
			base64.StdEncoding.EncodeToString(k),
			base64.RawStdEncoding.EncodeToString(k),
			base64.URLEncoding.EncodeToString(k),
			base64.RawURLEncoding.EncodeToString(k),
			fmt.Sprint(k),
		} {
			require.NotContains(t, msg, enc, "error message shows key bytes")
		}
	}
}

func TestGenerateKey(t *testing.T) {
	a, b := GenerateKey(), GenerateKey()
	require.Len(t, a, KeySize)
	require.Len(t, b, KeySize)
	require.NotEqual(t, a, b)
	_, err := New(a, b)
	require.NoError(t, err)
}

func TestNewValidation(t *testing.T) {
	good := seqKey(1)
	tests := []struct {
		name string
		keys [][]byte
		want string
	}{
		{"none", nil, "no keys given"},
		{"nil key", [][]byte{nil}, "key 1 of 1 is 0 bytes, want 32"},
		{"short", [][]byte{good[:16]}, "key 1 of 1 is 16 bytes, want 32"},
		{"long", [][]byte{append(seqKey(2), 0)}, "key 1 of 1 is 33 bytes, want 32"},
		{"second wrong", [][]byte{good, seqKey(2)[:31]}, "key 2 of 2 is 31 bytes, want 32"},
		{"duplicate", [][]byte{good, seqKey(2), bytes.Clone(good)}, "key 3 of 3 is the same as key 1"},
		{"all zero", [][]byte{good, make([]byte, KeySize)}, "key 2 of 2 is one byte value repeated 32 times, not a random key; " + keyFixWant},
		{"all 0xff", [][]byte{bytes.Repeat([]byte{0xff}, KeySize), good}, "key 1 of 2 is one byte value repeated 32 times"},
		{"printable repeated", [][]byte{good, seqKey(2), bytes.Repeat([]byte("k"), KeySize)}, "key 3 of 3 is one byte value repeated 32 times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.keys...)
			require.Nil(t, s)
			require.ErrorIs(t, err, ErrInvalidKey)
			require.Contains(t, err.Error(), tt.want)
			requireNoKeyBytes(t, err.Error(), tt.keys...)
		})
	}
}

func TestNewDoesNotKeepKeySlices(t *testing.T) {
	k := seqKey(1)
	s, err := New(k)
	require.NoError(t, err)
	tok, err := s.Save(ctx, "", testRecord())
	require.NoError(t, err)
	clear(k) // the caller wipes its copy
	s.Now = fixedNow
	rec, err := s.Load(ctx, tok)
	require.NoError(t, err)
	require.NotNil(t, rec)
}

// TestNewKeyIDCollision finds two distinct keys whose 4-byte IDs collide
// (about 2^16 tries, by the birthday bound) and checks that New refuses
// them, since the ID could not tell them apart.
func TestNewKeyIDCollision(t *testing.T) {
	if testing.Short() {
		t.Skip("searches ~10^5 keys")
	}
	seen := map[[keyIDLen]byte]int{}
	for i := 0; ; i++ {
		id := keyIDOf(seqKey(i))
		if j, ok := seen[id]; ok {
			a, b := seqKey(j), seqKey(i)
			s, err := New(seqKey(-1), a, b)
			require.Nil(t, s)
			require.ErrorIs(t, err, ErrInvalidKey)
			require.Contains(t, err.Error(), "key 3 of 3 has the same key ID as key 2")
			requireNoKeyBytes(t, err.Error(), a, b)
			return
		}
		seen[id] = i
	}
}

func TestParseKeys(t *testing.T) {
	k1, k2 := seqKey(1), seqKey(2)
	std := base64.StdEncoding.EncodeToString
	for _, in := range []string{
		std(k1) + "," + std(k2),
		" " + std(k1) + " ,\t" + std(k2) + "\n",
		base64.RawStdEncoding.EncodeToString(k1) + "," + base64.URLEncoding.EncodeToString(k2),
		base64.RawURLEncoding.EncodeToString(k1) + "," + base64.RawURLEncoding.EncodeToString(k2),
	} {
		keys, err := ParseKeys(in)
		require.NoError(t, err, in)
		require.Equal(t, [][]byte{k1, k2}, keys)
	}

	keys, err := ParseKeys(std(k1))
	require.NoError(t, err)
	require.Equal(t, [][]byte{k1}, keys)
}

func TestParseKeysErrors(t *testing.T) {
	k1, k2 := seqKey(1), seqKey(2)
	b1, b2 := base64.StdEncoding.EncodeToString(k1), base64.StdEncoding.EncodeToString(k2)
	// Change the last significant character so that the trailing bits are
	// no longer zero: Strict decoding catches it.
	lastBits := b1[:42] + string(b1[42]^1) + "="
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "no keys in the list"},
		{"blank", "  \t ", "no keys in the list"},
		{"empty first", "," + b1, "key 1 of 2 is empty"},
		{"empty middle", b1 + ", ," + b2, "key 2 of 3 is empty"},
		{"trailing comma", b1 + "," + b2 + ",", "key 3 of 3 is empty"},
		{"bad char", b1 + "," + b2[:10] + "*" + b2[11:], "key 2 of 2 is not valid base64 (bad input at character 11)"},
		{"inner space", b1[:20] + " " + b1[20:], "key 1 of 1 is not valid base64"},
		{"short", base64.StdEncoding.EncodeToString(k1[:16]) + "," + b2, "key 1 of 2 decodes to 16 bytes, want 32"},
		{"long", base64.StdEncoding.EncodeToString(append(bytes.Clone(k1), k2...)), "key 1 of 1 decodes to 64 bytes, want 32"},
		{"hex", b1 + "," + hex.EncodeToString(k2), "key 2 of 2 decodes to 48 bytes, want 32; it looks like hex"},
		{"trailing bits", lastBits, "key 1 of 1 is not valid base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseKeys(tt.in)
			require.Nil(t, keys)
			require.ErrorIs(t, err, ErrInvalidKey)
			require.Contains(t, err.Error(), tt.want)
			requireNoKeyBytes(t, err.Error(), k1, k2)
			// Nor any long fragment of the input.
			for _, part := range strings.Split(tt.in, ",") {
				if p := strings.TrimSpace(part); len(p) >= 12 {
					require.NotContains(t, err.Error(), p[:12])
				}
			}
		})
	}
}

// keyFixWant is how the errors and the warning about non-random keys say
// what to do.
const keyFixWant = "generate keys with `go run github.com/go-sealed/session/cmd/sessionkey`"

func TestParseKeysDuplicate(t *testing.T) {
	b := base64.StdEncoding.EncodeToString(seqKey(1))
	keys, err := ParseKeys(b + "," + base64.RawURLEncoding.EncodeToString(seqKey(1)))
	require.Nil(t, keys)
	require.ErrorIs(t, err, ErrInvalidKey)
	require.Contains(t, err.Error(), "key 2 of 2 is the same as key 1")
}

func TestParseKeysRepeatedByte(t *testing.T) {
	for _, b := range []byte{0, 1, 'A', 0x80, 0xff} {
		bad := bytes.Repeat([]byte{b}, KeySize)
		in := base64.StdEncoding.EncodeToString(seqKey(1)) + "," + base64.StdEncoding.EncodeToString(bad)
		keys, err := ParseKeys(in)
		require.Nil(t, keys, "byte %#x", b)
		require.ErrorIs(t, err, ErrInvalidKey)
		require.Contains(t, err.Error(), "key 2 of 2 is one byte value repeated 32 times, not a random key; "+keyFixWant)
		requireNoKeyBytes(t, err.Error(), bad)
		require.NotContains(t, err.Error(), base64.StdEncoding.EncodeToString(bad)[:12])
	}
}

// captureDefaultLog points slog.Default at a text handler writing to the
// returned buffer until the test ends. The log package's output, which
// slog.SetDefault redirects, is restored too.
func captureDefaultLog(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	old, oldOut, oldFlags := slog.Default(), log.Writer(), log.Flags()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() {
		slog.SetDefault(old)
		log.SetOutput(oldOut)
		log.SetFlags(oldFlags)
	})
	return &buf
}

// passphrase is a 32-byte key typed as text: all printable ASCII.
var passphrase = []byte("correct horse battery staple 42!")

func TestPrintableKeyWarns(t *testing.T) {
	require.Len(t, passphrase, KeySize)
	other := []byte("Tr0ub4dor&3 was never a good key")
	require.Len(t, other, KeySize)
	std := base64.StdEncoding.EncodeToString
	tests := []struct {
		name  string
		parse func() error
		want  string
	}{
		{"New, one", func() error { _, err := New(seqKey(1), passphrase); return err }, "key 2 of 2 is made only of printable ASCII"},
		{"New, two", func() error { _, err := New(passphrase, seqKey(1), other); return err }, "keys 1, 3 of 3 are made only of printable ASCII"},
		{"ParseKeys, one", func() error { _, err := ParseKeys(std(passphrase)); return err }, "key 1 of 1 is made only of printable ASCII"},
		{"ParseKeys, two", func() error { _, err := ParseKeys(std(passphrase) + "," + std(other)); return err }, "keys 1, 2 of 2 are made only of printable ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := captureDefaultLog(t)
			require.NoError(t, tt.parse(), "a printable key is still accepted")
			out := logs.String()
			require.Equal(t, 1, strings.Count(out, "\n"), "one warning per call: %s", out)
			require.Contains(t, out, "level=WARN")
			require.Contains(t, out, tt.want)
			require.Contains(t, out, "a password or passphrase, not a random key; "+keyFixWant)
			requireNoKeyBytes(t, out, passphrase, other)
			for _, k := range [][]byte{passphrase, other} {
				for _, w := range strings.Fields(string(k)) {
					if len(w) >= 5 {
						require.NotContains(t, out, w, "the warning quotes the key")
					}
				}
			}
		})
	}
}

func TestRandomKeysDoNotWarn(t *testing.T) {
	logs := captureDefaultLog(t)
	_, err := New(seqKey(1), seqKey(2), GenerateKey())
	require.NoError(t, err)
	_, err = ParseKeys(base64.StdEncoding.EncodeToString(seqKey(3)))
	require.NoError(t, err)
	require.Empty(t, logs.String())
}

func TestKeyIDDerivation(t *testing.T) {
	k := seqKey(7)
	id := keyIDOf(k)
	require.Equal(t, derive(k, labelKeyID)[:keyIDLen], id[:])
	// The seal subkey is neither the key nor related to the key ID's
	// derivation.
	require.NotEqual(t, k, derive(k, labelSeal))
	require.NotEqual(t, derive(k, labelKeyID), derive(k, labelSeal))
}
