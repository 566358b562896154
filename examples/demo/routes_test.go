package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/examples/demo/app"
	"github.com/go-sealed/session/examples/internal/stores"
)

// localStores are the demo's server stores that need no service: their
// configs, for files in dir.
func localStores(dir string) map[string]stores.Config {
	return map[string]stores.Config{
		"memory": {Store: "memory"},
		"bolt":   {Store: "bolt", BoltPath: filepath.Join(dir, "sessions.db")},
		"sqlite": {Store: "sqlite", SQLitePath: filepath.Join(dir, "sessions.sqlite")},
	}
}

// startDemo serves the demo's routes over the store cfg names, as `go run
// ./examples/demo` does, until the returned function stops it.
func startDemo(t *testing.T, cfg stores.Config) (url string, stop func()) {
	t.Helper()
	store, closeStore, err := stores.Open(context.Background(), cfg)
	require.NoError(t, err)
	m := session.New(store)
	m.Cookie.Secure = false
	srv := httptest.NewServer(app.New(m))
	return srv.URL, func() { srv.Close(); closeStore() }
}

// TestRoutes runs every route of the contract over each local store, and,
// for the stores that keep sessions in a file, checks that a session
// survives a restart of the demo.
func TestRoutes(t *testing.T) {
	for name, cfg := range localStores(t.TempDir()) {
		t.Run(name, func(t *testing.T) {
			base, stop := startDemo(t, cfg)
			defer func() { stop() }()
			s := newShopper(t, base)
			jsonOf := func(body string) map[string]any {
				var v map[string]any
				require.NoError(t, json.Unmarshal([]byte(body), &v))
				return v
			}

			code, body, _ := s.send("GET", "/", nil)
			require.Equal(t, http.StatusOK, code)
			assert.Contains(t, body, "/login")

			code, _, _ = s.send("GET", "/set", nil)
			require.Equal(t, http.StatusOK, code)
			code, body, _ = s.send("GET", "/get", nil)
			require.Equal(t, http.StatusOK, code)
			got := jsonOf(body)
			assert.Equal(t, "john_doe", got["username"])
			assert.NotNil(t, got["lastVisit"])
			code, _, _ = s.send("GET", "/delete", nil)
			require.Equal(t, http.StatusOK, code)
			_, body, _ = s.send("GET", "/get", nil)
			assert.Equal(t, map[string]any{"username": nil, "lastVisit": nil}, jsonOf(body))

			code, _, _ = s.send("POST", "/login", url.Values{"username": {"admin"}, "password": {"wrong"}})
			require.Equal(t, http.StatusUnauthorized, code)
			code, _, _ = s.send("GET", "/dashboard", nil)
			require.Equal(t, http.StatusSeeOther, code)
			code, _, _ = s.send("POST", "/login", url.Values{"username": {"admin"}, "password": {"123"}})
			require.Equal(t, http.StatusSeeOther, code)
			code, body, _ = s.send("GET", "/dashboard", nil)
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, "Welcome admin", body)

			require.Equal(t, http.StatusOK, s.add("apple"))
			require.Equal(t, http.StatusOK, s.add("pear"))
			code, cart := s.cart()
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, []string{"apple", "pear"}, cart)

			code, _, _ = s.send("POST", "/flash", url.Values{"message": {"saved"}})
			require.Equal(t, http.StatusOK, code)
			_, body, _ = s.send("GET", "/flash", nil)
			assert.JSONEq(t, `["saved"]`, body)
			_, body, _ = s.send("GET", "/flash", nil)
			assert.JSONEq(t, `[]`, body, "a flash is shown once")

			if name != "memory" {
				// The same file after a restart: the session is there.
				stop()
				base, stop = startDemo(t, cfg)
				s.base = base // the cookie jar keys on host, not port
				code, body, _ = s.send("GET", "/dashboard", nil)
				require.Equal(t, http.StatusOK, code, "the session did not survive a restart")
				assert.Equal(t, "Welcome admin", body)
				_, cart = s.cart()
				assert.Equal(t, []string{"apple", "pear"}, cart)
			}

			code, body, _ = s.send("POST", "/logout", nil)
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, "Logged out", body)
			code, _, _ = s.send("GET", "/dashboard", nil)
			require.Equal(t, http.StatusSeeOther, code)
		})
	}
}
