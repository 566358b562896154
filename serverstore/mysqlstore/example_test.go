package mysqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net/http"
	"os"

	_ "github.com/go-sql-driver/mysql"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/mysqlstore"
)

func Example() {
	ctx := context.Background()
	// interpolateParams saves a round trip per query; timeout bounds
	// dialling a dead server.
	db, err := sql.Open("mysql", os.Getenv("MYSQL_DSN")) // e.g. app:secret@tcp(db:3306)/app?interpolateParams=true&timeout=5s
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// Creates the "sessions" table if it is missing, and sweeps expired
	// rows every 5 minutes until Close.
	backend, err := mysqlstore.New(ctx, db)
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
	schema, err := mysqlstore.SchemaFor("auth.web_sessions")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(schema) // into a migration file

	ctx := context.Background()
	db, err := sql.Open("mysql", os.Getenv("MYSQL_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	backend, err := mysqlstore.New(ctx, db,
		mysqlstore.WithTable("auth.web_sessions"),
		mysqlstore.WithoutMigration(),
		mysqlstore.WithSweepInterval(0), // a cron job calls Sweep instead
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = backend
}

// The schema for a table of another name, in a database of its own, to
// put in a migration file. New with the same WithTable finds that table
// and checks it.
func ExampleSchemaFor() {
	schema, err := mysqlstore.SchemaFor("auth.web_sessions")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(schema)
	// Output:
	// CREATE TABLE IF NOT EXISTS `auth`.`web_sessions` (
	// 	`key`     CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	// 	`data`    LONGBLOB NOT NULL,
	// 	`expires` DATETIME(6) NOT NULL,
	// 	`user_id` VARBINARY(255) NULL,
	// 	PRIMARY KEY (`key`),
	// 	KEY `expires_idx` (`expires`),
	// 	KEY `user_id_idx` (`user_id`)
	// ) ENGINE=InnoDB
}
