package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// DefaultLifetime is the absolute session lifetime New sets.
const DefaultLifetime = 24 * time.Hour

// DefaultStoreTimeout is the bound on each store call that New sets.
const DefaultStoreTimeout = 5 * time.Second

// Manager is net/http middleware that gives each request its session. Make
// one with New, adjust its fields before serving, and wrap your handlers
// with Handler. A Manager must not be changed once it serves requests.
type Manager struct {
	// Cookie sets the session cookie's name and attributes.
	Cookie CookieOptions

	// Transport says where the token travels: in the cookie (the
	// default), in request and response headers (for APIs and mobile
	// clients), or both.
	Transport Transport

	// Header names the headers of the header transport.
	Header HeaderOptions

	// IdleTimeout ends a session that has not been used for this long. It
	// is enforced by the store on load, not only by the cookie's Max-Age,
	// so a copied cookie stops working too. 0 means no idle limit.
	IdleTimeout time.Duration

	// Lifetime ends a session this long after it was created, however
	// active it is. 0 or less means DefaultLifetime.
	Lifetime time.Duration

	// TouchInterval rate-limits rolling expiry: a session that was only
	// read is saved again, to extend its idle deadline, only once it was
	// last saved at least this long ago. 0 means IdleTimeout/10.
	TouchInterval time.Duration

	// StoreTimeout bounds each call to the store, so that a backend that
	// stalls costs a request an ErrorFunc reply after this long rather than
	// a hang. New sets DefaultStoreTimeout; 0 or less means no bound of the
	// Manager's own (the request's context and the store's timeouts only).
	// It does not apply to a store that never blocks on I/O (see
	// LocalStore), such as the sealed cookie store.
	StoreTimeout time.Duration

	// Codec encodes session values. nil means CBOR, which keeps Go types.
	Codec Codec

	// ErrorFunc answers a request whose session could not be loaded or
	// saved, before anything of the handler's response has been sent. nil
	// means: log the error with Logger and reply 500 with no details.
	ErrorFunc func(http.ResponseWriter, *http.Request, error)

	// Logger receives the errors the default ErrorFunc handles, and
	// warnings about discarded records. nil means slog.Default().
	Logger *slog.Logger

	// Now returns the current time; nil means time.Now. Tests set it to
	// move a session through its deadlines.
	Now func() time.Time

	store    Store // as given to New
	bindOnce sync.Once
	bound    Store // store, bound to Cookie.Name if it is a NameBinder
	local    bool  // bound is a LocalStore that reports true: no StoreTimeout
	updater  bool  // bound is an Updater: sessions track their changed keys

	cookieAttrs attributeCache // Cookie's attributes, formatted
}

// New returns a Manager that keeps sessions in store, with secure defaults:
// a cookie named "session" with Path "/", HttpOnly, Secure and SameSite
// Lax, persistent until the session expires, a Lifetime of 24 hours, and
// store calls bounded by DefaultStoreTimeout.
func New(store Store) *Manager {
	if store == nil {
		panic("session: New called with a nil Store")
	}
	return &Manager{
		Cookie: CookieOptions{
			Name:     "session",
			Path:     "/",
			HttpOnly: true,
			Secure:   true,
			SameSite: http.SameSiteLaxMode,
			Persist:  true,
		},
		Lifetime:     DefaultLifetime,
		StoreTimeout: DefaultStoreTimeout,
		store:        store,
	}
}

// boundStore returns the store to use, bound to the cookie name on first
// use, when the Manager's fields are settled.
func (m *Manager) boundStore() Store {
	m.bindOnce.Do(func() {
		m.bound = m.store
		if b, ok := m.store.(NameBinder); ok {
			m.bound = b.BindName(m.Cookie.Name)
		}
		if l, ok := m.bound.(LocalStore); ok {
			m.local = l.Local()
		}
		_, m.updater = m.bound.(Updater)
	})
	return m.bound
}

// merges reports whether saves of loaded sessions merge their changes key
// by key (the store is an Updater), so that sessions must track which keys
// changed, not only that some did.
func (m *Manager) merges() bool {
	m.boundStore() // settles m.updater
	return m.updater
}

// storeContext bounds a call to the store by StoreTimeout, unless the store
// is local: a store that never waits on I/O has nothing to time out, and
// context.WithTimeout costs allocations and a runtime timer armed and
// stopped on every call.
func (m *Manager) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	m.boundStore() // settles m.local
	if m.StoreTimeout > 0 && !m.local {
		return context.WithTimeout(ctx, m.StoreTimeout)
	}
	return ctx, func() {}
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) codec() Codec {
	if m.Codec != nil {
		return m.Codec
	}
	return CBOR
}

func (m *Manager) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.Default()
}

func (m *Manager) lifetime() time.Duration {
	if m.Lifetime > 0 {
		return m.Lifetime
	}
	return DefaultLifetime
}

func (m *Manager) touchInterval() time.Duration {
	if m.TouchInterval > 0 {
		return m.TouchInterval
	}
	return m.IdleTimeout / 10
}

// deadline is when a session created and last touched at these times
// expires under the Manager's current limits.
func (m *Manager) deadline(created, touched time.Time) time.Time {
	d := created.Add(m.lifetime())
	if m.IdleTimeout > 0 {
		if idle := touched.Add(m.IdleTimeout); idle.Before(d) {
			d = idle
		}
	}
	return d
}

// valid reports whether a loaded record is still alive, by the record's
// own deadline and by the Manager's current limits, which may have been
// shortened since the record was saved.
func (m *Manager) valid(rec *Record, now time.Time) bool {
	return now.Before(rec.Expires) && now.Before(m.deadline(rec.Created, rec.Touched))
}

// Handler returns middleware that makes the request's session available to
// next through Get and FromContext. The session is loaded only if next
// uses it, and saved, if it changed, before the response's first byte is
// written, whether next calls WriteHeader, Write or Flush, or just returns.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := new(handlerState)
		s := &h.session
		m.initSession(s, r)
		h.ctx = sessionContext{Context: r.Context(), s: s}
		r = r.WithContext(&h.ctx)
		h.writer = writer{ResponseWriter: w, m: m, s: s, r: r}
		next.ServeHTTP(&h.writer, r)
		h.writer.commit()
	})
}

// handlerState is what Handler adds to a request, made in one allocation
// rather than three: the request's session, the context that carries it,
// and the writer that saves it.
type handlerState struct {
	session Session
	ctx     sessionContext
	writer  writer
}

// sessionContext is a request's context with its session attached: what
// context.WithValue(ctx, contextKey{}, s) would give, but a value that
// Handler allocates together with the session. Its Done, Err and Deadline
// are its parent's, so the context package treats contexts derived from it
// as derived from the parent.
type sessionContext struct {
	context.Context
	s *Session
}

func (c *sessionContext) Value(key any) any {
	if key == (contextKey{}) {
		return c.s
	}
	return c.Context.Value(key)
}

// Get returns the request's session. It panics if r did not pass through
// m.Handler: that is a wiring mistake, not a runtime condition.
func (m *Manager) Get(r *http.Request) *Session {
	if s := m.find(r); s != nil {
		return s
	}
	panic("session: Manager.Get called on a request that did not pass through this Manager's Handler")
}

func (m *Manager) newSession(r *http.Request) *Session {
	s := new(Session)
	m.initSession(s, r)
	return s
}

// initSession makes s, which is zero, r's session under m, not loaded yet.
func (m *Manager) initSession(s *Session, r *http.Request) {
	s.m, s.ctx, s.req, s.parent = m, r.Context(), r, FromContext(r.Context())
}

// Load returns r's session for code that cannot wrap its handlers with
// Handler, such as adapters to other session APIs. Inside Handler it
// returns the same session as Get. The session loads lazily, like any
// other; outside Handler nothing saves it unless you call Save.
func (m *Manager) Load(r *http.Request) *Session {
	if s := m.find(r); s != nil {
		return s
	}
	return m.newSession(r)
}

// find returns the session m's Handler attached to r, or nil.
func (m *Manager) find(r *http.Request) *Session {
	for s := FromContext(r.Context()); s != nil; s = s.parent {
		if s.m == m {
			return s
		}
	}
	return nil
}

// Save saves s now, to the store, and puts its cookie (or token header)
// into w's header; call it before the response's header is written. Inside
// Handler there is no need to: the middleware saves before the first byte.
// Calling Save there anyway lets a handler see a failure (ErrTooLarge, a
// store error) and answer it itself; after a failed Save the middleware
// does not try again, so the handler's answer stands. A session may be
// saved any number of times; a save with nothing new writes nothing.
func (m *Manager) Save(w http.ResponseWriter, s *Session) error {
	if s.m != m {
		return errors.New("session: Manager.Save called with another Manager's session")
	}
	err := m.save(s, w.Header())
	s.mu.Lock()
	s.saveErr = err
	s.mu.Unlock()
	return err
}

func (m *Manager) serveError(w http.ResponseWriter, r *http.Request, err error) {
	if m.ErrorFunc != nil {
		m.ErrorFunc(w, r, err)
		return
	}
	m.logger().ErrorContext(r.Context(), "session: store failure", "method", r.Method, "path", r.URL.Path, "err", err)
	// Drop what the handler had set (its Content-Encoding, its cookies):
	// none of it belongs to this reply.
	clear(w.Header())
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// save writes what the request did to its session: to the store, and as
// cookies into h. It runs once per request, before the response's header
// is sent.
func (m *Manager) save(s *Session, h http.Header) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		return nil // never touched: no decoding, no store work, no cookie
	}
	if s.saveErr != nil {
		return nil // an explicit Save failed and the handler was told
	}
	if s.loadErr != nil {
		return fmt.Errorf("session: load: %w", s.loadErr)
	}
	store := m.boundStore()
	oldToken := s.token
	if oldToken != "" && (s.destroyed || s.discard) {
		ctx, cancel := m.saveContext(s)
		err := store.Delete(ctx, oldToken)
		cancel()
		if err != nil {
			return fmt.Errorf("session: delete: %w", err)
		}
	}
	if s.fresh {
		oldToken = "" // a new session (also after Destroy) gets a new token
	}

	now := m.now()
	empty := len(s.values) == 0
	dirty := s.valuesDirty || s.cleared || s.metaDirty || s.renewed
	touch := m.IdleTimeout > 0 && now.Sub(s.rec.Touched) >= m.touchInterval()
	switch {
	case s.fresh && empty && !s.metaDirty:
		// Nothing worth a cookie: a new session that stayed empty (no
		// values, no owner) sets none, and a dead token the client sent
		// is expired.
		if s.token != "" {
			m.expireToken(h, s)
		}
		s.saved("", &s.rec)
		return nil
	case !dirty && !touch && !s.rec.Reissue:
		return nil // read only: no write
	}
	// Made only now, past the returns above: a request that writes nothing
	// (the common, read-only one) pays for no context.
	ctx, cancel := m.saveContext(s)
	defer cancel()

	rec := s.rec
	rec.Touched = now
	rec.Expires = m.deadline(rec.Created, now)
	// A stored session is written through Update whenever the store has
	// it, cleared ones too: Update writes nothing if another request
	// destroyed the session meanwhile ("log out everywhere"), and merges
	// what another request changed. A renewed one goes to its new token in
	// one step, which a Renewer takes only from a record still there: it
	// is not merged where it is first, which would write the logged-in
	// record under the token from before the login, the one an attacker
	// may have planted.
	updater, canMerge := store.(Updater)
	merging := oldToken != "" && canMerge && !s.renewed
	var err error
	rec.Data = nil // s.rec's are the loaded bytes: encoded afresh below, or by the merge
	if !merging {
		// A merge encodes what it writes itself, from what the store holds
		// by then; encoding here too would be thrown away.
		if rec.Data, err = m.codec().Encode(s.values); err != nil {
			return fmt.Errorf("session: encode: %w", err)
		}
	}

	var token, obsolete string
	switch {
	case oldToken == "":
		token, err = store.Save(ctx, "", &rec)
	case s.renewed:
		token, obsolete, err = renew(ctx, store, oldToken, &rec)
	case merging:
		token, err = updater.Update(ctx, oldToken, s.stored, s.merge(&rec))
	default:
		token, err = store.Save(ctx, oldToken, &rec)
	}
	if err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	if token == "" {
		// The record was destroyed by another request while this one ran
		// ("log out everywhere", say): the revocation wins.
		m.expireToken(h, s)
		s.startNew()
		s.saved("", &s.rec)
		return nil
	}
	if err := m.writeToken(h, token, &rec, now, s); err != nil {
		return err
	}
	if obsolete != "" {
		if err := store.Delete(ctx, obsolete); err != nil {
			return fmt.Errorf("session: delete renewed token: %w", err)
		}
	}
	s.saved(token, &rec)
	return nil
}

// saveContext returns the context of the store calls of a save. A save
// finishes work the handler already did, so it is not cut short by a client
// that hangs up; StoreTimeout still bounds each call.
func (m *Manager) saveContext(s *Session) (context.Context, context.CancelFunc) {
	return m.storeContext(context.WithoutCancel(s.ctx))
}

// renew moves rec to a new token. A Renewer does it in one step; otherwise
// the new record is saved here and the old token is returned for deletion
// once the new cookie is known to fit, so a failed save never loses the
// session.
func renew(ctx context.Context, store Store, oldToken string, rec *Record) (token, obsolete string, err error) {
	if r, ok := store.(Renewer); ok {
		token, err = r.Renew(ctx, oldToken, rec)
		return token, "", err
	}
	token, err = store.Save(ctx, "", rec)
	return token, oldToken, err
}

// merge returns the Updater callback that applies this request's changes,
// key by key, to the record as it is stored now, so that a concurrent
// request's changes to other keys survive. Of two requests that change the
// same key, the one that saves last wins. A session this request cleared
// replaces the stored values wholesale. ours is the record to write, but
// for its Data, which the callback encodes.
func (s *Session) merge(ours *Record) func(*Record) (*Record, error) {
	return func(cur *Record) (*Record, error) {
		if cur == nil {
			return nil, nil // destroyed meanwhile: do not resurrect it
		}
		codec := s.m.codec()
		values := s.values
		if loaded := s.rec.Data; !s.cleared && (loaded == nil || !bytes.Equal(cur.Data, loaded)) {
			// Another request saved since this one loaded (or this one
			// saved already): apply this request's changes to what is
			// stored now. In the usual case, where the stored bytes are
			// still those this request loaded, the result would be
			// s.values itself: the loaded values with this request's
			// changes applied, so decoding them again is skipped.
			var err error
			if values, err = codec.Decode(cur.Data); err != nil {
				return nil, fmt.Errorf("decode stored record: %w", err)
			}
			for k := range s.changed {
				if v, ok := s.values[k]; ok {
					values[k] = v
				} else {
					delete(values, k)
				}
			}
		}
		out := *ours
		var err error
		if out.Data, err = codec.Encode(values); err != nil {
			return nil, err
		}
		if !s.metaDirty {
			out.UserID, out.Persistent = cur.UserID, cur.Persistent
		}
		return &out, nil
	}
}

// ErrAborted is returned by Write on a response that the Manager replaced
// with its ErrorFunc because the session could not be saved: the
// handler's own response is discarded.
var ErrAborted = errors.New("session: response replaced by ErrorFunc after a store failure")
