package session

import (
	"context"
	"errors"
	"time"
)

// Store keeps session records and hands out the tokens that name them.
//
// A token is what travels to the client: the cookie value, or the header
// value in header mode. What a token is depends on the store: the sealed
// cookie store puts the whole record, encrypted, into it; a server-side store
// puts a random ID into it and keeps the record itself.
//
// A token must be cookie-safe: made only of the bytes RFC 6265 allows
// unquoted in a cookie value (printable ASCII other than space, '"', ',',
// ';' and '\'); base64url, which the stores of this module use, is. The
// Manager writes a token into its cookie as it is, and fails the save with
// an error if it holds any other byte.
//
// The Manager calls a Store only when a request touches its session, and
// passes the request's context, with the Manager's cookie name
// (CookieName). Implementations must be safe for concurrent use, and bound
// their own I/O: a store that waits on a network or a disk must give up
// after a timeout of its own rather than hang a request (the Manager sets
// none, so that a store that does no I/O pays for no timer).
type Store interface {
	// Load returns the record named by token. A token that is unknown,
	// malformed, forged or expired is not an error: Load returns (nil, nil),
	// or (nil, err) with err wrapping ErrInvalidToken to say why, and the
	// request gets a new, empty session. Any other error means the store
	// could not answer (a backend that is down, a cancelled context); the
	// Manager then answers with its ErrorFunc instead of running on an empty
	// session that might overwrite the real one.
	Load(ctx context.Context, token string) (*Record, error)

	// Save stores rec and returns the token that names it from now on. A
	// store whose session IDs are another program's may set rec.ID to the
	// ID it derives, which the Manager then adopts (as ServerSide.Renew
	// may).
	// token is the one the record was loaded with, or "" for a new session,
	// in which case the store mints a new token. The returned token may
	// differ from token: a sealed store returns a new seal on every save.
	Save(ctx context.Context, token string, rec *Record) (string, error)

	// Delete removes the record named by token, so that token no longer
	// loads anything. Deleting a record that does not exist is not an error.
	Delete(ctx context.Context, token string) error
}

// ServerSide is implemented by stores that keep records on the server
// (serverstore.Store), where a token names a record rather than holding
// it. The Manager relies on it for what only such a store can do: change a
// stored session without a new token, so that two requests of one session
// can both save (merged key by key) and a change after the response began
// can still be saved; and move a session to a new token in one step, so
// that the old token stops working at once. A store that keeps records on
// the server should implement it; one that does not gets a new token on
// every save.
type ServerSide interface {
	Store

	// Update reads the record currently stored under token, passes it to
	// fn (nil if it is gone), and stores what fn returns under the same
	// token, which it returns, as one step as far as the backend allows.
	// If fn returns a nil record, nothing is stored and Update returns ""
	// and no error: a session destroyed meanwhile is not brought back.
	//
	// loaded, when not nil, is the record Load returned for token earlier
	// in the same request, and most likely what is still stored. A store
	// whose reads cost a round trip may use it to skip the read: call fn
	// with loaded, and write only if the stored record is still the same,
	// checked atomically with the write; if it is not, read and call fn
	// again. fn may be called more than once, and must not modify the
	// record it is given.
	Update(ctx context.Context, token string, loaded *Record, fn func(current *Record) (*Record, error)) (string, error)

	// Renew moves rec to a new token atomically and returns it: afterwards
	// oldToken loads nothing and the returned token loads rec. When
	// oldToken no longer names a record (another request destroyed it
	// meanwhile), Renew writes nothing and returns "", so that a renewal
	// never brings back a revoked session.
	Renew(ctx context.Context, oldToken string, rec *Record) (string, error)
}

// A Checker is a store that works only with some of the Manager's
// settings: the store that shares sessions with an Express app, say, needs
// the JSON codec. Handler (or the Manager's first use outside it) calls
// Check with the Manager once its fields are set, and panics with the
// error, as for a mistake in the Manager's own settings: a
// misconfiguration fails at start, not on the first request.
type Checker interface {
	Check(m *Manager) error
}

// CookieName returns the cookie name of the Manager whose session a store
// call serves, from the call's context, or "" for a call the Manager did
// not make. A store that binds its tokens to the name they travel under,
// so that a token issued for one cookie cannot be replayed under another
// (the sealed cookie store puts it in its additional authenticated data),
// reads it here: every Manager calls its store with a context that carries
// its session.
func CookieName(ctx context.Context) string {
	if s := FromContext(ctx); s != nil {
		return s.m.Cookie.Name
	}
	return ""
}

// Record is one session as a Store keeps it. The Manager fills every field
// before Save; a Store stores them and gives them back from Load.
type Record struct {
	// ID is the session's random identifier (Session.ID). It is not the
	// token: it is safe to log, and changes on Renew.
	ID string

	// Created is when the session began; Lifetime counts from here.
	Created time.Time

	// Touched is when the session was last saved or its idle deadline last
	// extended; IdleTimeout counts from here.
	Touched time.Time

	// Expires is the hard deadline: the earliest of Created+Lifetime,
	// Touched+IdleTimeout and Deadline. A Store never returns a record
	// past it.
	Expires time.Time

	// Deadline is the session's own deadline, set by Session.SetDeadline:
	// the session ends then at the latest, whatever its other limits
	// allow. Zero when none was set. A Store keeps it with the record, so
	// that later saves, which compute Expires afresh, keep honouring it.
	Deadline time.Time

	// Persistent selects a cookie that outlives the browser session
	// (Max-Age set) rather than one the browser drops when it closes.
	Persistent bool

	// UserID tags the session with its owner, so that server-side stores
	// can list and destroy all of one user's sessions. Empty when unset.
	UserID string

	// Data holds the session's values, encoded by the Manager's Codec. It
	// is opaque to stores.
	Data []byte

	// Reissue is set by Load when the token is valid but should be issued
	// again even if the session did not change: a cookie sealed under a
	// retired key, for example. The Manager then saves the session on this
	// response.
	Reissue bool

	// Stored is the record as the store's Load read it, in the store's own
	// format, for the store's own use: the Manager hands the loaded record
	// back to ServerSide.Update, where the store may compare Stored with
	// what it holds now rather than encode the record again. The Manager
	// never reads or changes it.
	Stored []byte
}

// Clone returns a deep copy of r.
func (r *Record) Clone() *Record {
	if r == nil {
		return nil
	}
	c := *r
	c.Data = append([]byte(nil), r.Data...)
	return &c
}

// ErrTooLarge is returned (wrapped) when a session cannot be saved because
// it is larger than its transport allows: more cookies than
// CookieOptions.MaxChunks, for example. Nothing is written and the previous
// session stays as it was.
var ErrTooLarge = errors.New("session: too large")

// ErrInvalidToken may be wrapped by the error Store.Load returns for a
// token that names no usable record, to say why (malformed, unknown,
// expired, forged, sealed under a key the store no longer has). The
// Manager treats such an error exactly like Load's (nil, nil): the
// request gets a new, empty session. It only passes the reason on, in its
// EventRejected, so that an operator can tell a spike of forged tokens
// from sessions that merely expired. Its text must not quote the token.
var ErrInvalidToken = errors.New("session: invalid token")
