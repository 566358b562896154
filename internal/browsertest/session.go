package browsertest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
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

// SessionCookie returns the one Set-Cookie of the cookie "session" in res,
// and fails the test if there is none, or more than one.
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

// AssertAttributes checks that c has the attributes the Manager's
// defaults give the session cookie.
func AssertAttributes(t testing.TB, c *http.Cookie) {
	t.Helper()
	assert.Equal(t, "/", c.Path)
	assert.True(t, c.HttpOnly, "HttpOnly: out of reach of page scripts")
	assert.True(t, c.Secure, "Secure: HTTPS only")
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite, "SameSite=Lax: not sent on cross-site POSTs")
}
