package session

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// flashKey holds the pending flash messages among the values. The leading
// NUL keeps it out of every key a user could reasonably choose, and Keys
// hides it.
const flashKey = "\x00flash"

// Session is one request's view of a user's session. Get it from
// Manager.Get or FromContext inside Manager.Handler, or from
// Manager.LoadToken outside HTTP.
//
// A Session loads itself from the store the first time one of its methods
// needs the data, and is saved by the Manager before the response's first
// byte goes out, only if something changed. Its methods are safe for
// concurrent use by the goroutines of one request.
//
// Changes after the response began (the handler wrote, or called
// WriteHeader or Flush) are never dropped in silence. Renew, SetUser with
// another user and RememberMe need a new token or cookie, which can no
// longer reach the client: they change nothing, and Renew returns an error
// wrapping ErrResponseStarted. Destroy, and changes to the values and
// deadline, are saved when Handler returns by a store that keeps records
// on the server (the client keeps its token); with the sealed cookie
// store, or for a session that was not stored yet, they cannot be, and
// Err reports it. Each such failure is also logged.
type Session struct {
	mu  sync.Mutex
	m   *Manager
	ctx *sessionContext // the request's context (or LoadToken's), with s attached
	req *http.Request   // nil for a session of LoadToken

	// parent is the session of an enclosing Manager.Handler, if any, so
	// that several Managers can be nested on one request.
	parent *Session

	// token is the token the client holds: the one the request carried
	// ("" if none, read on load), then the one a save of this request
	// handed out. chunks and viaHeader describe the request's token and
	// keep doing so after a save: until the response goes out, the client
	// still holds what it sent, and a second save in the same response
	// replaces the first one's headers.
	token     string
	chunks    int  // how many cookies carried the request's token
	viaHeader bool // the request's token came in a header, not a cookie

	loaded  bool
	loadErr error

	// rec is the session's metadata. rec.Data is the encoded values as
	// loaded, nil for a new session and once saved: a merge that finds the
	// store still holding these bytes encodes values as they are, without
	// decoding the stored record.
	rec Record
	// stored is the record as the store's Load returned it, until the
	// session is saved or started anew: what the store most likely still
	// holds, passed to ServerSide.Update so that it may skip reading it
	// again. Never modified.
	stored *Record
	values map[string]any // decoded values
	// changed holds the keys changed since load or save, which a merge
	// (ServerSide) applies to the stored record; nil until the first, and
	// for a store that does not merge, which needs only valuesDirty.
	changed     map[string]struct{}
	valuesDirty bool // a value was put or deleted since load or save
	isNew       bool // created by this request (IsNew)
	fresh       bool // not stored yet: the next save mints a token

	cleared   bool  // values replaced wholesale: save them, do not merge
	metaDirty bool  // UserID, Persistent or Deadline changed
	renewed   bool  // Renew was called: save under a fresh token
	destroyed bool  // Destroy was called: delete the loaded record
	saveErr   error // a save of the response failed: the middleware leaves it be

	// The response: sent once its header went out; replied once a save of
	// it handed out or cleared a token.
	sent    bool
	replied bool

	// rare is what only some requests need (see aside), made on first
	// use: every request allocates a Session, and most never need it.
	rare *aside
}

// aside is the state of a session's less common paths.
type aside struct {
	renewedFrom string // the ID before the first Renew since the last save
	endedID     string // the ID and user of the session Destroy ended,
	endedUser   string // for its EventDestroyed
	discard     string // a token whose record this Manager rejects: delete it
	lateErr     error  // the first change after the response began that could not be saved
}

// aside returns s.rare, made if need be.
func (s *Session) aside() *aside {
	if s.rare == nil {
		s.rare = new(aside)
	}
	return s.rare
}

// discarding returns the token to delete as rejected, or "".
func (s *Session) discarding() string {
	if s.rare == nil {
		return ""
	}
	return s.rare.discard
}

// lateErr returns the first change after the response began that could
// not be saved, or nil.
func (s *Session) lateErr() error {
	if s.rare == nil {
		return nil
	}
	return s.rare.lateErr
}

// load fetches and decodes the session the first time it is needed. The
// caller holds s.mu.
func (s *Session) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	if s.req != nil {
		s.m.tokens(s.req, func(token string, chunks int) bool {
			if s.token == "" {
				// The first token is the one to expire if none opens.
				s.token, s.chunks, s.viaHeader = token, chunks, chunks == 0
			}
			if !s.open(token) {
				return s.loadErr == nil // try the next, unless the store failed
			}
			s.token, s.chunks, s.viaHeader = token, chunks, chunks == 0
			return false
		})
	}
	if s.values == nil {
		s.startNew()
	}
}

// open loads the session named by token and reports whether it did. A
// token that names no usable session is reported as an EventRejected; a
// store failure is kept in loadErr.
func (s *Session) open(token string) bool {
	s.m.setup()
	rec, err := s.m.store.Load(s.ctx, token)
	var reason error
	switch {
	case errors.Is(err, ErrInvalidToken):
		reason = err
	case err != nil:
		s.loadErr = err
		return false
	case rec == nil:
		reason = errNoRecord
	case !s.m.valid(rec, s.m.now()):
		reason = errExpiredByManager
		s.aside().discard = token
	}
	if reason == nil {
		values, err := s.m.codec().Decode(rec.Data)
		if err == nil {
			s.rec, s.stored, s.values = *rec, rec, values
			return true
		}
		// Undecodable data (a codec changed under a live session, say) is
		// treated like a forged token: never serve part of it.
		s.m.logger().WarnContext(s.ctx, "session: discarding a record that does not decode", "id", rec.ID, "err", err)
		reason = fmt.Errorf("%w: its record does not decode", ErrInvalidToken)
		s.aside().discard = token
	}
	s.m.event(s.ctx, Event{Kind: EventRejected, Reason: reason, Request: s.req})
	return false
}

// startNew makes s a new, empty session with a fresh ID.
func (s *Session) startNew() {
	// Room for a typical session's values from the start: an empty map
	// would grow once on the way to 7 or 8 keys.
	s.values = make(map[string]any, 8)
	now := s.m.now()
	s.isNew, s.fresh, s.stored = true, true, nil
	s.rec = Record{
		ID:         newID(),
		Created:    now,
		Touched:    now,
		Persistent: s.m.Cookie.Persist,
	}
}

// saved records a successful save: the session now stands as stored under
// token, with nothing pending. The caller holds s.mu.
func (s *Session) saved(token string, rec *Record) {
	s.token = token
	s.rec, s.stored = *rec, nil
	// Data is dropped: what the store holds now may not be values as they
	// are (a merge brought in another request's changes), so a later merge
	// decodes it.
	s.rec.Data, s.rec.Reissue, s.rec.Stored = nil, false, nil
	s.fresh = token == ""
	s.changed, s.valuesDirty = nil, false
	s.cleared, s.metaDirty, s.renewed, s.destroyed = false, false, false, false
	if s.rare != nil {
		s.rare.discard = ""
	}
}

// newID returns 128 random bits, base64url encoded.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24; it crashes the program instead
	// Encoded on the stack: one allocation, for the string, not two.
	var id [22]byte // base64.RawURLEncoding.EncodedLen(16)
	base64.RawURLEncoding.Encode(id[:], b[:])
	return string(id[:])
}

func (s *Session) mark(key string) {
	s.valuesDirty = true
	if !s.m.serverKept() {
		return
	}
	if s.changed == nil {
		s.changed = make(map[string]struct{}, 8)
	}
	s.changed[key] = struct{}{}
}

// Err reports why the session could not be loaded (a store that is down, a
// cancelled request), or nil. While that is so the session acts empty,
// and the Manager answers the request with its ErrorFunc instead of saving
// anything, so a real session is never overwritten by an empty one.
//
// Once the session loaded, Err reports the first change made after the
// response began that cannot be saved (see Session), as an error wrapping
// ErrResponseStarted.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.loadErr != nil {
		return s.loadErr
	}
	return s.lateErr()
}

// ID returns the session's random identifier. It is not the token the
// client holds, so it is safe to log, and changes on Renew and Destroy.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.rec.ID
}

// IsNew reports whether the session was created by this request, rather
// than loaded from a token the client sent.
func (s *Session) IsNew() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.isNew
}

// SetUser tags the session with the ID of the user it belongs to. Server
// side stores index sessions by it, so that all of a user's sessions can be
// listed or destroyed ("log out everywhere"). An empty id removes the tag.
//
// A change of user is a change of privilege: a stored session is renewed
// with it (see Renew), so that an application that forgets Renew at login
// is still safe from session fixation. After the response began, a change
// of user is refused, as Renew is, and reported by Err.
func (s *Session) SetUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.rec.UserID == id || s.lateRefusal("SetUser with another user") != nil {
		return
	}
	s.rec.UserID = id
	s.metaDirty = true
	if !s.fresh {
		s.renew()
	}
}

// UserID returns the tag set by SetUser, or "".
func (s *Session) UserID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.rec.UserID
}

// RememberMe chooses, for this session, between a persistent cookie that
// survives a browser restart until the session expires (true), and a
// browser-session cookie that the browser drops when it closes (false). The
// default is Manager.Cookie.Persist. A browser drops the cookie, but a
// copy of it stays valid on the server until the session's deadline:
// Manager.BrowserSessionIdleTimeout shortens that for sessions that are not
// remembered. After the response began a change is refused, and reported
// by Err: the cookie can no longer be set.
func (s *Session) RememberMe(persist bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.rec.Persistent != persist && s.lateRefusal("RememberMe") == nil {
		s.rec.Persistent = persist
		s.metaDirty = true
	}
}

// Deadline returns when the session ends unless it is used again: the
// earliest of its creation plus Manager.Lifetime, its last save plus the
// idle limit, and the deadline set by SetDeadline. It is the zero time
// before the session exists: while it is new and empty, with nothing to
// store.
func (s *Session) Deadline() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.fresh && len(s.values) == 0 && !s.metaDirty {
		return time.Time{}
	}
	return s.m.deadline(&s.rec, s.rec.Touched)
}

// SetDeadline ends the session at t at the latest, however active it is:
// for a session that should not outlive something else (a password
// reset, the token it was built from, a sign-in that must be renewed by
// a given hour). It never extends the session past what Lifetime and the
// idle limit allow. A later call replaces t; the zero time removes it.
// After the response began it is saved as values are (see Session).
func (s *Session) SetDeadline(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if !s.rec.Deadline.Equal(t) {
		s.rec.Deadline = t
		s.metaDirty = true
		s.lateChange("SetDeadline")
	}
}

// Renew gives the session a new ID and a new token, keeping its data, and
// makes the old token stop working (in server-side stores; a sealed cookie
// copied earlier stays valid until it expires, as nothing is kept on the
// server to revoke it). Call it when privileges change, at login above all,
// against session fixation; SetUser with another user does it too. It
// returns the error that kept the session from loading, if any, and an
// error wrapping ErrResponseStarted, changing nothing, once the response
// began: the new token could no longer reach the client.
func (s *Session) Renew() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.loadErr != nil {
		return s.loadErr
	}
	if err := s.lateRefusal("Renew"); err != nil {
		return err
	}
	s.renew()
	return nil
}

func (s *Session) renew() {
	if !s.renewed {
		s.aside().renewedFrom = s.rec.ID
	}
	s.rec.ID = newID()
	s.renewed = true
}

// Destroy ends the session: its data is gone, its record is deleted from
// the store, and the client's cookie is expired. Values put after Destroy
// start a new session with a new ID. After the response began, the record
// is still deleted, when Handler returns; but the cookie can no longer be
// expired, so a sealed cookie stays valid until its deadline, which Err
// reports.
func (s *Session) Destroy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	// The loaded data no longer matters, so neither does a failure to
	// load it: the delete is still attempted.
	s.loadErr = nil
	stored := !s.fresh
	if stored {
		a := s.aside()
		a.endedID, a.endedUser = s.rec.ID, s.rec.UserID
	}
	s.destroyed = true
	s.renewed, s.cleared, s.metaDirty = false, false, false
	s.changed, s.valuesDirty = nil, false
	s.startNew() // empties values
	if stored {
		s.lateChange("Destroy")
	}
}
