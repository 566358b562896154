package express

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/internal/nodetest"
)

// The Express app's settings (examples/express/node/app.js), which the
// tests' Stores mirror.
var (
	appCookie = session.CookieOptions{Name: "connect.sid", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	appMaxAge = 24 * time.Hour
)

// newStore returns a Store on b with the Express app's settings.
func newStore(t *testing.T, b Backend, secrets ...string) *Store {
	t.Helper()
	if len(secrets) == 0 {
		secrets = []string{"test secret"}
	}
	s, err := New(b, secrets, WithCookie(appCookie), WithMaxAge(appMaxAge))
	require.NoError(t, err)
	return s
}

// goApp serves, through a Manager on st set up by Configure, the routes
// the tests use on the Go side.
func goApp(t *testing.T, st *Store) *httptest.Server {
	m := session.New(st)
	st.Configure(m)
	return serveGo(t, m)
}

// serveGo serves the tests' Go routes through m.
func serveGo(t *testing.T, m *session.Manager) *httptest.Server {
	m.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		t.Logf("%s %s: %v", r.Method, r.URL.Path, err)
		w.WriteHeader(http.StatusInternalServerError)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-to-cart", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		cart, _ := session.GetAs[[]string](s, "cart")
		s.Put("cart", append(cart, r.FormValue("item")))
	})
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		cart, _ := session.GetAs[[]string](m.Get(r), "cart")
		if cart == nil {
			cart = []string{}
		}
		_ = json.NewEncoder(w).Encode(cart)
	})
	mux.HandleFunc("POST /put", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Put(r.FormValue("key"), r.FormValue("value"))
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		v, _ := session.GetAs[string](m.Get(r), r.FormValue("key"))
		_, _ = io.WriteString(w, v)
	})
	mux.HandleFunc("POST /renew", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, m.Get(r).Renew())
	})
	mux.HandleFunc("POST /destroy", func(w http.ResponseWriter, r *http.Request) { m.Get(r).Destroy() })
	mux.HandleFunc("POST /user", func(w http.ResponseWriter, r *http.Request) { m.Get(r).SetUser(r.FormValue("id")) })
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, m.Get(r).UserID()) })
	mux.HandleFunc("GET /id", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, m.Get(r).ID()) })
	mux.HandleFunc("POST /deadline", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.FormValue("ms"))
		m.Get(r).SetDeadline(time.Now().Add(time.Duration(ms) * time.Millisecond))
	})
	srv := httptest.NewServer(m.Handler(mux))
	t.Cleanup(srv.Close)
	return srv
}

// stored returns the record the client's cookie names, as the backend
// holds it, nil if none.
func stored(t *testing.T, st *Store, token string) []byte {
	t.Helper()
	sid, _, ok := parseToken(st.secrets, token)
	require.True(t, ok, "the cookie does not verify")
	data, _, err := st.b.Get(context.Background(), sid)
	require.NoError(t, err)
	return data
}

// runStore checks the Store through a Manager, on the Go side alone.
func runStore(t *testing.T, tg target) {
	st := newStore(t, tg.b)
	srv := goApp(t, st)
	c := nodetest.NewBrowser(t)
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}

	// A new session: express-session's cookie, and its record.
	resp, _ := c.Do("POST", srv.URL+"/add-to-cart", form("item", "a"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	set := resp.Header.Get("Set-Cookie")
	assert.Regexp(t, `^connect\.sid=s%3A[A-Za-z0-9_-]{32}\.[A-Za-z0-9%]+; Path=/; Expires=[^;]+; Max-Age=86400; HttpOnly; SameSite=Lax$`, set)
	token := c.Cookie(srv.URL, "connect.sid")
	data := stored(t, st, token)
	var rec struct{ Cookie struct{ Expires string } }
	require.NoError(t, json.Unmarshal(data, &rec), string(data))
	assert.Equal(t, `{"cookie":{"originalMaxAge":86400000,"expires":"`+rec.Cookie.Expires+`","httpOnly":true,"path":"/","sameSite":"lax"},"cart":["a"]}`, string(data))
	expires, err := time.Parse(time.RFC3339, rec.Cookie.Expires)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(appMaxAge), expires, 5*time.Second)

	// Read back, with no write and no cookie.
	resp, _ = c.Do("GET", srv.URL+"/cart", nil)
	assert.Empty(t, resp.Header.Values("Set-Cookie"), "a read-only request set a cookie")
	assert.Equal(t, []string{"a"}, c.Cart(srv.URL))
	_, id := c.Do("GET", srv.URL+"/id", nil)
	_, again := c.Do("GET", srv.URL+"/id", nil)
	assert.Equal(t, id, again, "Session.ID changed without a renewal")
	sid, _, _ := parseToken(st.secrets, token)
	assert.NotContains(t, id, sid[:8], "Session.ID shows the session ID, a bearer secret")

	t.Run("merge", func(t *testing.T) {
		if !tg.atomicSwap {
			t.Skip("the server's compare-and-set is not atomic (FerretDB 1.x)")
		}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", srv.URL+"/put", strings.NewReader(form("key", fmt.Sprint("k", i), "value", "v").Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.AddCookie(&http.Cookie{Name: "connect.sid", Value: token})
				resp, err := http.DefaultClient.Do(req)
				if assert.NoError(t, err) {
					resp.Body.Close()
					assert.Equal(t, http.StatusOK, resp.StatusCode)
				}
			}()
		}
		wg.Wait()
		for i := range 8 {
			_, v := c.Do("GET", srv.URL+"/get?key=k"+fmt.Sprint(i), nil)
			assert.Equal(t, "v", v, "the change of one of 8 concurrent requests was lost")
		}
	})

	// A secret rotation: a cookie signed with an older secret loads, and
	// is signed again with the first; one signed with no secret of the
	// list does not load.
	rotated := goApp(t, newStore(t, tg.b, "newer secret", "test secret"))
	resp, _ = c.Do("GET", rotated.URL+"/cart", nil)
	assert.Equal(t, []string{"a"}, c.Cart(rotated.URL))
	require.NotEmpty(t, resp.Header.Values("Set-Cookie"), "a cookie signed with an older secret was not signed again")
	resigned := c.Cookie(srv.URL, "connect.sid")
	_, i, ok := parseToken([]string{"test secret", "newer secret"}, resigned)
	assert.True(t, ok && i == 1, "the cookie is not signed with the first secret")
	assert.Equal(t, []string{"a"}, c.Cart(rotated.URL))
	retired := goApp(t, newStore(t, tg.b, "newest secret"))
	assert.Empty(t, c.Cart(retired.URL), "a cookie signed with a retired secret loaded")
	c.SetCookie(srv.URL, "connect.sid", token)

	// Renew: a new session ID, the old one ends, the values stay.
	c.Do("POST", srv.URL+"/renew", nil)
	renewed := c.Cookie(srv.URL, "connect.sid")
	require.NotEqual(t, token, renewed)
	assert.Nil(t, stored(t, st, token), "the session ID before the renewal still has a record")
	assert.Equal(t, []string{"a"}, c.Cart(srv.URL))
	_, newID := c.Do("GET", srv.URL+"/id", nil)
	assert.NotEqual(t, id, newID, "Session.ID did not change with the session ID")

	// SetUser and SetDeadline, under MetaKey.
	c.Do("POST", srv.URL+"/user", form("id", "alice"))
	_, user := c.Do("GET", srv.URL+"/user", nil)
	assert.Equal(t, "alice", user)
	assert.Contains(t, string(stored(t, st, c.Cookie(srv.URL, "connect.sid"))), `,"_goSession":{"user":"alice"}}`)
	c.Do("POST", srv.URL+"/deadline", form("ms", "300"))
	assert.Equal(t, []string{"a"}, c.Cart(srv.URL))
	withDeadline := c.Cookie(srv.URL, "connect.sid")
	assert.Regexp(t, `"_goSession":\{"user":"alice","deadline":"[-0-9T:.]+Z"\}`, string(stored(t, st, withDeadline)))
	time.Sleep(400 * time.Millisecond)
	assert.Empty(t, c.Cart(srv.URL), "a session past its deadline loaded")
	assert.Nil(t, stored(t, st, withDeadline), "a session past its deadline was left in the store")

	// Destroy.
	c.Do("POST", srv.URL+"/add-to-cart", form("item", "b"))
	token = c.Cookie(srv.URL, "connect.sid")
	resp, _ = c.Do("POST", srv.URL+"/destroy", nil)
	assert.Contains(t, resp.Header.Get("Set-Cookie"), "connect.sid=; Path=/; Expires=Thu, 01 Jan 1970")
	assert.Nil(t, stored(t, st, token))

	// A value under express-session's own name is refused, not saved.
	resp, _ = c.Do("POST", srv.URL+"/put", form("key", "cookie", "value", "x"))
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
}

// TestCheck checks that a Manager whose settings differ from the Express
// app's panics at start, naming each difference, and that Configure sets
// them.
func TestCheck(t *testing.T) {
	st, err := New(ttlOnly(time.Hour), []string{"s"}, WithCookie(appCookie), WithMaxAge(appMaxAge))
	require.NoError(t, err)
	m := session.New(st)
	m.Transport = session.TransportHeader
	err = st.Check(m)
	require.Error(t, err)
	for _, want := range []string{
		"Codec must be session.JSON",
		"Transport must carry the token in the cookie",
		`Cookie.Name is "session", the Express app's cookie is "connect.sid"`,
		"Cookie.HttpOnly, Secure, SameSite and Partitioned are true, true, lax and false, the Express app's are true, false, lax and false",
		"IdleTimeout is 0s, the Express app's sessions end 24h0m0s after their last use",
		"BrowserSessionIdleTimeout, or IdleTimeout) is 0s, the Node store's TTL is 1h0m0s",
		"Store.Configure sets them all",
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.PanicsWithValue(t, err.Error(), func() { m.Handler(http.NotFoundHandler()) })

	st.Configure(m)
	m.Transport = session.TransportCookie
	assert.NoError(t, st.Check(m))
	assert.NotPanics(t, func() { m.Handler(http.NotFoundHandler()) })
	assert.Equal(t, appMaxAge, m.IdleTimeout)
	assert.Equal(t, time.Hour, m.BrowserSessionIdleTimeout)
	assert.Equal(t, appMaxAge, m.Lifetime)

	m.Lifetime = time.Hour
	assert.ErrorContains(t, st.Check(m), "Lifetime is 1h0m0s, shorter than the 24h0m0s express-session keeps an unused session")

	// Without maxAge: a browser-session cookie, which the store keeps for
	// its TTL after each use.
	st, err = New(ttlOnly(14*24*time.Hour), []string{"s"})
	require.NoError(t, err)
	m = session.New(st)
	st.Configure(m)
	assert.NoError(t, st.Check(m))
	assert.False(t, m.Cookie.Persist)
	assert.Equal(t, 14*24*time.Hour, m.IdleTimeout)
	assert.Equal(t, 14*24*time.Hour, m.Lifetime)
	assert.Equal(t, session.CookieOptions{Name: "connect.sid", Path: "/", HttpOnly: true}, m.Cookie)
}

func TestNew(t *testing.T) {
	b := ttlOnly(time.Hour)
	_, err := New(nil, []string{"s"})
	assert.ErrorContains(t, err, "nil Backend")
	_, err = New(b, nil)
	assert.ErrorContains(t, err, "no secret")
	_, err = New(b, []string{"s", ""})
	assert.ErrorContains(t, err, "secret 2 of 2 is empty")
	_, err = New(b, []string{"s"}, WithMaxAge(-time.Second))
	assert.ErrorContains(t, err, "must not be negative")
	_, err = New(b, []string{"s"}, WithCookie(session.CookieOptions{Name: "bad name"}))
	assert.ErrorContains(t, err, "WithCookie")
}

// ttlOnly returns a Backend with the given TTL for the tests that call
// nothing else of it: a Redis backend whose server is never asked.
func ttlOnly(ttl time.Duration) Backend {
	b, err := NewRedis(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), WithTTL(ttl))
	if err != nil {
		panic(err)
	}
	return b
}
