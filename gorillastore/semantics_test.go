package gorillastore_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/gorillastore"
	"github.com/go-sealed/session/internal/browsertest"
	"github.com/gorilla/sessions"
	"github.com/stretchr/testify/require"
)

// clock is a Manager clock a test moves forward from the real present (so
// that a store checking deadlines against its own clock agrees).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// clocked puts a sealed store on clk too: it checks a seal's times on its
// own clock.
func clocked(store session.Store, clk *clock) session.Store {
	if sealed, ok := store.(*cookiesession.Store); ok {
		sealed.Now = clk.Now
	}
	return store
}

// eachClocked is each, with the Store's Managers on clk and the store's
// Options set by opts.
func eachClocked(t *testing.T, opts func(*sessions.Options), f func(t *testing.T, store *gorillastore.Store, clk *clock)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			clk := newClock()
			store := gorillastore.New(clocked(b.new(t), clk), gorillastore.WithManager(func(_ string, m *session.Manager) {
				m.Now = clk.Now
			}))
			if opts != nil {
				opts(store.Options)
			}
			f(t, store, clk)
		})
	}
}

// visit is a request that reads "user" and, if save, saves the session.
func visit(t *testing.T, c *browsertest.Browser, store *gorillastore.Store, save bool) (user any) {
	t.Helper()
	run(c, func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "app")
		require.NoError(t, err)
		user = s.Values["user"]
		if save {
			require.NoError(t, s.Save(r, w))
		}
	})
	return user
}

func login(t *testing.T, c *browsertest.Browser, store *gorillastore.Store) {
	t.Helper()
	run(c, func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "app")
		require.NoError(t, err)
		s.Values["user"] = "alice"
		require.NoError(t, s.Save(r, w))
	})
}

// TestStoreMaxAgeZero: a store configured for browser-session cookies
// (MaxAge 0, as gin-contrib's Options without MaxAge) keeps sessions as
// gorilla does, for DefaultMaxAge after their last save, and not one day.
func TestStoreMaxAgeZero(t *testing.T) {
	eachClocked(t, func(o *sessions.Options) { o.MaxAge = 0 }, func(t *testing.T, store *gorillastore.Store, clk *clock) {
		c := browsertest.InProcess(t, nil)
		res := run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			s.Values["user"] = "alice"
			require.NoError(t, s.Save(r, w))
		})
		require.Equal(t, 0, res.Cookies()[0].MaxAge, "a browser-session cookie")
		clk.advance(25 * time.Hour)
		require.Equal(t, "alice", visit(t, c, store, false), "logged out after a day")
		// A save renews it once a tenth of MaxAge has passed since the
		// last write (the Manager's TouchInterval).
		clk.advance(3 * 24 * time.Hour)
		require.Equal(t, "alice", visit(t, c, store, true))
		clk.advance(29 * 24 * time.Hour)
		require.Equal(t, "alice", visit(t, c, store, false), "a save renewed it")
		clk.advance(24*time.Hour + time.Minute)
		require.Nil(t, visit(t, c, store, false), "DefaultMaxAge after the last save, it ends")
	})
}

// TestMaxAgeRollsOnSave: as in gorilla, MaxAge counts from the last save:
// a user active every 20 minutes with MaxAge 3600 stays logged in, and one
// who stays away longer than MaxAge is logged out.
func TestMaxAgeRollsOnSave(t *testing.T) {
	eachClocked(t, func(o *sessions.Options) { o.MaxAge = 3600 }, func(t *testing.T, store *gorillastore.Store, clk *clock) {
		m := store.Manager("app")
		require.Equal(t, time.Hour, m.IdleTimeout)
		require.Equal(t, gorillastore.DefaultLifetime, m.Lifetime, "the absolute limit")
		c := browsertest.InProcess(t, nil)
		login(t, c, store)
		var last *http.Response
		for i := range 9 { // three hours
			clk.advance(20 * time.Minute)
			last = run(c, func(w http.ResponseWriter, r *http.Request) {
				s, err := store.Get(r, "app")
				require.NoError(t, err)
				require.Equal(t, "alice", s.Values["user"], "visit %d", i)
				require.NoError(t, s.Save(r, w))
			})
		}
		require.Len(t, last.Cookies(), 1)
		require.InDelta(t, 3600, last.Cookies()[0].MaxAge, 2, "the cookie's Max-Age counts from the last save")
		clk.advance(time.Hour + time.Second)
		require.Nil(t, visit(t, c, store, false))
	})
}

// TestLifetimeBoundsRolling: the absolute limit ends a session however
// active.
func TestLifetimeBoundsRolling(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			clk := newClock()
			store := gorillastore.New(clocked(b.new(t), clk), gorillastore.WithManager(func(_ string, m *session.Manager) {
				m.Now = clk.Now
				m.Lifetime = 2 * time.Hour
			}))
			store.Options.MaxAge = 3600
			c := browsertest.InProcess(t, nil)
			login(t, c, store)
			for range 5 {
				clk.advance(20 * time.Minute)
				require.Equal(t, "alice", visit(t, c, store, true))
			}
			clk.advance(20*time.Minute + time.Second)
			require.Nil(t, visit(t, c, store, true))
		})
	}
}

// TestSessionMaxAgeShortens: a session's own MaxAge shorter than the
// store's ends that session sooner, on the server too (a cookie the
// browser kept anyway does not outlive it); a later save without it
// restores the store's.
func TestSessionMaxAgeShortens(t *testing.T) {
	eachClocked(t, nil, func(t *testing.T, store *gorillastore.Store, clk *clock) {
		save := func(c *browsertest.Browser, maxAge int) *http.Cookie {
			res := run(c, func(w http.ResponseWriter, r *http.Request) {
				s, _ := store.Get(r, "app")
				s.Values["user"] = "alice"
				s.Options.MaxAge = maxAge
				require.NoError(t, s.Save(r, w))
			})
			return res.Cookies()[0]
		}
		short, kept := browsertest.InProcess(t, nil), browsertest.InProcess(t, nil)
		require.InDelta(t, 60, save(short, 60).MaxAge, 1)
		save(kept, 60)
		clk.advance(30 * time.Second)
		require.InDelta(t, gorillastore.DefaultMaxAge, save(kept, gorillastore.DefaultMaxAge).MaxAge, 2)
		clk.advance(31 * time.Second)
		require.Nil(t, visit(t, short, store, false), "ended on the server, whatever the browser kept")
		require.Equal(t, "alice", visit(t, kept, store, false), "the store's MaxAge applies again")
	})
}

// TestSaveEmptyNewSession: as in gorilla, an explicit Save of a new,
// empty session sets its cookie, so the next request finds it.
func TestSaveEmptyNewSession(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		c := browsertest.InProcess(t, nil)
		var id string
		res := run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			require.True(t, s.IsNew)
			require.NoError(t, s.Save(r, w))
			id = s.ID
		})
		require.Len(t, res.Cookies(), 1)
		require.Positive(t, res.Cookies()[0].MaxAge)
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "app")
			require.NoError(t, err)
			require.False(t, s.IsNew)
			require.Equal(t, id, s.ID)
			require.Empty(t, s.Values)
			require.NoError(t, s.Save(r, w))
		})
		// The session has no deadline of its own: the store's MaxAge rules.
		run(c, func(_ http.ResponseWriter, r *http.Request) {
			require.True(t, store.Manager("app").Load(r).Deadline().After(time.Now().Add(29*24*time.Hour)))
		})
	})
}

// TestSessionCookieAttributes: a session's own Options are the attributes
// of its cookie, as in gorilla, in each save of the response; the store's
// stay those of other sessions.
func TestSessionCookieAttributes(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		c := browsertest.InProcess(t, nil)
		res := run(c, func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark"})
			s, _ := store.Get(r, "app")
			s.Values["user"] = "alice"
			s.Options = &sessions.Options{
				Path: "/admin", Domain: "example.com", MaxAge: 600,
				Secure: true, HttpOnly: false, SameSite: http.SameSiteStrictMode, Partitioned: true,
			}
			require.NoError(t, s.Save(r, w))
			s.Values["n"] = 2
			require.NoError(t, s.Save(r, w)) // replaces the first one's cookie
			other, _ := store.Get(r, "other")
			other.Values["x"] = 1
			require.NoError(t, other.Save(r, w))
		})
		byName := map[string]*http.Cookie{}
		for _, ck := range res.Cookies() {
			require.NotContains(t, byName, ck.Name, "one cookie per name")
			byName[ck.Name] = ck
		}
		require.Len(t, byName, 3)
		app := byName["app"]
		require.Equal(t, "/admin", app.Path)
		require.Equal(t, "example.com", app.Domain)
		require.True(t, app.Secure)
		require.False(t, app.HttpOnly)
		require.True(t, app.Partitioned)
		require.Equal(t, http.SameSiteStrictMode, app.SameSite)
		require.InDelta(t, 600, app.MaxAge, 1)
		require.WithinDuration(t, time.Now().Add(600*time.Second), app.Expires, 2*time.Second, "Expires goes with Max-Age")
		other := byName["other"]
		require.Equal(t, "/", other.Path)
		require.True(t, other.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, other.SameSite)
		require.Equal(t, "dark", byName["theme"].Value)
		require.Contains(t, res.Header.Values("Vary"), "Cookie")
		require.Contains(t, res.Header.Get("Cache-Control"), "private")

		// The cookie's Path is /admin: a browser sends it there only.
		c.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			require.Equal(t, "alice", s.Values["user"])
			require.Equal(t, 2, s.Values["n"])
			// Ending it expires the cookie under the same attributes.
			s.Options = &sessions.Options{Path: "/admin", Domain: "example.com", MaxAge: -1, Secure: true}
			require.NoError(t, s.Save(r, w))
		}))
		c.Get("/admin")
		require.NotContains(t, c.CookiesAt("/admin"), "app")
	})
}

// TestSessionCookieRefused: Options that browsers refuse fail Save, which
// saves nothing, instead of the panic a Manager configured so would give.
func TestSessionCookieRefused(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		for _, tc := range []struct {
			name string
			opts sessions.Options
			want string
		}{
			{"app", sessions.Options{Path: "/", SameSite: http.SameSiteNoneMode}, "SameSite is None"},
			{"app", sessions.Options{Path: "/", Partitioned: true}, "Partitioned"},
			{"__Host-app", sessions.Options{Path: "/", Domain: "example.com", Secure: true}, "__Host-"},
			{"__Secure-app", sessions.Options{Path: "/"}, "__Secure-"},
		} {
			c := browsertest.InProcess(t, nil)
			res := run(c, func(w http.ResponseWriter, r *http.Request) {
				s, _ := store.Get(r, tc.name)
				s.Values["user"] = "alice"
				s.Options = &tc.opts
				err := s.Save(r, w)
				require.Error(t, err, tc.want)
				require.Contains(t, err.Error(), tc.want)
				require.Contains(t, err.Error(), "nothing was saved")
			})
			require.Empty(t, res.Cookies(), tc.want)
		}
	})
}

// TestGobVariants: gob decodes T and *T into the one registered, so
// gorilla code that registered T{} and stored &T{} reads back a T (and
// the other way round); the adapter gives back the same, at any depth of
// []any and map[string]any.
func TestGobVariants(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		c := browsertest.InProcess(t, nil)
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			s.Values["account"] = &Account{Name: "alice"}
			s.Values["basket"] = Basket{Items: 3}
			s.Values["list"] = []any{&Account{Name: "bob"}, "x", Basket{Items: 1}}
			s.Values["map"] = map[string]any{"a": &Account{Name: "carol"}}
			s.Values["profile"] = Profile{"dave", 40}
			require.NoError(t, s.Save(r, w))
			// Within the request, Values holds what was put, as in gorilla.
			require.IsType(t, &Account{}, s.Values["account"])
		})
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "app")
			require.NoError(t, err)
			account, ok := s.Values["account"].(Account)
			require.True(t, ok, "%T", s.Values["account"])
			require.Equal(t, "alice", account.Name)
			basket, ok := s.Values["basket"].(*Basket)
			require.True(t, ok, "%T", s.Values["basket"])
			require.Equal(t, 3, basket.Items)
			require.Equal(t, []any{Account{Name: "bob"}, "x", &Basket{Items: 1}}, s.Values["list"])
			require.Equal(t, map[string]any{"a": Account{Name: "carol"}}, s.Values["map"])
			require.Equal(t, Profile{"dave", 40}, s.Values["profile"])
		})
	})
}

// TestUnregisteredTypeFailsSave: a value whose type is registered with gob
// alone would come back from Values as a map, and a gorilla application's
// type assertion on it would fail quietly; Save fails instead, as gob did
// for a type it did not know, naming the fix, and saves nothing.
func TestUnregisteredTypeFailsSave(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		c := browsertest.InProcess(t, nil)
		login(t, c, store)
		res := run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			s.Values["cart"] = []any{Cart{Items: []string{"apple"}}}
			s.Values["user"] = "bob"
			err := s.Save(r, w)
			require.Error(t, err)
			require.Contains(t, err.Error(), `"cart"`)
			require.Contains(t, err.Error(), "session.Register")
		})
		require.Empty(t, res.Cookies())
		require.Equal(t, "alice", visit(t, c, store, false), "nothing was saved")
	})
}

// Account is registered as a value, Basket as a pointer.
type Account struct{ Name string }

type Basket struct{ Items int }

func init() {
	session.Register(Account{})
	session.Register(&Basket{})
}
