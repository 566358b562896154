package serverstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	session "github.com/go-sealed/session"
)

// Store is a session.Store that keeps records in a Backend and gives the
// client only a random token naming them. It implements
// session.ServerSide: Renew moves a record to a new token, and the Manager
// merges concurrent changes through Update.
//
// A Store is safe for concurrent use; it holds no state of its own besides
// the backend, so any number of Stores, in any number of processes, may
// share one backend.
type Store struct {
	b      Backend
	ui     UserIndex // b as a UserIndex, or nil
	sc     Scanner   // b as a Scanner, or nil
	plain  bool      // WithoutSealing: records are not sealed
	strict bool      // WithSealedOnly: unsealed records are refused
}

var _ session.ServerSide = (*Store)(nil)

// An Option configures a Store made by New.
type Option func(*Store)

// WithoutSealing stores each record's data as the Manager's codec encoded
// it, readable by whoever can read the backend, rather than sealed under
// a key derived from the session's token (the default, see the package
// documentation). Use it only when another program must read the stored
// sessions. Records sealed earlier still load; each is written unsealed
// at its next save.
func WithoutSealing() Option {
	return func(s *Store) { s.plain = true }
}

// WithSealedOnly refuses records whose data is not sealed (written before
// sealing, or by a Store made WithoutSealing): they load as no session.
// By default a Store reads them, so that sessions survive the upgrade to
// sealed records; but then whoever can write to the backend can plant
// such a record, with values of their choosing, under the key of a
// session it has read there. Set it once the Manager's Lifetime has passed
// since the upgrade, when no unsealed record can still be live.
func WithSealedOnly() Option {
	return func(s *Store) { s.strict = true }
}

// New returns a Store that keeps its records in b. Whether b implements
// the optional UserIndex and Scanner is detected here, once: wrap a
// backend before passing it to New, not after.
func New(b Backend, opts ...Option) *Store {
	if b == nil {
		panic("serverstore: New called with a nil Backend")
	}
	s := &Store{b: b}
	s.ui, _ = b.(UserIndex)
	s.sc, _ = b.(Scanner)
	for _, o := range opts {
		o(s)
	}
	if s.plain && s.strict {
		panic("serverstore: New called with both WithoutSealing and WithSealedOnly")
	}
	return s
}

// errNoExpiry rejects a record that would never load: the Manager always
// sets Expires, so a zero one is a caller's mistake worth reporting rather
// than a write that silently disappears.
var errNoExpiry = errors.New("serverstore: record has no Expires")

// errBadToken is returned where a token must name a record to write under.
// Like every error of this package, it never quotes the token.
var errBadToken = errors.New("serverstore: malformed session token")

// Why a token loaded nothing, for the Manager's EventRejected.
var (
	errMalformedToken = fmt.Errorf("%w: malformed (not a token this store issues)", session.ErrInvalidToken)
	errNoSession      = fmt.Errorf("%w: no live session under it (unknown, expired or ended)", session.ErrInvalidToken)
)

// Load returns the record named by token. A token that is malformed,
// unknown, expired or names a record that does not parse or open loads
// nothing, with an error wrapping session.ErrInvalidToken that says which;
// a malformed token is rejected before the backend is asked, so garbage
// cookies cost nothing. A well-formed token costs exactly one Backend.Find
// and no write.
func (s *Store) Load(ctx context.Context, token string) (*session.Record, error) {
	sec, ok := parseToken(token)
	if !ok {
		return nil, errMalformedToken
	}
	data, found, err := s.b.Find(ctx, sec.key())
	if err != nil {
		return nil, fmt.Errorf("serverstore: load: %w", err)
	}
	rec := s.parseLive(data, found, &sec)
	if rec == nil {
		return nil, errNoSession
	}
	rec.Stored = data
	return rec, nil
}

// Save stores rec under token, replacing what was there, and returns
// token. With token "" it mints a new token for a new session. Saving
// under a malformed token is an error: the Manager only saves under
// tokens that loaded.
func (s *Store) Save(ctx context.Context, token string, rec *session.Record) (string, error) {
	sec, ok := parseToken(token)
	if token == "" {
		token, sec = mintToken()
	} else if !ok {
		return "", errBadToken
	}
	e, err := s.entryOf(rec, &sec)
	if err != nil {
		return "", err
	}
	if err := s.b.Commit(ctx, sec.key(), e); err != nil {
		return "", fmt.Errorf("serverstore: save: %w", err)
	}
	return token, nil
}

// Renew moves rec to a new token and returns it; afterwards oldToken loads
// nothing. If oldToken no longer names a live record (another request
// destroyed it, say with DestroyUser), Renew writes nothing and returns "",
// so that renewing never brings back a revoked session.
func (s *Store) Renew(ctx context.Context, oldToken string, rec *session.Record) (string, error) {
	token, sec := mintToken()
	e, err := s.entryOf(rec, &sec) // sealed under the new token's key
	if err != nil {
		return "", err
	}
	old, ok := parseToken(oldToken)
	if !ok {
		// Nothing can be stored under a malformed token: there is
		// nothing to move, only the new record to write.
		err = s.b.Commit(ctx, sec.key(), e)
	} else if err = s.b.Rename(ctx, old.key(), sec.key(), e); errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("serverstore: renew: %w", err)
	}
	return token, nil
}

// Update applies fn to the record stored under token and stores the
// result under the same token, which it returns, in one atomic step of the
// backend; fn may run more than once. fn receives nil if the record is
// gone (deleted, expired or unparsable); if fn returns a nil record
// nothing is written and Update returns "", so a session destroyed by
// another request is not brought back by this one. loaded (the record Load
// returned, if not nil) is handed to the backend as a hint, as it was
// stored (Record.Stored), which spares a backend whose reads cost a round
// trip the read when the record is still the one loaded (see
// Backend.Update).
func (s *Store) Update(ctx context.Context, token string, loaded *session.Record, fn func(current *session.Record) (*session.Record, error)) (string, error) {
	sec, ok := parseToken(token)
	if !ok {
		// No record can be stored under a malformed token: fn sees none,
		// and whatever it makes is a new session with a new token.
		rec, err := fn(nil)
		if err != nil || rec == nil {
			return "", err
		}
		return s.Save(ctx, "", rec)
	}
	var hint *Entry
	if loaded != nil && loaded.Stored != nil {
		hint = &Entry{Data: loaded.Stored, Expires: loaded.Expires, UserID: loaded.UserID}
	}
	var written bool
	err := s.b.Update(ctx, sec.key(), hint, func(data []byte, found bool) (Entry, bool, error) {
		var cur *session.Record
		if hint != nil && found && bytes.Equal(data, hint.Data) {
			// The hint, or bytes equal to it: loaded is what they
			// open to, so opening them again is skipped.
			cur = live(loaded, time.Now())
		} else {
			cur = s.parseLive(data, found, &sec)
		}
		rec, err := fn(cur)
		written = err == nil && rec != nil // the last attempt is the one that counts
		if !written {
			return Entry{}, false, err
		}
		e, err := s.entryOf(rec, &sec)
		return e, err == nil, err
	})
	if err != nil {
		return "", fmt.Errorf("serverstore: update: %w", err)
	}
	if !written {
		return "", nil
	}
	return token, nil
}

// Delete removes the record named by token. A malformed or unknown token
// is not an error, and a malformed one costs no backend call.
func (s *Store) Delete(ctx context.Context, token string) error {
	sec, ok := parseToken(token)
	if !ok {
		return nil
	}
	if err := s.b.Delete(ctx, sec.key()); err != nil {
		return fmt.Errorf("serverstore: delete: %w", err)
	}
	return nil
}

// parseLive is parseLive of the record data holds, refusing one that is
// not sealed if the Store was made WithSealedOnly.
func (s *Store) parseLive(data []byte, found bool, sec *secret) *session.Record {
	if s.strict && found && !sealed(data) {
		return nil
	}
	return parseLive(data, found, sec)
}

// parseLive is the record data holds if found, parses, opens under sec's
// key and has not expired, else nil; with sec nil, its header alone. The
// expiry is checked here as well as by the backend, because a backend's
// clock (a database server's) is not ours, and a record must never be
// served past its Expires by this process.
func parseLive(data []byte, found bool, sec *secret) *session.Record {
	if !found {
		return nil
	}
	rec, err := decodeRecord(data, sec)
	if err != nil {
		return nil
	}
	return live(rec, time.Now())
}

// live is rec if it has not expired at now, else nil.
func live(rec *session.Record, now time.Time) *session.Record {
	if rec == nil || !now.Before(rec.Expires) {
		return nil
	}
	return rec
}

// entryOf serializes rec into the Entry the backend stores under sec's
// key, its data sealed under sec's seal key unless WithoutSealing.
func (s *Store) entryOf(rec *session.Record, sec *secret) (Entry, error) {
	if rec == nil {
		return Entry{}, errors.New("serverstore: nil record")
	}
	if rec.Expires.IsZero() {
		return Entry{}, errNoExpiry
	}
	if s.plain {
		sec = nil
	}
	return Entry{Data: encodeRecord(rec, sec), Expires: rec.Expires, UserID: rec.UserID}, nil
}
