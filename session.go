package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// flashKey holds the pending flash messages among the values. The leading
// NUL keeps it out of every key a user could reasonably choose, and Keys
// hides it.
const flashKey = "\x00flash"

// Session is one request's view of a user's session. Get it from
// Manager.Get or FromContext inside Manager.Handler.
//
// A Session loads itself from the store the first time one of its methods
// needs the data, and is saved by the Manager before the response's first
// byte goes out, only if something changed. Its methods are safe for
// concurrent use by the goroutines of one request.
type Session struct {
	mu  sync.Mutex
	m   *Manager
	ctx context.Context
	req *http.Request

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
	// holds, passed to Updater.Update so that it may skip reading it
	// again. Never modified.
	stored *Record
	values map[string]any // decoded values
	// changed holds the keys changed since load or save, which a merge
	// (Updater) applies to the stored record; nil until the first, and
	// for a store that does not merge, which needs only valuesDirty.
	changed     map[string]struct{}
	valuesDirty bool // a value was put or deleted since load or save
	isNew       bool // created by this request (IsNew)
	fresh       bool // not stored yet: the next save mints a token

	cleared   bool  // values replaced wholesale: save them, do not merge
	metaDirty bool  // UserID or Persistent changed
	renewed   bool  // Renew was called: save under a fresh token
	destroyed bool  // Destroy was called: delete the loaded record
	stale     bool  // the request's token named nothing usable: expire it
	discard   bool  // the store holds a record this Manager rejects: delete it
	saveErr   error // an explicit Manager.Save failed: the middleware leaves it be
}

// load fetches and decodes the session the first time it is needed. The
// caller holds s.mu.
func (s *Session) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	// values is made by startNew or comes from decoding, and changed on the
	// first change: a map made here would mostly be thrown away.
	s.token, s.chunks, s.viaHeader = s.m.readToken(s.req)
	if s.token == "" {
		s.startNew()
		return
	}
	ctx, cancel := s.m.storeContext(s.ctx)
	rec, err := s.m.boundStore().Load(ctx, s.token)
	cancel()
	if err != nil {
		s.loadErr = err
		s.startNew()
		return
	}
	if rec == nil {
		s.startNew()
		s.stale = true
		return
	}
	if !s.m.valid(rec, s.m.now()) {
		// Expired under limits shortened since it was saved.
		s.startNew()
		s.stale, s.discard = true, true
		return
	}
	values, err := s.m.codec().Decode(rec.Data)
	if err != nil {
		// Undecodable data (a codec changed under a live session, say) is
		// treated like a forged token: never serve part of it.
		s.m.logger().WarnContext(s.ctx, "session: discarding a record that does not decode", "id", rec.ID, "err", err)
		s.startNew()
		s.stale, s.discard = true, true
		return
	}
	s.rec, s.stored = *rec, rec
	s.values = values
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
	s.rec.Data, s.rec.Reissue = nil, false
	s.fresh = token == ""
	s.changed, s.valuesDirty = nil, false
	s.cleared, s.metaDirty, s.renewed, s.destroyed, s.stale, s.discard = false, false, false, false, false, false
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
	if !s.m.merges() {
		return
	}
	if s.changed == nil {
		s.changed = make(map[string]struct{}, 8)
	}
	s.changed[key] = struct{}{}
}

// Err reports why the session could not be loaded (a store that is down, a
// cancelled request), or nil. While it is non-nil the session acts empty,
// and the Manager answers the request with its ErrorFunc instead of saving
// anything, so a real session is never overwritten by an empty one.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.loadErr
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

// Get returns the value stored under key, or nil. A struct value of a type
// the codec could not restore (see Register) comes back in its generic
// form, at the top level or inside an []any or a map[string]any; GetAs
// returns a top-level one in its own type.
func (s *Session) Get(key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return generic(s.values[key])
}

// generic returns v as the user is to see it: with every Raw, v itself or
// one nested in []any and map[string]any, replaced by its generic form. A
// Raw is of no use to the user, who cannot tell its type, while the
// session must keep it, so that a value nobody read is saved unchanged:
// the containers holding one are copied, and only those, so that reading
// a value that holds no Raw costs no allocation.
func generic(v any) any {
	if g, ok := withoutRaws(v, 1); ok {
		return g
	}
	return v
}

// withoutRaws returns v with its Raw values replaced by their generic
// forms, and true, or false if v holds none. depth counts as CBOR's Encode
// does: CBOR, the only codec that nests Raws, decodes no container nested
// deeper than cborMaxDepth, so there is no Raw to find below, and
// stopping there bounds the walk of a cyclic value that the user put.
func withoutRaws(v any, depth int) (any, bool) {
	switch x := v.(type) {
	case []any:
		if depth >= cborMaxDepth {
			return nil, false
		}
		var out []any
		for i, item := range x {
			if g, ok := withoutRaws(item, depth+1); ok {
				if out == nil {
					out = slices.Clone(x)
				}
				out[i] = g
			}
		}
		return out, out != nil
	case map[string]any:
		if depth >= cborMaxDepth {
			return nil, false
		}
		var out map[string]any
		for k, item := range x {
			if g, ok := withoutRaws(item, depth+1); ok {
				if out == nil {
					out = maps.Clone(x)
				}
				out[k] = g
			}
		}
		return out, out != nil
	case Raw:
		return x.Value(), true
	}
	return nil, false
}

// GetString returns the string stored under key, or "" if there is none or
// the value is not a string.
func (s *Session) GetString(key string) string {
	v, _ := s.Get(key).(string)
	return v
}

// GetBool returns the bool stored under key, or false.
func (s *Session) GetBool(key string) bool {
	v, _ := s.Get(key).(bool)
	return v
}

// GetInt returns the integer stored under key, or 0. Any integer type is
// accepted, and so is a float64 with no fractional part (what a JSON codec
// gives back for numbers), as long as the value fits in an int: one that
// does not also gives 0, rather than a wrapped-around number.
func (s *Session) GetInt(key string) int {
	switch v := s.Get(key).(type) {
	case int:
		return v
	case int8:
		return int(v)
	case int16:
		return int(v)
	case int32:
		return int(v)
	case int64:
		if int64(int(v)) == v { // false only where int has 32 bits
			return int(v)
		}
	case uint:
		if v <= math.MaxInt {
			return int(v)
		}
	case uint8:
		return int(v)
	case uint16:
		return int(v)
	case uint32:
		if uint64(v) <= math.MaxInt {
			return int(v)
		}
	case uint64:
		if v <= math.MaxInt {
			return int(v)
		}
	case float64:
		// The range is checked before converting: out of range, the
		// conversion's result depends on the processor, and where it
		// saturates, float64(int(v)) == v would take 2⁶³ for a fit.
		// -math.MinInt (2⁶³, or 2³¹) is exact in a float64, unlike
		// MaxInt on 64 bits.
		if v >= math.MinInt && v < -math.MinInt && v == math.Trunc(v) {
			return int(v)
		}
	}
	return 0
}

// GetTime returns the time stored under key, or the zero time. A string in
// RFC 3339 form (what a JSON codec gives back) is parsed.
func (s *Session) GetTime(key string) time.Time {
	switch v := s.Get(key).(type) {
	case time.Time:
		return v
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err == nil {
			return t
		}
	}
	return time.Time{}
}

// Put stores v under key, replacing any value there. v must be something
// the Manager's codec can encode; with the default codec that is any value
// made of the basic types, slices, maps and structs with exported fields.
// Keys starting with a NUL byte are reserved.
func (s *Session) Put(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.values[key] = v
	s.mark(key)
}

// Delete removes key. Deleting a missing key is a no-op.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if _, ok := s.values[key]; ok {
		delete(s.values, key)
		s.mark(key)
	}
}

// Has reports whether key holds a value.
func (s *Session) Has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	_, ok := s.values[key]
	return ok
}

// Keys returns the keys holding values, sorted.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		if !strings.HasPrefix(k, "\x00") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Clear removes every value, pending flashes included, but keeps the
// session itself: its ID, creation time and owner. To end a session, use
// Destroy.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if len(s.values) > 0 {
		s.values = map[string]any{}
		s.cleared = true
	}
}

// Pop returns the value stored under key and removes it, in one step.
func (s *Session) Pop(key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	v, ok := s.values[key]
	if ok {
		delete(s.values, key)
		s.mark(key)
	}
	return generic(v)
}

// AddFlash queues a one-time message, returned by the next call to Flashes
// (typically on the next request).
func (s *Session) AddFlash(v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	queued := s.values[flashKey]
	// A codec that defers decoding (JSON) holds the queue as a Raw. Only
	// that is looked through: the queue's items stay as decoded, so that a
	// CBOR Raw among them is saved back unchanged.
	if r, ok := queued.(Raw); ok {
		queued = r.Value()
	}
	flashes, _ := queued.([]any)
	s.values[flashKey] = append(flashes, v)
	s.mark(flashKey)
}

// Flashes returns the queued flash messages, oldest first, and removes
// them: each is seen once. A message of a type the codec could not
// restore (see Register) comes back in its generic form, as from Get.
func (s *Session) Flashes() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	v, ok := s.values[flashKey]
	if !ok {
		return nil
	}
	delete(s.values, flashKey)
	s.mark(flashKey)
	flashes, _ := generic(v).([]any)
	return flashes
}

// SetUser tags the session with the ID of the user it belongs to. Server
// side stores index sessions by it, so that all of a user's sessions can be
// listed or destroyed ("log out everywhere"). An empty id removes the tag.
func (s *Session) SetUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.rec.UserID != id {
		s.rec.UserID = id
		s.metaDirty = true
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
// default is Manager.Cookie.Persist.
func (s *Session) RememberMe(persist bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.rec.Persistent != persist {
		s.rec.Persistent = persist
		s.metaDirty = true
	}
}

// Renew gives the session a new ID and a new token, keeping its data, and
// makes the old token stop working (in server-side stores; a sealed cookie
// copied earlier stays valid until it expires, as nothing is kept on the
// server to revoke it). Call it when privileges change, at login above all,
// against session fixation. It returns the error that kept the session
// from loading, if any.
func (s *Session) Renew() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.loadErr != nil {
		return s.loadErr
	}
	s.rec.ID = newID()
	s.renewed = true
	return nil
}

// Destroy ends the session: its data is gone, its record is deleted from
// the store, and the client's cookie is expired. Values put after Destroy
// start a new session with a new ID.
func (s *Session) Destroy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	// The loaded data no longer matters, so neither does a failure to
	// load it: the delete is still attempted.
	s.loadErr = nil
	s.destroyed = true
	s.renewed, s.cleared, s.metaDirty = false, false, false
	s.changed, s.valuesDirty = nil, false
	s.startNew() // empties values
}
