// Package flowtest drives the login → dashboard → logout flow that every
// framework example serves, the way a browser would, and checks each step:
// status codes, bodies and the session cookie's attributes.
package flowtest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
)

// NewManager returns a Manager over a sealed cookie store with a fresh
// key and the library's defaults (a Secure, HttpOnly, SameSite=Lax cookie).
func NewManager(t testing.TB) *session.Manager {
	t.Helper()
	store, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	return session.New(store)
}

// Browser is an HTTPS test server for h and a client with a cookie jar
// that does not follow redirects.
type Browser struct {
	t      testing.TB
	Server *httptest.Server
	Client *http.Client
}

// NewBrowser serves h over TLS (the cookie is Secure) for the test.
func NewBrowser(t testing.TB, h http.Handler) *Browser {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Browser{t: t, Server: srv, Client: c}
}

// Do sends a request, a form POST if form is not nil, and returns the
// response with its body read.
func (b *Browser) Do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.Server.URL+path, body)
	require.NoError(b.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.Client.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(b.t, err)
	return res, string(data)
}

// SessionCookie returns the one Set-Cookie of the "session" cookie in res.
func SessionCookie(t testing.TB, res *http.Response) *http.Cookie {
	t.Helper()
	var found []*http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "session" {
			found = append(found, c)
		}
	}
	require.Len(t, found, 1, "one session cookie in %q", res.Header.Values("Set-Cookie"))
	return found[0]
}

// AssertAttributes checks the attributes the Manager's defaults give the
// session cookie.
func AssertAttributes(t testing.TB, c *http.Cookie) {
	t.Helper()
	assert.Equal(t, "/", c.Path)
	assert.True(t, c.HttpOnly, "HttpOnly: out of reach of page scripts")
	assert.True(t, c.Secure, "Secure: HTTPS only")
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite, "SameSite=Lax: not sent on cross-site POSTs")
}

// Run drives the example's routes through the whole flow: the dashboard
// redirects to /login without a session, a wrong password gets 401 and no
// cookie, admin/123 gets a session cookie and a redirect to the dashboard,
// which then greets the user, and logout expires the cookie, after which
// the dashboard redirects again.
func Run(t *testing.T, h http.Handler) {
	b := NewBrowser(t, h)

	res, _ := b.Do(http.MethodGet, "/dashboard", nil)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "not logged in")
	assert.Equal(t, "/login", res.Header.Get("Location"))
	assert.Empty(t, res.Header.Values("Set-Cookie"), "reading no session sets no cookie")

	res, body := b.Do(http.MethodGet, "/login", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `<form method="post" action="/login">`)

	res, body = b.Do(http.MethodPost, "/login", url.Values{"username": {"admin"}, "password": {"wrong"}})
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Contains(t, body, "Invalid credentials")
	assert.Empty(t, res.Header.Values("Set-Cookie"), "a failed login starts no session")

	res, _ = b.Do(http.MethodPost, "/login", url.Values{"username": {"admin"}, "password": {"123"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/dashboard", res.Header.Get("Location"))
	login := SessionCookie(t, res)
	assert.NotEmpty(t, login.Value)
	assert.Positive(t, login.MaxAge, "a persistent cookie, until the session's deadline")
	AssertAttributes(t, login)

	res, body = b.Do(http.MethodGet, "/dashboard", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Welcome admin", strings.TrimSpace(body))

	res, body = b.Do(http.MethodPost, "/logout", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Logged out", strings.TrimSpace(body))
	logout := SessionCookie(t, res)
	assert.Empty(t, logout.Value, "logout expires the cookie")
	assert.Negative(t, logout.MaxAge, "Max-Age=0: delete now")
	AssertAttributes(t, logout)

	res, _ = b.Do(http.MethodGet, "/dashboard", nil)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "logged out")
	assert.Equal(t, "/login", res.Header.Get("Location"))
}
