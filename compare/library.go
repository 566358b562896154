package compare

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

// The library's own mechanisms run through a real session.Manager: the
// Manager chooses the cookie attributes, splits a large token into
// chunks, encodes the values (CBOR) and decides when to write, so the
// bytes measured are the ones an application using the library sends.

// newManager returns a Manager with the library's defaults, as an
// application makes it, and the lifetime of cfg.
func newManager(store session.Store, cfg Config) *session.Manager {
	m := session.New(store)
	m.Lifetime = cfg.Lifetime
	// The experiments provoke failures (a session too large to save) and
	// measure them; they are not worth a log line each.
	m.Logger = slog.New(slog.DiscardHandler)
	return m
}

// managerEndpoint is the endpoint of a mechanism built on session.Manager.
type managerEndpoint struct {
	m *session.Manager
}

// run serves one request through the Manager's middleware, with f as the
// handler.
func (e managerEndpoint) run(w http.ResponseWriter, r *http.Request, f func(*session.Session)) error {
	var err error
	e.m.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		s := e.m.Get(r)
		if err = s.Err(); err == nil {
			f(s)
		}
	})).ServeHTTP(w, r)
	return err
}

func (e managerEndpoint) issue(w http.ResponseWriter, r *http.Request, user string, v Values) error {
	return e.run(w, r, func(s *session.Session) {
		s.SetUser(user)
		for k, x := range v {
			s.Put(k, x)
		}
	})
}

func (e managerEndpoint) verify(w http.ResponseWriter, r *http.Request) (Values, bool, error) {
	var (
		v  Values
		ok bool
	)
	err := e.run(w, r, func(s *session.Session) {
		if ok = !s.IsNew(); ok {
			v = Values{}
			for _, k := range s.Keys() {
				v[k] = s.Get(k)
			}
		}
	})
	return v, ok, err
}

func (e managerEndpoint) logout(w http.ResponseWriter, r *http.Request) error {
	return e.run(w, r, (*session.Session).Destroy)
}

// serverSession is serverstore.Store behind a Manager: the cookie holds a
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

// instance is one server's backend, counted.
type instance struct {
	meter *meter
	close func() error
}

func newServerSession(cfg Config, conn connector) (*serverSession, error) {
	inst, err := conn.connect()
	if err != nil {
		return nil, err
	}
	store := serverstore.New(inst.meter.backend())
	return &serverSession{cfg: cfg, conn: conn, inst: inst, store: store, m: newManager(store, cfg)}, nil
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
	st := s.inst.meter.stats()
	st.ResidentBytes = s.conn.residentBytes()
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
	return &instance{meter: newMeter(b, nil), close: b.Close}, nil
}

func (memConnector) residentBytes() int64 { return -1 }
func (memConnector) close() error         { return nil }

// sealedCookie is cookiesession.Store behind a Manager: the whole session,
// sealed, in the cookie.
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

// meter wraps a serverstore.Backend to count what the Store asks of it.
// The backend must implement UserIndex (memstore and redisstore do).
type meter struct {
	serverstore.Backend
	ui    serverstore.UserIndex
	calls atomic.Int64
	rtts  *atomic.Int64 // network round trips, counted by the client; nil in process
	last  atomic.Int64
}

func newMeter(b serverstore.Backend, rtts *atomic.Int64) *meter {
	m := &meter{Backend: b, rtts: rtts}
	m.ui, _ = b.(serverstore.UserIndex)
	if m.ui == nil {
		panic("compare: a metered backend must implement UserIndex")
	}
	return m
}

// backend returns the metered backend.
func (m *meter) backend() serverstore.Backend { return m }

func (m *meter) stats() Stats {
	st := Stats{Backend: true, Calls: m.calls.Load(), LastEntryBytes: m.last.Load(), ResidentBytes: -1}
	if m.rtts != nil {
		st.RoundTrips = m.rtts.Load()
	}
	return st
}

func (m *meter) wrote(key string, e serverstore.Entry) {
	m.last.Store(int64(len(key) + len(e.Data) + len(e.UserID)))
}

// Find implements serverstore.Backend.
func (m *meter) Find(ctx context.Context, key string) ([]byte, bool, error) {
	m.calls.Add(1)
	return m.Backend.Find(ctx, key)
}

// Commit implements serverstore.Backend.
func (m *meter) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	m.calls.Add(1)
	m.wrote(key, e)
	return m.Backend.Commit(ctx, key, e)
}

// Delete implements serverstore.Backend.
func (m *meter) Delete(ctx context.Context, key string) error {
	m.calls.Add(1)
	return m.Backend.Delete(ctx, key)
}

// Update implements serverstore.Backend.
func (m *meter) Update(ctx context.Context, key string, hint *serverstore.Entry, fn func([]byte, bool) (serverstore.Entry, bool, error)) error {
	m.calls.Add(1)
	return m.Backend.Update(ctx, key, hint, func(data []byte, found bool) (serverstore.Entry, bool, error) {
		e, write, err := fn(data, found)
		if write && err == nil {
			m.wrote(key, e)
		}
		return e, write, err
	})
}

// Rename implements serverstore.Backend.
func (m *meter) Rename(ctx context.Context, oldKey, newKey string, e serverstore.Entry) error {
	m.calls.Add(1)
	m.wrote(newKey, e)
	return m.Backend.Rename(ctx, oldKey, newKey, e)
}

// FindUser implements serverstore.UserIndex.
func (m *meter) FindUser(ctx context.Context, userID string) (map[string][]byte, error) {
	m.calls.Add(1)
	return m.ui.FindUser(ctx, userID)
}

// DeleteUser implements serverstore.UserIndex.
func (m *meter) DeleteUser(ctx context.Context, userID string) (int, error) {
	m.calls.Add(1)
	return m.ui.DeleteUser(ctx, userID)
}
