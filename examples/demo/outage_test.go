package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/examples/demo/app"
	"github.com/go-sealed/session/examples/internal/stores"
	"github.com/go-sealed/session/internal/browsertest"
	"github.com/go-sealed/session/internal/tcpproxy"
	"github.com/go-sealed/session/serverstore/storetest"
)

// backendUnderTest is a server store whose connection goes through a proxy
// the test can cut.
type backendUnderTest struct {
	name    string
	target  string                           // host:port of the real service
	config  func(proxy string) stores.Config // the demo's flags, pointed at the proxy
	service string
}

func outageBackends() []backendUnderTest {
	return []backendUnderTest{
		{
			name: "redis", service: "Redis",
			target: hostPort(os.Getenv("SESSION_TEST_REDIS_URL"), "127.0.0.1:6379"),
			config: func(proxy string) stores.Config {
				return stores.Config{Store: "redis", RedisURL: "redis://" + proxy + "/0?dial_timeout=1s&read_timeout=1s&write_timeout=1s"}
			},
		},
		{
			name: "postgres", service: "PostgreSQL",
			target: hostPort(os.Getenv("SESSION_TEST_POSTGRES_URL"), "127.0.0.1:5432"),
			config: func(proxy string) stores.Config {
				return stores.Config{Store: "postgres", PostgresURL: "postgres://postgres@" + proxy + "/test?connect_timeout=1", Timeout: time.Second}
			},
		},
		{
			name: "mysql", service: "MySQL",
			target: "127.0.0.1:3306",
			config: func(proxy string) stores.Config {
				return stores.Config{Store: "mysql", MySQLDSN: "root@tcp(" + proxy + ")/test?interpolateParams=true&timeout=1s&readTimeout=1s&writeTimeout=1s", Timeout: time.Second}
			},
		},
		{
			name: "mongo", service: "MongoDB (scripts/mongo.sh start runs FerretDB)",
			target: hostPort(os.Getenv("SESSION_TEST_MONGO_URL"), "127.0.0.1:27017"),
			config: func(proxy string) stores.Config {
				return stores.Config{Store: "mongo", MongoURL: "mongodb://" + proxy + "/go_sealed_demo_test?connectTimeoutMS=1000&serverSelectionTimeoutMS=1000", Timeout: time.Second}
			},
		},
	}
}

// hostPort takes the host:port out of a service URL, or returns def.
func hostPort(rawURL, def string) string {
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		return u.Host
	}
	return def
}

// shopper is one client of the demo, with its own cookie jar, sending
// to base.
type shopper struct {
	*browsertest.Browser
	t    *testing.T
	base string
}

func newShopper(t *testing.T, base string) *shopper {
	return &shopper{Browser: browsertest.Open(t, base), t: t, base: base}
}

func (s *shopper) send(method, path string, form url.Values) (int, string, time.Duration) {
	start := time.Now()
	var res *http.Response
	var body string
	if method == http.MethodPost {
		res, body = s.Post(s.base+path, form)
	} else {
		res, body = s.Get(s.base + path)
	}
	return res.StatusCode, body, time.Since(start)
}

func (s *shopper) cart() (int, []string) {
	code, body, _ := s.send("GET", "/cart", nil)
	var cart []string
	if code == http.StatusOK {
		require.NoError(s.t, json.Unmarshal([]byte(body), &cart))
	}
	return code, cart
}

func (s *shopper) add(item string) int {
	code, _, _ := s.send("POST", "/add-to-cart", url.Values{"item": {item}})
	return code
}

// TestBackendOutage cuts, then stalls, the connection to each real backend
// while clients use the demo: requests that need the backend get the
// ErrorFunc's bare 500 within the store timeout, and once the connection is
// back the same server answers again, with every session as it was.
func TestBackendOutage(t *testing.T) {
	for _, b := range outageBackends() {
		t.Run(b.name, func(t *testing.T) {
			proxy, err := tcpproxy.Start(b.target)
			require.NoError(t, err)
			defer proxy.Close()

			ctx := context.Background()
			store, closeStore, err := stores.Open(ctx, b.config(proxy.Addr()))
			storetest.Require(t, b.service, err)
			defer closeStore()
			m := session.New(store)
			m.Cookie.Secure = false
			var logged strings.Builder
			m.Logger = newTextLogger(&logged)
			srv := httptest.NewServer(app.New(m))
			defer srv.Close()

			alice, bob := newShopper(t, srv.URL), newShopper(t, srv.URL)
			for i := range 3 {
				require.Equal(t, 200, alice.add(fmt.Sprint("alice-", i)))
				require.Equal(t, 200, bob.add(fmt.Sprint("bob-", i)))
			}

			for _, fault := range []struct {
				name  string
				apply func()
			}{{"cut", proxy.Cut}, {"stall", proxy.Stall}} {
				t.Run(fault.name, func(t *testing.T) {
					fault.apply()
					code, body, took := alice.send("GET", "/cart", nil)
					assert.Equal(t, http.StatusInternalServerError, code)
					assert.Equal(t, "Internal Server Error\n", body, "no backend detail reaches the client")
					assert.Less(t, took, 4*time.Second, "bounded by the store timeout, not hung")
					assert.Equal(t, http.StatusInternalServerError, alice.add("lost-during-outage"))

					proxy.Restore()
					recovered := time.Now()
					var cart []string
					require.Eventually(t, func() bool {
						code, cart = alice.cart()
						return code == http.StatusOK
					}, 15*time.Second, 100*time.Millisecond, "the server recovers by itself")
					t.Logf("%s %s: recovered %v after restore", b.name, fault.name, time.Since(recovered).Round(time.Millisecond))
					assert.Equal(t, []string{"alice-0", "alice-1", "alice-2"}, cart, "the session is intact")
					code, cart = bob.cart()
					assert.Equal(t, http.StatusOK, code)
					assert.Equal(t, []string{"bob-0", "bob-1", "bob-2"}, cart, "other sessions are intact")
				})
			}
			require.Equal(t, 200, alice.add("after"))
			_, cart := alice.cart()
			assert.Equal(t, []string{"alice-0", "alice-1", "alice-2", "after"}, cart)
			assert.Contains(t, logged.String(), "session: store failure", "the failure is logged on the server")
		})
	}
}
