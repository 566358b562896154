package session_test

// End-to-end tests of the sealed-cookie mode: the demo's routes served over
// real TLS through httptest, with a client that keeps cookies the way a
// browser does.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/demo/app"
	"github.com/go-sealed/session/internal/browsertest"
)

// demo is one running instance of the demo app in cookie mode.
type demo struct {
	srv   *httptest.Server
	m     *session.Manager
	clock *clock
}

func startDemo(t *testing.T, keys ...[]byte) *demo {
	t.Helper()
	store, err := cookiesession.New(keys...)
	require.NoError(t, err)
	m := session.New(store)
	clk := newClock()
	clk.t = time.Now() // the cookie jar expires cookies on the real clock
	m.Now, store.Now = clk.Now, clk.Now
	srv := httptest.NewTLSServer(app.New(m))
	t.Cleanup(srv.Close)
	return &demo{srv: srv, m: m, clock: clk}
}

// newBrowser is a browser with an empty jar for d; it reaches another demo
// by its absolute URL, with the same cookies (they go by host, not port).
func newBrowser(t *testing.T, d *demo) *browsertest.Browser { return browsertest.ForServer(t, d.srv) }

func login(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	res, _ := b.Post("/login", url.Values{"username": {"admin"}, "password": {"123"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/dashboard", res.Header.Get("Location"))
}

func TestDemoSetGetDelete(t *testing.T) {
	d := startDemo(t, cookiesession.GenerateKey())
	b := newBrowser(t, d)

	_, got := b.Get("/get")
	assert.JSONEq(t, `{"username":null,"lastVisit":null}`, got)

	res, _ := b.Get("/set")
	assert.Equal(t, 200, res.StatusCode)
	_, got = b.Get("/get")
	var v struct {
		Username  string
		LastVisit time.Time
	}
	require.NoError(t, json.Unmarshal([]byte(got), &v))
	assert.Equal(t, "john_doe", v.Username)
	assert.WithinDuration(t, time.Now(), v.LastVisit, time.Minute)

	res, _ = b.Get("/delete")
	assert.Equal(t, 200, res.StatusCode)
	_, got = b.Get("/get")
	assert.JSONEq(t, `{"username":null,"lastVisit":null}`, got)
	assert.Empty(t, b.Cookies(), "the cookie is gone")
}

func TestDemoLoginDashboardLogout(t *testing.T) {
	d := startDemo(t, cookiesession.GenerateKey())
	b := newBrowser(t, d)

	res, _ := b.Get("/dashboard")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/login", res.Header.Get("Location"))

	res, page := b.Get("/login")
	assert.Equal(t, 200, res.StatusCode)
	assert.Contains(t, page, `name="password"`)

	res, _ = b.Post("/login", url.Values{"username": {"admin"}, "password": {"wrong"}})
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)

	b.Get("/set") // a session from before the login
	before := b.Cookies()["session"]
	login(t, b)
	after := b.Cookies()["session"]
	assert.NotEqual(t, before, after)

	res, page = b.Get("/dashboard")
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "Welcome admin", page)

	res, page = b.Post("/logout", nil)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "Logged out", page)
	res, _ = b.Get("/dashboard")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
}

func TestDemoCookieAttributes(t *testing.T) {
	d := startDemo(t, cookiesession.GenerateKey())
	b := newBrowser(t, d)
	res, _ := b.Get("/set")
	require.Len(t, res.Cookies(), 1)
	c := res.Cookies()[0]
	assert.Equal(t, "session", c.Name)
	assert.True(t, c.HttpOnly)
	assert.True(t, c.Secure)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.NotContains(t, c.Value, "john_doe", "the value is sealed, not readable")
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "john_doe")
}

func TestDemoCartAndChunking(t *testing.T) {
	d := startDemo(t, cookiesession.GenerateKey())
	b := newBrowser(t, d)
	login(t, b)

	var want []string
	var largest int
	for i := 0; ; i++ {
		item := fmt.Sprintf("item-%03d-%s", i, strings.Repeat("x", 40))
		res, _ := b.Post("/add-to-cart", url.Values{"item": {item}})
		if res.StatusCode == http.StatusRequestEntityTooLarge {
			// The cart no longer fits the default cookie budget: the
			// save fails cleanly, and the cart stays as it was.
			assert.Empty(t, res.Header.Values("Set-Cookie"), "a failed save sets no cookie")
			break
		}
		require.Equal(t, 200, res.StatusCode, "item %d", i)
		require.Less(t, i, 200, "the cart never filled the default cookie budget")
		want = append(want, item)
		for _, sc := range res.Header.Values("Set-Cookie") {
			assert.LessOrEqual(t, len(sc), session.MaxCookieSize, "every Set-Cookie within the browser limit")
			largest = max(largest, len(sc))
		}
	}
	jar := b.Cookies()
	assert.Contains(t, jar, "session.1", "a full cart spans several cookies")
	assert.Greater(t, len(want), 80, "the default budget holds a cart of dozens of items")
	t.Logf("cart of %d items: %d cookies, largest Set-Cookie %d bytes", len(want), len(jar), largest)

	_, got := b.Get("/cart")
	var cart []string
	require.NoError(t, json.Unmarshal([]byte(got), &cart))
	assert.Equal(t, want, cart)

	_, page := b.Get("/dashboard")
	assert.Equal(t, "Welcome admin", page, "still logged in across chunks")

	// Logging out expires every chunk.
	b.Post("/logout", nil)
	assert.Empty(t, b.Cookies())
}

func TestDemoFlash(t *testing.T) {
	d := startDemo(t, cookiesession.GenerateKey())
	b := newBrowser(t, d)
	b.Post("/flash", url.Values{"message": {"Saved!"}})
	b.Post("/flash", url.Values{"message": {"And again"}})
	_, got := b.Get("/flash")
	assert.JSONEq(t, `["Saved!","And again"]`, got)
	_, got = b.Get("/flash")
	assert.JSONEq(t, `[]`, got, "flashes are consumed")
}

func TestDemoKeyRotationLogsNoOneOut(t *testing.T) {
	oldKey, newKey := cookiesession.GenerateKey(), cookiesession.GenerateKey()
	before := startDemo(t, oldKey)
	b := newBrowser(t, before)
	login(t, b)
	sealedWithOld := b.Cookies()["session"]

	// Step 1: the new key is added second (opens, does not seal yet).
	// Step 2: it is promoted: it seals, and the old one only opens.
	promoted := startDemo(t, newKey, oldKey)
	b.SetCookie("session", sealedWithOld)
	res, page := b.Get(promoted.srv.URL + "/dashboard")
	assert.Equal(t, "Welcome admin", page)
	require.Len(t, res.Cookies(), 1, "a cookie under a retired key is re-sealed on the spot")
	resealed := res.Cookies()[0].Value
	assert.NotEqual(t, sealedWithOld, resealed)

	// Step 3: the old key is dropped. The re-sealed cookie still works,
	// the one sealed with the old key does not.
	after := startDemo(t, newKey)
	b.SetCookie("session", resealed)
	_, page = b.Get(after.srv.URL + "/dashboard")
	assert.Equal(t, "Welcome admin", page)

	stale := newBrowser(t, after)
	stale.SetCookie("session", sealedWithOld)
	res, _ = stale.Get("/dashboard")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
}

func TestDemoTamperedCookieIsLoggedOutNeverAnError(t *testing.T) {
	d := startDemo(t, cookiesession.GenerateKey())
	b := newBrowser(t, d)
	login(t, b)
	good := b.Cookies()["session"]

	tampered := map[string]string{
		"one character changed": good[:20] + string("AB"[boolToInt(good[20] == 'A')]) + good[21:],
		"truncated":             good[:len(good)/2],
		"appended":              good + "AAAA",
		"not base64":            "%%%not-a-cookie%%%",
		"empty-ish":             "x",
		"another key's cookie":  sealOnOtherKey(t),
	}
	for name, value := range tampered {
		t.Run(name, func(t *testing.T) {
			evil := newBrowser(t, d)
			evil.SetCookie("session", value)
			res, _ := evil.Get("/dashboard")
			assert.Equal(t, http.StatusSeeOther, res.StatusCode, "a new empty session: back to the login")
		})
	}
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sealOnOtherKey(t *testing.T) string {
	other := startDemo(t, cookiesession.GenerateKey())
	b := newBrowser(t, other)
	login(t, b)
	return b.Cookies()["session"]
}

func TestDemoCookieCannotMoveToAnotherName(t *testing.T) {
	key := cookiesession.GenerateKey()
	d := startDemo(t, key)
	b := newBrowser(t, d)
	login(t, b)
	token := b.Cookies()["session"]

	store, err := cookiesession.New(key)
	require.NoError(t, err)
	admin := session.New(store)
	admin.Cookie.Name = "admin_session"
	srv := httptest.NewTLSServer(app.New(admin))
	defer srv.Close()
	other := &demo{srv: srv, m: admin}
	evil := newBrowser(t, other)
	evil.SetCookie("admin_session", token)
	res, _ := evil.Get("/dashboard")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "the seal is bound to its cookie name")
}

func TestDemoExpiryIsEnforcedInsideTheSeal(t *testing.T) {
	d := startDemo(t, cookiesession.GenerateKey())
	d.m.IdleTimeout = 20 * time.Minute
	d.m.Lifetime = 2 * time.Hour
	b := newBrowser(t, d)
	login(t, b)
	token := b.Cookies()["session"]

	// The browser keeps the cookie (a copy, here), but the server refuses
	// the session once it is idle for longer than IdleTimeout.
	d.clock.Add(21 * time.Minute)
	replay := newBrowser(t, d)
	replay.SetCookie("session", token)
	res, _ := replay.Get("/dashboard")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)

	// Kept active, it still ends at Lifetime.
	d2 := startDemo(t, cookiesession.GenerateKey())
	d2.m.IdleTimeout = 20 * time.Minute
	d2.m.Lifetime = time.Hour
	b2 := newBrowser(t, d2)
	login(t, b2)
	for range 5 {
		d2.clock.Add(11 * time.Minute)
		_, page := b2.Get("/dashboard")
		require.Equal(t, "Welcome admin", page)
	}
	d2.clock.Add(6 * time.Minute)
	res, _ = b2.Get("/dashboard")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
}
