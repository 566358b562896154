// Command echo serves a login, a dashboard and a logout with Echo
// (github.com/labstack/echo/v4), through echosession
// (github.com/go-sealed/session/adapters/echosession), the middleware that
// gives Echo handlers the native *session.Session.
//
// Run it from examples/frameworks (its own module):
//
//	cd examples/frameworks && go run ./echo -addr 127.0.0.1:8083
//
// then open http://127.0.0.1:8083/login and log in as admin / 123. Keys
// come from SESSION_KEYS ("base64,base64,...", newest first); without it a
// random key is made, so sessions end when the program stops; keys that are
// set but not valid stop the program. -secure marks the cookie Secure (off
// by default here, since this serves plain HTTP).
package main

import (
	"context"
	"flag"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/adapters/echosession"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/serve"
)

func main() { serve.Main("echo", run) }

// run is the command. SESSION_KEYS set but not valid fails it before it
// serves anything.
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8083", "address to listen on")
	secure := fs.Bool("secure", false, "mark the session cookie Secure (needs HTTPS)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	keys, err := serve.Keys()
	if err != nil {
		return err
	}
	store, err := cookiesession.New(keys...)
	if err != nil {
		return err
	}
	m := session.New(store)
	m.IdleTimeout = 30 * time.Minute
	m.Cookie.Secure = *secure

	e := newRouter(m)
	e.HideBanner = true
	return serve.Serve(ctx, *addr, "/login", e)
}

// newRouter returns the example's routes, served through m.
func newRouter(m *session.Manager) *echo.Echo {
	e := echo.New()
	e.Use(middleware.Recover())
	// The session is saved just before the header goes out, whichever of
	// c.String, c.JSON, c.Redirect or c.NoContent writes it. A handler
	// that returns an error has its session saved too, before Echo's
	// error handler answers.
	e.Use(echosession.New(m))

	e.GET("/login", func(c echo.Context) error {
		return c.HTML(http.StatusOK, loginPage)
	})
	e.POST("/login", func(c echo.Context) error {
		if c.FormValue("username") != "admin" || c.FormValue("password") != "123" {
			return c.String(http.StatusUnauthorized, "Invalid credentials")
		}
		s := echosession.Get(c)
		if err := s.Renew(); err != nil { // a new ID at login: no session fixation
			return err
		}
		s.Put("user", "admin")
		return c.Redirect(http.StatusSeeOther, "/dashboard")
	})
	e.GET("/dashboard", func(c echo.Context) error {
		return c.String(http.StatusOK, "Welcome "+c.Get("user").(string))
	}, requireUser)
	e.POST("/logout", func(c echo.Context) error {
		echosession.Get(c).Destroy() // data gone, cookie expired
		return c.String(http.StatusOK, "Logged out")
	})
	return e
}

// requireUser sends visitors who are not logged in to the login page, and
// gives the handler the user's name as c.Get("user").
func requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		user, ok := session.GetAs[string](echosession.Get(c), "user")
		if !ok {
			return c.Redirect(http.StatusSeeOther, "/login")
		}
		c.Set("user", user)
		return next(c)
	}
}

const loginPage = `<!doctype html>
<title>Log in</title>
<form method="post" action="/login">
<label>Username <input name="username" required></label>
<label>Password <input name="password" type="password" required></label>
<button>Log in</button>
</form>`
