package gorillastore

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-sealed/session"
	"github.com/gorilla/sessions"
)

// DefaultMaxAge is the Options.MaxAge of a new Store: 30 days, as in
// gorilla's CookieStore. It is also the idle limit of sessions whose
// MaxAge is 0 or less (browser-session cookies), as securecookie's
// default MaxAge bounds a CookieStore cookie's age whatever its Max-Age.
const DefaultMaxAge = 86400 * 30

// DefaultLifetime is the absolute limit of a session, counted from its
// creation, that a Store gives its Managers: however active a user, a
// session ends this long after it began (or after MaxAge, if that is
// longer). Gorilla's stores have none; set another through WithManager.
const DefaultLifetime = 90 * 24 * time.Hour

// Store is a gorilla/sessions sessions.Store over a session.Store: either
// storage mode of this library (the sealed cookie of cookiesession, or a
// serverstore backend) behind gorilla's Get, New and Save. Make one with
// New. It is safe for concurrent use.
type Store struct {
	// Options is the default configuration of new sessions, copied into
	// each session's Options as gorilla's stores do. It also configures a
	// cookie name's Manager when the name is first used (its cookie
	// attributes and its limits, see New), so set it before serving; a
	// later change still reaches each new session's Options, which Save
	// honours (see Save). New sets Path "/", MaxAge DefaultMaxAge, Secure,
	// HttpOnly and SameSite Lax: safer than gorilla's CookieStore, which
	// sets SameSite None and not HttpOnly. nil means those defaults.
	Options *sessions.Options

	store     session.Store
	configure []func(name string, m *session.Manager)
	userKey   string // WithUserKey's key, or ""

	mu       sync.Mutex
	managers map[string]*session.Manager
}

var _ sessions.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithManager registers f to finish the configuration of each
// session.Manager the Store creates, one per cookie name, when the name is
// first used: after its Cookie, IdleTimeout and Lifetime are set from
// Options (see New), so f can change them, or set Codec, Logger,
// ErrorFunc or anything else, per name if it likes. Options are applied in
// order. For an absolute MaxAge, counted from the session's creation and
// not renewed by saves, set IdleTimeout to 0 and Lifetime to the MaxAge.
func WithManager(f func(name string, m *session.Manager)) Option {
	return func(s *Store) {
		if f != nil {
			s.configure = append(s.configure, f)
		}
	}
}

// WithUserKey names the Values key under which the application keeps the
// signed-in user's ID (often "user_id"). At each Save, the session is
// tagged with that value (session.Session.SetUser, its fmt.Sprint form;
// none when the key is absent), which gives gorilla-API applications what
// gorilla itself lacks:
//
//   - Protection from session fixation with no code change: a session
//     whose user changes (a login, a logout, a switch of account) is
//     renewed, with a new ID and token, and the token from before stops
//     working. Gorilla's API has no call for it; see also Store.Renew.
//   - "Log out everywhere" and a list of a user's sessions, with a
//     server-side store (serverstore.Store.DestroyUser and ListUser).
func WithUserKey(key string) Option {
	return func(s *Store) { s.userKey = key }
}

// New returns a gorilla sessions.Store that keeps its sessions in store,
// with the defaults described at Store.Options. It is the one line an
// application on gorilla/sessions changes:
//
//	store := sessions.NewCookieStore(hashKey, blockKey) // before
//	store := gorillastore.New(sealed)                    // after
//
// Sessions expire as under gorilla: Options.MaxAge after their last save,
// renewed by every save (the Manager's IdleTimeout; DefaultMaxAge when
// MaxAge is 0 or less, as for gorilla's browser-session cookies), and in
// any case DefaultLifetime after they began (the Manager's Lifetime, or
// MaxAge if longer). WithManager changes either.
func New(store session.Store, opts ...Option) *Store {
	if store == nil {
		panic("gorillastore: New called with a nil session.Store")
	}
	defaults := defaultOptions()
	s := &Store{
		Options:  &defaults,
		store:    store,
		managers: map[string]*session.Manager{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func defaultOptions() sessions.Options {
	return sessions.Options{
		Path:     "/",
		MaxAge:   DefaultMaxAge,
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// options returns a copy of the Store's default session options.
func (s *Store) options() sessions.Options {
	if s.Options != nil {
		return *s.Options
	}
	return defaultOptions()
}

// idleLimit is how long a session of the given MaxAge lives after a save,
// as gorilla counts it.
func idleLimit(maxAge int) time.Duration {
	if maxAge > 0 {
		return time.Duration(maxAge) * time.Second
	}
	return DefaultMaxAge * time.Second
}

// Manager returns the session.Manager behind the cookie name, creating it
// on first use from Options and the WithManager functions. Through it, code
// can move to this library's own API a handler at a time: wrap the routes
// with Manager(name).Handler, and a handler's Manager.Get and the gorilla
// Get of the same name share one session.
func (s *Store) Manager(name string) *session.Manager {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.managers[name]; m != nil {
		return m
	}
	o := s.options()
	m := session.New(s.store)
	m.Cookie = session.CookieOptions{
		Name:        name,
		Domain:      o.Domain,
		Path:        o.Path,
		Secure:      o.Secure,
		HttpOnly:    o.HttpOnly,
		SameSite:    o.SameSite,
		Partitioned: o.Partitioned,
		Persist:     o.MaxAge > 0,
	}
	// Gorilla's MaxAge counts from each save: an idle limit, which each
	// Save renews, under an absolute limit gorilla lacks.
	m.IdleTimeout = idleLimit(o.MaxAge)
	m.Lifetime = max(DefaultLifetime, m.IdleTimeout)
	for _, f := range s.configure {
		f(name, m)
	}
	s.managers[name] = m
	return m
}

// Get returns the session of the given name for r, through gorilla's
// per-request registry: every Get of one name in one request returns the
// same *sessions.Session, loaded once, and sessions.Save(r, w) saves them
// all.
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session of the given name from r's cookie of that name,
// without the registry: each call loads afresh. Prefer Get.
//
// IsNew is true when the request carried no valid session: no cookie, or
// one that is expired, tampered with or forged. Unlike gorilla's stores,
// New returns no error for a cookie that fails to decode: such a cookie
// is simply a new session, as everywhere in this library. The error, with
// a new empty session, is kept for a store that cannot answer (a backend
// that is down); Save then refuses to overwrite the real session.
//
// Values holds the session's values, under their string keys; ID is the
// session's Session.ID, safe to log, not the token in the cookie.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	m := s.Manager(name)
	sess := m.Load(r)
	gs := sessions.NewSession(s, name)
	opts := s.options()
	gs.Options = &opts
	s.track(r, gs, sess)
	err := sess.Err()
	gs.ID = sess.ID()
	gs.IsNew = sess.IsNew()
	if err != nil {
		return gs, fmt.Errorf("gorillastore: loading session %q: %w", name, err)
	}
	keys := sess.Keys()
	values := make(map[string]any, len(keys))
	for _, k := range keys {
		values[k] = sess.Get(k)
	}
	// Gorilla code changes values in place (appends to a slice it got
	// from Values, sets a map entry) and then calls Save. Hand it copies,
	// so that what the session holds stays what was loaded and Save can
	// tell what changed by comparing the two.
	copied := copyValues(codecOf(m), values)
	for k, v := range copied {
		gs.Values[k] = v
	}
	return gs, nil
}

// pairsKey is the context key of a request's pairs.
type pairsKey struct{}

// pairs maps the gorilla sessions handed out for one request to the
// sessions behind them, so that Save finds the one New loaded. It lives in
// the request's context and goes away with the request.
type pairs struct {
	mu sync.Mutex
	m  map[*sessions.Session]*session.Session
}

// track pairs gs with sess for r. Like gorilla's GetRegistry, it replaces
// *r with a copy carrying the pairs in its context, so that the caller's
// request, and the registry's, which is the same pointer, carry them.
func (s *Store) track(r *http.Request, gs *sessions.Session, sess *session.Session) {
	p, ok := r.Context().Value(pairsKey{}).(*pairs)
	if !ok {
		p = &pairs{m: map[*sessions.Session]*session.Session{}}
		*r = *r.WithContext(context.WithValue(r.Context(), pairsKey{}, p))
	}
	p.mu.Lock()
	p.m[gs] = sess
	p.mu.Unlock()
}

// tracked returns the session paired with gs for r, or nil.
func (s *Store) tracked(r *http.Request, gs *sessions.Session) *session.Session {
	p, ok := r.Context().Value(pairsKey{}).(*pairs)
	if !ok {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[gs]
}
