// Command contrib serves the login, dashboard and logout of the Gin
// example through gin-contrib/sessions (github.com/gin-contrib/sessions),
// the session API Gin users already have, over this library's sealed
// cookies: the store is gorillastore.New(sealed), and the handlers are
// gin-contrib code, unchanged.
//
// Run it from examples/frameworks (its own module):
//
//	cd examples/frameworks && go run ./gin/contrib -addr 127.0.0.1:8086
//
// then open http://127.0.0.1:8086/login and log in as admin / 123. Keys
// come from SESSION_KEYS ("base64,base64,...", newest first); without it a
// random key is made, so sessions end when the program stops; keys that are
// set but not valid stop the program. -secure marks the cookie Secure (off
// by default here, since this serves plain HTTP).
package main

import (
	"context"
	"flag"
	"net/http"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"

	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/serve"
	"github.com/go-sealed/session/gorillastore"
)

func main() { serve.Main("gin-contrib", run) }

// run is the command. SESSION_KEYS set but not valid fails it before it
// serves anything.
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gin-contrib", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8086", "address to listen on")
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
	store := Store{gorillastore.New(sealed, gorillastore.WithUserKey("user"))} // in place of cookie.NewStore(...)
	store.Store.Options.Secure = *secure

	gin.SetMode(gin.ReleaseMode)
	return serve.Serve(ctx, *addr, "/login", newRouter(store))
}

// Store is a gorillastore.Store with the Options method that gin-contrib's
// sessions.Store interface adds to gorilla's.
type Store struct{ *gorillastore.Store }

// Options sets the defaults of new sessions; call it before serving: a
// cookie name's limits are set from it when the name is first used (see
// gorillastore.New).
func (s Store) Options(o sessions.Options) {
	s.Store.Options = o.ToGorillaOptions()
}

// ended returns the store's options with MaxAge -1: gin-contrib's Options
// replace a session's whole set, as gorilla's do, so the options that end
// a session start from the store's, for the expired cookie to have the
// attributes (Path above all) of the one it replaces.
func (s Store) ended() sessions.Options {
	o := s.Store.Options
	return sessions.Options{Path: o.Path, Domain: o.Domain, MaxAge: -1, Secure: o.Secure, HttpOnly: o.HttpOnly, SameSite: o.SameSite}
}

// newRouter returns the example's routes, with their sessions in store.
func newRouter(store Store) *gin.Engine {
	r := gin.New()
	r.Use(gin.Recovery())
	r.Use(sessions.Sessions("session", store))

	r.GET("/login", func(c *gin.Context) {
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(loginPage))
	})
	r.POST("/login", func(c *gin.Context) {
		if c.PostForm("username") != "admin" || c.PostForm("password") != "123" {
			c.String(http.StatusUnauthorized, "Invalid credentials")
			return
		}
		// The store was made WithUserKey("user"): a session whose user
		// changes is renewed, with a new ID and token, against session
		// fixation, which gin-contrib's API has no call for.
		s := sessions.Default(c)
		s.Set("user", "admin")
		if err := s.Save(); err != nil { // before the response is written
			c.String(http.StatusInternalServerError, "session unavailable")
			return
		}
		c.Redirect(http.StatusSeeOther, "/dashboard")
	})
	r.GET("/dashboard", func(c *gin.Context) {
		user, ok := sessions.Default(c).Get("user").(string)
		if !ok {
			c.Redirect(http.StatusSeeOther, "/login")
			return
		}
		c.String(http.StatusOK, "Welcome %s", user)
	})
	r.POST("/logout", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Clear()
		s.Options(store.ended()) // gorilla's way to end a session: MaxAge -1 expires the cookie
		if err := s.Save(); err != nil {
			c.String(http.StatusInternalServerError, "session unavailable")
			return
		}
		c.String(http.StatusOK, "Logged out")
	})
	return r
}

const loginPage = `<!doctype html>
<title>Log in</title>
<form method="post" action="/login">
<label>Username <input name="username" required></label>
<label>Password <input name="password" type="password" required></label>
<button>Log in</button>
</form>`
