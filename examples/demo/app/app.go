// Package app holds the demo server's routes, apart from its main package
// so that tests can serve exactly what `go run ./examples/demo` serves.
//
// The routes are those of the two guides this library grew from: setting,
// reading and deleting a value, a login with a dashboard, a cart, and flash
// messages.
package app

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/go-sealed/session"
)

// Demo credentials, as in the guides. Never ship anything like this.
const (
	demoUser     = "admin"
	demoPassword = "123"
)

// Session keys the demo uses.
const (
	keyUsername  = "username"
	keyLastVisit = "lastVisit"
	keyUser      = "user"
	keyCart      = "cart"
)

// New returns the demo's routes, served through m.
func New(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", index)
	mux.HandleFunc("GET /set", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Put(keyUsername, "john_doe")
		s.Put(keyLastVisit, time.Now().UTC())
		text(w, http.StatusOK, "Session data set")
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		out := map[string]any{keyUsername: nil, keyLastVisit: nil}
		if v, ok := session.GetAs[string](s, keyUsername); ok {
			out[keyUsername] = v
		}
		if v, ok := session.GetAs[time.Time](s, keyLastVisit); ok {
			out[keyLastVisit] = v
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /delete", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Destroy()
		text(w, http.StatusOK, "Session deleted")
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		page(w, loginPage, nil)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("username") != demoUser || r.PostFormValue("password") != demoPassword {
			text(w, http.StatusUnauthorized, "Invalid credentials")
			return
		}
		s := m.Get(r)
		// A new ID at every change of privilege: a session ID planted
		// before login (session fixation) is worthless after it.
		if err := s.Renew(); err != nil {
			http.Error(w, "session unavailable", http.StatusInternalServerError)
			return
		}
		s.Put(keyUser, demoUser)
		s.SetUser(demoUser)
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /dashboard", func(w http.ResponseWriter, r *http.Request) {
		user := m.Get(r).GetString(keyUser)
		if user == "" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		// Browsers get a page with a logout button; other clients the
		// bare greeting.
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			page(w, dashboardPage, user)
			return
		}
		text(w, http.StatusOK, "Welcome "+user)
	})
	logout := func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Destroy()
		text(w, http.StatusOK, "Logged out")
	}
	mux.HandleFunc("POST /logout", logout)
	mux.HandleFunc("GET /logout", logout)
	mux.HandleFunc("POST /add-to-cart", func(w http.ResponseWriter, r *http.Request) {
		item := r.PostFormValue("item")
		if item == "" {
			text(w, http.StatusBadRequest, "Missing item")
			return
		}
		s := m.Get(r)
		cart, _ := session.GetAs[[]string](s, keyCart)
		s.Put(keyCart, append(cart, item))
		// Saved here, rather than by the middleware, to answer a cart
		// that no longer fits in its cookies (sealed sessions are bounded
		// by what proxies let through) with a clear reply; the cart stays
		// as it was.
		if err := m.Save(w, s); errors.Is(err, session.ErrTooLarge) {
			text(w, http.StatusRequestEntityTooLarge, "Cart full")
			return
		} else if err != nil {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		text(w, http.StatusOK, "Added "+item)
	})
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		cart, _ := session.GetAs[[]string](m.Get(r), keyCart)
		if cart == nil {
			cart = []string{}
		}
		writeJSON(w, cart)
	})
	mux.HandleFunc("POST /flash", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).AddFlash(r.PostFormValue("message"))
		text(w, http.StatusOK, "Flash stored")
	})
	mux.HandleFunc("GET /flash", func(w http.ResponseWriter, r *http.Request) {
		flashes := m.Get(r).Flashes()
		if flashes == nil {
			flashes = []any{}
		}
		writeJSON(w, flashes)
	})
	return m.Handler(mux)
}

func text(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func page(w http.ResponseWriter, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = t.Execute(w, data)
}

func index(w http.ResponseWriter, r *http.Request) {
	page(w, indexPage, nil)
}

const style = `<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;line-height:1.5}code{background:#eee;padding:0 .2em}</style>`

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>go-sealed/session demo</title>` + style + `</head><body>
<h1>go-sealed/session demo</h1>
<ul>
<li><a href="/set">GET /set</a>: store <code>username</code> and <code>lastVisit</code></li>
<li><a href="/get">GET /get</a>: read them back as JSON</li>
<li><a href="/delete">GET /delete</a>: destroy the session</li>
<li><a href="/login">GET /login</a>: log in as <code>admin</code> / <code>123</code></li>
<li><a href="/dashboard">GET /dashboard</a>: only when logged in</li>
<li><a href="/logout">GET /logout</a>: log out</li>
<li><a href="/cart">GET /cart</a>: the cart (POST <code>/add-to-cart</code> with <code>item</code> adds to it)</li>
<li><a href="/flash">GET /flash</a>: consume flash messages (POST <code>/flash</code> with <code>message</code> adds one)</li>
</ul>
<form method="post" action="/add-to-cart"><input name="item" placeholder="item" required> <button>Add to cart</button></form>
<form method="post" action="/flash"><input name="message" placeholder="flash message" required> <button>Add flash</button></form>
</body></html>`))

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Log in</title>` + style + `</head><body>
<h1>Log in</h1>
<form method="post" action="/login">
<p><label>Username <input id="username" name="username" autocomplete="username" required></label></p>
<p><label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label></p>
<p><button id="submit" type="submit">Log in</button></p>
</form>
</body></html>`))

var dashboardPage = template.Must(template.New("dashboard").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Dashboard</title>` + style + `</head><body>
<h1 id="welcome">Welcome {{.}}</h1>
<p><a href="/cart">Your cart</a></p>
<form method="post" action="/logout"><button id="logout">Log out</button></form>
</body></html>`))
