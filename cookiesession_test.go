package session_test

// End-to-end tests of the sealed-cookie mode: the demo's routes served over
// real TLS through httptest, with a client that keeps cookies the way a
// browser does.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
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

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so that tests see them.
type browser struct {
	t   *testing.T
	c   *http.Client
	jar *cookiejar.Jar
}

func newJar() *cookiejar.Jar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err) // only for invalid options
	}
	return jar
}

func newBrowser(t *testing.T, d *demo) *browser {
	jar := newJar()
	c := d.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, c: c, jar: jar}
}

// on sends the next request to another instance, keeping the cookies.
func (b *browser) do(d *demo, method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var res *http.Response
	var err error
	if method == http.MethodPost {
		res, err = b.c.PostForm(d.srv.URL+path, form)
	} else {
		res, err = b.c.Get(d.srv.URL + path)
	}
	require.NoError(b.t, err)
	defer res.Body.Close()
	return res, body(b.t, res)
}

// cookies returns the session cookies the jar holds for d, by name.
func (b *browser) cookies(d *demo) map[string]string {
	u, _ := url.Parse(d.srv.URL)
	out := map[string]string{}
	for _, c := range b.jar.Cookies(u) {
		out[c.Name] = c.Value
	}
	return out
}

func (b *browser) setCookie(d *demo, name, value string) {
	u, _ := url.Parse(d.srv.URL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

func login(t *testing.T, b *browser, d *demo) {
	t.Helper()
	res, _ := b.do(d, http.MethodPost, "/login", url.Values{"username": {"admin"}, "password": {"123"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/dashboard", res.Header.Get("Location"))
}

func TestDemoSetGetDelete(t *testing.T) {
	d := startDemo(t, cookiesession.GenerateKey())
	b := newBrowser(t, d)

	_, got := b.do(d, "GET", "/get", nil)
	assert.JSONEq(t, `{"username":null,"lastVisit":null}`, got)

	res, _ := b.do(d, "GET", "/set", nil)
	assert.Equal(t, 200, res.StatusCode)
	_, got = b.do(d, "GET", "/get", nil)
	var v struct {
		Username  string
		LastVisit time.Time
	}
	require.NoError(t, json.Unmarshal([]byte(got), &v))
	assert.Equal(t, "john_doe", v.Username)
	assert.WithinDuration(t, time.Now(), v.LastVisit, time.Minute)

	res, _ = b.do(d, "GET", "/delete", nil)
	assert.Equal(t, 200, res.StatusCode)
	_, got = b.do(d, "GET", "/get", nil)
	assert.JSONEq(t, `{"username":null,"lastVisit":null}`, got)
	assert.Empty(t, b.cookies(d), "the cookie is gone")
}

func TestDemoLoginDashboardLogout(t *testing.T) {
	d := startDemo(t, cookiesession.GenerateKey())
	b := newBrowser(t, d)

	res, _ := b.do(d, "GET", "/dashboard", nil)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/login", res.Header.Get("Location"))

	res, page := b.do(d, "GET", "/login", nil)
	assert.Equal(t, 200, res.StatusCode)
	assert.Contains(t, page, `name="password"`)

	res, _ = b.do(d, "POST", "/login", url.Values{"username": {"admin"}, "password": {"wrong"}})
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)

	b.do(d, "GET", "/set", nil) // a session from before the login
	before := b.cookies(d)["session"]
	login(t, b, d)
	after := b.cookies(d)["session"]
	assert.NotEqual(t, before, after)

	res, page = b.do(d, "GET", "/dashboard", nil)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "Welcome admin", page)

	res, page = b.do(d, "POST", "/logout", nil)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "Logged out", page)
	res, _ = b.do(d, "GET", "/dashboard", nil)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
}

func TestDemoCookieAttributes(t *testing.T) {
	d := startDemo(t, cookiesession.GenerateKey())
	b := newBrowser(t, d)
	res, _ := b.do(d, "GET", "/set", nil)
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
	login(t, b, d)

	var want []string
	var largest int
	for i := 0; ; i++ {
		item := fmt.Sprintf("item-%03d-%s", i, strings.Repeat("x", 40))
		res, _ := b.do(d, "POST", "/add-to-cart", url.Values{"item": {item}})
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
	jar := b.cookies(d)
	assert.Contains(t, jar, "session.1", "a full cart spans several cookies")
	assert.Greater(t, len(want), 80, "the default budget holds a cart of dozens of items")
	t.Logf("cart of %d items: %d cookies, largest Set-Cookie %d bytes", len(want), len(jar), largest)

	_, got := b.do(d, "GET", "/cart", nil)
	var cart []string
	require.NoError(t, json.Unmarshal([]byte(got), &cart))
	assert.Equal(t, want, cart)

	_, page := b.do(d, "GET", "/dashboard", nil)
	assert.Equal(t, "Welcome admin", page, "still logged in across chunks")

	// Logging out expires every chunk.
	b.do(d, "POST", "/logout", nil)
	assert.Empty(t, b.cookies(d))
}

func TestDemoFlash(t *testing.T) {
	d := startDemo(t, cookiesession.GenerateKey())
	b := newBrowser(t, d)
	b.do(d, "POST", "/flash", url.Values{"message": {"Saved!"}})
	b.do(d, "POST", "/flash", url.Values{"message": {"And again"}})
	_, got := b.do(d, "GET", "/flash", nil)
	assert.JSONEq(t, `["Saved!","And again"]`, got)
	_, got = b.do(d, "GET", "/flash", nil)
	assert.JSONEq(t, `[]`, got, "flashes are consumed")
}

func TestDemoKeyRotationLogsNoOneOut(t *testing.T) {
	oldKey, newKey := cookiesession.GenerateKey(), cookiesession.GenerateKey()
	before := startDemo(t, oldKey)
	b := newBrowser(t, before)
	login(t, b, before)
	sealedWithOld := b.cookies(before)["session"]

	// Step 1: the new key is added second (opens, does not seal yet).
	// Step 2: it is promoted: it seals, and the old one only opens.
	promoted := startDemo(t, newKey, oldKey)
	b.setCookie(promoted, "session", sealedWithOld)
	res, page := b.do(promoted, "GET", "/dashboard", nil)
	assert.Equal(t, "Welcome admin", page)
	require.Len(t, res.Cookies(), 1, "a cookie under a retired key is re-sealed on the spot")
	resealed := res.Cookies()[0].Value
	assert.NotEqual(t, sealedWithOld, resealed)

	// Step 3: the old key is dropped. The re-sealed cookie still works,
	// the one sealed with the old key does not.
	after := startDemo(t, newKey)
	b.setCookie(after, "session", resealed)
	_, page = b.do(after, "GET", "/dashboard", nil)
	assert.Equal(t, "Welcome admin", page)

	stale := newBrowser(t, after)
	stale.setCookie(after, "session", sealedWithOld)
	res, _ = stale.do(after, "GET", "/dashboard", nil)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
}

func TestDemoTamperedCookieIsLoggedOutNeverAnError(t *testing.T) {
	d := startDemo(t, cookiesession.GenerateKey())
	b := newBrowser(t, d)
	login(t, b, d)
	good := b.cookies(d)["session"]

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
			evil.setCookie(d, "session", value)
			res, _ := evil.do(d, "GET", "/dashboard", nil)
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
	login(t, b, other)
	return b.cookies(other)["session"]
}

func TestDemoCookieCannotMoveToAnotherName(t *testing.T) {
	key := cookiesession.GenerateKey()
	d := startDemo(t, key)
	b := newBrowser(t, d)
	login(t, b, d)
	token := b.cookies(d)["session"]

	store, err := cookiesession.New(key)
	require.NoError(t, err)
	admin := session.New(store)
	admin.Cookie.Name = "admin_session"
	srv := httptest.NewTLSServer(app.New(admin))
	defer srv.Close()
	other := &demo{srv: srv, m: admin}
	evil := newBrowser(t, other)
	evil.setCookie(other, "admin_session", token)
	res, _ := evil.do(other, "GET", "/dashboard", nil)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "the seal is bound to its cookie name")
}

func TestDemoExpiryIsEnforcedInsideTheSeal(t *testing.T) {
	d := startDemo(t, cookiesession.GenerateKey())
	d.m.IdleTimeout = 20 * time.Minute
	d.m.Lifetime = 2 * time.Hour
	b := newBrowser(t, d)
	login(t, b, d)
	token := b.cookies(d)["session"]

	// The browser keeps the cookie (a copy, here), but the server refuses
	// the session once it is idle for longer than IdleTimeout.
	d.clock.Add(21 * time.Minute)
	replay := newBrowser(t, d)
	replay.setCookie(d, "session", token)
	res, _ := replay.do(d, "GET", "/dashboard", nil)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)

	// Kept active, it still ends at Lifetime.
	d2 := startDemo(t, cookiesession.GenerateKey())
	d2.m.IdleTimeout = 20 * time.Minute
	d2.m.Lifetime = time.Hour
	b2 := newBrowser(t, d2)
	login(t, b2, d2)
	for range 5 {
		d2.clock.Add(11 * time.Minute)
		_, page := b2.do(d2, "GET", "/dashboard", nil)
		require.Equal(t, "Welcome admin", page)
	}
	d2.clock.Add(6 * time.Minute)
	res, _ = b2.do(d2, "GET", "/dashboard", nil)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
}
