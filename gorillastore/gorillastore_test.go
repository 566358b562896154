package gorillastore_test

import (
	"context"
	"encoding/gob"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/gorillastore"
	"github.com/go-sealed/session/internal/browsertest"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
	"github.com/gorilla/sessions"
	"github.com/stretchr/testify/require"
)

// FlashMessage is the custom flash type of gorilla's own TestFlashes,
// registered with session.Register, which registers it with gob too.
type FlashMessage struct {
	Type    int
	Message string
}

// Cart is registered with gob only, as a gorilla application registers its
// types: Save refuses it, as it would come back from Values as a map.
type Cart struct {
	Items []string
	Total int
}

// Profile is registered with session.Register: Values gives it back typed.
type Profile struct {
	Name string
	Age  int
}

func init() {
	session.Register(FlashMessage{})
	session.Register(Profile{})
	gob.Register(Cart{})
}

// backends are the two storage modes every test runs against.
var backends = []struct {
	name string
	new  func(t *testing.T) session.Store
}{
	{"cookiesession", func(t *testing.T) session.Store {
		s, err := cookiesession.New(cookiesession.GenerateKey())
		require.NoError(t, err)
		return s
	}},
	{"serverstore", func(t *testing.T) session.Store {
		mem := memstore.New()
		t.Cleanup(func() { _ = mem.Close() })
		return serverstore.New(mem)
	}},
}

// each runs f once per backend, with a fresh gorillastore.Store.
func each(t *testing.T, f func(t *testing.T, store *gorillastore.Store)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f(t, gorillastore.New(b.new(t)))
		})
	}
}

// run serves c's next request, a GET of "/", with h, and returns the
// response.
func run(c *browsertest.Browser, h func(w http.ResponseWriter, r *http.Request)) *http.Response {
	c.SetHandler(http.HandlerFunc(h))
	res, _ := c.Get("/")
	return res
}

// TestFlashes ports gorilla's TestFlashes: default and custom flash keys,
// flashes consumed once read, a custom flash type, and the registry
// surviving a shallow copy of the request.
func TestFlashes(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		c := browsertest.InProcess(t, nil)
		// Round 1: add flashes.
		res := run(c, func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "session-key")
			require.NoError(t, err)
			require.Empty(t, s.Flashes())
			s.AddFlash("foo")
			s.AddFlash("bar")
			s.AddFlash("baz", "custom_key")
			require.NoError(t, sessions.Save(r, w))

			_, err = store.Get(r, "session:key")
			require.EqualError(t, err, "sessions: invalid character in cookie name: session:key")
		})
		require.Len(t, res.Cookies(), 1)

		// Round 2: read them, and save, which consumes them.
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "session-key")
			require.NoError(t, err)
			require.False(t, s.IsNew)
			require.Equal(t, []any{"foo", "bar"}, s.Flashes())
			require.Empty(t, s.Flashes())
			require.Equal(t, []any{"baz"}, s.Flashes("custom_key"))
			require.Empty(t, s.Flashes("custom_key"))
			require.NoError(t, s.Save(r, w))
		})

		// Round 3: they are gone for good.
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "session-key")
			require.NoError(t, err)
			require.Empty(t, s.Flashes())
			require.Empty(t, s.Flashes("custom_key"))
		})

		// Rounds 4 and 5: a custom type, in a new session.
		c2 := browsertest.InProcess(t, nil)
		run(c2, func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "session-key")
			require.NoError(t, err)
			s.AddFlash(FlashMessage{42, "foo"})
			require.NoError(t, sessions.Save(r, w))
		})
		run(c2, func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "session-key")
			require.NoError(t, err)
			flashes := s.Flashes()
			require.Len(t, flashes, 1)
			require.Equal(t, FlashMessage{42, "foo"}, flashes[0].(FlashMessage))
		})

		// Round 6: a shallow copy of the request keeps the registry.
		req := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
		s, err := store.Get(req, "session-key")
		require.NoError(t, err)
		s.Values["test"] = "test-value"
		req = req.WithContext(req.Context())
		s2, err := store.Get(req, "session-key")
		require.NoError(t, err)
		require.Same(t, s, s2)
		require.Equal(t, "test-value", s2.Values["test"])
	})
}

func TestRegistryReuse(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
		a, err := store.Get(r, "s")
		require.NoError(t, err)
		b, err := store.Get(r, "s")
		require.NoError(t, err)
		require.Same(t, a, b, "Get returns the registered session")
		n1, err := store.New(r, "s")
		require.NoError(t, err)
		n2, err := store.New(r, "s")
		require.NoError(t, err)
		require.NotSame(t, n1, n2, "New loads afresh")
		require.NotSame(t, a, n1)
		require.Equal(t, "s", a.Name())
		require.Same(t, store, a.Store())
	})
}

func TestValuesRoundTripTypes(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		c := browsertest.InProcess(t, nil)
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "app")
			require.NoError(t, err)
			s.Values["name"] = "alice"
			s.Values["visits"] = 3
			s.Values["admin"] = true
			s.Values["roles"] = []string{"a", "b"}
			s.Values["profile"] = Profile{"alice", 30}
			require.NoError(t, s.Save(r, w))
		})
		check := func(r *http.Request) {
			s, err := store.Get(r, "app")
			require.NoError(t, err)
			require.False(t, s.IsNew)
			require.Equal(t, "alice", s.Values["name"])
			require.Equal(t, 3, s.Values["visits"])
			require.Equal(t, true, s.Values["admin"])
			require.Equal(t, []string{"a", "b"}, s.Values["roles"])
			require.Equal(t, Profile{"alice", 30}, s.Values["profile"])
			native := store.Manager("app").Load(r)
			profile, ok := session.GetAs[Profile](native, "profile")
			require.True(t, ok)
			require.Equal(t, Profile{"alice", 30}, profile)
			require.Equal(t, "alice", native.GetString("name"))
			require.Equal(t, s.ID, native.ID())
		}
		// Read, and save with one change: the rest stays as it was.
		run(c, func(w http.ResponseWriter, r *http.Request) {
			check(r)
			s, _ := store.Get(r, "app")
			s.Values["visits"] = 4
			require.NoError(t, s.Save(r, w))
		})
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			require.Equal(t, 4, s.Values["visits"])
			s.Values["visits"] = 3
			check(r)
		})
	})
}

// TestInPlaceChanges: gorilla code changes values it got from Values in
// place, then saves; the change must be saved.
func TestInPlaceChanges(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		c := browsertest.InProcess(t, nil)
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			s.Values["m"] = map[string]any{"a": 1}
			s.Values["l"] = []any{"x"}
			require.NoError(t, s.Save(r, w))
		})
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			s.Values["m"].(map[string]any)["b"] = 2
			l := s.Values["l"].([]any)
			l[0] = "y"
			require.NoError(t, s.Save(r, w))
		})
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			require.Equal(t, map[string]any{"a": 1, "b": 2}, s.Values["m"])
			require.Equal(t, []any{"y"}, s.Values["l"])
		})
	})
}

func TestDeletedValues(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		c := browsertest.InProcess(t, nil)
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			s.Values["a"], s.Values["b"] = 1, 2
			require.NoError(t, s.Save(r, w))
		})
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			delete(s.Values, "a")
			require.NoError(t, s.Save(r, w))
		})
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			require.Equal(t, map[any]any{"b": 2}, s.Values)
		})
	})
}

func TestIsNewAndTampered(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		c := browsertest.InProcess(t, nil)
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "app")
			require.NoError(t, err)
			require.True(t, s.IsNew)
			require.NotEmpty(t, s.ID)
			s.Values["user"] = "alice"
			require.NoError(t, s.Save(r, w))
		})
		var id string
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "app")
			require.NoError(t, err)
			require.False(t, s.IsNew)
			id = s.ID
		})
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			require.Equal(t, id, s.ID, "the ID is stable")
		})

		// Tampered: gorilla returns an error; here it is a new session.
		token := c.Cookies()["app"]
		v := []byte(token)
		v[len(v)/2] ^= 1
		if v[len(v)/2] == token[len(v)/2] {
			v[len(v)/2]++
		}
		c.SetCookie("app", string(v))
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "app")
			require.NoError(t, err)
			require.True(t, s.IsNew)
			require.Empty(t, s.Values)
			require.NotEqual(t, id, s.ID)
		})
	})
}

func TestMaxAgeNegativeDeletes(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		c := browsertest.InProcess(t, nil)
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			s.Values["user"] = "alice"
			require.NoError(t, s.Save(r, w))
		})
		old := c.Cookies()["app"]
		res := run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			require.Equal(t, "alice", s.Values["user"])
			s.Options.MaxAge = -1
			require.NoError(t, s.Save(r, w))
		})
		cookies := res.Cookies()
		require.Len(t, cookies, 1)
		require.Equal(t, "app", cookies[0].Name)
		require.Less(t, cookies[0].MaxAge, 0, "the cookie is expired")
		require.Empty(t, c.Cookies())

		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			require.True(t, s.IsNew)
			require.Empty(t, s.Values)
		})
		if strings.HasSuffix(t.Name(), "/serverstore") {
			// A server-side record is deleted: replaying the old cookie
			// finds nothing. (A sealed cookie cannot be revoked: a copy
			// stays valid until it expires.)
			c.SetCookie("app", old)
			run(c, func(w http.ResponseWriter, r *http.Request) {
				s, _ := store.Get(r, "app")
				require.True(t, s.IsNew)
				require.Empty(t, s.Values)
			})
		}
	})
}

func TestMaxAgeCookieKinds(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		save := func(maxAge int) *http.Cookie {
			res := run(browsertest.InProcess(t, nil), func(w http.ResponseWriter, r *http.Request) {
				s, _ := store.Get(r, "app")
				s.Values["x"] = 1
				s.Options.MaxAge = maxAge
				require.NoError(t, s.Save(r, w))
			})
			cookies := res.Cookies()
			require.Len(t, cookies, 1)
			return cookies[0]
		}
		require.Equal(t, 0, save(0).MaxAge, "MaxAge 0: a browser-session cookie")
		// A session's MaxAge shorter than the store's shortens its cookie...
		require.InDelta(t, 3600, save(3600).MaxAge, 2)
		// ... a longer one does not lengthen it past the store's MaxAge.
		require.InDelta(t, gorillastore.DefaultMaxAge, save(10*gorillastore.DefaultMaxAge).MaxAge, 2)
	})
}

func TestOptionsConfigureCookie(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			store := gorillastore.New(b.new(t), gorillastore.WithManager(func(name string, m *session.Manager) {
				require.Equal(t, "app", name)
				m.IdleTimeout = time.Hour
			}))
			store.Options = &sessions.Options{
				Path: "/app", Domain: "example.com", MaxAge: 600,
				Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, Partitioned: true,
			}
			res := run(browsertest.InProcess(t, nil), func(w http.ResponseWriter, r *http.Request) {
				s, _ := store.Get(r, "app")
				s.Values["x"] = 1
				require.NoError(t, s.Save(r, w))
			})
			cookies := res.Cookies()
			require.Len(t, cookies, 1)
			ck := cookies[0]
			require.Equal(t, "/app", ck.Path)
			require.Equal(t, "example.com", ck.Domain)
			require.True(t, ck.Secure)
			require.True(t, ck.HttpOnly)
			require.True(t, ck.Partitioned)
			require.Equal(t, http.SameSiteStrictMode, ck.SameSite)
			require.InDelta(t, 600, ck.MaxAge, 2)
			m := store.Manager("app")
			require.Equal(t, gorillastore.DefaultLifetime, m.Lifetime)
			require.Equal(t, time.Hour, m.IdleTimeout, "WithManager has the last word")
		})
	}
}

func TestMultipleSessions(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		c := browsertest.InProcess(t, nil)
		res := run(c, func(w http.ResponseWriter, r *http.Request) {
			a, err := store.Get(r, "a")
			require.NoError(t, err)
			b, err := store.Get(r, "b")
			require.NoError(t, err)
			a.Values["who"] = "first"
			b.Values["who"] = "second"
			require.NoError(t, sessions.Save(r, w))
		})
		require.Len(t, res.Cookies(), 2)
		run(c, func(w http.ResponseWriter, r *http.Request) {
			a, _ := store.Get(r, "a")
			b, _ := store.Get(r, "b")
			require.Equal(t, "first", a.Values["who"])
			require.Equal(t, "second", b.Values["who"])
			require.NotEqual(t, a.ID, b.ID)
			// Ending one leaves the other.
			a.Options.MaxAge = -1
			require.NoError(t, sessions.Save(r, w))
		})
		run(c, func(w http.ResponseWriter, r *http.Request) {
			a, _ := store.Get(r, "a")
			b, _ := store.Get(r, "b")
			require.True(t, a.IsNew)
			require.Equal(t, "second", b.Values["who"])
		})
	})
}

func TestNonStringKey(t *testing.T) {
	type key int
	each(t, func(t *testing.T, store *gorillastore.Store) {
		res := run(browsertest.InProcess(t, nil), func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			s.Values["ok"] = 1
			s.Values[key(7)] = "x"
			err := s.Save(r, w)
			require.Error(t, err)
			require.Contains(t, err.Error(), "gorillastore_test.key")
			require.Contains(t, err.Error(), "by string")
		})
		require.Empty(t, res.Cookies(), "nothing is saved")
	})
}

// TestSaveTwice: a session saved twice in one request sets one cookie, and
// a server-side store keeps one record for it.
func TestSaveTwice(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		c := browsertest.InProcess(t, nil)
		res := run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			s.Values["n"] = 1
			require.NoError(t, s.Save(r, w))
			id := s.ID
			s.Values["n"] = 2
			require.NoError(t, s.Save(r, w))
			require.Equal(t, id, s.ID)
		})
		require.Len(t, res.Cookies(), 1)
		run(c, func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "app")
			require.Equal(t, 2, s.Values["n"])
		})
	})
}

// TestSharedWithNativeAPI: inside Manager(name).Handler, gorilla code and
// this library's API see one session.
func TestSharedWithNativeAPI(t *testing.T) {
	each(t, func(t *testing.T, store *gorillastore.Store) {
		m := store.Manager("app")
		c := browsertest.InProcess(t, nil)
		h := func(f func(w http.ResponseWriter, r *http.Request)) func(w http.ResponseWriter, r *http.Request) {
			return m.Handler(http.HandlerFunc(f)).ServeHTTP
		}
		run(c, h(func(w http.ResponseWriter, r *http.Request) {
			m.Get(r).Put("native", "yes")
			s, _ := store.Get(r, "app")
			require.Equal(t, "yes", s.Values["native"])
			s.Values["gorilla"] = "yes"
			require.NoError(t, s.Save(r, w))
		}))
		run(c, h(func(w http.ResponseWriter, r *http.Request) {
			require.Equal(t, "yes", m.Get(r).GetString("gorilla"))
			require.Equal(t, "yes", m.Get(r).GetString("native"))
		}))
	})
}

// failing is a backend that cannot answer.
type failing struct{}

var errDown = errors.New("backend down")

func (failing) Load(context.Context, string) (*session.Record, error) { return nil, errDown }
func (failing) Save(context.Context, string, *session.Record) (string, error) {
	return "", errDown
}
func (failing) Delete(context.Context, string) error { return errDown }

func TestStoreFailure(t *testing.T) {
	store := gorillastore.New(failing{})
	r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
	r.AddCookie(&http.Cookie{Name: "app", Value: "token"})
	s, err := store.Get(r, "app")
	require.ErrorIs(t, err, errDown)
	require.NotNil(t, s, "like gorilla's stores, a session even with an error")
	s.Values["x"] = 1
	w := httptest.NewRecorder()
	require.ErrorIs(t, s.Save(r, w), errDown, "a session that did not load is not saved over the real one")
	require.Empty(t, w.Result().Cookies())
}

// TestRenewAgainstFixation checks both ways a gorilla-API application
// renews a session at login: Store.Renew, and WithUserKey.
func TestRenewAgainstFixation(t *testing.T) {
	for _, b := range backends {
		for name, newStore := range map[string]func(session.Store) *gorillastore.Store{
			"Renew": func(s session.Store) *gorillastore.Store { return gorillastore.New(s) },
			"WithUserKey": func(s session.Store) *gorillastore.Store {
				return gorillastore.New(s, gorillastore.WithUserKey("user_id"))
			},
		} {
			t.Run(b.name+"/"+name, func(t *testing.T) {
				store := newStore(b.new(t))
				c := browsertest.InProcess(t, nil)
				var before string
				run(c, func(w http.ResponseWriter, r *http.Request) {
					gs, err := store.Get(r, "app")
					require.NoError(t, err)
					gs.Values["cart"] = "book"
					require.NoError(t, gs.Save(r, w))
					before = gs.ID
				})
				planted := c.Cookies()["app"]

				run(c, func(w http.ResponseWriter, r *http.Request) {
					gs, err := store.Get(r, "app")
					require.NoError(t, err)
					gs.Values["user_id"] = 42
					if name == "Renew" {
						require.NoError(t, store.Renew(r, gs))
					}
					require.NoError(t, gs.Save(r, w))
					require.NotEqual(t, before, gs.ID, "a new ID at login")
				})
				require.NotEqual(t, planted, c.Cookies()["app"], "a new token at login")

				// The pre-login token, which an attacker may have planted,
				// no longer names the logged-in session.
				attacker := browsertest.InProcess(t, nil)
				attacker.SetCookie("app", planted)
				run(attacker, func(w http.ResponseWriter, r *http.Request) {
					gs, err := store.Get(r, "app")
					require.NoError(t, err)
					require.Nil(t, gs.Values["user_id"])
				})
				run(c, func(w http.ResponseWriter, r *http.Request) {
					gs, err := store.Get(r, "app")
					require.NoError(t, err)
					require.EqualValues(t, 42, gs.Values["user_id"], "the user keeps the session")
					require.Equal(t, "book", gs.Values["cart"])
				})
			})
		}
	}
}
