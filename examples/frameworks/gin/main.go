// Command gin serves a login, a dashboard and a logout with Gin
// (github.com/gin-gonic/gin), through ginsession
// (github.com/go-sealed/session/adapters/ginsession), the middleware that
// gives Gin handlers the native *session.Session.
//
// Run it from examples/frameworks (its own module):
//
//	cd examples/frameworks && go run ./gin -addr 127.0.0.1:8084
//
// then open http://127.0.0.1:8084/login and log in as admin / 123. Keys
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

	"github.com/gin-gonic/gin"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/adapters/ginsession"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/serve"
)

func main() { serve.Main("gin", run) }

// run is the command. SESSION_KEYS set but not valid fails it before it
// serves anything.
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gin", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8084", "address to listen on")
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

	gin.SetMode(gin.ReleaseMode)
	return serve.Serve(ctx, *addr, "/login", newRouter(m))
}

// newRouter returns the example's routes, served through m.
func newRouter(m *session.Manager) *gin.Engine {
	r := gin.New()
	r.Use(gin.Recovery())
	r.Use(ginsession.New(m))
	// With ContextWithFallback, a *gin.Context passed on as a
	// context.Context reaches the request's context values, so that
	// session.FromContext(c) works on it (see currentUser).
	r.ContextWithFallback = true

	r.GET("/login", func(c *gin.Context) {
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(loginPage))
	})
	r.POST("/login", func(c *gin.Context) {
		if c.PostForm("username") != "admin" || c.PostForm("password") != "123" {
			c.String(http.StatusUnauthorized, "Invalid credentials")
			return
		}
		s := ginsession.Get(c)
		if err := s.Renew(); err != nil { // a new ID at login: no session fixation
			c.String(http.StatusInternalServerError, "session unavailable")
			return
		}
		s.Put("user", "admin")
		c.Redirect(http.StatusSeeOther, "/dashboard")
	})
	r.GET("/dashboard", requireUser, func(c *gin.Context) {
		c.String(http.StatusOK, "Welcome %s", c.GetString("user"))
	})
	r.POST("/logout", func(c *gin.Context) {
		ginsession.Get(c).Destroy() // data gone, cookie expired
		c.String(http.StatusOK, "Logged out")
	})
	return r
}

// requireUser sends visitors who are not logged in to the login page, and
// gives later handlers the user's name as c.GetString("user").
func requireUser(c *gin.Context) {
	user, ok := session.GetAs[string](session.FromContext(c), "user")
	if !ok {
		c.Redirect(http.StatusSeeOther, "/login")
		c.Abort()
		return
	}
	c.Set("user", user)
}

const loginPage = `<!doctype html>
<title>Log in</title>
<form method="post" action="/login">
<label>Username <input name="username" required></label>
<label>Password <input name="password" type="password" required></label>
<button>Log in</button>
</form>`
