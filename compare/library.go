package compare

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

// The library's own mechanisms run through a real session.Manager: the
// Manager chooses the cookie attributes, splits a large token into
// chunks, encodes the values (CBOR) and decides when to write, so the
// bytes measured are the ones an application using the library sends.
// They use only the constructors and the Manager's, Session's and
// serverstore.Store's methods, as an application does.

// newManager returns a Manager with the library's defaults, as an
// application makes it, and the lifetime, transport, clock and SameSite
// of cfg.
func newManager(store session.Store, cfg Config) *session.Manager {
	m := session.New(store)
	m.Lifetime = cfg.Lifetime
	if cfg.Transport == TransportHeader {
		m.Transport = session.TransportHeader
	}
	if cfg.Clock != nil {
		m.Now = cfg.Clock.Now
	}
	m.Cookie.SameSite = cfg.sameSite()
	// The experiments provoke failures (a session too large to save) and
	// measure them; they are not worth a log line each, but the harness
	// needs to know what failed.
	m.Logger = slog.New(slog.DiscardHandler)
	m.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		if slot, ok := r.Context().Value(errSlotKey{}).(*error); ok {
			*slot = err
		}
		http.Error(w, "session store failure", http.StatusInternalServerError)
	}
	return m
}

// errSlotKey is the context key of where the Manager's ErrorFunc puts the
// error of the request being served.
type errSlotKey struct{}

// managerEndpoint is the endpoint of a mechanism built on session.Manager.
type managerEndpoint struct {
	m *session.Manager
}

// run serves one request through the Manager's middleware, with f as the
// handler.
func (e managerEndpoint) run(w http.ResponseWriter, r *http.Request, f func(*session.Session)) error {
	var err, failed error
	r = r.WithContext(context.WithValue(r.Context(), errSlotKey{}, &failed))
	e.m.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		s := e.m.Get(r)
		if err = s.Err(); err == nil {
			f(s)
		}
	})).ServeHTTP(w, r)
	return errors.Join(err, failed)
}

func (e managerEndpoint) issue(w http.ResponseWriter, r *http.Request, user string, v Values) error {
	return e.run(w, r, func(s *session.Session) {
		s.SetUser(user)
		for k, x := range v {
			s.Put(k, x)
		}
	})
}

func (e managerEndpoint) verify(w http.ResponseWriter, r *http.Request, sc scope) (Values, bool, error) {
	var (
		v  Values
		ok bool
	)
	err := e.run(w, r, func(s *session.Session) {
		if ok = !s.IsNew(); !ok {
			return
		}
		v = Values{}
		keys := s.Keys()
		if sc == scopeIdentity {
			keys = identityKeys
		}
		for _, k := range keys {
			v[k] = s.Get(k)
		}
	})
	return v, ok, err
}

// identityKeys are the values a request that needs only the user's
// identity reads.
var identityKeys = []string{"uid", "role"}

func (e managerEndpoint) logout(w http.ResponseWriter, r *http.Request) error {
	return e.run(w, r, (*session.Session).Destroy)
}

// serverSession is serverstore.Store behind a Manager: the token is a
// random ID, the record lives in a backend.
type serverSession struct {
	unkeyed // the token is a random ID: there is no key to rotate
	cfg     Config
	conn    connector
	inst    *instance
	store   *serverstore.Store
	m       *session.Manager
}

// connector makes the backend of one server instance. Two instances made
// by one connector share what the configuration names (a Redis address),
// never the process's memory.
type connector interface {
	connect() (*instance, error)
	// residentBytes is what the backend reports it uses for every
	// instance's records, or -1.
	residentBytes() int64
	// close removes what the instances wrote and releases the connector.
	close() error
}

// instance is one server's backend and what it counts.
type instance struct {
	store *serverstore.Store
	net   *netCount // nil for an in-process backend
	close func() error
}

func newServerSession(cfg Config, conn connector) (*serverSession, error) {
	inst, err := conn.connect()
	if err != nil {
		return nil, err
	}
	return &serverSession{cfg: cfg, conn: conn, inst: inst, store: inst.store, m: newManager(inst.store, cfg)}, nil
}

func (s *serverSession) endpoint() endpoint { return managerEndpoint{s.m} }

func (s *serverSession) logoutEverywhere(ctx context.Context, user string) error {
	_, err := s.store.DestroyUser(ctx, user)
	return err
}

func (s *serverSession) replica() (backend, error) {
	r, err := newServerSession(s.cfg, s.conn)
	if err != nil {
		return nil, err
	}
	r.conn = replicaConnector{s.conn} // the original cleans up
	return r, nil
}

func (s *serverSession) stats() Stats {
	st := Stats{Backend: true, ResidentBytes: s.conn.residentBytes()}
	if n := s.inst.net; n != nil {
		st.Network = true
		st.Commands, st.RoundTrips, st.StoreBytes = n.commands.Load(), n.roundTrips.Load(), n.bytes.Load()
	}
	return st
}

func (s *serverSession) close() error {
	return errors.Join(s.inst.close(), s.conn.close())
}

// replicaConnector is the connector of a replica: closing it leaves the
// shared backend to the original.
type replicaConnector struct{ connector }

func (replicaConnector) close() error { return nil }

// memConnector makes in-process memstore backends: each instance has its
// own, as each process would.
type memConnector struct{}

func (memConnector) connect() (*instance, error) {
	b := memstore.New()
	return &instance{store: serverstore.New(b), close: b.Close}, nil
}

func (memConnector) residentBytes() int64 { return -1 }
func (memConnector) close() error         { return nil }

// sealedCookie is cookiesession.Store behind a Manager: the whole session,
// sealed, in the token.
type sealedCookie struct {
	cfg  Config
	keys *keyring[[]byte]
	m    *session.Manager
}

func newSealedCookie(cfg Config, keys *keyring[[]byte]) (*sealedCookie, error) {
	s := &sealedCookie{cfg: cfg, keys: keys}
	return s, s.build()
}

// build makes the Store and Manager for the current keys, as a deploy
// with a new SESSION_KEYS would.
func (s *sealedCookie) build() error {
	store, err := cookiesession.New(s.keys.keys...)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	if s.cfg.Clock != nil {
		store.Now = s.cfg.Clock.Now
	}
	s.m = newManager(store, s.cfg)
	return nil
}

func (s *sealedCookie) endpoint() endpoint { return managerEndpoint{s.m} }

// A sealed cookie keeps nothing on the server to find a user's sessions by.
func (s *sealedCookie) logoutEverywhere(context.Context, string) error {
	return errors.ErrUnsupported
}

func (s *sealedCookie) rotateKey() error {
	s.keys.rotate()
	return s.build()
}

func (s *sealedCookie) retireOldKeys() error {
	s.keys.retire()
	return s.build()
}

func (s *sealedCookie) replica() (backend, error) {
	return newSealedCookie(s.cfg, s.keys.clone())
}

func (s *sealedCookie) stats() Stats { return Stats{} }
func (s *sealedCookie) close() error { return nil }
