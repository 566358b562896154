package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/demo/app"
	"github.com/go-sealed/session/examples/internal/stores"
	"github.com/go-sealed/session/serverstore/storetest"
)

// instance is one running copy of the demo. Restart swaps its handler for
// a new one, as a rolling deploy would, keeping its address.
type instance struct {
	srv     *httptest.Server
	handler atomic.Pointer[http.Handler]
	served  atomic.Int64
}

func startInstance(t *testing.T, h http.Handler) *instance {
	in := &instance{}
	in.restart(h)
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.served.Add(1)
		(*in.handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(in.srv.Close)
	return in
}

func (in *instance) restart(h http.Handler) { in.handler.Store(&h) }

// roundRobin is a reverse proxy that sends each request to the next
// instance in turn: no stickiness, so every request may land anywhere.
func roundRobin(t *testing.T, instances ...*instance) *httptest.Server {
	var next atomic.Uint64
	targets := make([]*url.URL, len(instances))
	for i, in := range instances {
		u, err := url.Parse(in.srv.URL)
		require.NoError(t, err)
		targets[i] = u
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(targets[next.Add(1)%uint64(len(targets))])
		r.Out.Host = r.In.Host
	}}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv
}

// sealedDemo is the demo's handler in cookie mode with the given keys.
func sealedDemo(t *testing.T, keys ...[]byte) http.Handler {
	store, err := cookiesession.New(keys...)
	require.NoError(t, err)
	m := session.New(store)
	m.Cookie.Secure = false // plain HTTP through the test proxy
	return app.New(m)
}

// redisDemo is the demo's handler on the Redis Cluster, opened the way
// `go run ./examples/demo -store redis -redis-url ...` opens it.
func redisDemo(t *testing.T) http.Handler {
	addrs := strings.Split(os.Getenv("SESSION_TEST_REDIS_CLUSTER"), ",")
	if addrs[0] == "" {
		addrs = []string{"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003", "127.0.0.1:7004", "127.0.0.1:7005", "127.0.0.1:7006"}
	}
	clusterURL := "redis://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")
	store, closeStore, err := stores.Open(context.Background(), stores.Config{Store: "redis", RedisURL: clusterURL})
	storetest.Require(t, "Redis Cluster", err)
	t.Cleanup(closeStore)
	m := session.New(store)
	m.Cookie.Secure = false
	return app.New(m)
}

// shopThroughProxy logs in, fills a cart of 50 items, reloads it and
// checks the dashboard, all through the proxy.
func shopThroughProxy(t *testing.T, proxy string) *shopper {
	c := newShopper(t, proxy)
	code, _, _ := c.send("POST", "/login", url.Values{"username": {"admin"}, "password": {"123"}})
	require.Equal(t, http.StatusSeeOther, code)
	var want []string
	for i := range 50 {
		item := fmt.Sprint("item-", i)
		want = append(want, item)
		require.Equal(t, http.StatusOK, c.add(item), "adding %s", item)
	}
	for range 2 { // a reload, served by the other instance
		code, cart := c.cart()
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, want, cart)
	}
	_, page, _ := c.send("GET", "/dashboard", nil)
	require.Equal(t, "Welcome admin", page)
	return c
}

// copyCookies returns a client holding a copy of c's cookies for base.
func copyCookies(t *testing.T, c *shopper, from, to string) *shopper {
	thief := newShopper(t, to)
	thief.ResetCookies(c.CookiesAt(from))
	return thief
}

func TestTwoInstancesSealedCookies(t *testing.T) {
	key := cookiesession.GenerateKey()
	a, b := startInstance(t, sealedDemo(t, key)), startInstance(t, sealedDemo(t, key))
	proxy := roundRobin(t, a, b)

	c := shopThroughProxy(t, proxy.URL)
	assert.Positive(t, a.served.Load())
	assert.Positive(t, b.served.Load())

	stolen := copyCookies(t, c, proxy.URL, b.srv.URL)
	code, body, _ := c.send("POST", "/logout", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "Logged out", body)
	code, _, _ = c.send("GET", "/dashboard", nil)
	assert.Equal(t, http.StatusSeeOther, code, "logged out for the client")
	// The trade-off of a stateless session, measured rather than hidden:
	// a copy taken before the logout stays valid until it expires.
	_, page, _ := stolen.send("GET", "/dashboard", nil)
	assert.Equal(t, "Welcome admin", page, "a sealed cookie cannot be revoked; see docs/choosing-a-store.md")
}

func TestRollingKeyRotationLogsNoOneOut(t *testing.T) {
	k1, k2 := cookiesession.GenerateKey(), cookiesession.GenerateKey()
	a, b := startInstance(t, sealedDemo(t, k1)), startInstance(t, sealedDemo(t, k1))
	proxy := roundRobin(t, a, b)
	c := shopThroughProxy(t, proxy.URL)

	steps := []struct {
		name string
		in   *instance
		keys [][]byte
	}{
		{"b adds k2 second", b, [][]byte{k1, k2}},
		{"a adds k2 second", a, [][]byte{k1, k2}},
		{"b promotes k2", b, [][]byte{k2, k1}},
		{"a promotes k2", a, [][]byte{k2, k1}},
		{"b drops k1", b, [][]byte{k2}},
		{"a drops k1", a, [][]byte{k2}},
	}
	for i, step := range steps {
		step.in.restart(sealedDemo(t, step.keys...))
		for j := range 3 {
			require.Equal(t, http.StatusOK, c.add(fmt.Sprintf("step%d-%d", i, j)), step.name)
			_, page, _ := c.send("GET", "/dashboard", nil)
			require.Equal(t, "Welcome admin", page, "still logged in after %q", step.name)
		}
	}
	_, cart := c.cart()
	assert.Len(t, cart, 50+3*len(steps), "no change lost across the rotation")
}

func TestTwoInstancesRedisCluster(t *testing.T) {
	a, b := startInstance(t, redisDemo(t)), startInstance(t, redisDemo(t))
	proxy := roundRobin(t, a, b)

	c := shopThroughProxy(t, proxy.URL)
	assert.Positive(t, a.served.Load())
	assert.Positive(t, b.served.Load())

	onA := copyCookies(t, c, proxy.URL, a.srv.URL)
	onB := copyCookies(t, c, proxy.URL, b.srv.URL)
	code, _, _ := c.send("POST", "/logout", nil) // served by one instance...
	require.Equal(t, http.StatusOK, code)
	for name, thief := range map[string]*shopper{"a": onA, "b": onB} {
		code, _, _ := thief.send("GET", "/dashboard", nil) // ...dead on both at once
		assert.Equal(t, http.StatusSeeOther, code, "a copied cookie replayed on instance %s", name)
	}
}
