package session_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

// Sealed cookies: the whole session travels, encrypted, in the cookie.
func Example_sealedCookies() {
	// In production: cookiesession.ParseKeys(os.Getenv("SESSION_KEYS")).
	store, err := cookiesession.New(cookiesession.GenerateKey())
	if err != nil {
		panic(err)
	}
	m := session.New(store)
	m.IdleTimeout = 30 * time.Minute

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Put("visits", s.GetInt("visits")+1)
		fmt.Fprintf(w, "visit %d", s.GetInt("visits"))
	})
	srv := httptest.NewTLSServer(m.Handler(mux)) // http.ListenAndServe in production

	defer srv.Close()
	browse(srv, "/", "/", "/")
	// Output:
	// visit 1
	// visit 2
	// visit 3
}

// Server-side sessions: the cookie holds a random ID, the data stays on the
// server, and a user can be logged out of every device at once.
func Example_serverSide() {
	store := serverstore.New(memstore.New()) // or redisstore, pgstore, mysqlstore, boltstore
	m := session.New(store)

	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if err := s.Renew(); err != nil { // a new ID at login
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		s.Put("user", "ada")
		s.SetUser("ada") // indexes the session for "log out everywhere"
		fmt.Fprint(w, "logged in")
	})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user=%q", m.Get(r).GetString("user"))
	})
	mux.HandleFunc("/logout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		n, err := store.DestroyUser(r.Context(), m.Get(r).UserID())
		if err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "ended %d sessions", n)
	})
	srv := httptest.NewTLSServer(m.Handler(mux))
	defer srv.Close()
	browse(srv, "/login", "/me", "/logout-everywhere", "/me")
	// Output:
	// logged in
	// user="ada"
	// ended 1 sessions
	// user=""
}

// browse gets paths in turn with one cookie jar and prints each body.
func browse(srv *httptest.Server, paths ...string) {
	c := srv.Client()
	c.Jar = newJar()
	for _, p := range paths {
		res, err := c.Get(srv.URL + p)
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(string(b))
	}
}
