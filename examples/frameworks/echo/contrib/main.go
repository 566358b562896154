// Command contrib serves the login, dashboard and logout of the Echo
// example through echo-contrib/session (github.com/labstack/echo-contrib),
// the gorilla/sessions API Echo users already have, over this library's
// sealed cookies: gorillastore.New(sealed) is the store, and the handlers
// are gorilla code, unchanged.
//
// Run it from examples/frameworks (its own module):
//
//	cd examples/frameworks && go run ./echo/contrib -addr 127.0.0.1:8085
//
// then open http://127.0.0.1:8085/login and log in as admin / 123. Keys
// come from SESSION_KEYS ("base64,base64,...", newest first); without it a
// random key is made, so sessions end when the program stops; keys that are
// set but not valid stop the program. -secure marks the cookie Secure (off
// by default here, since this serves plain HTTP).
package main

import (
	"context"
	"flag"
	"net/http"

	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/serve"
	"github.com/go-sealed/session/gorillastore"
)

func main() { serve.Main("echo-contrib", run) }

// run is the command. SESSION_KEYS set but not valid fails it before it
// serves anything.
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("echo-contrib", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8085", "address to listen on")
	secure := fs.Bool("secure", false, "mark the session cookie Secure (needs HTTPS)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	keys, err := serve.Keys()
	if err != nil {
		return err
	}
	sealed, err := cookiesession.New(keys...)
	if err != nil {
		return err
	}
	store := gorillastore.New(sealed) // in place of sessions.NewCookieStore(...)
	store.Options.Secure = *secure

	e := newRouter(store)
	e.HideBanner = true
	return serve.Serve(ctx, *addr, "/login", e)
}

// newRouter returns the example's routes, with their sessions in store.
func newRouter(store *gorillastore.Store) *echo.Echo {
	e := echo.New()
	e.Use(middleware.Recover())
	e.Use(session.Middleware(store))

	e.GET("/login", func(c echo.Context) error {
		return c.HTML(http.StatusOK, loginPage)
	})
	e.POST("/login", func(c echo.Context) error {
		if c.FormValue("username") != "admin" || c.FormValue("password") != "123" {
			return c.String(http.StatusUnauthorized, "Invalid credentials")
		}
		sess, err := session.Get("session", c)
		if err != nil {
			return err // the store could not answer: not a bad cookie, which is just a new session
		}
		// A new ID and token at login, against session fixation, which
		// gorilla's API has no call for (a store made WithUserKey("user")
		// would renew by itself when the user changes).
		if err := store.Renew(c.Request(), sess); err != nil {
			return err
		}
		sess.Values["user"] = "admin"
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/dashboard")
	})
	e.GET("/dashboard", func(c echo.Context) error {
		sess, err := session.Get("session", c)
		if err != nil {
			return err
		}
		user, ok := sess.Values["user"].(string)
		if !ok {
			return c.Redirect(http.StatusSeeOther, "/login")
		}
		return c.String(http.StatusOK, "Welcome "+user)
	})
	e.POST("/logout", func(c echo.Context) error {
		sess, err := session.Get("session", c)
		if err != nil {
			return err
		}
		sess.Options.MaxAge = -1 // gorilla's way to end a session: the cookie is expired
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.String(http.StatusOK, "Logged out")
	})
	return e
}

const loginPage = `<!doctype html>
<title>Log in</title>
<form method="post" action="/login">
<label>Username <input name="username" required></label>
<label>Password <input name="password" type="password" required></label>
<button>Log in</button>
</form>`
