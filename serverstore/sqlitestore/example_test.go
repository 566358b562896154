package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/sqlitestore"
)

// Sessions in a SQLite file: they survive a restart of the server, and
// the store-wide operations count and end them.
func Example() {
	dir, err := os.MkdirTemp("", "sqlitestore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sessions.sqlite")
	ctx := context.Background()

	// serve starts a "server" on the file and makes one request to it
	// with cookie, returning the cookie it set.
	serve := func(cookie *http.Cookie) *http.Cookie {
		db, err := sql.Open("sqlite", path) // the driver sqlitestore registers
		if err != nil {
			log.Fatal(err)
		}
		defer db.Close()
		// Sets WAL, creates the table if missing, sweeps expired rows
		// every 5 minutes until Close.
		backend, err := sqlitestore.New(ctx, db)
		if err != nil {
			log.Fatal(err)
		}
		defer backend.Close() // the server stops

		m := session.New(serverstore.New(backend))
		m.Cookie.Secure = false // plain HTTP, for the example
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
	serve(cookie)
	serve(nil) // another visitor

	db, err := sql.Open("sqlite", path)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	backend, err := sqlitestore.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	defer backend.Close()
	store := serverstore.New(backend)
	n, err := store.Count(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sessions:", n)
	n, err = store.DestroyAll(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ended:", n)
	// Output:
	// visits: 1
	// visits: 2
	// visits: 1
	// sessions: 2
	// ended: 2
}

// The schema for a table of another name, to put in a migration file.
// New with the same WithTable finds that table and checks it.
func ExampleSchemaFor() {
	schema, err := sqlitestore.SchemaFor("web_sessions")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(schema)
	// Output:
	// CREATE TABLE IF NOT EXISTS "web_sessions" (
	// 	"key"     TEXT NOT NULL PRIMARY KEY,
	// 	"data"    BLOB NOT NULL,
	// 	"expires" INTEGER NOT NULL,
	// 	"user_id" TEXT
	// );
	// CREATE INDEX IF NOT EXISTS "web_sessions_expires_idx" ON "web_sessions" ("expires");
	// CREATE INDEX IF NOT EXISTS "web_sessions_user_id_idx" ON "web_sessions" ("user_id") WHERE "user_id" IS NOT NULL;
}
