package serverstore

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"golang.org/x/crypto/chacha20poly1305"
)

// Tokens and keys.
//
// A token is 32 bytes from crypto/rand, encoded base64url without padding:
// 43 characters. Two keys are derived from those 32 raw bytes (the
// secret), independently:
//
//   - the backend key, their SHA-256 in lowercase hex (64 characters),
//     under which the record is stored. It reveals nothing that would
//     rebuild the token, so a backend's contents (a dump, a replica, KEYS *)
//     name sessions without letting anyone resume them. A plain hash
//     suffices, with no salt or stretching, because the token has 256 bits
//     of entropy: there is nothing to brute-force.
//   - the seal key, HKDF-SHA256 of them (Expand alone: the secret is
//     already uniformly random, RFC 5869 §3.3), under which the record's
//     data is sealed. Only the client holds the token, so no key that
//     could open a dump is kept anywhere on the server.

const (
	tokenBytes = 32
	tokenLen   = 43 // base64.RawURLEncoding.EncodedLen(tokenBytes)
	keyLen     = 2 * sha256.Size

	// sealInfo names the seal key's purpose and format version in HKDF.
	sealInfo = "go-sealed/session serverstore record seal v2"
)

// tokenEncoding is strict so that each 32 bytes have exactly one token:
// non-zero padding bits in the last character are rejected rather than
// giving a second spelling of the same session.
var tokenEncoding = base64.RawURLEncoding.Strict()

// secret is a token's raw bytes, and the cipher derived from them once
// one is needed, for the rest of a Store call.
type secret struct {
	raw    [tokenBytes]byte
	sealer cipher.AEAD
}

// mintToken returns a new random token and its secret.
func mintToken() (string, secret) {
	var sec secret
	_, _ = rand.Read(sec.raw[:]) // never fails since Go 1.24; it crashes the program instead
	return tokenEncoding.EncodeToString(sec.raw[:]), sec
}

// parseToken returns token's secret, and false if token is not well
// formed: not 43 characters of the base64url alphabet decoding to 32
// bytes.
func parseToken(token string) (secret, bool) {
	var sec secret
	if len(token) != tokenLen {
		return sec, false
	}
	n, err := tokenEncoding.Decode(sec.raw[:], []byte(token))
	return sec, err == nil && n == tokenBytes
}

// key returns the backend key. The hex is encoded on the stack, so that
// the string is the only allocation (hex.EncodeToString makes two).
func (s *secret) key() string {
	sum := sha256.Sum256(s.raw[:])
	var key [keyLen]byte
	hex.Encode(key[:], sum[:])
	return string(key[:])
}

// aead returns the cipher that seals the token's record.
func (s *secret) aead() cipher.AEAD {
	if s.sealer != nil {
		return s.sealer
	}
	key := s.sealKey()
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		panic("serverstore: " + err.Error()) // only for a key of another size
	}
	s.sealer = aead
	return aead
}

// sealKey is HKDF-Expand(SHA-256, the secret, sealInfo, 32 bytes): one
// block, T(1) = HMAC-SHA256(secret, sealInfo || 0x01), computed here on
// the stack, where crypto/hkdf and crypto/hmac would allocate a dozen
// times for it (TestSealKeyIsHKDF holds it to crypto/hkdf).
func (s *secret) sealKey() [sha256.Size]byte {
	const block = 64 // SHA-256's block size, and so HMAC's key pad
	var inner [block + len(sealInfo) + 1]byte
	var outer [block + sha256.Size]byte
	for i := range block {
		k := byte(0)
		if i < tokenBytes {
			k = s.raw[i]
		}
		inner[i], outer[i] = k^0x36, k^0x5c
	}
	copy(inner[block:], sealInfo)
	inner[len(inner)-1] = 1
	sum := sha256.Sum256(inner[:])
	copy(outer[block:], sum[:])
	return sha256.Sum256(outer[:])
}

// validKey reports whether key has the form of a backend key: 64
// lowercase hex digits.
func validKey(key string) bool {
	if len(key) != keyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
