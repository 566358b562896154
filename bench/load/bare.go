package main

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"sync"
)

// bareServer serves the demo's routes with no session library: the least
// a server that keeps each client's cart must do, a random cookie naming
// an entry of a map under a lock. It has none of a session library's
// work (no seal, no hashing, no expiry, no renewal of the ID at login),
// so that a store's requests per second as a fraction of its own are what
// the session costs a real server.
func bareServer() http.Handler {
	var mu sync.Mutex
	carts := map[string][]string{}
	id := func(r *http.Request) string {
		if c, err := r.Cookie("session"); err == nil {
			return c.Value
		}
		return ""
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("username") != demoUser || r.PostFormValue("password") != demoPassword {
			text(w, http.StatusUnauthorized, "Invalid credentials")
			return
		}
		var b [16]byte
		_, _ = rand.Read(b[:])
		token := base64.RawURLEncoding.EncodeToString(b[:])
		mu.Lock()
		carts[token] = nil
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "session", Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /add-to-cart", func(w http.ResponseWriter, r *http.Request) {
		item := r.PostFormValue("item")
		if item == "" {
			text(w, http.StatusBadRequest, "Missing item")
			return
		}
		mu.Lock()
		carts[id(r)] = append(carts[id(r)], item)
		mu.Unlock()
		text(w, http.StatusOK, "Added "+item)
	})
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cart := append([]string{}, carts[id(r)]...)
		mu.Unlock()
		writeJSON(w, cart)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		delete(carts, id(r))
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "session", Path: "/", MaxAge: -1})
		text(w, http.StatusOK, "Logged out")
	})
	return mux
}
