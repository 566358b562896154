package gorillastore

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/go-sealed/session"
	"github.com/gorilla/sessions"
)

// DefaultMaxAge is the Options.MaxAge of a new Store: 30 days, as in
// gorilla's CookieStore.
const DefaultMaxAge = 86400 * 30

// Store is a gorilla/sessions sessions.Store over a session.Store: either
// storage mode of this library (the sealed cookie of cookiesession, or a
// serverstore backend) behind gorilla's Get, New and Save. Make one with
// New. It is safe for concurrent use.
type Store struct {
	// Options is the default configuration of new sessions, copied into
	// each session's Options as gorilla's stores do. Its cookie attributes
	// (Path, Domain, Secure, HttpOnly, SameSite, Partitioned) and MaxAge
	// configure a cookie name's Manager when the name is first used, so
	// set them before serving; after that, only a session's own
	// Options.MaxAge is read (see Save). New sets Path "/", MaxAge
	// DefaultMaxAge, Secure, HttpOnly and SameSite Lax: safer than
	// gorilla's CookieStore, which sets SameSite None and not HttpOnly.
	// nil means those defaults.
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
// first used: after its Cookie and Lifetime are set from Options, so f can
// set IdleTimeout, Codec, Logger, ErrorFunc or anything else, per name if
// it likes. Options are applied in order.
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
	if o.MaxAge > 0 {
		// Gorilla's MaxAge is how long a session lives; here that is the
		// Manager's Lifetime, counted from the session's creation (see the
		// package documentation for how this differs).
		m.Lifetime = time.Duration(o.MaxAge) * time.Second
	}
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

// Save writes gs to the store and its cookie into w's header; like any
// cookie, call it before the response's header is written.
//
// Values are saved by string key: a key of another type is an error, and
// nothing is saved. Keys that Values no longer holds are deleted, and
// only the keys whose values changed are written, so that a server-side
// store merges them with what concurrent requests of the same session
// wrote.
//
// gs.Options.MaxAge chooses what happens: less than 0 destroys the session
// (its cookie is expired and a server-side record deleted); 0 keeps it in a
// browser-session cookie, dropped when the browser closes; more than 0 in
// a persistent cookie, whose Max-Age is the time left until the session
// expires under its Manager's Lifetime and IdleTimeout, whatever the
// number. The session's other Options are not read: the cookie attributes
// are the Manager's, set from Store.Options.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, gs *sessions.Session) error {
	if gs == nil {
		return fmt.Errorf("gorillastore: Save called with a nil session")
	}
	name := gs.Name()
	m := s.Manager(name)
	sess := s.tracked(r, gs)
	if sess == nil {
		// A session that New did not make for this request
		// (sessions.NewSession, or a request copied before New): save
		// over whatever the request carries.
		sess = m.Load(r)
		s.track(r, gs, sess)
	}
	maxAge := s.options().MaxAge
	if gs.Options != nil {
		maxAge = gs.Options.MaxAge
	}
	if maxAge < 0 {
		sess.Destroy()
	} else {
		values, err := stringKeys(name, gs.Values)
		if err != nil {
			return err
		}
		for _, k := range sess.Keys() {
			if _, ok := values[k]; !ok {
				sess.Delete(k)
			}
		}
		for k, v := range values {
			if sess.Has(k) && reflect.DeepEqual(sess.Get(k), v) {
				continue // unchanged: a Put would rewrite it for nothing
			}
			sess.Put(k, v)
		}
		sess.RememberMe(maxAge > 0)
		if s.userKey != "" {
			sess.SetUser(userOf(values[s.userKey]))
		}
	}
	if err := m.Save(w, sess); err != nil {
		return fmt.Errorf("gorillastore: saving session %q: %w", name, err)
	}
	gs.ID = sess.ID()
	return nil
}

// Renew gives gs a new ID and a new token when it is next saved, and ends
// the token it had: call it where privileges change, at login above all,
// against session fixation, as gorilla's API has no such call (WithUserKey
// renews automatically when the user changes). The values stay. Like Save,
// call it before the response's header is written; after that it returns
// an error wrapping session.ErrResponseStarted and changes nothing.
func (s *Store) Renew(r *http.Request, gs *sessions.Session) error {
	if gs == nil {
		return fmt.Errorf("gorillastore: Renew called with a nil session")
	}
	sess := s.tracked(r, gs)
	if sess == nil {
		sess = s.Manager(gs.Name()).Load(r)
		s.track(r, gs, sess)
	}
	if err := sess.Renew(); err != nil {
		return fmt.Errorf("gorillastore: renewing session %q: %w", gs.Name(), err)
	}
	gs.ID = sess.ID()
	return nil
}

// userOf is the user tag of a WithUserKey value: "" for none.
func userOf(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// stringKeys returns values keyed by string, or an error naming the first
// key of another type.
func stringKeys(name string, values map[any]any) (map[string]any, error) {
	out := make(map[string]any, len(values))
	for k, v := range values {
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("gorillastore: session %q: Values key %#v is a %T, not a string; this library keys session values by string, so store it under a string key",
				name, k, k)
		}
		out[ks] = v
	}
	return out, nil
}

// copyValues returns a deep copy of values made by a round trip through
// codec, or values itself if that fails.
func copyValues(codec session.Codec, values map[string]any) map[string]any {
	if len(values) == 0 {
		return values
	}
	data, err := codec.Encode(values)
	if err != nil {
		return values
	}
	copied, err := codec.Decode(data)
	if err != nil {
		return values
	}
	for k, v := range copied {
		if raw, ok := v.(session.Raw); ok {
			copied[k] = raw.Value()
		}
	}
	return copied
}

func codecOf(m *session.Manager) session.Codec {
	if m.Codec != nil {
		return m.Codec
	}
	return session.CBOR
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
