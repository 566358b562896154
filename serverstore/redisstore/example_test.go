package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/redisstore"
)

// A session manager keeping its sessions in Redis, with a login that tags
// the session with its user and a "log out everywhere" that ends all of
// that user's sessions.
func Example() {
	client := redis.NewClient(&redis.Options{
		Addr: "127.0.0.1:6379",
		// The Backend sets no timer of its own: these bound each call.
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		// And let request deadlines and cancellations reach the socket.
		ContextTimeoutEnabled: true,
	})
	defer client.Close()

	store := serverstore.New(redisstore.New(client, redisstore.WithPrefix("myapp:session:")))
	m := session.New(store)
	m.IdleTimeout = 30 * time.Minute

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		// ... check the credentials, then:
		if err := s.Renew(); err != nil { // a new ID at login: no session fixation
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		s.SetUser("42")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		n, err := store.DestroyUser(r.Context(), m.Get(r).UserID())
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "ended %d sessions\n", n)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Handler(mux)))
}

// The same Store on a Redis Cluster: nothing else changes.
func ExampleNew_cluster() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
		ContextTimeoutEnabled: true,
	})
	store := serverstore.New(redisstore.New(client))
	_ = session.New(store)
}

// The same Store on a primary watched by Sentinel, which the client
// follows through failovers.
func ExampleNew_sentinel() {
	client := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:            "mymaster",
		SentinelAddrs:         []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
		ContextTimeoutEnabled: true,
	})
	store := serverstore.New(redisstore.New(client))
	_ = session.New(store)
}

// The store-wide operations, for an operator's tool or an admin page:
// they stream over every session under the prefix, on every primary of a
// cluster, in constant memory.
func Example_storeWide() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer client.Close()
	store := serverstore.New(redisstore.New(client, redisstore.WithPrefix("myapp:session:")))
	ctx := context.Background()

	n, err := store.Count(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "live sessions")
	for info, err := range store.All(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(info.ID, info.UserID, info.Touched)
	}
	// After a leaked key or a breach: everyone logs in again.
	ended, err := store.DestroyAll(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ended", ended, "sessions")
}
