// Package echosession runs a session.Manager in Echo
// (github.com/labstack/echo/v4), so that Echo handlers get the native
// *session.Session:
//
//	m := session.New(store)
//	e := echo.New()
//	e.Use(echosession.New(m))
//	e.POST("/login", func(c echo.Context) error {
//		s := echosession.Get(c)
//		if err := s.Renew(); err != nil { // at login, against session fixation
//			return err
//		}
//		s.Put("user", "admin")
//		return c.Redirect(http.StatusSeeOther, "/dashboard")
//	})
//
// The session is saved, and its cookie set, just before the response's
// header goes out, whichever of c.String, c.JSON, c.Redirect or
// c.NoContent writes it; a handler that returns an error has its session
// saved before Echo's error handler answers. examples/frameworks/echo is a
// complete application.
package echosession

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/go-sealed/session"
)

// New returns Echo middleware that gives the rest of the chain its session
// under m: Get(c), or m.Get(c.Request()). It is m.Handler, run through
// echo.WrapMiddleware: the Manager's writer wraps Echo's response, and the
// request Echo passes on carries the session in its context. A store
// failure is answered by m.ErrorFunc instead of the handler's response.
// Like m.Handler, New panics if m's configuration is one browsers would
// refuse.
func New(m *session.Manager) echo.MiddlewareFunc {
	m.Handler(http.NotFoundHandler()) // checks m now, at start
	return echo.WrapMiddleware(m.Handler)
}

// Get returns the session of c's request: that of the innermost New in
// the chain, if several Managers are in use (then use Manager.Get to pick
// one). It panics if no New ran before, a wiring mistake as with
// Manager.Get.
func Get(c echo.Context) *session.Session {
	if s := session.FromContext(c.Request().Context()); s != nil {
		return s
	}
	panic("echosession: Get called on a request that did not pass through echosession.New")
}
