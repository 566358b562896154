package main

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/examples/frameworks/internal/flowtest"
	"github.com/go-sealed/session/examples/internal/servetest"
	"github.com/go-sealed/session/internal/browsertest"
)

func TestFlow(t *testing.T) {
	flowtest.Run(t, newRouter(browsertest.NewManager(t)))
}

// A handler that changes the session and then returns an error still has
// its session saved: the Manager commits when the wrapped chain returns,
// before Echo's error handler writes the error response.
func TestSessionSavedOnError(t *testing.T) {
	m := browsertest.NewManager(t)
	e := newRouter(m)
	e.GET("/fail", func(c echo.Context) error {
		m.Get(c.Request()).Put("user", "admin")
		return echo.NewHTTPError(http.StatusTeapot, "no coffee")
	})
	e.GET("/json", func(c echo.Context) error {
		s := m.Get(c.Request())
		s.Put("n", s.GetInt("n")+1)
		return c.JSON(http.StatusOK, map[string]int{"n": s.GetInt("n")})
	})
	b := browsertest.New(t, e)

	res, body := b.Get("/fail")
	assert.Equal(t, http.StatusTeapot, res.StatusCode)
	assert.Contains(t, body, "no coffee")
	browsertest.AssertAttributes(t, browsertest.SessionCookie(t, res))

	res, body = b.Get("/dashboard")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Welcome admin", body)

	res, body = b.Get("/json")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.JSONEq(t, `{"n":1}`, body)
	browsertest.SessionCookie(t, res) // c.JSON carries the new cookie too
}

// A store failure is answered by the Manager's ErrorFunc, in place of the
// handler's response.
func TestStoreFailure(t *testing.T) {
	m := browsertest.NewManager(t)
	m.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		http.Error(w, "session trouble", http.StatusServiceUnavailable)
	}
	e := newRouter(m)
	e.GET("/big", func(c echo.Context) error {
		m.Get(c.Request()).Put("blob", make([]byte, 64<<10)) // more than 8 cookies hold
		return c.String(http.StatusOK, "never sent")
	})
	res, body := browsertest.New(t, e).Get("/big")
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	assert.Contains(t, body, "session trouble")
	assert.NotContains(t, body, "never sent")
	assert.Empty(t, res.Header.Values("Set-Cookie"))
}

// TestInvalidKeys: SESSION_KEYS set but not valid stops the example, where
// it used to serve with a random key.
func TestInvalidKeys(t *testing.T) {
	servetest.InvalidKeys(t, run)
}
