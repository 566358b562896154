package cookiesession

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/go-sealed/session"
)

// DefaultClockSkew is the allowance Load grants for clocks of different
// servers disagreeing when ClockSkew is 0.
const DefaultClockSkew = 30 * time.Second

// DefaultName is the cookie name seals are bound to when Store.Name is
// empty. It is the Manager's default cookie name.
const DefaultName = "session"

// Store is a session.Store that keeps each session entirely in its token:
// the record is sealed (encrypted and authenticated) with
// XChaCha20-Poly1305, so the server keeps no state and the client can
// neither read nor alter what it holds. Make one with New.
//
// The exported fields may be set after New and before the Store is used;
// they must not change while it serves requests. A Store is safe for
// concurrent use.
type Store struct {
	// Name is the name of the cookie the tokens travel in when the Store
	// is used without a session.Manager. The name is sealed in as
	// additional data, so a token issued for one cookie does not open as
	// another; under a Manager it is the Manager's Cookie.Name, which the
	// Manager passes with every call (session.CookieName), so one Store
	// can serve several Managers under different cookie names. Empty means
	// DefaultName.
	Name string

	// ClockSkew is how far in the future a token's Created and Touched
	// times may lie before Load rejects it, for servers whose clocks
	// disagree. 0 means DefaultClockSkew; a negative value allows none.
	// Expires gets no allowance: Load never returns a record at or past
	// its Expires, as session.Record requires.
	ClockSkew time.Duration

	// Now returns the current time for the checks on Load; nil means
	// time.Now. Tests set it.
	Now func() time.Time

	keys []sealKey // keys[0] seals; all open

	// ads holds the additional data of each key under each cookie name
	// seen so far, computed once rather than on every seal and open.
	ads atomic.Pointer[[]boundData]

	// Fallback, when set, reads tokens of another format during a
	// migration: Load calls it with a token that does not open as a seal
	// (malformed, under an unknown key, not authentic) and serves the
	// record it returns as it serves a sealed one, after the same checks
	// (not created or touched more than ClockSkew in the future, not at or
	// past its Expires), with Reissue set, so that the Manager replaces the
	// token with a seal on that response. nil means the token is rejected,
	// as without a Fallback.
	//
	// The record must be complete, as Save would store it: an ID, its
	// times and a non-zero Expires. To keep the session from outliving
	// the token it came from, set its Deadline too (session.Record): the
	// Manager then never gives it a later one. Every bad token reaches
	// Fallback, forged ones included, so it must be cheap on garbage,
	// never panic, and name no token in what it logs. gorillastore's
	// AcceptGorilla sets it to read the cookies of a gorilla/sessions
	// CookieStore; nil, the default, reads seals only.
	Fallback func(ctx context.Context, token string) *session.Record

	// rand supplies nonces; nil means crypto/rand. Tests set it to get
	// a fixed token.
	rand io.Reader
}

var _ session.Store = (*Store)(nil)

// New returns a Store that seals with keys[0] and opens tokens sealed with
// any of keys. Each key must be KeySize (32) random bytes, from GenerateKey
// or ParseKeys; there must be at least one, and no two alike. A key made of
// one byte value repeated (all zero, say) is refused, and a key made only
// of printable ASCII characters, a password rather than a random key, is
// accepted with a warning logged through slog.Default.
//
// Keys after the first serve rotation: a token sealed with one of them
// still opens, and is re-sealed with keys[0] on that response. To rotate,
// deploy New(current, next) everywhere, then New(next, current), then,
// once the Manager's Lifetime has passed, New(next) alone.
//
// The error, which wraps ErrInvalidKey, names the offending key by its
// 1-based position and never contains key bytes. New does not keep the
// slices it is given.
func New(keys ...[]byte) (*Store, error) {
	if err := checkKeys(keys); err != nil {
		return nil, err
	}
	s := &Store{keys: make([]sealKey, len(keys))}
	for i, k := range keys {
		sk, err := newSealKey(k)
		if err != nil {
			return nil, err
		}
		for j := range i {
			if s.keys[j].id == sk.id {
				// One in 2^32 for a pair of random keys: the ID would not
				// tell them apart, so refuse rather than guess.
				return nil, fmt.Errorf("%w: key %d of %d has the same key ID as key %d; replace one of them with a new key", ErrInvalidKey, i+1, len(keys), j+1)
			}
		}
		s.keys[i] = sk
	}
	return s, nil
}

// boundData is the additional data of each key under one cookie name.
type boundData struct {
	name string
	ads  [][]byte
}

// maxBoundNames bounds the names whose additional data a Store keeps: a
// Manager each, so a handful.
const maxBoundNames = 16

// additionalData returns the additional data of a seal under keys[i] bound
// to the cookie name, computed once per name.
func (s *Store) additionalData(i int, name string) []byte {
	known := s.ads.Load()
	if known != nil {
		for _, b := range *known {
			if b.name == name {
				return b.ads[i]
			}
		}
	}
	b := boundData{name: name, ads: make([][]byte, len(s.keys))}
	for j := range s.keys {
		b.ads[j] = aad(s.keys[j].header(), name)
	}
	if known == nil || len(*known) < maxBoundNames {
		// Copied on write, so readers never lock; a name added by two
		// calls at once may be kept twice, or once, either is right.
		list := []boundData{b}
		if known != nil {
			list = append(list, *known...)
		}
		s.ads.CompareAndSwap(known, &list)
	}
	return b.ads[i]
}

// name is the cookie name sealed into the additional data of a token of a
// call with ctx: the Manager's, or the Store's own.
func (s *Store) name(ctx context.Context) string {
	if name := session.CookieName(ctx); name != "" {
		return name
	}
	if s.Name != "" {
		return s.Name
	}
	return DefaultName
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Store) clockSkew() time.Duration {
	switch {
	case s.ClockSkew > 0:
		return s.ClockSkew
	case s.ClockSkew < 0:
		return 0
	}
	return DefaultClockSkew
}

// Load opens token and returns the record sealed in it.
//
// Load does no I/O, so nothing can fail but the token, and a bad token
// means a new session: it returns no record and an error wrapping
// session.ErrInvalidToken that says why (for the Manager's
// EventRejected), for a token that is too long, not unpadded base64url,
// too short, of another format version, under a key ID none of the keys
// has, not authentic (tampered, truncated, extended, or sealed for another
// cookie name), of a malformed inner layout, created or touched more than
// ClockSkew in the future, or at or past its Expires. It never returns
// part of a record.
//
// A record opened with a key other than the first has Reissue set, so the
// Manager seals it again with the first key on this response. A token
// that does not open as a seal is passed to Fallback, if set.
func (s *Store) Load(ctx context.Context, token string) (*session.Record, error) {
	var rec *session.Record
	ki, err := -1, error(errMalformed)
	if b := decodeToken(token); b != nil {
		rec, ki, err = s.open(s.name(ctx), b)
	}
	// Reissued: a seal under an older key, or a token of the Fallback's.
	reissue := ki > 0
	if err != nil {
		if s.Fallback == nil {
			return nil, err
		}
		if rec = s.Fallback(ctx, token); rec == nil {
			return nil, err
		}
		reissue = true
	}
	now := s.now()
	limit := now.Add(s.clockSkew())
	switch {
	case rec.Created.After(limit) || rec.Touched.After(limit):
		return nil, errFromTheFuture
	case !now.Before(rec.Expires):
		return nil, errExpired
	}
	rec.Reissue = reissue
	return rec, nil
}

// Save seals rec with the first key and a fresh random nonce, and returns
// the new token. token names nothing stored to update, and every save gives
// a different token: Save seals rec as it is, whatever token is, and does
// not change it.
//
// Save fails if rec is nil, if rec.Expires is zero (a seal cannot be
// revoked, so one without a deadline would be valid forever), if the token
// would be longer than MaxTokenLen (wrapping session.ErrTooLarge), or if
// the Store was not made with New.
func (s *Store) Save(ctx context.Context, token string, rec *session.Record) (string, error) {
	if rec == nil {
		return "", errors.New("cookiesession: Save called with a nil record")
	}
	if len(s.keys) == 0 {
		return "", errors.New("cookiesession: Store has no keys; make it with New")
	}
	r := s.rand
	if r == nil {
		r = rand.Reader
	}
	return seal(&s.keys[0], s.additionalData(0, s.name(ctx)), rec, r)
}

// Delete does nothing and returns nil. A sealed token cannot be revoked
// server-side: that is the trade-off of keeping no state. The Manager
// expires the cookie on Destroy, but a copy of the token taken earlier
// stays valid until its Expires (or until the key that sealed it is
// dropped). Keep Lifetime and IdleTimeout short, or use a server-side
// store, where revocation matters.
func (s *Store) Delete(context.Context, string) error {
	return nil
}
