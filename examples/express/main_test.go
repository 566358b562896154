package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/go-sealed/session/internal/nodetest"
	"github.com/go-sealed/session/serverstore/storetest"
)

// The end-to-end test: the Express app (node/app.js, on the real
// express-session and Node store) and this Go app serve one site, on two
// loopback ports, and one browser alternates between them. It needs
// Node.js with node/'s packages installed (npm ci; .ci/run does it), and
// the services: it skips without them, or fails under
// SESSION_TEST_SERVICES=require.

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func suffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// site is one test's pair of apps on one Node store, in a place of its
// own (a key prefix, a table, a collection).
type site struct {
	t     *testing.T
	cfg   config // the Go app's flags
	env   []string
	node  *nodetest.App
	goSrv *httptest.Server
}

// redisSite, postgresSite and mongoSite return a site's settings on their
// service, cleaned up when t ends, or skip t if the service is down.
func redisSite(t *testing.T) config {
	u := envOr("SESSION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
	opts, err := redis.ParseURL(u)
	require.NoError(t, err)
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	storetest.Require(t, "Redis", c.Ping(ctx).Err())
	prefix := "express-e2e-" + suffix() + ":"
	t.Cleanup(func() {
		if keys, _ := c.Keys(context.Background(), prefix+"*").Result(); len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
	})
	return config{store: "redis", redisURL: u, prefix: prefix}
}

func postgresSite(t *testing.T) config {
	u := envOr("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?connect_timeout=5")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, u)
	if err == nil {
		t.Cleanup(pool.Close)
		err = pool.Ping(ctx)
	}
	storetest.Require(t, "PostgreSQL", err)
	table := "express_e2e_" + suffix()
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+pgx.Identifier{table}.Sanitize())
	})
	return config{store: "postgres", postgresURL: u, table: table}
}

func mongoSite(t *testing.T) config {
	u := envOr("SESSION_TEST_MONGO_URL", "mongodb://127.0.0.1:27017")
	client, err := mongo.Connect(options.Client().ApplyURI(u).SetServerSelectionTimeout(3 * time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	storetest.Require(t, "MongoDB", client.Ping(ctx, nil))
	collection := "express_e2e_" + suffix()
	cs, err := connstring.ParseAndValidate(u)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Database(mongoDatabase(cs)).Collection(collection).Drop(context.Background()) })
	return config{store: "mongo", mongoURL: u, collection: collection}
}

// start starts both apps on cfg's store, signing with secrets.
func start(t *testing.T, cfg config, secrets string) *site {
	s := &site{t: t, cfg: cfg}
	s.env = []string{"STORE=" + cfg.store, "REDIS_URL=" + cfg.redisURL, "DATABASE_URL=" + cfg.postgresURL,
		"MONGO_URL=" + cfg.mongoURL, "SESSION_PREFIX=" + cfg.prefix, "SESSION_TABLE=" + cfg.table,
		"SESSION_COLLECTION=" + cfg.collection, "MONGO_AUTO_REMOVE=interval"} // FerretDB 1.x has no TTL index
	s.restart(secrets)
	return s
}

// restart stops both apps, if they run, and starts them again with
// secrets: what a secret rotation deploys.
func (s *site) restart(secrets string) {
	if s.node != nil {
		s.node.Stop()
		s.goSrv.Close()
	}
	s.t.Setenv("SESSION_SECRET", secrets) // for the Go app, as run reads it
	h, closeStore, err := open(context.Background(), s.cfg, os.Getenv("SESSION_SECRET"))
	require.NoError(s.t, err)
	s.t.Cleanup(closeStore)
	s.goSrv = httptest.NewServer(h)
	s.t.Cleanup(s.goSrv.Close)
	s.node = nodetest.Start(s.t, append(s.env, "SESSION_SECRET="+secrets)...)
}

func TestEndToEnd(t *testing.T) {
	nodetest.Require(t)
	for name, cfg := range map[string]func(*testing.T) config{"redis": redisSite, "postgres": postgresSite, "mongo": mongoSite} {
		t.Run(name, func(t *testing.T) { runFlows(t, cfg(t)) })
	}
}

// runFlows runs the flows, alternating requests between the apps
// with one browser.
func runFlows(t *testing.T, cfg config) {
	s := start(t, cfg, "first secret")
	b := nodetest.NewBrowser(t)
	node, goApp := func() string { return s.node.URL }, func() string { return s.goSrv.URL }
	login := url.Values{"username": {"admin"}, "password": {"123"}}
	item := func(v string) url.Values { return url.Values{"item": {v}} }
	sid := func() string { return b.Cookie(node(), "connect.sid") }
	// as returns a browser that holds only the cookie value token.
	as := func(token string) *nodetest.Browser {
		o := nodetest.NewBrowser(t)
		o.SetCookie(node(), "connect.sid", token)
		return o
	}
	dashboard := func(b *nodetest.Browser, base string) string {
		resp, body := b.Do("GET", base+"/dashboard", nil)
		if resp.StatusCode == http.StatusSeeOther {
			return "-> " + resp.Header.Get("Location")
		}
		return body
	}

	// Log in on Express, and Go knows you; Express's regenerate ended the
	// ID from before the login for Go too.
	resp, body := b.Do("POST", node()+"/add-to-cart", item("pre"))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	beforeLogin := sid()
	require.NotEmpty(t, beforeLogin, "Express set no session cookie")
	assert.Equal(t, "-> /login", dashboard(b, goApp()))
	resp, _ = b.Do("POST", node()+"/login", url.Values{"username": {"admin"}, "password": {"wrong"}})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = b.Do("POST", node()+"/login", login)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/dashboard", resp.Header.Get("Location"))
	assert.NotEqual(t, beforeLogin, sid(), "Express's login kept the session ID")
	assert.Equal(t, "Welcome admin", dashboard(b, goApp()))
	for _, base := range []string{goApp(), node()} {
		req, err := http.NewRequest("GET", base+"/dashboard", nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "text/html")
		req.AddCookie(&http.Cookie{Name: "connect.sid", Value: sid()})
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Contains(t, string(page), `<h1 id="welcome">Welcome admin</h1>`, "the dashboard page of %s", base)
	}
	assert.Equal(t, "-> /login", dashboard(as(beforeLogin), goApp()))
	assert.Empty(t, as(beforeLogin).Cart(goApp()), "the ID from before the login still opens a session on the Go side")

	// Items added on both: the same cart on both, in order.
	for i, v := range []string{"a", "b", "c", "d"} {
		base := []string{goApp(), node()}[i%2]
		resp, body := b.Do("POST", base+"/add-to-cart", item(v))
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, "Added "+v, body)
	}
	want := []string{"pre", "a", "b", "c", "d"}
	assert.Equal(t, want, b.Cart(goApp()))
	assert.Equal(t, want, b.Cart(node()))

	// A secret rotation on both sides: a new secret first logs no one
	// out; the cookie is signed again with it (by the Go side, the next
	// time it answers), after which the old secret can go.
	s.restart("second secret,first secret")
	assert.Equal(t, "Welcome admin", dashboard(b, node()))
	assert.Equal(t, "Welcome admin", dashboard(b, goApp()))
	assert.Equal(t, want, b.Cart(node()))
	s.restart("second secret")
	assert.Equal(t, "Welcome admin", dashboard(b, goApp()))
	assert.Equal(t, "Welcome admin", dashboard(b, node()))
	assert.Equal(t, want, b.Cart(goApp()))

	// Log out on Go: Express sees no session, even with the old cookie.
	loggedIn := sid()
	resp, body = b.Do("POST", goApp()+"/logout", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Logged out", body)
	assert.Empty(t, sid(), "the Go side's logout left the cookie")
	assert.Equal(t, "-> /login", dashboard(as(loggedIn), node()))
	assert.Empty(t, as(loggedIn).Cart(node()))

	// Log in on Go (Renew ends the ID from before the login, for Express
	// too), log out on Express: Go sees no session.
	b.Do("POST", goApp()+"/add-to-cart", item("e"))
	beforeLogin = sid()
	resp, _ = b.Do("POST", goApp()+"/login", login)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.NotEqual(t, beforeLogin, sid(), "the Go side's login kept the session ID")
	assert.Equal(t, "Welcome admin", dashboard(b, node()))
	assert.Equal(t, []string{"e"}, b.Cart(node()))
	assert.Equal(t, "-> /login", dashboard(as(beforeLogin), node()))
	assert.Empty(t, as(beforeLogin).Cart(node()), "the ID from before the login still opens a session on the Express side")
	loggedIn = sid()
	resp, body = b.Do("POST", node()+"/logout", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Logged out", body)
	assert.Equal(t, "-> /login", dashboard(b, goApp()))
	assert.Equal(t, "-> /login", dashboard(as(loggedIn), goApp()))
	assert.Empty(t, as(loggedIn).Cart(goApp()))
}

// TestRun checks the command's start: a missing secret or store fails,
// naming what to fix, before it serves. (TestEndToEnd serves what it
// opens.)
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t.Setenv("SESSION_SECRET", "")
	err := run(ctx, []string{"-addr", "127.0.0.1:0"})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "SESSION_SECRET is not set"), err.Error())
	t.Setenv("SESSION_SECRET", "s")
	assert.EqualError(t, run(ctx, []string{"-store", "sqlite"}), `-store "sqlite": want redis, postgres or mongo`)
	assert.ErrorContains(t, run(ctx, []string{"-store", "mongo", "-mongo-url", "http://x"}), "-mongo-url")
}
