package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultLifetime is the absolute session lifetime New sets.
const DefaultLifetime = 24 * time.Hour

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

	// BrowserSessionIdleTimeout, when positive, is the idle limit of
	// sessions whose cookie is a browser-session cookie (RememberMe(false),
	// or Cookie.Persist false), in place of IdleTimeout. The browser drops
	// such a cookie when it closes, but the server cannot tell: a copy
	// taken earlier would stay valid for the whole Lifetime (or
	// IdleTimeout). Set it to end sessions the user chose not to keep soon
	// after they stop being used, e.g. 30 minutes. 0 means IdleTimeout.
	BrowserSessionIdleTimeout time.Duration

	// Lifetime ends a session this long after it was created, however
	// active it is. 0 or less means DefaultLifetime.
	Lifetime time.Duration

	// TouchInterval rate-limits rolling expiry: a session that was only
	// read is saved again, to extend its idle deadline, only once it was
	// last saved at least this long ago. 0 means IdleTimeout/10.
	TouchInterval time.Duration

	// Codec encodes session values. nil means CBOR, which keeps Go types.
	Codec Codec

	// ErrorFunc answers a request whose session could not be loaded or
	// saved, before anything of the handler's response has been sent. nil
	// means: log the error with Logger and reply 500 with no details.
	ErrorFunc func(http.ResponseWriter, *http.Request, error)

	// Logger receives the errors the default ErrorFunc handles, changes
	// made after the response began that could not be saved (at Error),
	// warnings about discarded records and misconfiguration (at Warn), and
	// the session events when OnEvent is nil (at Debug). nil means
	// slog.Default().
	Logger *slog.Logger

	// OnEvent, if set, is called for each security event (a session
	// created, renewed, destroyed, or a token that did not open), for an
	// application to count or audit them; it must be safe for concurrent
	// use and return quickly. nil means the events go to Logger at debug
	// level, as "session: created" and so on. Events never carry tokens.
	OnEvent func(context.Context, Event)

	// Now returns the current time; nil means time.Now. Tests set it to
	// move a session through its deadlines.
	Now func() time.Time

	store     Store      // as given to New
	server    ServerSide // store, if it keeps records on the server
	setupOnce sync.Once
	configErr error // what check found wrong on first use, if anything

	cookieAttrs     attributeCache // Cookie's attributes, formatted
	warnedPlainHTTP atomic.Bool    // warnPlainHTTP has warned
}

// New returns a Manager that keeps sessions in store, with secure defaults:
// a cookie named "session" with Path "/", HttpOnly, Secure and SameSite
// Lax, persistent until the session expires, and a Lifetime of 24 hours.
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
		Lifetime: DefaultLifetime,
		store:    store,
	}
}

// mustBeValid panics if the Manager's fields make a mistake that would
// otherwise show only in production, as http.ServeMux panics on a bad
// pattern: at start, not on the first request.
func (m *Manager) mustBeValid() {
	if err := m.check(); err != nil {
		panic(err.Error())
	}
}

func (m *Manager) check() error {
	if m.useCookie() {
		if err := m.Cookie.Check(); err != nil {
			return err
		}
	}
	if m.Transport < TransportCookie || m.Transport > TransportBoth {
		return fmt.Errorf("session: Manager.Transport %d is not one of TransportCookie, TransportHeader, TransportBoth", m.Transport)
	}
	if m.IdleTimeout < 0 || m.BrowserSessionIdleTimeout < 0 || m.TouchInterval < 0 {
		return errors.New("session: Manager.IdleTimeout, BrowserSessionIdleTimeout and TouchInterval must not be negative")
	}
	if c, ok := m.store.(Checker); ok {
		return c.Check(m)
	}
	return nil
}

// setup settles, on first use, what the Manager learns from its fields and
// store, once they are settled. It checks the fields then, and panics on a
// mistake, as Handler does, on this use and every later one.
func (m *Manager) setup() {
	m.setupOnce.Do(func() {
		if m.configErr = m.check(); m.configErr != nil {
			return
		}
		m.server, _ = m.store.(ServerSide)
	})
	if m.configErr != nil {
		panic(m.configErr.Error())
	}
}

// serverKept reports whether the store keeps records on the server
// (ServerSide): then a stored session can change without its token
// changing, and saves merge, so sessions track which keys changed, not
// only that some did.
func (m *Manager) serverKept() bool {
	m.setup()
	return m.server != nil
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

// idleTimeout is the idle limit of a session with a persistent cookie or
// not; 0 means none.
func (m *Manager) idleTimeout(persistent bool) time.Duration {
	if !persistent && m.BrowserSessionIdleTimeout > 0 {
		return m.BrowserSessionIdleTimeout
	}
	return m.IdleTimeout
}

func (m *Manager) touchInterval(persistent bool) time.Duration {
	if m.TouchInterval > 0 {
		return m.TouchInterval
	}
	return m.idleTimeout(persistent) / 10
}

// deadline is when the session rec describes expires under the Manager's
// current limits, if it was last touched at touched: the earliest of its
// creation plus Lifetime, touched plus its idle limit, and its own
// Deadline.
func (m *Manager) deadline(rec *Record, touched time.Time) time.Time {
	d := rec.Created.Add(m.lifetime())
	if idle := m.idleTimeout(rec.Persistent); idle > 0 {
		if t := touched.Add(idle); t.Before(d) {
			d = t
		}
	}
	if !rec.Deadline.IsZero() && rec.Deadline.Before(d) {
		d = rec.Deadline
	}
	return d
}

// valid reports whether a loaded record is still alive, by the record's
// own deadline and by the Manager's current limits, which may have been
// shortened since the record was saved.
func (m *Manager) valid(rec *Record, now time.Time) bool {
	return now.Before(rec.Expires) && now.Before(m.deadline(rec, rec.Touched))
}

// Handler returns middleware that makes the request's session available to
// next through Get and FromContext. The session is loaded only if next
// uses it, and saved, if it changed, before the response's first byte is
// written, whether next calls WriteHeader, Write or Flush, or just returns.
// What next changes after that is saved, or reported, as Session
// describes, by the time Handler returns.
//
// At the response boundary, for the caches in between: a response whose
// session was loaded carries Vary: Cookie (or the token header's name), and
// one that sets or clears the session's token is made unstorable by shared
// caches (Cache-Control private, CDN-only cache headers removed), whatever
// the handler set.
//
// Handler checks the Manager's configuration and panics, naming the fix,
// on a mistake browsers would punish silently: a __Host- cookie that is
// not Secure, on Path "/" and without Domain; a __Secure- or SameSite=None
// or Partitioned cookie that is not Secure; an invalid cookie name.
func (m *Manager) Handler(next http.Handler) http.Handler {
	m.mustBeValid()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := new(handlerState)
		s := &h.session
		h.ctx = sessionContext{Context: r.Context(), s: s}
		m.initSession(s, r, &h.ctx)
		r = r.WithContext(&h.ctx)
		h.writer = writer{ResponseWriter: w, m: m, s: s, r: r}
		next.ServeHTTP(&h.writer, r)
		h.writer.commit()
		m.saveLate(s)
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
	m.initSession(s, r, &sessionContext{Context: r.Context(), s: s})
	return s
}

// initSession makes s, which is zero, r's session under m, not loaded yet.
// ctx is r's context with s attached: the context of s's store calls,
// from which a store learns the Manager's cookie name (CookieName).
func (m *Manager) initSession(s *Session, r *http.Request, ctx *sessionContext) {
	s.m, s.ctx, s.req, s.parent = m, ctx, r, FromContext(r.Context())
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
// saved any number of times; a save with nothing new writes nothing. After
// the response began, Save saves what a store can keep under the client's
// token, and returns the error Session.Err would report.
func (m *Manager) Save(w http.ResponseWriter, s *Session) error {
	if s.m != m {
		return errors.New("session: Manager.Save called with another Manager's session")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent {
		return s.saveAfterSent()
	}
	h := w.Header()
	err := s.commit(s.ctx, &headerReply{s: s, h: h}, false)
	s.saveErr = err
	if err == nil && s.replied {
		// Outside Handler, nothing else will protect the response.
		m.protect(h, true)
	}
	return err
}

// saveLate saves, once the handler returned, what it changed after the
// response began and a store can keep under the client's token; the rest
// was reported when it was changed. A failure is logged: there is no
// response left to answer it with.
func (m *Manager) saveLate(s *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sent || !m.serverKept() {
		return
	}
	if err := s.saveAfterSent(); err != nil && s.lateErr() == nil {
		s.reportLate(err)
	}
}

// saveAfterSent runs a late save. The caller holds s.mu.
func (s *Session) saveAfterSent() error {
	if err := s.commit(s.ctx, nil, true); err != nil {
		return err
	}
	return s.lateErr()
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

// ErrAborted is returned by Write on a response that the Manager replaced
// with its ErrorFunc because the session could not be saved: the
// handler's own response is discarded.
var ErrAborted = errors.New("session: response replaced by ErrorFunc after a store failure")
