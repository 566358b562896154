package cookiesession

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/go-sealed/session"
	"github.com/stretchr/testify/require"
)

// The test vector of docs/format.md. If this test fails, the format has
// changed: bump the version byte and the derivation labels instead.
const (
	vectorKeyHex   = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	vectorNonceHex = "404142434445464748494a4b4c4d4e4f5051525354555657"
	vectorName     = "session"
	vectorKeyID    = "bb405f92"
	vectorSealKey  = "17850e33eca36953d238dead46a71b7583b0be267485f8d8afd97316c7207dd2"
	vectorPlainHex = "0180c4f8aee565b492e0b5e56580b4ab81e665164e32733868526b3078437176516d55316257396b5a5107757365722d3432a168757365726e616d65686a6f686e5f646f65"
	vectorToken    = "AbtAX5JAQUJDREVGR0hJSktMTU5PUFFSU1RVVleV492O91I55KN0QWP2a180CiOlc_AsKcTXJaTKhDPadislZffJKX6XEDaJ91e2Bom3Y-DfOYuuxaP5dhlrJ1ST9puUrqctny1xaczLImEg7scNWN3l"
)

func vectorRecord() *session.Record {
	return &session.Record{
		ID:         "N2s8hRk0xCqvQmU1bW9kZQ",
		Created:    time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC),
		Touched:    time.Date(2025, 6, 1, 11, 59, 0, 250_000_000, time.UTC),
		Expires:    time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC),
		Persistent: true,
		UserID:     "user-42",
		Data:       []byte("\xa1husernamehjohn_doe"), // CBOR {"username": "john_doe"}
	}
}

func vectorStore(t testing.TB) *Store {
	t.Helper()
	key, err := hex.DecodeString(vectorKeyHex)
	require.NoError(t, err)
	nonce, err := hex.DecodeString(vectorNonceHex)
	require.NoError(t, err)
	s := newStore(t, key)
	s.rand = bytes.NewReader(nonce)
	return s
}

func TestVector(t *testing.T) {
	key, _ := hex.DecodeString(vectorKeyHex)
	id := keyIDOf(key)
	require.Equal(t, vectorKeyID, hex.EncodeToString(id[:]))
	require.Equal(t, vectorSealKey, hex.EncodeToString(derive(key, labelSeal)))
	require.Equal(t, vectorPlainHex, hex.EncodeToString(appendPlaintext(nil, vectorRecord())))

	s := vectorStore(t)
	require.Equal(t, vectorToken, mustSave(t, s, vectorRecord()))
	require.Equal(t, vectorRecord(), load(t, s, vectorToken))
}
