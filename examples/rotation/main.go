// Command rotation walks through rolling a sealed-cookie key in production
// without logging anyone out. It reads its keys from SESSION_KEYS, newest
// first, as a real server would, and shows which key sealed the cookie a
// client sent: restart it with the keys of each step and watch a session
// survive. Print the steps with:
//
//	go run ./examples/rotation -help
//
// The test (main_test.go) runs the three steps on a fleet of two servers,
// with a client that stays logged in throughout. docs/key-rotation.md
// explains each step.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/serve"
)

const instructions = `usage: SESSION_KEYS=KEY[,KEY...] go run ./examples/rotation [-addr host:port]

SESSION_KEYS lists base64 keys, newest first: the first seals, all open.
Rolling from key OLD to key NEW without logging anyone out:

  0. today              SESSION_KEYS=$OLD
  1. add NEW second     SESSION_KEYS=$OLD,$NEW   on every server, then wait
                        until every server runs it
  2. promote NEW        SESSION_KEYS=$NEW,$OLD   on every server; a cookie
                        sealed with OLD is re-sealed with NEW on its next
                        response (a Set-Cookie on that response)
  3. drop OLD           SESSION_KEYS=$NEW        once the session Lifetime
                        (24h here) has passed since step 2 reached every server

A leaked key is dropped at once instead: SESSION_KEYS=$NEW everywhere, and
everyone whose cookie is sealed with the leaked key is logged out.

Try it on one machine, restarting the server at each step:

  OLD=$(go run ./cmd/sessionkey) NEW=$(go run ./cmd/sessionkey)
  SESSION_KEYS=$OLD go run ./examples/rotation
  curl -s -c jar -b jar -d user=ada http://127.0.0.1:8080/login
  curl -si -c jar -b jar http://127.0.0.1:8080/      # then again after each restart:
  SESSION_KEYS=$OLD,$NEW go run ./examples/rotation
  SESSION_KEYS=$NEW,$OLD go run ./examples/rotation  # this curl gets a Set-Cookie
  SESSION_KEYS=$NEW go run ./examples/rotation       # still logged in

Flags:
`

func main() { serve.Main("rotation", run) }

// run is the command. It needs SESSION_KEYS, and valid: without them it
// prints the steps and fails.
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rotation", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), instructions)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	env := os.Getenv("SESSION_KEYS")
	if env == "" {
		fs.Usage()
		return errors.New("SESSION_KEYS is not set")
	}
	h, err := newApp(env)
	if err != nil {
		return fmt.Errorf("SESSION_KEYS: %w", err)
	}
	return serve.Serve(ctx, *addr, "/", h, "SESSION_KEYS", describeKeys(env))
}

// newApp returns the server of one step: the SESSION_KEYS it runs with,
// a login, and a page telling who is logged in and which key sealed the
// cookie the request carried.
func newApp(env string) (http.Handler, error) {
	keys, err := cookiesession.ParseKeys(env)
	if err != nil {
		return nil, err
	}
	store, err := cookiesession.New(keys...)
	if err != nil {
		return nil, err
	}
	m := session.New(store)
	m.Cookie.Secure = false // plain HTTP on loopback; keep it on behind HTTPS

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if err := s.Renew(); err != nil {
			http.Error(w, "session unavailable", http.StatusInternalServerError)
			return
		}
		s.Put("user", r.PostFormValue("user"))
		fmt.Fprintln(w, "logged in")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		user := m.Get(r).GetString("user")
		if user == "" {
			user = "nobody"
		}
		sealedWith := "none"
		if c, err := r.Cookie(m.Cookie.Name); err == nil {
			sealedWith = tokenKeyID(c.Value)
		}
		fmt.Fprintf(w, "logged in: %s\nyour cookie was sealed with key %s\nthis server: SESSION_KEYS=%s\n", user, sealedWith, describeKeys(env))
	})
	return m.Handler(mux), nil
}

// keyID returns the public ID of a key that a token's header carries
// (docs/format.md): the first 4 bytes of HMAC-SHA256(key, label), in hex.
// It identifies the key without revealing it, so it is safe to log.
func keyID(key []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("go-sealed/session v1 key id"))
	return hex.EncodeToString(mac.Sum(nil)[:4])
}

// tokenKeyID returns the ID of the key that sealed a token: bytes 1 to 4,
// after the version byte, which its first 8 characters encode.
func tokenKeyID(token string) string {
	if len(token) < 8 {
		return "unknown"
	}
	b, err := base64.RawURLEncoding.DecodeString(token[:8])
	if err != nil {
		return "unknown"
	}
	return hex.EncodeToString(b[1:5])
}

// describeKeys shows SESSION_KEYS by key IDs, never the keys themselves.
func describeKeys(env string) string {
	keys, err := cookiesession.ParseKeys(env)
	if err != nil {
		return "invalid"
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = keyID(k)
	}
	return strings.Join(ids, ",")
}
