package boltstore_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

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
