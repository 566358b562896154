// Package browsertest serves a handler over TLS to a client with a cookie
// jar, as a browser would use it, for the adapters' tests.
package browsertest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
)

// NewManager returns a Manager over a sealed cookie store with a fresh
// key and the library's defaults (a Secure, HttpOnly, SameSite=Lax cookie
// named "session").
func NewManager(t testing.TB) *session.Manager {
	t.Helper()
	store, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	return session.New(store)
}

// Browser is an HTTPS test server and a client with a cookie jar that
// does not follow redirects.
type Browser struct {
	t      testing.TB
	server *httptest.Server
	client *http.Client
}

// New serves h over TLS (the cookie is Secure) for the test.
func New(t testing.TB, h http.Handler) *Browser {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Browser{t: t, server: srv, client: c}
}

// Get requests path and returns the response with its body read.
func (b *Browser) Get(path string) (*http.Response, string) {
	b.t.Helper()
	res, err := b.client.Get(b.server.URL + path)
	require.NoError(b.t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(b.t, err)
	return res, string(data)
}

// SessionCookie returns the one Set-Cookie of the "session" cookie in res,
// and checks the attributes the Manager's defaults give it.
func SessionCookie(t testing.TB, res *http.Response) *http.Cookie {
	t.Helper()
	var found []*http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "session" {
			found = append(found, c)
		}
	}
	require.Len(t, found, 1, "one session cookie in %q", res.Header.Values("Set-Cookie"))
	c := found[0]
	require.Equal(t, "/", c.Path)
	require.True(t, c.HttpOnly)
	require.True(t, c.Secure)
	require.Equal(t, http.SameSiteLaxMode, c.SameSite)
	return c
}
