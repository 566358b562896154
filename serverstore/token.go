package serverstore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// Tokens and keys.
//
// A token is 32 bytes from crypto/rand, encoded base64url without padding:
// 43 characters. Its backend key is the SHA-256 of those 32 raw bytes (not
// of the 43 characters), in lowercase hex: 64 characters. The key reveals
// nothing that would rebuild the token, so a backend's contents (a dump,
// a replica, KEYS *) name sessions without letting anyone resume them. A
// plain hash suffices, with no salt or stretching, because the token has
// 256 bits of entropy: there is nothing to brute-force.

const (
	tokenBytes = 32
	tokenLen   = 43 // base64.RawURLEncoding.EncodedLen(tokenBytes)
	keyLen     = 2 * sha256.Size
)

// tokenEncoding is strict so that each 32 bytes have exactly one token:
// non-zero padding bits in the last character are rejected rather than
// giving a second spelling of the same session.
var tokenEncoding = base64.RawURLEncoding.Strict()

// mintToken returns a new random token and its key.
func mintToken() (token, key string) {
	var raw [tokenBytes]byte
	_, _ = rand.Read(raw[:]) // never fails since Go 1.24; it crashes the program instead
	return tokenEncoding.EncodeToString(raw[:]), rawKey(raw[:])
}

// tokenKey returns token's backend key, and false if token is not well
// formed: not 43 characters of the base64url alphabet decoding to 32
// bytes.
func tokenKey(token string) (string, bool) {
	if len(token) != tokenLen {
		return "", false
	}
	var raw [tokenBytes]byte
	n, err := tokenEncoding.Decode(raw[:], []byte(token))
	if err != nil || n != tokenBytes {
		return "", false
	}
	return rawKey(raw[:]), true
}

// rawKey returns the backend key of a token's raw bytes. The hex is encoded
// on the stack, so that the string is the only allocation
// (hex.EncodeToString makes two).
func rawKey(raw []byte) string {
	sum := sha256.Sum256(raw)
	var key [keyLen]byte
	hex.Encode(key[:], sum[:])
	return string(key[:])
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
