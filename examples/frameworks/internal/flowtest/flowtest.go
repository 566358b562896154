// Package flowtest drives the login → dashboard → logout flow that every
// framework example serves, the way a browser would, and checks each step:
// status codes, bodies and the session cookie's attributes.
package flowtest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/internal/browsertest"
)

// Run drives the example's routes through the whole flow: the dashboard
// redirects to /login without a session, a wrong password gets 401 and no
// cookie, admin/123 gets a session cookie and a redirect to the dashboard,
// which then greets the user, and logout expires the cookie, after which
// the dashboard redirects again.
func Run(t *testing.T, h http.Handler) {
	b := browsertest.New(t, h)

	res, _ := b.Get("/dashboard")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "not logged in")
	assert.Equal(t, "/login", res.Header.Get("Location"))
	assert.Empty(t, res.Header.Values("Set-Cookie"), "reading no session sets no cookie")

	res, body := b.Get("/login")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `<form method="post" action="/login">`)

	res, body = b.Post("/login", url.Values{"username": {"admin"}, "password": {"wrong"}})
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Contains(t, body, "Invalid credentials")
	assert.Empty(t, res.Header.Values("Set-Cookie"), "a failed login starts no session")

	res, _ = b.Post("/login", url.Values{"username": {"admin"}, "password": {"123"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/dashboard", res.Header.Get("Location"))
	login := browsertest.SessionCookie(t, res)
	assert.NotEmpty(t, login.Value)
	assert.Positive(t, login.MaxAge, "a persistent cookie, until the session's deadline")
	browsertest.AssertAttributes(t, login)

	res, body = b.Get("/dashboard")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Welcome admin", strings.TrimSpace(body))

	res, body = b.Post("/logout", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Logged out", strings.TrimSpace(body))
	logout := browsertest.SessionCookie(t, res)
	assert.Empty(t, logout.Value, "logout expires the cookie")
	assert.Negative(t, logout.MaxAge, "Max-Age=0: delete now")
	browsertest.AssertAttributes(t, logout)

	res, _ = b.Get("/dashboard")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "logged out")
	assert.Equal(t, "/login", res.Header.Get("Location"))
}
