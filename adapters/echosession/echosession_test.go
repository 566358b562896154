package echosession_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/adapters/echosession"
	"github.com/go-sealed/session/internal/browsertest"
)

// router is an Echo with the session middleware and a route that reads
// the counter "n" without changing it.
func router(m *session.Manager) *echo.Echo {
	e := echo.New()
	e.Use(middleware.Recover(), echosession.New(m))
	e.GET("/read", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]int{"n": echosession.Get(c).GetInt("n")})
	})
	return e
}

func count(c echo.Context) int {
	s := echosession.Get(c)
	s.Put("n", s.GetInt("n")+1)
	return s.GetInt("n")
}

// Whichever way a handler answers, error included, its session is saved
// and its cookie set.
func TestCookieWhateverWritesTheResponse(t *testing.T) {
	e := router(browsertest.NewManager(t))
	e.GET("/string", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/json", func(c echo.Context) error { return c.JSON(http.StatusCreated, map[string]int{"n": count(c)}) })
	e.GET("/redirect", func(c echo.Context) error { count(c); return c.Redirect(http.StatusSeeOther, "/read") })
	e.GET("/nocontent", func(c echo.Context) error { count(c); return c.NoContent(http.StatusNoContent) })
	e.GET("/error", func(c echo.Context) error {
		count(c)
		return echo.NewHTTPError(http.StatusTeapot, "no coffee")
	})
	e.GET("/nothing", func(c echo.Context) error { count(c); return nil })

	b := browsertest.New(t, e)
	for i, tc := range []struct {
		path   string
		status int
	}{
		{"/json", http.StatusCreated},
		{"/redirect", http.StatusSeeOther},
		{"/nocontent", http.StatusNoContent},
		{"/error", http.StatusTeapot},
		{"/nothing", http.StatusOK},
	} {
		res, _ := b.Get(tc.path)
		assert.Equal(t, tc.status, res.StatusCode, tc.path)
		browsertest.AssertAttributes(t, browsertest.SessionCookie(t, res))
		res, body := b.Get("/read")
		assert.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i+1), body, "after %s", tc.path)
		assert.Empty(t, res.Header.Values("Set-Cookie"), "a read-only request sets no cookie")
	}
	res, _ := b.Get("/string")
	assert.Empty(t, res.Header.Values("Set-Cookie"), "a route that does not touch the session sets no cookie")
}

// A store failure is answered by the Manager's ErrorFunc, in place of the
// handler's response.
func TestStoreFailure(t *testing.T) {
	m := browsertest.NewManager(t)
	m.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		assert.ErrorIs(t, err, session.ErrTooLarge)
		http.Error(w, "session trouble", http.StatusServiceUnavailable)
	}
	e := router(m)
	e.GET("/big", func(c echo.Context) error {
		echosession.Get(c).Put("blob", make([]byte, 64<<10)) // more than the cookies hold
		return c.String(http.StatusOK, "never sent")
	})
	res, body := browsertest.New(t, e).Get("/big")
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	assert.Contains(t, body, "session trouble")
	assert.NotContains(t, body, "never sent")
	assert.Empty(t, res.Header.Values("Set-Cookie"))
}

// Wiring mistakes fail at once: a Manager browsers would refuse, when the
// middleware is made; Get on a route without it.
func TestWiringMistakes(t *testing.T) {
	m := browsertest.NewManager(t)
	m.Cookie.Name = "__Host-session"
	m.Cookie.Domain = "example.com"
	assert.Panics(t, func() { echosession.New(m) })

	e := echo.New()
	var recovered any
	e.GET("/", func(c echo.Context) error {
		defer func() { recovered = recover() }()
		echosession.Get(c)
		return nil
	})
	browsertest.New(t, e).Get("/")
	assert.Equal(t, "echosession: Get called on a request that did not pass through echosession.New", recovered)
}
