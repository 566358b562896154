package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/servetest"
	"github.com/go-sealed/session/internal/browsertest"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

// stores are the two modes the example runs in: its own (sealed cookies),
// and a server-side store, which only the constructor changes.
func stores(t *testing.T) map[string]session.Store {
	sealed, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	backend := memstore.New()
	t.Cleanup(func() { _ = backend.Close() })
	return map[string]session.Store{"cookie": sealed, "memory": serverstore.New(backend)}
}

// newBrowser serves the example over store, on plain HTTP, and returns a
// browser for it.
func newBrowser(t *testing.T, store session.Store) *browsertest.Browser {
	m := newManager(store)
	m.Cookie.Secure = false // httptest serves plain HTTP
	srv := httptest.NewServer(newApp(m))
	t.Cleanup(srv.Close)
	return browsertest.Open(t, srv.URL)
}

// login submits the login form and returns the session cookie it set.
func login(t *testing.T, b *browsertest.Browser, form url.Values) *http.Cookie {
	t.Helper()
	res, _ := b.Post("/login", form)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/dashboard", res.Header.Get("Location"))
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "session" {
			cookie = c
		}
	}
	require.NotNil(t, cookie, "login sets the session cookie")
	assert.True(t, cookie.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, cookie.SameSite)
	return cookie
}

func TestLoginDashboardLogout(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			b := newBrowser(t, store)

			res, _ := b.Get("/dashboard")
			assert.Equal(t, http.StatusSeeOther, res.StatusCode, "the dashboard is guarded")
			assert.Equal(t, "/login", res.Header.Get("Location"))

			res, body := b.Get("/login")
			assert.Equal(t, http.StatusOK, res.StatusCode)
			assert.Contains(t, body, `name="remember"`)
			assert.Empty(t, res.Cookies(), "showing the form creates no session")

			res, body = b.Post("/login", url.Values{"username": {"admin"}, "password": {"wrong"}})
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
			assert.Contains(t, body, "Wrong username or password.")
			assert.Empty(t, res.Cookies())

			cookie := login(t, b, url.Values{"username": {"admin"}, "password": {"123"}})
			res, body = b.Get("/dashboard")
			assert.Equal(t, http.StatusOK, res.StatusCode)
			assert.Contains(t, body, "Welcome admin")

			res, _ = b.Post("/logout", url.Values{})
			assert.Equal(t, http.StatusSeeOther, res.StatusCode)
			res, _ = b.Get("/dashboard")
			assert.Equal(t, http.StatusSeeOther, res.StatusCode, "logged out")

			// A copy of the cookie taken before the logout: dead on the
			// server store, still valid until it expires as a sealed
			// cookie (nothing on the server remembers it).
			copied := browsertest.Open(t, b.URL())
			copied.SetCookie(cookie.Name, cookie.Value)
			res, _ = copied.Get("/dashboard")
			if name == "memory" {
				assert.Equal(t, http.StatusSeeOther, res.StatusCode, "a server-side logout revokes every copy")
			} else {
				assert.Equal(t, http.StatusOK, res.StatusCode, "a sealed cookie cannot be revoked before it expires")
			}
		})
	}
}

func TestRememberMe(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			b := newBrowser(t, store)
			creds := url.Values{"username": {"admin"}, "password": {"123"}}

			// Unchecked: a browser-session cookie, with neither Max-Age
			// nor Expires, which the browser drops when it closes.
			c := login(t, b, creds)
			assert.Zero(t, c.MaxAge, "no Max-Age")
			assert.True(t, c.Expires.IsZero(), "no Expires")

			// Checked: a persistent cookie, kept until the session
			// expires: a week from now, the IdleTimeout.
			creds.Set("remember", "on")
			c = login(t, b, creds)
			assert.InDelta(t, (7 * 24 * time.Hour).Seconds(), float64(c.MaxAge), 5, "Max-Age is the idle deadline")

			res, body := b.Get("/dashboard")
			assert.Equal(t, http.StatusOK, res.StatusCode)
			assert.Contains(t, body, "Welcome admin")
		})
	}
}

// TestInvalidKeys: SESSION_KEYS set but not valid stops the command
// before it serves, with an error naming the variable.
func TestInvalidKeys(t *testing.T) {
	servetest.InvalidKeys(t, run)
}
