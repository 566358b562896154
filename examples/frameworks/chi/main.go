// Command chi serves a login, a dashboard and a logout with chi
// (github.com/go-chi/chi/v5). chi routers take plain net/http middleware, so
// the Manager plugs in as it is: r.Use(m.Handler).
//
// Run it from examples/frameworks (its own module):
//
//	cd examples/frameworks && go run ./chi -addr 127.0.0.1:8082
//
// then open http://127.0.0.1:8082/login and log in as admin / 123. Keys
// come from SESSION_KEYS ("base64,base64,...", newest first); without it a
// random key is made, so sessions end when the program stops; keys that are
// set but not valid stop the program. -secure marks the cookie Secure (off
// by default here, since this serves plain HTTP).
package main

import (
	"context"
	"flag"
	"html/template"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/serve"
)

func main() { serve.Main("chi", run) }

// run is the command. SESSION_KEYS set but not valid fails it before it
// serves anything.
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("chi", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8082", "address to listen on")
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

	return serve.Serve(ctx, *addr, "/login", newRouter(m))
}

// newRouter returns the example's routes, served through m.
func newRouter(m *session.Manager) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(m.Handler) // every route below has its session: m.Get(r)

	r.Get("/login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = loginPage.Execute(w, nil)
	})
	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("username") != "admin" || r.PostFormValue("password") != "123" {
			http.Error(w, "Invalid credentials", http.StatusUnauthorized)
			return
		}
		s := m.Get(r)
		if err := s.Renew(); err != nil { // a new ID at login: no session fixation
			http.Error(w, "session unavailable", http.StatusInternalServerError)
			return
		}
		s.Put("user", "admin")
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	})

	// The dashboard group is only for logged-in users.
	r.Group(func(r chi.Router) {
		r.Use(requireUser(m))
		r.Get("/dashboard", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("Welcome " + m.Get(r).GetString("user")))
		})
	})

	r.Post("/logout", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Destroy() // data gone, cookie expired
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("Logged out"))
	})
	return r
}

// requireUser sends visitors who are not logged in to the login page.
func requireUser(m *session.Manager) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := session.GetAs[string](m.Get(r), "user"); !ok {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<title>Log in</title>
<form method="post" action="/login">
<label>Username <input name="username" required></label>
<label>Password <input name="password" type="password" required></label>
<button>Log in</button>
</form>`))
