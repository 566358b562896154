package serverstore

import (
	"context"
	"errors"
	"iter"
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
// Implementations must be safe for concurrent use, bound their own I/O (a
// call to a server that stalls must fail after a timeout of the
// backend's, not hang: the Store and the Manager set none), honour ctx
// (return its error, never hang past its deadline), and never return an
// entry whose Expires has passed, even before it is swept. Their errors
// must not quote keys or data: the Store wraps and returns them, and they
// end up in logs.
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

	// Update reads, changes and writes one key as a single atomic step (a
	// lock, a transaction, an optimistic check-and-set). It calls fn with
	// the data under key (found false if none or expired); if fn returns
	// write true, e is committed under key as by Commit, otherwise nothing
	// is written. If fn returns an error, nothing is written and Update
	// returns that error (it may wrap it). fn may be called more than once
	// (an optimistic backend retries on conflict), must not have side
	// effects beyond its result, and must not call the backend (a locking
	// backend may hold a lock around it). data belongs to fn.
	//
	// hint, when not nil, is what the caller expects key to hold (an entry
	// as an earlier Commit or Update wrote it), for a backend whose reads
	// cost a round trip: it may call fn with (hint.Data, true) without
	// reading, and write fn's entry only if key still holds exactly hint,
	// checked atomically with the write; if it does not (or fn declines to
	// write on the hint), it goes on as without a hint, calling fn again
	// on what key holds. A backend whose reads are cheap ignores it.
	Update(ctx context.Context, key string, hint *Entry, fn func(data []byte, found bool) (e Entry, write bool, err error)) error

	// Rename moves the live entry under oldKey to newKey, replacing it
	// with e, as one step as far as anyone can tell: afterwards oldKey
	// finds nothing and newKey finds e (and, with a UserIndex, only newKey
	// is listed under e.UserID). If oldKey holds no live entry (deleted,
	// swept, expired, or never there), Rename writes nothing and returns
	// ErrNotFound: the Store renews a session with it, and a session
	// destroyed meanwhile ("log out everywhere") must not come back under
	// its new key. A backend that cannot move two keys in one transaction
	// (Redis Cluster, where they live on different nodes) commits newKey,
	// then ends oldKey in an Update that checks it was still there,
	// deleting newKey again if it was not: one of the two keys is live at
	// every moment, for DestroyUser's passes to find.
	Rename(ctx context.Context, oldKey, newKey string, e Entry) error
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
// they are tagged with, for "log out everywhere" (Store.ListUser,
// DestroyUser and DestroyHandle). A wrapper around a backend that may have
// none can implement it and return ErrNoUserIndex from both methods.
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

// Scanner is implemented by backends that can go over every entry they
// hold, for the store-wide operations (Store.All, Count and DestroyAll),
// in constant memory however many there are. A wrapper around a backend
// that may have none can implement it and return ErrNoScan.
type Scanner interface {
	// Scan yields every live entry, with its key, in no particular order,
	// fetching them in batches as it goes (a cursor, keyset pages, Redis
	// SCAN; never everything at once). An entry written or deleted while
	// Scan runs may be yielded or not; none is yielded twice, except where
	// the backend's own cursor cannot promise it (Redis SCAN during a
	// rehash or a slot migration), which the backend documents. After an
	// error, Scan yields nothing more.
	Scan(ctx context.Context) iter.Seq2[KeyData, error]

	// Count returns how many live entries there are, as cheaply as the
	// backend can tell.
	Count(ctx context.Context) (int, error)

	// DeleteAll deletes every entry, and its user-index entry, and returns
	// how many live ones it deleted.
	DeleteAll(ctx context.Context) (int, error)
}

// KeyData is an entry as Scan yields it.
type KeyData struct {
	Key  string
	Data []byte
}

// ErrNotFound is returned by Backend.Rename when the key to move holds no
// live entry.
var ErrNotFound = errors.New("serverstore: no live entry under the key")

// ErrConflict is returned by an optimistic backend's Update that gave up
// after repeated concurrent writes to the same key.
var ErrConflict = errors.New("serverstore: too many concurrent writes to one session")

// ErrNoUserIndex is returned by ListUser, DestroyUser and DestroyHandle
// when the Store's backend keeps no user index.
var ErrNoUserIndex = errors.New("serverstore: the backend keeps no user index")

// ErrNoScan is returned by All, Count and DestroyAll when the Store's
// backend cannot go over its entries.
var ErrNoScan = errors.New("serverstore: the backend cannot list its entries")
