package serverstore

import (
	"context"
	"errors"
	"time"
)

// Backend is where a Store keeps its records: memory, Redis, a SQL table,
// a bolt file. It deals in keys and opaque bytes only; sessions, tokens and
// HTTP are the Store's business.
//
// A key is the lowercase hex SHA-256 of a session token (64 characters),
// never the token itself, so that whatever a backend holds (a table, a dump,
// the output of KEYS *) gives no usable token.
//
// Implementations must be safe for concurrent use, honour ctx (return its
// error, never hang past its deadline), and never return an entry whose
// Expires has passed, even before it is swept. Their errors must not quote
// keys or data: the Store wraps and returns them, and they end up in logs.
//
// The conformance suite in package storetest checks all of this; every
// backend's tests run it.
type Backend interface {
	// Find returns the data stored under key. found is false, with no
	// error, when there is none or it has expired. data belongs to the
	// caller: the backend must not keep or reuse it.
	Find(ctx context.Context, key string) (data []byte, found bool, err error)

	// Commit stores e under key, replacing anything there (an upsert), to
	// expire at e.Expires. e.Expires may already have passed: the entry
	// must then never be served, and the backend may simply delete key. A
	// backend that implements UserIndex keeps its index in step: key is
	// listed under e.UserID (not at all if it is ""), and under no other
	// user. The backend must not keep e.Data: copy it.
	Commit(ctx context.Context, key string, e Entry) error

	// Delete removes key and its user-index entry. Deleting a missing key
	// is not an error.
	Delete(ctx context.Context, key string) error
}

// Entry is one record as a Backend stores it.
type Entry struct {
	// Data is the serialized record: opaque to the backend.
	Data []byte
	// Expires is when the entry stops being served and may be removed.
	Expires time.Time
	// UserID is the owner tag of the session, "" if none. Backends that
	// implement UserIndex index it.
	UserID string
}

// UserIndex is implemented by backends that can find sessions by the user
// they are tagged with, for "log out everywhere".
type UserIndex interface {
	// FindUser returns the data of the live entries tagged with userID,
	// keyed by key; an empty map, not an error, if there are none. The
	// Store never calls it with userID "".
	FindUser(ctx context.Context, userID string) (map[string][]byte, error)

	// DeleteUser deletes every entry tagged with userID and returns how
	// many of them were live (expired ones may be deleted too, but are
	// not counted). The Store never calls it with userID "".
	DeleteUser(ctx context.Context, userID string) (int, error)
}

// Transactor is implemented by backends that can read, change and write
// one key as a single atomic step (a lock, a database transaction, an
// optimistic WATCH/MULTI). Store uses it to merge concurrent changes to one
// session without a window between the read and the write; without it, the
// Store re-reads and writes in two steps.
type Transactor interface {
	// Update calls fn with the data currently under key (found false if
	// none or expired). If fn returns write true, e is committed under key
	// as by Commit; otherwise nothing is written. If fn returns an error,
	// nothing is written and Update returns that error (it may wrap it).
	// fn may be called more than once (an optimistic backend retries on
	// conflict), must not have side effects beyond its result, and must
	// not call the backend (a locking backend may hold a lock around it).
	// data belongs to fn: it may keep it.
	Update(ctx context.Context, key string, fn func(data []byte, found bool) (e Entry, write bool, err error)) error
}

// HintedTransactor is implemented by Transactors for which reading a key
// costs a round trip worth saving (Redis). The Store calls UpdateHinted
// instead of Update when it knows what the key most likely holds: the
// record its Load read earlier in the same request.
type HintedTransactor interface {
	Transactor

	// UpdateHinted is Update for a caller that expects key to hold hint,
	// an entry as an earlier Commit or Update wrote it. It first calls fn
	// with (hint.Data, true) without reading key, and writes fn's entry
	// only if key still holds exactly hint, checked atomically with the
	// write. If key holds something else (another write came first, or the
	// entry is gone), or fn declines to write on the hint, it goes on as
	// Update does: fn runs again on what key holds now. An error from fn
	// ends the call, as in Update.
	UpdateHinted(ctx context.Context, key string, hint Entry, fn func(data []byte, found bool) (e Entry, write bool, err error)) error
}

// Renamer is implemented by backends that can move an entry to a new key
// atomically: after Rename, oldKey finds nothing and newKey finds e (and,
// with a UserIndex, only newKey is listed under e.UserID). If oldKey holds
// no live entry (deleted, swept, expired, or never there), Rename writes
// nothing and returns ErrNotFound: the Store renews a session with it, and
// a session destroyed meanwhile ("log out everywhere") must not come back
// under its new key. Without it, the Store commits newKey and then ends
// oldKey, checking that it was still there.
type Renamer interface {
	Rename(ctx context.Context, oldKey, newKey string, e Entry) error
}

// ErrNotFound is returned by Renamer.Rename when the key to move holds no
// live entry.
var ErrNotFound = errors.New("serverstore: no live entry under the key")

// LocalBackend is implemented by backends that never block on I/O: every
// call works in the process's memory and returns without waiting on a
// network, a disk or another process (memstore). A Store over a backend
// whose Local reports true reports true from its own Local
// (session.LocalStore), and the Manager then calls it without the timeout
// of its StoreTimeout, which would cost a timer on every call for nothing.
// A wrapper around a backend implements it only if it forwards to one that
// does and does no I/O of its own.
type LocalBackend interface {
	Local() bool
}

// ErrConflict is returned by an optimistic Transactor that gave up after
// repeated concurrent writes to the same key.
var ErrConflict = errors.New("serverstore: too many concurrent writes to one session")
