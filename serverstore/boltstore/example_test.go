package boltstore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/boltstore"
)

// Sessions kept in a bolt file survive a restart of the server.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "boltstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sessions.db")

	// serve starts a "server" on the file and makes one request to it
	// with cookie, returning the cookie it set.
	serve := func(cookie *http.Cookie) *http.Cookie {
		b, err := boltstore.Open(path)
		if err != nil {
			log.Fatal(err)
		}
		defer b.Close() // the server stops
		m := session.New(serverstore.New(b))
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			s.Put("visits", s.GetInt("visits")+1)
			fmt.Println("visits:", s.GetInt("visits"))
		}))
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if c := rec.Result().Cookies(); len(c) > 0 {
			return c[0]
		}
		return cookie
	}

	cookie := serve(nil)
	cookie = serve(cookie)
	serve(cookie)
	// Output:
	// visits: 1
	// visits: 2
	// visits: 3
}

// An application that keeps its own data in bolt gives its database to
// OpenDB: the sessions live in a bucket of their own beside the
// application's, and the store-wide operations count and end them.
func ExampleOpenDB() {
	dir, err := os.MkdirTemp("", "boltstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := bolt.Open(filepath.Join(dir, "app.db"), 0o600, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	b, err := boltstore.OpenDB(db) // the bucket "sessions"
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close() // before db.Close: deferred calls run last first
	store := serverstore.New(b)
	m := session.New(store)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Put("seen", true)
	}))
	for range 3 { // three visitors, three sessions
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}

	ctx := context.Background()
	n, err := store.Count(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sessions:", n)
	// After a leak of the application's secrets, say: everyone logs in
	// again.
	n, err = store.DestroyAll(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ended:", n)
	n, err = store.Count(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sessions:", n)
	// Output:
	// sessions: 3
	// ended: 3
	// sessions: 0
}
