// Command login is the login, dashboard and logout of the first guide, with
// sealed-cookie sessions: a login form, a new session ID at login
// (Session.Renew, against session fixation), the user tagged on the session
// (Session.SetUser), a dashboard only logged-in users see, a logout that
// destroys the session, and a "Remember me" checkbox that picks a
// persistent cookie (kept across browser restarts until the session
// expires) or a browser-session cookie (gone when the browser closes).
//
// Run it and open http://127.0.0.1:8080 (user admin, password 123):
//
//	go run ./examples/login
//
// Keys come from SESSION_KEYS (make one with go run ./cmd/sessionkey);
// without it a random key is made, so logins end when the program stops.
// Keys that are set but not valid stop the program.
package main

import (
	"context"
	"flag"
	"html/template"
	"net/http"
	"time"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/serve"
)

// Demo credentials. A real application checks a password hash.
const (
	demoUser     = "admin"
	demoPassword = "123"
)

func main() { serve.Main("login", run) }

// run is the command. SESSION_KEYS set but not valid fails it before it
// serves anything.
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	secure := fs.Bool("secure", false, "mark the cookie Secure (turn it on behind HTTPS)")
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
	m := newManager(store)
	m.Cookie.Secure = *secure
	return serve.Serve(ctx, *addr, "/", newApp(m))
}

// newManager sets the session limits of a login: a week without a request
// ends it, and 30 days at most. A persistent ("remember me") cookie's
// Max-Age follows the nearer of the two deadlines, and moves with it.
func newManager(store session.Store) *session.Manager {
	m := session.New(store)
	m.IdleTimeout = 7 * 24 * time.Hour
	m.Lifetime = 30 * 24 * time.Hour
	return m
}

// newApp returns the routes, served through m.
func newApp(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		render(w, http.StatusOK, loginPage, "")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("username") != demoUser || r.PostFormValue("password") != demoPassword {
			render(w, http.StatusUnauthorized, loginPage, "Wrong username or password.")
			return
		}
		s := m.Get(r)
		if err := s.Renew(); err != nil { // a new ID: one planted before login is worthless
			http.Error(w, "session unavailable", http.StatusInternalServerError)
			return
		}
		s.Put("user", demoUser)
		s.SetUser(demoUser)
		s.RememberMe(r.PostFormValue("remember") == "on")
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /dashboard", func(w http.ResponseWriter, r *http.Request) {
		user := m.Get(r).GetString("user")
		if user == "" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		render(w, http.StatusOK, dashboardPage, user)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Destroy()
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
	return m.Handler(mux)
}

func render(w http.ResponseWriter, code int, t *template.Template, data string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = t.Execute(w, data)
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<title>Log in</title>
<h1>Log in</h1>
{{with .}}<p role="alert">{{.}}</p>{{end}}
<form method="post" action="/login">
<p><label>Username <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><label><input name="remember" type="checkbox"> Remember me</label></p>
<p><button>Log in</button></p>
</form>`))

var dashboardPage = template.Must(template.New("dashboard").Parse(`<!doctype html>
<title>Dashboard</title>
<h1>Welcome {{.}}</h1>
<form method="post" action="/logout"><button>Log out</button></form>`))
