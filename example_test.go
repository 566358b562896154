package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/internal/browsertest"
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
	b := browsertest.ForServer(nil, srv)
	for _, p := range paths {
		_, body := b.Get(p)
		fmt.Println(body)
	}
}

// Outside HTTP: a WebSocket handler, a gRPC call or a background job loads
// the session by the token the client holds, and saves it back, with the
// same deadlines, merging and revocation as the middleware.
func ExampleManager_LoadToken() {
	m := session.New(serverstore.New(memstore.New()))
	ctx := context.Background()

	// The token a client got from an HTTP response (here, a new session).
	s, err := m.LoadToken(ctx, "")
	if err != nil {
		panic(err)
	}
	s.Put("user", "ada")
	token, err := m.SaveToken(ctx, s)
	if err != nil {
		panic(err)
	}

	// Later, in a job handed that token.
	s, err = m.LoadToken(ctx, token)
	if err != nil {
		panic(err) // the store could not answer
	}
	fmt.Println(s.IsNew(), s.GetString("user"))
	s.Put("notified", true)
	again, err := m.SaveToken(ctx, s)
	if err != nil {
		panic(err)
	}
	fmt.Println(again == token) // a server-side session keeps its token
	// Output:
	// false ada
	// true
}

// A session that must not outlive something else: here, a password-reset
// link valid for 15 minutes, however active the user is.
func ExampleSession_SetDeadline() {
	m := session.New(serverstore.New(memstore.New()))
	s, err := m.LoadToken(context.Background(), "")
	if err != nil {
		panic(err)
	}
	s.Put("reset_for", "ada")
	s.SetDeadline(time.Now().Add(15 * time.Minute))
	fmt.Println(time.Until(s.Deadline()).Round(time.Minute))
	// Output: 15m0s
}
