// Command api is a JSON API whose session travels in headers, never in a
// cookie: the Manager's header transport, for mobile apps, CLIs and other
// programs that keep a token themselves.
//
// Run it, log in, and use the token:
//
//	go run ./examples/api -addr 127.0.0.1:8081 -store memory
//
//	curl -si -X POST -d '{"username":"admin","password":"123"}' http://127.0.0.1:8081/login
//	# the token is in the Session-Token response header
//	curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8081/me
//	curl -si -X POST -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8081/logout
//
// The client's whole protocol: send "Authorization: Bearer <token>" with
// every request, and whenever a response carries a Session-Token header,
// replace the token with it (login, a renewed or re-sealed token, an
// extended idle deadline), or drop the token when that header is empty
// (logout, an expired or unknown token).
//
// With -store memory (the default) the token is a random ID and the session
// lives on the server, so logout revokes the token at once. With -store
// cookie the token is the whole session, sealed (encrypted and
// authenticated) by package cookiesession: nothing is kept on the server,
// like a JWT, and likewise a token copied before logout stays valid until
// it expires. Keys for it come from SESSION_KEYS ("base64,base64,...",
// newest first); without it the server makes a random key, so tokens do not
// survive a restart. See docs/security.md for the trade-offs.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/serve"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

// Demo credentials. Never ship anything like this.
const (
	demoUser     = "admin"
	demoPassword = "123"
)

// keyUser is the session key that holds the logged-in user's name.
const keyUser = "user"

func main() { serve.Main("api", run) }

type config struct {
	addr  string
	store string
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8081", "address to listen on")
	fs.StringVar(&c.store, "store", "memory", "session store: memory (server-side, revocable) or cookie (the sealed session is the token)")
	return c, fs.Parse(args)
}

func run(ctx context.Context, args []string) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	store, closeStore, err := openStore(cfg.store)
	if err != nil {
		return err
	}
	defer closeStore()

	return serve.Serve(ctx, cfg.addr, "/", newAPI(newManager(store)), "store", cfg.store)
}

// openStore opens the store kind names, and returns how to close it.
func openStore(kind string) (session.Store, func(), error) {
	switch kind {
	case "memory":
		backend := memstore.New()
		return serverstore.New(backend), func() { _ = backend.Close() }, nil
	case "cookie":
		keys, err := serve.Keys()
		if err != nil {
			return nil, nil, err
		}
		store, err := cookiesession.New(keys...)
		if err != nil {
			return nil, nil, err
		}
		return store, func() {}, nil
	default:
		return nil, nil, fmt.Errorf("-store %q: want memory or cookie", kind)
	}
}

// newManager returns a Manager that reads the token from
// "Authorization: Bearer <token>" and hands out new ones in the
// Session-Token response header. No cookie is read or set.
func newManager(store session.Store) *session.Manager {
	m := session.New(store)
	m.Transport = session.TransportHeader
	// A sealed token cannot be revoked, so keep its life short: an idle
	// hour ends it, and so do 12 hours whatever the activity.
	m.IdleTimeout = time.Hour
	m.Lifetime = 12 * time.Hour
	// A store failure gets a JSON answer like every other error here.
	m.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		slog.ErrorContext(r.Context(), "session store failure", "path", r.URL.Path, "err", err)
		clear(w.Header())
		writeJSON(w, http.StatusInternalServerError, errorBody("session store unavailable"))
	}
	return m
}

// newAPI returns the API's routes, served through m.
func newAPI(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		var creds struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
		if err := json.NewDecoder(r.Body).Decode(&creds); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody("want a JSON body {\"username\":…, \"password\":…}"))
			return
		}
		if creds.Username != demoUser || creds.Password != demoPassword {
			writeJSON(w, http.StatusUnauthorized, errorBody("invalid credentials"))
			return
		}
		s := m.Get(r)
		// A new token at every change of privilege: a token the client
		// held before login (planted by someone else, say) is worthless
		// after it.
		if err := s.Renew(); err != nil {
			writeJSON(w, http.StatusInternalServerError, errorBody("session unavailable"))
			return
		}
		s.Put(keyUser, creds.Username)
		s.SetUser(creds.Username) // server-side stores index sessions by user
		// The Manager adds the new token as the Session-Token header,
		// with Cache-Control: no-store, before this reply goes out.
		writeJSON(w, http.StatusOK, map[string]string{"user": creds.Username})
	})
	mux.Handle("GET /me", requireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := currentUser(r.Context())
		writeJSON(w, http.StatusOK, map[string]string{"user": user})
	})))
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		// The response carries an empty Session-Token: the client drops
		// its token. With the memory store the token is dead from now on;
		// a sealed token stays valid until it expires, wherever a copy
		// of it survives.
		m.Get(r).Destroy()
		writeJSON(w, http.StatusOK, map[string]string{"status": "logged out"})
	})
	return m.Handler(mux)
}

// currentUser returns the logged-in user of the request ctx belongs to. It
// needs only the context, as code deep in a call chain has.
func currentUser(ctx context.Context) (string, bool) {
	s := session.FromContext(ctx)
	if s == nil {
		return "", false
	}
	user, ok := session.GetAs[string](s, keyUser)
	return user, ok && user != ""
}

// requireUser answers 401 to a request without a logged-in session: no
// token, a malformed Authorization header, an unknown, revoked, forged or
// expired token all end here, never in a 500.
func requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := currentUser(r.Context()); !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
			writeJSON(w, http.StatusUnauthorized, errorBody("not logged in"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func errorBody(msg string) map[string]string {
	return map[string]string{"error": msg}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
