package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/gorillastore"
)

// storeKey is the context key under which echo-contrib's middleware keeps
// the store (unexported there).
const storeKey = "_session_store"

func newStore(t *testing.T) *gorillastore.Store {
	t.Helper()
	sealed, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	return gorillastore.New(sealed)
}

// TestUpstreamMiddleware is echo-contrib/session's TestMiddleware with
// gorillastore.New(sealed) in place of sessions.NewCookieStore: a session
// whose own Options set a Domain gets a cookie for that domain.
func TestUpstreamMiddleware(t *testing.T) {
	e := echo.New()
	req := httptest.NewRequest(echo.GET, "/", nil)
	rec := httptest.NewRecorder()
	c := e.NewContext(req, rec)
	handler := func(c echo.Context) error {
		sess, _ := session.Get("test", c)
		sess.Options.Domain = "labstack.com"
		sess.Values["foo"] = "bar"
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.String(http.StatusOK, "test")
	}
	store := newStore(t)
	config := session.Config{
		Skipper: func(c echo.Context) bool {
			return true
		},
		Store: store,
	}

	// Skipper
	mw := session.MiddlewareWithConfig(config)
	h := mw(echo.NotFoundHandler)
	assert.Error(t, h(c)) // 404
	assert.Nil(t, c.Get(storeKey))

	// Panic
	config.Skipper = nil
	config.Store = nil
	assert.Panics(t, func() {
		session.MiddlewareWithConfig(config)
	})

	// Core
	mw = session.Middleware(store)
	h = mw(handler)
	assert.NoError(t, h(c))
	assert.Contains(t, rec.Header().Get(echo.HeaderSetCookie), "labstack.com")
}

// TestUpstreamGetSessionMissingStore is echo-contrib/session's test of
// the same name, unchanged: it involves no store.
func TestUpstreamGetSessionMissingStore(t *testing.T) {
	e := echo.New()
	req := httptest.NewRequest(echo.GET, "/", nil)
	rec := httptest.NewRecorder()
	c := e.NewContext(req, rec)
	_, err := session.Get("test", c)

	assert.EqualError(t, err, fmt.Sprintf("%q session store not found", storeKey))
}

// TestUpstreamDocumentedExample is the session example of Echo's
// documentation (its cookbook), over gorillastore: a handler replaces the
// session's Options (Path, a week's MaxAge, HttpOnly, not Secure) and
// saves a value; the cookie carries those attributes, and the next request
// reads the value.
func TestUpstreamDocumentedExample(t *testing.T) {
	e := echo.New()
	e.Use(session.Middleware(newStore(t)))
	e.GET("/create-session", func(c echo.Context) error {
		sess, err := session.Get("session", c)
		if err != nil {
			return err
		}
		sess.Options = &sessions.Options{
			Path:     "/",
			MaxAge:   86400 * 7,
			HttpOnly: true,
		}
		sess.Values["foo"] = "bar"
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.NoContent(http.StatusOK)
	})
	e.GET("/read-session", func(c echo.Context) error {
		sess, err := session.Get("session", c)
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, fmt.Sprintf("foo=%v", sess.Values["foo"]))
	})

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/create-session", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)
	ck := cookies[0]
	assert.Equal(t, "/", ck.Path)
	assert.InDelta(t, 86400*7, ck.MaxAge, 1)
	assert.True(t, ck.HttpOnly)
	assert.False(t, ck.Secure, "the session's Options say so")

	req := httptest.NewRequest(http.MethodGet, "/read-session", nil)
	req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	assert.Equal(t, "foo=bar", rec.Body.String())
}
