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

// The schema for a table of another name, in a schema of its own, to put
// in a migration file. New with the same WithTable finds that table and
// checks it.
func ExampleSchemaFor() {
	schema, err := pgstore.SchemaFor("auth.web_sessions")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(schema)
	// Output:
	// CREATE TABLE IF NOT EXISTS "auth"."web_sessions" (
	// 	key     text COLLATE "C" PRIMARY KEY,
	// 	data    bytea       NOT NULL,
	// 	expires timestamptz NOT NULL,
	// 	user_id text COLLATE "C" NULL
	// );
	// CREATE INDEX IF NOT EXISTS "web_sessions_expires_idx" ON "auth"."web_sessions" (expires);
	// CREATE INDEX IF NOT EXISTS "web_sessions_user_id_idx" ON "auth"."web_sessions" (user_id) WHERE user_id IS NOT NULL;
}
