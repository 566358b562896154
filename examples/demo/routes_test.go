package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/examples/demo/app"
	"github.com/go-sealed/session/examples/internal/stores"
	"github.com/go-sealed/session/serverstore/storetest"
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
		t.Run(name, func(t *testing.T) { checkRoutes(t, name, cfg) })
	}
}

// TestRoutesMongo is TestRoutes on MongoDB (FerretDB here), in a database
// of its own, dropped at the end.
func TestRoutesMongo(t *testing.T) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	db := "demo_test_" + hex.EncodeToString(b[:])
	u, err := url.Parse(mongoURL())
	require.NoError(t, err)
	u.Path = "/" + db
	cfg := stores.Config{Store: "mongo", MongoURL: u.String()}
	_, closeStore, err := stores.Open(t.Context(), cfg)
	storetest.Require(t, "MongoDB at "+mongoURL()+" (scripts/mongo.sh start runs FerretDB there)", err)
	closeStore()
	t.Cleanup(func() {
		client, err := mongo.Connect(options.Client().ApplyURI(mongoURL()))
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Database(db).Drop(ctx)
		_ = client.Disconnect(ctx)
	})
	checkRoutes(t, "mongo", cfg)
}

// mongoURL is the server the tests use: SESSION_TEST_MONGO_URL, or the
// FerretDB that scripts/mongo.sh starts.
func mongoURL() string {
	if u := os.Getenv("SESSION_TEST_MONGO_URL"); u != "" {
		return u
	}
	return "mongodb://127.0.0.1:27017"
}

// checkRoutes runs every route of the contract over the store cfg names,
// and, for the stores that keep sessions beyond the process (all but
// memory), checks that a session survives a restart of the demo.
func checkRoutes(t *testing.T, name string, cfg stores.Config) {
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
}
