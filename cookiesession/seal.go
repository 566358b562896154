package cookiesession

import (
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-sealed/session"
	"golang.org/x/crypto/chacha20poly1305"
)

// The token layout; docs/format.md describes it byte by byte.
//
//	token     = base64url-nopad(version || keyID || nonce || ciphertext)
//	aad       = version || keyID || cookie name
//	plaintext = flags || created || touched || expires || len(ID) || ID || len(UserID) || UserID || Data
const (
	version   = 1
	keyIDLen  = 4
	headerLen = 1 + keyIDLen
	nonceLen  = chacha20poly1305.NonceSizeX // 24
	tagLen    = chacha20poly1305.Overhead   // 16

	// minPlaintext is the shortest inner layout: one flag byte, three
	// one-byte varints and two zero lengths.
	minPlaintext = 1 + 3 + 2

	// overhead is how many bytes a seal adds to the inner layout, before
	// base64: header, nonce and authentication tag.
	overhead = headerLen + nonceLen + tagLen

	flagPersistent = 1 << 0
	flagDeadline   = 1 << 1 // a Record.Deadline follows Expires
	knownFlags     = flagPersistent | flagDeadline
)

// MaxTokenLen is the longest token Load examines and Save produces, in
// characters. Load drops a longer token unread, which bounds the work an
// attacker can cause with a huge cookie; Save fails with an error wrapping
// session.ErrTooLarge rather than mint a token Load would drop. 64 KiB is
// twice what the Manager's default of 8 cookies can carry.
const MaxTokenLen = 64 << 10

// tokenEncoding is unpadded base64url: only cookie-safe characters. Strict
// rejects non-zero trailing bits, so each byte string has exactly one
// encoding and a token is accepted only in the form it was issued.
var tokenEncoding = base64.RawURLEncoding.Strict()

// sealKey is one key as the Store uses it: its public ID and an AEAD keyed
// with the seal subkey derived from it. The AEAD is stateless and safe for
// concurrent use.
type sealKey struct {
	id   [keyIDLen]byte
	aead cipher.AEAD
}

func newSealKey(key []byte) (sealKey, error) {
	aead, err := chacha20poly1305.NewX(derive(key, labelSeal))
	if err != nil {
		// Only a wrong key length fails, and derive always gives 32 bytes;
		// the error never contains key bytes.
		return sealKey{}, fmt.Errorf("cookiesession: %w", err)
	}
	return sealKey{id: keyIDOf(key), aead: aead}, nil
}

// errNoExpiry is returned by Save for a record without a deadline: a seal
// cannot be revoked, so one that never expires would be valid forever.
var errNoExpiry = errors.New("cookiesession: record has no Expires; a sealed cookie without a deadline would stay valid forever")

// seal returns the token for rec under k, with ad (aad(k's header, cookie
// name)) as additional data and the nonce read from rand. It is the whole of
// Save apart from key selection, split out so that tests can fix the nonce.
func seal(k *sealKey, ad []byte, rec *session.Record, rand io.Reader) (string, error) {
	if rec.Expires.IsZero() {
		return "", errNoExpiry
	}
	plainLen := 1 + 4*binary.MaxVarintLen64 +
		binary.MaxVarintLen64 + len(rec.ID) +
		binary.MaxVarintLen64 + len(rec.UserID) +
		len(rec.Data)
	if n := tokenEncoding.EncodedLen(headerLen + nonceLen + plainLen + tagLen); n > MaxTokenLen {
		// plainLen is an upper bound; check the exact length only when
		// it matters.
		if n = tokenEncoding.EncodedLen(overhead + len(appendPlaintext(nil, rec))); n > MaxTokenLen {
			return "", fmt.Errorf("%w: sealed session would be %d characters, more than cookiesession.MaxTokenLen (%d); keep less in it, or use a server-side store",
				session.ErrTooLarge, n, MaxTokenLen)
		}
	}

	pooled := sealBuffers.Get().(*[]byte)
	defer sealBuffers.Put(pooled)
	buf := slices.Grow((*pooled)[:0], headerLen+nonceLen+plainLen+tagLen)
	buf = buf[:headerLen+nonceLen]
	buf[0] = version
	copy(buf[1:headerLen], k.id[:])
	nonce := buf[headerLen : headerLen+nonceLen]
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return "", fmt.Errorf("cookiesession: reading nonce: %w", err)
	}
	buf = appendPlaintext(buf, rec)
	plaintext := buf[headerLen+nonceLen:]
	// Seal in place: the ciphertext overwrites the plaintext, which already
	// sits right after the header and nonce.
	buf = k.aead.Seal(buf[:headerLen+nonceLen], nonce, plaintext, ad)
	*pooled = buf
	return encodeToken(buf), nil
}

// sealBuffers holds the buffers seals are built in, as *[]byte. Only the
// token, their base64 form, outlives a seal, so each seal would otherwise
// allocate a buffer of its size for the garbage collector. A buffer goes
// back holding nothing secret: the seal encrypts the plaintext in place,
// and Save refuses to seal a token over MaxTokenLen, which bounds the
// size of a pooled buffer.
var sealBuffers = sync.Pool{New: func() any { return new([]byte) }}

// encodeToken is tokenEncoding.EncodeToString(b) with one allocation rather
// than two (a byte buffer, then its copy as a string): it encodes through a
// stack buffer straight into the string's memory, which is sized exactly
// up front.
func encodeToken(b []byte) string {
	const in = 768 // a multiple of 3: each piece encodes on its own, with no partial quantum but the last
	var chunk [in / 3 * 4]byte
	var sb strings.Builder
	sb.Grow(tokenEncoding.EncodedLen(len(b)))
	for len(b) > 0 {
		n := min(len(b), in)
		m := tokenEncoding.EncodedLen(n)
		tokenEncoding.Encode(chunk[:m], b[:n])
		sb.Write(chunk[:m])
		b = b[n:]
	}
	return sb.String()
}

// aad is the additional data of a seal: the header, then the cookie name.
// The header has a fixed length, so the name needs no length prefix.
func aad(header []byte, name string) []byte {
	a := make([]byte, 0, headerLen+len(name))
	a = append(a, header...)
	return append(a, name...)
}

// header returns the header of the tokens k seals: version, then key ID.
func (k *sealKey) header() []byte {
	h := make([]byte, 0, headerLen)
	h = append(h, version)
	return append(h, k.id[:]...)
}

// appendPlaintext appends the inner layout of rec to b. Times are signed
// varints of Unix milliseconds (encoding/binary's zigzag Varint), so times
// keep millisecond precision; lengths are unsigned varints; Data runs to the
// end. A Deadline, when set, follows Expires, flagged. Reissue is not
// sealed: it describes a load, not the session.
func appendPlaintext(b []byte, rec *session.Record) []byte {
	var flags byte
	if rec.Persistent {
		flags |= flagPersistent
	}
	if !rec.Deadline.IsZero() {
		flags |= flagDeadline
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, rec.Created.UnixMilli())
	b = binary.AppendVarint(b, rec.Touched.UnixMilli())
	b = binary.AppendVarint(b, rec.Expires.UnixMilli())
	if flags&flagDeadline != 0 {
		b = binary.AppendVarint(b, rec.Deadline.UnixMilli())
	}
	b = binary.AppendUvarint(b, uint64(len(rec.ID)))
	b = append(b, rec.ID...)
	b = binary.AppendUvarint(b, uint64(len(rec.UserID)))
	b = append(b, rec.UserID...)
	return append(b, rec.Data...)
}

// parsePlaintext is the inverse of appendPlaintext. It returns nil for any
// layout appendPlaintext cannot have produced that it can detect: unknown
// flags, truncated or overlong varints, lengths past the end. Data aliases p.
func parsePlaintext(p []byte) *session.Record {
	if len(p) < minPlaintext || p[0]&^knownFlags != 0 {
		return nil
	}
	rec := &session.Record{Persistent: p[0]&flagPersistent != 0}
	times := []*time.Time{&rec.Created, &rec.Touched, &rec.Expires, &rec.Deadline}
	if p[0]&flagDeadline == 0 {
		times = times[:3]
	}
	p = p[1:]
	for _, t := range times {
		ms, n := binary.Varint(p)
		if n <= 0 {
			return nil
		}
		*t = time.UnixMilli(ms).UTC()
		p = p[n:]
	}
	for _, s := range []*string{&rec.ID, &rec.UserID} {
		l, n := binary.Uvarint(p)
		if n <= 0 || l > uint64(len(p)-n) {
			return nil
		}
		*s = string(p[n : n+int(l)])
		p = p[n+int(l):]
	}
	if len(p) > 0 {
		rec.Data = p
	}
	return rec
}

// decodeToken turns a token back into bytes, accepting only the exact
// characters Save emits. The strict unpadded decoder rejects every byte
// outside the base64url alphabet but '\r' and '\n', which it skips; that
// would let many strings decode to one seal. A skipped byte leaves fewer
// bytes decoded than the token's length implies, so comparing the lengths
// rejects them too. (A loop over the characters did the same, at about 5 ns
// a character on distinct tokens, from mispredicted branches.)
func decodeToken(token string) []byte {
	if len(token) > MaxTokenLen {
		return nil
	}
	b, err := tokenEncoding.DecodeString(token)
	if err != nil || tokenEncoding.EncodedLen(len(b)) != len(token) {
		return nil
	}
	return b
}

// Why a token did not open, for the Manager's EventRejected.
var (
	errMalformed     = fmt.Errorf("%w: not a sealed session of this format", session.ErrInvalidToken)
	errUnknownKey    = fmt.Errorf("%w: sealed under a key this store does not have (retired, or never its own)", session.ErrInvalidToken)
	errUnauthentic   = fmt.Errorf("%w: failed authentication (tampered with, forged, or sealed for another cookie name)", session.ErrInvalidToken)
	errFromTheFuture = fmt.Errorf("%w: created or touched in the future", session.ErrInvalidToken)
	errExpired       = fmt.Errorf("%w: expired", session.ErrInvalidToken)
)

// open authenticates and decrypts a decoded token. It returns the record and
// the index of the key that opened it, or why it did not open when the
// token is malformed, of another version, under an unknown key ID, or
// fails authentication, checked in that order. It does not check times.
func (s *Store) open(name string, b []byte) (*session.Record, int, error) {
	keys := s.keys
	if len(b) < overhead+minPlaintext || b[0] != version {
		return nil, -1, errMalformed
	}
	ki := -1
	for i := range keys {
		// Key IDs are public (every token shows one), so a plain
		// comparison leaks nothing.
		if [keyIDLen]byte(b[1:headerLen]) == keys[i].id {
			ki = i
			break
		}
	}
	if ki < 0 {
		return nil, -1, errUnknownKey
	}
	nonce := b[headerLen : headerLen+nonceLen]
	ct := b[headerLen+nonceLen:]
	// Decrypt in place; b is this Load's own copy.
	plain, err := keys[ki].aead.Open(ct[:0], nonce, ct, s.additionalData(ki, name))
	if err != nil {
		return nil, -1, errUnauthentic
	}
	rec := parsePlaintext(plain)
	if rec == nil {
		// Authentic, so sealed by a newer version of this package that
		// set a flag this one does not know.
		return nil, -1, errMalformed
	}
	return rec, ki, nil
}
