package mongostore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/mongostore"
)

// A session manager keeping its sessions in MongoDB, with a "log out
// everywhere" and a count of the sessions.
func Example() {
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().
		ApplyURI("mongodb://127.0.0.1:27017").
		SetConnectTimeout(5 * time.Second).
		SetServerSelectionTimeout(5 * time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = client.Disconnect(ctx) }()

	// Creates the collection's indexes if missing; on a server without
	// TTL indexes, sweeps expired sessions every 5 minutes until Close.
	backend, err := mongostore.New(ctx, client.Database("app"))
	if err != nil {
		log.Fatal(err)
	}
	defer backend.Close()

	store := serverstore.New(backend)
	m := session.New(store)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /logout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		n, err := store.DestroyUser(r.Context(), m.Get(r).UserID())
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "ended %d sessions\n", n)
	})
	mux.HandleFunc("GET /admin/sessions", func(w http.ResponseWriter, r *http.Request) {
		n, err := store.Count(r.Context())
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%d live sessions\n", n)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Handler(mux)))
}
