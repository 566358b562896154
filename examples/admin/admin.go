package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/go-sealed/session/serverstore"
)

// maxListed bounds what one page lists: the sessions shown, and the
// distinct users counted. All streams the store, so the page never holds
// more than this however many sessions there are; Count gives the total.
const maxListed = 500

// admin serves the admin page over a server store.
type admin struct {
	store    *serverstore.Store
	password [sha256.Size]byte // of the admin's password
	log      *slog.Logger
}

// newAdmin returns the admin page's handler: GET / lists, and POST
// /signout/session, /signout/user and /signout/all end sessions. Every
// request must carry the admin's password (HTTP Basic, user "admin"), and
// every POST must come from the page itself (see sameOrigin).
func newAdmin(store *serverstore.Store, password string, log *slog.Logger) http.Handler {
	a := &admin{store: store, password: sha256.Sum256([]byte(password)), log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.list)
	mux.HandleFunc("POST /signout/session", a.signOutSession)
	mux.HandleFunc("POST /signout/user", a.signOutUser)
	mux.HandleFunc("POST /signout/all", a.signOutAll)
	return a.guard(mux)
}

// guard authenticates every request, refuses cross-origin writes, and
// sets the headers of a private page that must not be framed or cached.
func (a *admin) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		user, pass, ok := r.BasicAuth()
		got := sha256.Sum256([]byte(pass))
		// Both compared in constant time, the password through its hash
		// so that its length does not show either.
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte("admin"))&subtle.ConstantTimeCompare(got[:], a.password[:]) != 1 {
			h.Set("WWW-Authenticate", `Basic realm="sessions admin", charset="UTF-8"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
			http.Error(w, "Forbidden: cross-origin request", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin reports whether r, a request that changes something, comes
// from this site's own pages, as Go 1.25's http.CrossOriginProtection
// judges it (which this module's go 1.24 directive cannot use): a browser
// says where a request comes from in Sec-Fetch-Site, or, if it is older,
// in Origin; a request with neither is not from a browser (curl), which
// CSRF cannot forge. The browser sends the Basic credentials with a
// forged cross-site form as with the page's own: this check, not the
// password, stops it.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default: // cross-site, same-site
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// user is a row of the page's list of users.
type user struct {
	ID       string
	Sessions int
}

// pageData is what the page shows.
type pageData struct {
	Total        int
	Sessions     []serverstore.Info
	MoreSessions bool // more live sessions than listed
	Users        []user
	MoreUsers    bool // more distinct users than counted
	Now          time.Time
}

func (a *admin) list(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	total, err := a.store.Count(ctx)
	if err != nil {
		a.fail(w, "count sessions", err)
		return
	}
	d := pageData{Total: total, Now: time.Now()}
	byUser := map[string]int{} // index in d.Users
	for info, err := range a.store.All(ctx) {
		if err != nil {
			a.fail(w, "list sessions", err)
			return
		}
		if len(d.Sessions) < maxListed {
			d.Sessions = append(d.Sessions, info)
		} else {
			d.MoreSessions = true
		}
		if info.UserID == "" {
			continue
		}
		if i, ok := byUser[info.UserID]; ok {
			d.Users[i].Sessions++
		} else if len(d.Users) < maxListed {
			byUser[info.UserID] = len(d.Users)
			d.Users = append(d.Users, user{ID: info.UserID, Sessions: 1})
		} else {
			d.MoreUsers = true
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, d); err != nil {
		a.log.Error("admin: rendering the page", "err", err)
	}
}

func (a *admin) signOutSession(w http.ResponseWriter, r *http.Request) {
	// DestroyHandle ends the session only if it is the user's: a handle
	// is ended with the owner the page showed, never another's session.
	ended, err := a.store.DestroyHandle(r.Context(), r.PostFormValue("user"), r.PostFormValue("handle"))
	if err != nil {
		a.fail(w, "sign out a session", err)
		return
	}
	a.log.Info("admin: signed out a session", "user", r.PostFormValue("user"), "ended", ended)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *admin) signOutUser(w http.ResponseWriter, r *http.Request) {
	userID := r.PostFormValue("user")
	n, err := a.store.DestroyUser(r.Context(), userID)
	if err != nil {
		a.fail(w, "sign out a user", err)
		return
	}
	a.log.Info("admin: signed out a user everywhere", "user", userID, "ended", n)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *admin) signOutAll(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("confirm") != "yes" {
		http.Error(w, "Bad request: confirm=yes is required", http.StatusBadRequest)
		return
	}
	n, err := a.store.DestroyAll(r.Context())
	if err != nil {
		a.fail(w, "sign out everyone", err)
		return
	}
	a.log.Warn("admin: signed out every session", "ended", n)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// fail logs err and answers 500 without it: store errors name no token,
// but the page is no place for internals.
func (a *admin) fail(w http.ResponseWriter, what string, err error) {
	a.log.Error("admin: "+what, "err", err)
	http.Error(w, "Internal Server Error", http.StatusInternalServerError)
}

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
}).Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sessions</title></head>
<body>
<h1>Sessions</h1>
<p>{{.Total}} live sessions{{if .MoreSessions}}; the first {{len .Sessions}} are listed{{end}}.</p>
<form method="post" action="/signout/all">
<input type="hidden" name="confirm" value="yes">
<button type="submit">Sign out everyone</button>
</form>

<h2>Users</h2>
{{if .Users}}<table>
<tr><th>user</th><th>sessions</th><th></th></tr>
{{range .Users}}<tr><td>{{.ID}}</td><td>{{.Sessions}}</td>
<td><form method="post" action="/signout/user"><input type="hidden" name="user" value="{{.ID}}"><button type="submit">Sign out everywhere</button></form></td></tr>
{{end}}</table>{{if .MoreUsers}}<p>More users than listed.</p>{{end}}
{{else}}<p>No signed-in users.</p>{{end}}

<h2>All sessions</h2>
<table>
<tr><th>ID</th><th>user</th><th>created</th><th>last used</th><th>expires</th><th></th></tr>
{{range .Sessions}}<tr><td><code>{{.ID}}</code></td><td>{{if .UserID}}{{.UserID}}{{else}}<i>anonymous</i>{{end}}</td>
<td>{{when .Created}}</td><td>{{when .Touched}}</td><td>{{when .Expires}}</td>
<td>{{if .UserID}}<form method="post" action="/signout/session"><input type="hidden" name="user" value="{{.UserID}}"><input type="hidden" name="handle" value="{{.Handle}}"><button type="submit">Sign out</button></form>{{end}}</td></tr>
{{end}}</table>
<p>An anonymous session has no user to sign out: it ends at its deadline, or with "Sign out everyone".</p>
</body>
</html>
`))
