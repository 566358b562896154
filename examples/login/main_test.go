package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/servetest"
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

// browser is a client with a cookie jar that does not follow redirects, so
// that each response, and the cookies it sets, can be checked.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, store session.Store) *browser {
	m := newManager(store)
	m.Cookie.Secure = false // httptest serves plain HTTP
	srv := httptest.NewServer(newApp(m))
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, base: srv.URL, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.base+path, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(b.t, err)
	return res, string(body)
}

func (b *browser) login(form url.Values) *http.Cookie {
	b.t.Helper()
	res, _ := b.do(http.MethodPost, "/login", form)
	require.Equal(b.t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(b.t, "/dashboard", res.Header.Get("Location"))
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "session" {
			cookie = c
		}
	}
	require.NotNil(b.t, cookie, "login sets the session cookie")
	assert.True(b.t, cookie.HttpOnly)
	assert.Equal(b.t, http.SameSiteLaxMode, cookie.SameSite)
	return cookie
}

func TestLoginDashboardLogout(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			b := newBrowser(t, store)

			res, _ := b.do(http.MethodGet, "/dashboard", nil)
			assert.Equal(t, http.StatusSeeOther, res.StatusCode, "the dashboard is guarded")
			assert.Equal(t, "/login", res.Header.Get("Location"))

			res, body := b.do(http.MethodGet, "/login", nil)
			assert.Equal(t, http.StatusOK, res.StatusCode)
			assert.Contains(t, body, `name="remember"`)
			assert.Empty(t, res.Cookies(), "showing the form creates no session")

			res, body = b.do(http.MethodPost, "/login", url.Values{"username": {"admin"}, "password": {"wrong"}})
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
			assert.Contains(t, body, "Wrong username or password.")
			assert.Empty(t, res.Cookies())

			cookie := b.login(url.Values{"username": {"admin"}, "password": {"123"}})
			res, body = b.do(http.MethodGet, "/dashboard", nil)
			assert.Equal(t, http.StatusOK, res.StatusCode)
			assert.Contains(t, body, "Welcome admin")

			res, _ = b.do(http.MethodPost, "/logout", url.Values{})
			assert.Equal(t, http.StatusSeeOther, res.StatusCode)
			res, _ = b.do(http.MethodGet, "/dashboard", nil)
			assert.Equal(t, http.StatusSeeOther, res.StatusCode, "logged out")

			// A copy of the cookie taken before the logout: dead on the
			// server store, still valid until it expires as a sealed
			// cookie (nothing on the server remembers it).
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.base+"/dashboard", nil)
			require.NoError(t, err)
			req.AddCookie(cookie)
			res, err = http.DefaultTransport.RoundTrip(req)
			require.NoError(t, err)
			res.Body.Close()
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
			c := b.login(creds)
			assert.Zero(t, c.MaxAge, "no Max-Age")
			assert.True(t, c.Expires.IsZero(), "no Expires")

			// Checked: a persistent cookie, kept until the session
			// expires: a week from now, the IdleTimeout.
			creds.Set("remember", "on")
			c = b.login(creds)
			assert.InDelta(t, (7 * 24 * time.Hour).Seconds(), float64(c.MaxAge), 5, "Max-Age is the idle deadline")

			res, body := b.do(http.MethodGet, "/dashboard", nil)
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
