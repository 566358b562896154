package express_test

import (
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/express"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/redisstore"
)

// Serve Go routes on the sessions of an Express app that runs
//
//	app.use(session({
//	  store: new RedisStore({ client }),
//	  secret: process.env.SESSION_SECRET.split(','),
//	  resave: false, saveUninitialized: false,
//	  cookie: { sameSite: 'lax', maxAge: 24 * 60 * 60 * 1000 },
//	}))
func Example() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	backend, err := express.NewRedis(client) // connect-redis's defaults: prefix "sess:", ttl one day
	if err != nil {
		log.Fatal(err)
	}
	store, err := express.New(backend, strings.Split(os.Getenv("SESSION_SECRET"), ","),
		express.WithCookie(session.CookieOptions{Name: "connect.sid", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}),
		express.WithMaxAge(24*time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	m := session.New(store)
	store.Configure(m) // the JSON codec, the cookie and the idle limits the Express app has

	mux := http.NewServeMux()
	mux.HandleFunc("GET /dashboard", func(w http.ResponseWriter, r *http.Request) {
		user, _ := session.GetAs[string](m.Get(r), "user") // req.session.user
		if user == "" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		_, _ = w.Write([]byte("Welcome " + user))
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Handler(mux)))
}

// Once the Express app is retired, move its sessions to serverstore as
// they are used, keeping the JSON codec and the cookie's name.
func ExampleMigrate() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	backend, err := express.NewRedis(client)
	if err != nil {
		log.Fatal(err)
	}
	from, err := express.New(backend, strings.Split(os.Getenv("SESSION_SECRET"), ","))
	if err != nil {
		log.Fatal(err)
	}
	m := session.New(express.Migrate(from, serverstore.New(redisstore.New(client))))
	m.Codec = session.JSON
	m.Cookie.Name = "connect.sid"
	m.IdleTimeout = 24 * time.Hour // the Manager's own limits from here on
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Handler(http.DefaultServeMux)))
}
