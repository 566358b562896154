// Command gorilla is a small application written against
// github.com/gorilla/sessions, switched to this library by changing the
// line that makes its store, and nothing else:
//
//	store := sessions.NewCookieStore(hashKey, blockKey)  // before
//	store := newStore(hashKey, blockKey, sessionKeys)    // after: gorillastore over a sealed cookie
//
// The handlers keep calling store.Get, session.Values and session.Save.
// The new store also reads the cookies the old one issued (see
// gorillastore.AcceptGorilla), so users stay logged in across the
// deployment; each such cookie is replaced by a sealed one on its first
// response.
//
//	GORILLA_HASH_KEY=... GORILLA_BLOCK_KEY=... SESSION_KEYS=... go run ./examples/gorilla
//
// GORILLA_HASH_KEY and GORILLA_BLOCK_KEY are the base64 keys the
// application gave sessions.NewCookieStore (the block key may be empty);
// SESSION_KEYS are this library's keys (cookiesession.ParseKeys). Missing
// keys are made up at random, so sessions do not survive a restart; keys
// that are set but not valid stop the program.
//
// Routes: POST /login (form "user") logs in, GET / says who is logged in
// and shows the flash messages, POST /logout ends the session.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"html"
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/serve"
	"github.com/go-sealed/session/gorillastore"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// sessionName is the cookie name the application always used. Keeping it
// is what lets the new store find the old cookies.
const sessionName = "app-session"

func main() { serve.Main("gorilla", run) }

// run is the command. A key that is set but not valid fails it before it
// serves anything.
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gorilla", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	secure := fs.Bool("secure", false, "mark cookies Secure (needs HTTPS; off since this example serves plain HTTP)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	hashKey, err := envKey("GORILLA_HASH_KEY")
	if err != nil {
		return err
	}
	if hashKey == nil {
		slog.Warn("GORILLA_HASH_KEY is not set: using a random key, so the old store's cookies will not be read")
		hashKey = securecookie.GenerateRandomKey(64)
	}
	blockKey, err := envKey("GORILLA_BLOCK_KEY") // nil: the old store did not encrypt
	if err != nil {
		return err
	}
	sessionKeys, err := serve.Keys()
	if err != nil {
		return err
	}

	// The one line that changed; it was
	//	store := sessions.NewCookieStore(hashKey, blockKey)
	store := newStore(hashKey, blockKey, sessionKeys)
	store.Options.Secure = *secure

	return serve.Serve(ctx, *addr, "/", app(store))
}

// newStore returns a gorilla sessions.Store that seals its sessions with
// sessionKeys and still accepts the cookies of a gorilla CookieStore made
// with hashKey and blockKey (nil for a store without encryption).
func newStore(hashKey, blockKey []byte, sessionKeys [][]byte) *gorillastore.Store {
	sealed, err := cookiesession.New(sessionKeys...)
	if err != nil {
		log.Fatal(err)
	}
	// Read, convert and re-seal the cookies of the old store, for as long
	// as they can be alive (gorilla's MaxAge, 30 days by default). After
	// that, this call and the gorilla keys can go.
	gorillastore.AcceptGorilla(sealed, gorillastore.Legacy{
		Codecs: securecookie.CodecsFromPairs(hashKey, blockKey),
	})
	return gorillastore.New(sealed)
}

// app is the application as it was written for gorilla/sessions: it knows
// only the sessions.Store interface.
func app(store sessions.Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, sessionName)
		if err != nil {
			http.Error(w, "session unavailable", http.StatusInternalServerError)
			return
		}
		flashes := s.Flashes() // read once, then gone: the Save below records that
		user, loggedIn := s.Values["user"].(string)
		if loggedIn {
			n, _ := s.Values["visits"].(int)
			s.Values["visits"] = n + 1
		}
		if loggedIn || len(flashes) > 0 {
			if err := s.Save(r, w); err != nil {
				http.Error(w, "session unavailable", http.StatusInternalServerError)
				return
			}
		}
		if !loggedIn {
			fmt.Fprintln(w, "not logged in")
			return
		}
		fmt.Fprintf(w, "logged in as %s (visit %d)\n", html.EscapeString(user), s.Values["visits"])
		for _, f := range flashes {
			fmt.Fprintf(w, "flash: %s\n", html.EscapeString(fmt.Sprint(f)))
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.PostFormValue("user")
		if user == "" {
			http.Error(w, "user required", http.StatusBadRequest)
			return
		}
		s, err := store.Get(r, sessionName)
		if err != nil {
			http.Error(w, "session unavailable", http.StatusInternalServerError)
			return
		}
		s.Values["user"] = user
		s.Values["visits"] = 0
		s.AddFlash("welcome, " + user)
		if err := s.Save(r, w); err != nil {
			http.Error(w, "session unavailable", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, sessionName)
		if err != nil {
			http.Error(w, "session unavailable", http.StatusInternalServerError)
			return
		}
		s.Options.MaxAge = -1
		if err := s.Save(r, w); err != nil {
			http.Error(w, "session unavailable", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "logged out")
	})
	return mux
}

// envKey decodes a base64 key from the environment, or returns nil if
// the variable is unset.
func envKey(name string) ([]byte, error) {
	v := os.Getenv(name)
	if v == "" {
		return nil, nil
	}
	k, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(k) == 0 {
		return nil, errors.New(name + " is not valid base64")
	}
	return k, nil
}
