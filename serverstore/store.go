package serverstore

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
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
	b   Backend
	tx  Transactor       // b as a Transactor, or nil
	htx HintedTransactor // b as a HintedTransactor, or nil
	rn  Renamer          // b as a Renamer, or nil
	ui  UserIndex        // b as a UserIndex, or nil

	local bool // b is a LocalBackend that reports true
}

var (
	_ session.ServerSide = (*Store)(nil)
	_ session.LocalStore = (*Store)(nil)
)

// New returns a Store that keeps its records in b. The optional interfaces
// b implements (Transactor, Renamer, UserIndex, LocalBackend) are detected
// here, once: wrap a backend before passing it to New, not after.
func New(b Backend) *Store {
	if b == nil {
		panic("serverstore: New called with a nil Backend")
	}
	s := &Store{b: b}
	s.tx, _ = b.(Transactor)
	s.htx, _ = b.(HintedTransactor)
	s.rn, _ = b.(Renamer)
	s.ui, _ = b.(UserIndex)
	if l, ok := b.(LocalBackend); ok {
		s.local = l.Local()
	}
	return s
}

// Local implements session.LocalStore: it reports whether the backend is
// a LocalBackend that never blocks on I/O (memstore), in which case a
// session.Manager does not bound the Store's calls by its StoreTimeout.
func (s *Store) Local() bool { return s.local }

// ErrNoUserIndex is returned by ListUser, DestroyUser and DestroyHandle when
// the Store's backend does not implement UserIndex.
var ErrNoUserIndex = errors.New("serverstore: the backend keeps no user index")

// errNoExpiry rejects a record that would never load: the Manager always
// sets Expires, so a zero one is a caller's mistake worth reporting rather
// than a write that silently disappears.
var errNoExpiry = errors.New("serverstore: record has no Expires")

// errBadToken is returned where a token must name a record to write under.
// Like every error of this package, it never quotes the token.
var errBadToken = errors.New("serverstore: malformed session token")

// Load returns the record named by token, or (nil, nil) if token is
// malformed, unknown, expired or names a record that does not parse. A
// malformed token is rejected before the backend is asked, so garbage
// cookies cost nothing. A well-formed token costs exactly one Backend.Find
// and no write.
func (s *Store) Load(ctx context.Context, token string) (*session.Record, error) {
	key, ok := tokenKey(token)
	if !ok {
		return nil, nil
	}
	data, found, err := s.b.Find(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("serverstore: load: %w", err)
	}
	if !found {
		return nil, nil
	}
	return liveRecord(data, time.Now()), nil
}

// liveRecord parses data and returns the record if it parses and has not
// expired at now, else nil. The expiry is checked here as well as by the
// backend, because a backend's clock (a database server's) is not ours,
// and a record must never be served past its Expires by this process.
func liveRecord(data []byte, now time.Time) *session.Record {
	rec, err := decodeRecord(data)
	if err != nil {
		return nil
	}
	return live(rec, now)
}

// Save stores rec under token, replacing what was there, and returns
// token. With token "" it mints a new token for a new session. Saving
// under a malformed token is an error: the Manager only saves under
// tokens that loaded.
func (s *Store) Save(ctx context.Context, token string, rec *session.Record) (string, error) {
	e, err := entryOf(rec)
	if err != nil {
		return "", err
	}
	key, ok := tokenKey(token)
	if token == "" {
		token, key = mintToken()
	} else if !ok {
		return "", errBadToken
	}
	if err := s.b.Commit(ctx, key, e); err != nil {
		return "", fmt.Errorf("serverstore: save: %w", err)
	}
	return token, nil
}

// Renew moves rec to a new token and returns it; afterwards oldToken loads
// nothing. If oldToken no longer names a live record (another request
// destroyed it, say with DestroyUser), Renew writes nothing and returns "",
// so that renewing never brings back a revoked session.
//
// With a Renamer backend this is one atomic step. Otherwise the new record
// is committed first and the old one ended second, so that at every moment
// one of them exists, tagged with its user, for DestroyUser's passes to
// find. With a Transactor backend the old one is ended only if it is still
// there, checked atomically; if it is gone, the new record is deleted
// again and Renew returns "". A backend that is neither checks with a read
// first and then deletes, which leaves a moment in which a destruction is
// missed. If ending the old record fails, the new one is deleted on a
// best-effort basis and the old session keeps working.
func (s *Store) Renew(ctx context.Context, oldToken string, rec *session.Record) (string, error) {
	e, err := entryOf(rec)
	if err != nil {
		return "", err
	}
	token, key := mintToken()
	oldKey, ok := tokenKey(oldToken)
	switch {
	case !ok:
		// Nothing can be stored under a malformed token: there is
		// nothing to move, only the new record to write.
		err = s.b.Commit(ctx, key, e)
	case s.rn != nil:
		if err = s.rn.Rename(ctx, oldKey, key, e); errors.Is(err, ErrNotFound) {
			return "", nil
		}
	default:
		var moved bool
		if moved, err = s.renewInSteps(ctx, oldKey, key, e); err == nil && !moved {
			return "", nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("serverstore: renew: %w", err)
	}
	return token, nil
}

// renewInSteps is Renew for a backend that is not a Renamer. It reports
// whether the old record was there to be moved.
func (s *Store) renewInSteps(ctx context.Context, oldKey, key string, e Entry) (moved bool, err error) {
	if s.tx == nil {
		data, found, err := s.b.Find(ctx, oldKey)
		if err != nil || parseLive(data, found) == nil {
			return false, err
		}
	}
	if err := s.b.Commit(ctx, key, e); err != nil {
		return false, err
	}
	if s.tx != nil {
		err = s.tx.Update(ctx, oldKey, func(data []byte, found bool) (Entry, bool, error) {
			moved = parseLive(data, found) != nil
			// An entry that has expired is one the backend never serves
			// and may delete: the old record's end, with its user-index
			// entry.
			return Entry{Expires: time.Unix(0, 0)}, moved, nil
		})
	} else {
		moved, err = true, s.b.Delete(ctx, oldKey)
	}
	if err != nil || !moved {
		_ = s.b.Delete(ctx, key)
	}
	return moved, err
}

// Update applies fn to the record stored under token and stores the
// result under the same token, which it returns. fn receives nil if the
// record is gone (deleted, expired or unparsable); if fn returns a nil
// record nothing is written and Update returns "", so a session destroyed
// by another request is not brought back by this one.
//
// With a Transactor backend the read, fn and the write are one atomic
// step, and fn may run more than once. Otherwise Update reads, calls fn
// once and writes, and a change committed by another request in between
// is overwritten. With a HintedTransactor backend, loaded (the record
// Load returned, if not nil) spares the read: fn runs on loaded, and the
// backend writes its result only if it still holds loaded, else fn runs
// again on what it holds.
func (s *Store) Update(ctx context.Context, token string, loaded *session.Record, fn func(current *session.Record) (*session.Record, error)) (string, error) {
	key, ok := tokenKey(token)
	if !ok {
		// No record can be stored under a malformed token: fn sees none,
		// and whatever it makes is a new session with a new token.
		rec, err := fn(nil)
		if err != nil || rec == nil {
			return "", err
		}
		return s.Save(ctx, "", rec)
	}
	var written bool
	apply := func(cur *session.Record) (Entry, bool, error) {
		e, write, err := applyUpdate(cur, fn)
		written = write // the last attempt is the one that counts
		return e, write, err
	}
	var err error
	switch hint, hinted := s.hint(loaded); {
	case hinted:
		err = s.htx.UpdateHinted(ctx, key, hint, func(data []byte, found bool) (Entry, bool, error) {
			if found && bytes.Equal(data, hint.Data) {
				// The hint, or bytes equal to it: loaded is what they
				// parse to, so parsing them again is skipped.
				return apply(live(loaded, time.Now()))
			}
			return apply(parseLive(data, found))
		})
	case s.tx != nil:
		err = s.tx.Update(ctx, key, func(data []byte, found bool) (Entry, bool, error) {
			return apply(parseLive(data, found))
		})
	default:
		err = s.updateInSteps(ctx, key, apply)
	}
	if err != nil {
		return "", fmt.Errorf("serverstore: update: %w", err)
	}
	if !written {
		return "", nil
	}
	return token, nil
}

// hint returns the entry that loaded was read from, for a HintedTransactor
// backend; false if there is none to give.
func (s *Store) hint(loaded *session.Record) (Entry, bool) {
	if s.htx == nil || loaded == nil {
		return Entry{}, false
	}
	e, err := entryOf(loaded)
	return e, err == nil
}

// updateInSteps is Update for a backend that cannot do it atomically.
func (s *Store) updateInSteps(ctx context.Context, key string, apply func(*session.Record) (Entry, bool, error)) error {
	data, found, err := s.b.Find(ctx, key)
	if err != nil {
		return err
	}
	e, write, err := apply(parseLive(data, found))
	if err != nil || !write {
		return err
	}
	return s.b.Commit(ctx, key, e)
}

// parseLive is the record data holds if found, parses and has not expired,
// else nil.
func parseLive(data []byte, found bool) *session.Record {
	if !found {
		return nil
	}
	return liveRecord(data, time.Now())
}

// live is rec if it has not expired at now, else nil.
func live(rec *session.Record, now time.Time) *session.Record {
	if rec == nil || !now.Before(rec.Expires) {
		return nil
	}
	return rec
}

// applyUpdate turns the Store's record-level update callback into the
// backend's entry-level one.
func applyUpdate(cur *session.Record, fn func(*session.Record) (*session.Record, error)) (Entry, bool, error) {
	rec, err := fn(cur)
	if err != nil || rec == nil {
		return Entry{}, false, err
	}
	e, err := entryOf(rec)
	if err != nil {
		return Entry{}, false, err
	}
	return e, true, nil
}

// Delete removes the record named by token. A malformed or unknown token
// is not an error, and a malformed one costs no backend call.
func (s *Store) Delete(ctx context.Context, token string) error {
	key, ok := tokenKey(token)
	if !ok {
		return nil
	}
	if err := s.b.Delete(ctx, key); err != nil {
		return fmt.Errorf("serverstore: delete: %w", err)
	}
	return nil
}

// Info describes one live session of a user, as listed by ListUser.
type Info struct {
	// ID is the session's identifier (session.Session.ID): safe to show
	// and log, and what to compare with the current request's Session.ID
	// to mark "this device" in a list.
	ID string

	// Handle names the session for DestroyHandle. It is the backend key,
	// a hash of the token: it cannot be used as a token, so it is safe to
	// put in a page or a form.
	Handle string

	// Created, Touched and Expires are the record's times: when the
	// session began, when it was last saved, and when it ends.
	Created, Touched, Expires time.Time

	// Persistent reports whether the session's cookie outlives the
	// browser session ("remember me").
	Persistent bool
}

// ListUser returns the live sessions tagged with userID (by
// session.Session.SetUser), most recently used first. It returns
// ErrNoUserIndex if the backend keeps no user index.
func (s *Store) ListUser(ctx context.Context, userID string) ([]Info, error) {
	if err := s.checkUser(userID); err != nil {
		return nil, err
	}
	entries, err := s.ui.FindUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("serverstore: list user sessions: %w", err)
	}
	now := time.Now()
	infos := make([]Info, 0, len(entries))
	for key, data := range entries {
		rec := liveRecord(data, now)
		if rec == nil || rec.UserID != userID {
			continue
		}
		infos = append(infos, Info{
			ID:         rec.ID,
			Handle:     key,
			Created:    rec.Created,
			Touched:    rec.Touched,
			Expires:    rec.Expires,
			Persistent: rec.Persistent,
		})
	}
	slices.SortFunc(infos, func(a, b Info) int {
		return cmp.Or(b.Touched.Compare(a.Touched), cmp.Compare(a.Handle, b.Handle))
	})
	return infos, nil
}

// DestroyUser deletes every session tagged with userID ("log out
// everywhere") and returns how many live sessions it ended. A request of
// one of them that is in flight cannot bring it back: its save finds the
// record gone and expires its cookie, and a Renew moves only a record that
// is still there.
//
// It goes over the user's sessions twice. A Renew that moves a session to
// its new key while the first pass runs can land beside it, under a key
// the pass has already gone by; the second pass ends it. (The renewal
// writes the new key before it ends the old one, so one or the other is
// there for a pass to find, and a renewal that starts after the first pass
// finds its old record gone and writes nothing.) A session tagged with
// userID by a login that completes while DestroyUser runs may be ended
// too, or survive it. It returns ErrNoUserIndex if the backend keeps no
// user index.
func (s *Store) DestroyUser(ctx context.Context, userID string) (int, error) {
	if err := s.checkUser(userID); err != nil {
		return 0, err
	}
	var total int
	for range 2 {
		n, err := s.ui.DeleteUser(ctx, userID)
		total += n
		if err != nil {
			return total, fmt.Errorf("serverstore: destroy user sessions: %w", err)
		}
	}
	return total, nil
}

// DestroyHandle ends the session named by handle (an Info.Handle from
// ListUser) if it belongs to userID, and reports whether it did. Requiring
// the owner means a handle posted back by a browser ("sign out that
// device") cannot end another user's session, whatever the caller forgot
// to check. A malformed handle is an error; an unknown, expired or foreign
// one is (false, nil). It returns ErrNoUserIndex if the backend keeps no
// user index.
func (s *Store) DestroyHandle(ctx context.Context, userID, handle string) (bool, error) {
	if err := s.checkUser(userID); err != nil {
		return false, err
	}
	if !validKey(handle) {
		return false, errors.New("serverstore: malformed session handle")
	}
	data, found, err := s.b.Find(ctx, handle)
	if err != nil {
		return false, fmt.Errorf("serverstore: destroy session: %w", err)
	}
	if !found {
		return false, nil
	}
	if rec := liveRecord(data, time.Now()); rec == nil || rec.UserID != userID {
		return false, nil
	}
	if err := s.b.Delete(ctx, handle); err != nil {
		return false, fmt.Errorf("serverstore: destroy session: %w", err)
	}
	return true, nil
}

// checkUser guards the user-index methods. An empty user ID is refused
// because it is the tag of every anonymous session: "end all sessions
// of the user with no ID" is never what a caller means.
func (s *Store) checkUser(userID string) error {
	if s.ui == nil {
		return ErrNoUserIndex
	}
	if userID == "" {
		return errors.New("serverstore: empty user ID")
	}
	return nil
}

// entryOf serializes rec into the Entry the backend stores.
func entryOf(rec *session.Record) (Entry, error) {
	if rec == nil {
		return Entry{}, errors.New("serverstore: nil record")
	}
	if rec.Expires.IsZero() {
		return Entry{}, errNoExpiry
	}
	return Entry{Data: encodeRecord(rec), Expires: rec.Expires, UserID: rec.UserID}, nil
}

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
