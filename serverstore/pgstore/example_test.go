package pgstore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/pgstore"
)

func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL")) // e.g. postgres://app@db/app?connect_timeout=5
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	// Creates the "sessions" table if it is missing, and sweeps expired
	// rows every 5 minutes until Close.
	backend, err := pgstore.New(ctx, pool)
	if err != nil {
		log.Fatal(err)
	}
	defer backend.Close()

	// From here on, as with any store: see package session.
	m := session.New(serverstore.New(backend))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Handler(http.DefaultServeMux)))
}

// Apply the schema with your own migration tool, and let the application
// run without the right to create tables.
func Example_ownMigrations() {
	schema, err := pgstore.SchemaFor("auth.web_sessions")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(schema) // into a migration file

	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	backend, err := pgstore.New(ctx, pool,
		pgstore.WithTable("auth.web_sessions"),
		pgstore.WithoutMigration(),
		pgstore.WithSweepInterval(0), // a cron job calls Sweep instead
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = backend
}
