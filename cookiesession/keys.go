package cookiesession

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// KeySize is the length in bytes of every key New accepts: 256 bits, the
// key size of XChaCha20-Poly1305.
const KeySize = 32

// ErrInvalidKey is wrapped by every error New and ParseKeys return. The
// message says which key is wrong (by its 1-based position in the list) and
// why, and never contains any of the key's bytes, so it is safe to log.
var ErrInvalidKey = errors.New("cookiesession: invalid key")

// GenerateKey returns a new random key of KeySize bytes from crypto/rand.
// Encode it with base64 to keep it in configuration (see ParseKeys), or run
//
//	go run github.com/go-sealed/session/cmd/sessionkey
//
// to print one.
func GenerateKey() []byte {
	k := make([]byte, KeySize)
	// Since Go 1.24 crypto/rand.Read never returns an error: if the
	// operating system cannot supply randomness the program crashes, which
	// is the right outcome for key generation.
	_, _ = rand.Read(k)
	return k
}

// ParseKeys parses a comma-separated list of base64-encoded keys, the form
// in which keys are kept in an environment variable:
//
//	SESSION_KEYS="NEW-KEY-BASE64,OLD-KEY-BASE64"
//
// Each entry may use the standard or the URL-safe base64 alphabet, with or
// without '=' padding; spaces around entries are ignored. Each must decode
// to exactly KeySize bytes. The keys are returned in the order given, ready
// for New: the first one seals, all of them open.
//
// The list gets the checks New makes: no two keys alike, none made of one
// byte value repeated (an all-zero key, say), and a warning for a key that
// is all printable ASCII (see New).
//
// An error (wrapping ErrInvalidKey) names the position of the first bad
// entry, counting from 1, and never echoes the entry itself.
func ParseKeys(s string) ([][]byte, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: no keys in the list; generate one with `go run github.com/go-sealed/session/cmd/sessionkey`", ErrInvalidKey)
	}
	parts := strings.Split(s, ",")
	keys := make([][]byte, 0, len(parts))
	for i, p := range parts {
		k, err := parseKey(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("%w: key %d of %d %s", ErrInvalidKey, i+1, len(parts), err.Error())
		}
		keys = append(keys, k)
	}
	if err := checkKeys(keys); err != nil {
		return nil, err
	}
	return keys, nil
}

// keyEncoding decodes both base64 alphabets once they are mapped onto the
// standard one and the padding is cut off. Strict rejects non-zero
// trailing bits, which catches some typos in the last character.
var keyEncoding = base64.RawStdEncoding.Strict()

// parseKey decodes one entry of a ParseKeys list. Its error completes the
// sentence "key N of M ...".
func parseKey(p string) ([]byte, error) {
	if p == "" {
		return nil, errors.New("is empty (a stray comma?)")
	}
	norm := strings.TrimRight(p, "=")
	norm = strings.NewReplacer("-", "+", "_", "/").Replace(norm)
	k, err := keyEncoding.DecodeString(norm)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			// The offset locates the problem without showing the key.
			return nil, fmt.Errorf("is not valid base64 (bad input at character %d)", int64(ce)+1)
		}
		return nil, errors.New("is not valid base64")
	}
	if len(k) != KeySize {
		hint := ""
		if len(p) == 2*KeySize && isHex(p) {
			hint = "; it looks like hex: encode keys with base64"
		}
		return nil, fmt.Errorf("decodes to %d bytes, want %d%s", len(k), KeySize, hint)
	}
	return k, nil
}

func isHex(s string) bool {
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Labels for the HMAC-SHA256 derivations from a key. They carry the format
// version, so a future format derives unrelated subkeys from the same key.
const (
	labelKeyID = "go-sealed/session v1 key id"
	labelSeal  = "go-sealed/session v1 seal key"
)

// derive returns HMAC-SHA256(key, label). The key is a uniformly random
// 256-bit secret, so HMAC with distinct labels gives independent subkeys:
// the AEAD never uses the key the public key ID is computed from.
func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// keyIDOf returns the public key ID of key: the first keyIDLen bytes of
// HMAC-SHA256(key, labelKeyID). Being a PRF output it reveals nothing about
// the key, yet lets Load pick the opening key without trial decryption.
func keyIDOf(key []byte) [keyIDLen]byte {
	var id [keyIDLen]byte
	copy(id[:], derive(key, labelKeyID))
	return id
}

// keyFix ends the errors and the warning about keys that are not random.
const keyFix = "generate keys with `go run github.com/go-sealed/session/cmd/sessionkey`"

// checkKeys validates a key list, for New and ParseKeys alike, so a key
// that ParseKeys accepts is one New accepts (duplicates and key ID
// collisions aside, the latter found by New only). Positions are 1-based,
// as in ParseKeys, so an error points at the same entry of SESSION_KEYS.
//
// Besides the length and duplicates, it refuses a key made of one byte
// value repeated: such a key is a buffer never filled (all zero) or a
// placeholder, never the output of GenerateKey (a chance of 2^-248). It
// warns, once for the whole list, about keys that are all printable
// ASCII: a password or passphrase typed into the configuration, with far
// less entropy than 256 bits. Those are still accepted, since refusing
// them could break a running deployment on upgrade, and a random key is
// all printable with a chance of about 2^-46: no false alarms.
func checkKeys(keys [][]byte) error {
	if len(keys) == 0 {
		return fmt.Errorf("%w: no keys given; New needs at least one (see GenerateKey)", ErrInvalidKey)
	}
	var printable []string
	for i, k := range keys {
		if len(k) != KeySize {
			return fmt.Errorf("%w: key %d of %d is %d bytes, want %d", ErrInvalidKey, i+1, len(keys), len(k), KeySize)
		}
		if repeatsOneByte(k) {
			// The message says what is wrong without the byte value:
			// even a refused key may be in use elsewhere.
			return fmt.Errorf("%w: key %d of %d is one byte value repeated %d times, not a random key; %s", ErrInvalidKey, i+1, len(keys), KeySize, keyFix)
		}
		for j := range i {
			// Keys are secrets: compare them in constant time.
			if subtle.ConstantTimeCompare(k, keys[j]) == 1 {
				return fmt.Errorf("%w: key %d of %d is the same as key %d", ErrInvalidKey, i+1, len(keys), j+1)
			}
		}
		if allPrintable(k) {
			printable = append(printable, fmt.Sprint(i+1))
		}
	}
	if len(printable) > 0 {
		which := "key " + printable[0] + " of " + fmt.Sprint(len(keys)) + " is"
		if len(printable) > 1 {
			which = "keys " + strings.Join(printable, ", ") + " of " + fmt.Sprint(len(keys)) + " are"
		}
		slog.Default().Warn("cookiesession: " + which + " made only of printable ASCII characters: a password or passphrase, not a random key; " + keyFix)
	}
	return nil
}

// repeatsOneByte reports whether every byte of k is k[0], looking at
// every byte whatever it finds, as befits a secret.
func repeatsOneByte(k []byte) bool {
	var diff byte
	for _, b := range k {
		diff |= b ^ k[0]
	}
	return diff == 0
}

// allPrintable reports whether every byte of k is printable ASCII (space
// to tilde), as the bytes of a typed password are.
func allPrintable(k []byte) bool {
	for _, b := range k {
		if b < 0x20 || b > 0x7e {
			return false
		}
	}
	return true
}
