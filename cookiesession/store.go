package cookiesession

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
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
	// Name is the name of the cookie the tokens travel in; it is sealed in
	// as additional data, so a token issued for one cookie does not open
	// as another (a second Manager's cookie, say). A session.Manager sets
	// it by itself, through BindName, to its Cookie.Name; set it by hand
	// only when using the Store without a Manager. Empty means DefaultName.
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

	// ads[i] is the additional data of keys[i] under the cookie name adName,
	// computed once by New and BindName rather than on every seal and open.
	// A Name set by hand to something else after New is served by
	// additionalData computing it per call.
	adName string
	ads    [][]byte

	gorilla *Gorilla // legacy cookies Load also accepts; see AcceptGorilla

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
	s.bindAdditionalData(DefaultName)
	return s, nil
}

// bindAdditionalData precomputes the additional data of each key for the
// cookie name. It makes a new slice, so copies of s (BindName's) that share
// the old one are unaffected.
func (s *Store) bindAdditionalData(name string) {
	s.adName = name
	s.ads = make([][]byte, len(s.keys))
	for i := range s.keys {
		s.ads[i] = aad(s.keys[i].header(), name)
	}
}

// additionalData returns the additional data of a seal under keys[i] bound
// to the cookie name: precomputed when name is the one New or BindName
// prepared for, computed afresh otherwise.
func (s *Store) additionalData(i int, name string) []byte {
	if name == s.adName && i < len(s.ads) {
		return s.ads[i]
	}
	return aad(s.keys[i].header(), name)
}

// BindName returns a copy of s whose tokens are bound to the cookie name.
// A session.Manager calls it before its first request with its Cookie.Name
// (see session.NameBinder), so one Store can serve several Managers under
// different cookie names.
func (s *Store) BindName(name string) session.Store {
	c := *s
	c.Name = name
	c.bindAdditionalData(c.name())
	return &c
}

var _ session.NameBinder = (*Store)(nil)

// name is the cookie name sealed into the additional data of a token.
func (s *Store) name() string {
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
// Load never returns an error: it does no I/O, so there is nothing that can
// fail but the token, and a bad token means a new session. It returns
// (nil, nil) for a token that is too long, not unpadded base64url, too
// short, of another format version, under a key ID none of the keys has,
// not authentic (tampered, truncated, extended, or sealed for another
// cookie name), of a malformed inner layout, created or touched more than
// ClockSkew in the future, or at or past its Expires. It never returns
// part of a record.
//
// A record opened with a key other than the first has Reissue set, so the
// Manager seals it again with the first key on this response. After
// AcceptGorilla, a token that does not open as a seal is tried as a legacy
// gorilla/sessions cookie, with the same rules.
func (s *Store) Load(ctx context.Context, token string) (*session.Record, error) {
	b := decodeToken(token)
	if b == nil {
		return s.loadGorilla(ctx, token), nil
	}
	rec, ki := s.open(s.name(), b)
	if rec == nil {
		return s.loadGorilla(ctx, token), nil
	}
	now := s.now()
	limit := now.Add(s.clockSkew())
	if rec.Created.After(limit) || rec.Touched.After(limit) || !now.Before(rec.Expires) {
		return nil, nil
	}
	rec.Reissue = ki > 0
	return rec, nil
}

// Save seals rec with the first key and a fresh random nonce, and returns
// the new token. token names nothing stored to update, and every save gives
// a different token: Save seals rec as it is, whatever token is.
//
// The one exception, after AcceptGorilla: when token is a legacy gorilla
// cookie, this is the save that replaces it, and Save first lowers
// rec.Expires, in place, to when that cookie would have expired (its
// securecookie timestamp plus Gorilla.MaxAge), if that is earlier. The
// seal then carries that deadline, and the caller (the Manager, for the
// cookie's Max-Age) sees it in rec. See AcceptGorilla.
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
	if s.gorilla != nil {
		s.gorilla.clampExpires(token, rec)
	}
	r := s.rand
	if r == nil {
		r = rand.Reader
	}
	return seal(&s.keys[0], s.additionalData(0, s.name()), rec, r)
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

// Local reports true: a Store does no I/O (sealing and opening are
// computation in memory), so a session.Manager does not bound its calls by
// StoreTimeout. See session.LocalStore.
func (*Store) Local() bool { return true }

var _ session.LocalStore = (*Store)(nil)
