package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/examples/internal/stores"
	"github.com/go-sealed/session/serverstore"
)

// app is an application over the store the admin page manages: GET
// /login?user=NAME signs in (a new session, tagged with the user), GET
// /visit makes an anonymous session, and GET /whoami answers
// "ID USER" of the request's session ("ID " when anonymous, "" for none).
func app(store *serverstore.Store) http.Handler {
	m := session.New(store)
	m.Cookie.Secure = false
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Put("seen", true)
		s.SetUser(r.FormValue("user"))
	})
	mux.HandleFunc("GET /visit", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Put("seen", true)
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if s.Has("seen") {
			_, _ = io.WriteString(w, s.ID()+" "+s.UserID())
		}
	})
	return m.Handler(mux)
}

// client is a browser of app: one session cookie.
type client struct {
	t      *testing.T
	app    http.Handler
	cookie *http.Cookie
}

func (c *client) get(path string) string {
	c.t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	rec := httptest.NewRecorder()
	c.app.ServeHTTP(rec, req)
	require.Equal(c.t, http.StatusOK, rec.Code)
	for _, ck := range rec.Result().Cookies() {
		c.cookie = ck
	}
	return rec.Body.String()
}

// id returns the client's session ID, "" once it has none.
func (c *client) id() string {
	id, _, _ := strings.Cut(c.get("/whoami"), " ")
	return id
}

// adminClient sends requests to the admin page.
type adminClient struct {
	t   *testing.T
	url string
}

// do sends a request with the admin's password if auth, and headers, and
// returns the status, the body and the response's headers.
func (a adminClient) do(method, path string, form url.Values, auth bool, headers ...string) (int, string, http.Header) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(form.Encode()))
	require.NoError(a.t, err)
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth {
		req.SetBasicAuth("admin", "secret")
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	require.NoError(a.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(a.t, err)
	return res.StatusCode, string(b), res.Header
}

// post sends a form from the page itself, as a browser does.
func (a adminClient) post(path string, form url.Values) int {
	a.t.Helper()
	code, _, _ := a.do("POST", path, form, true, "Sec-Fetch-Site", "same-origin", "Origin", a.url)
	return code
}

// TestAdmin creates sessions through an application, lists them on the
// admin page, and signs out one session, one user everywhere, and
// everyone, checking each through the public API and the application;
// and checks that the page refuses requests without the password, and
// sign-outs by GET or from another site. Over each server store that
// needs no service.
func TestAdmin(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]stores.Config{
		"memory": {Store: "memory"},
		"bolt":   {Store: "bolt", BoltPath: filepath.Join(dir, "sessions.db")},
		"sqlite": {Store: "sqlite", SQLitePath: filepath.Join(dir, "sessions.sqlite")},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			store, closeStore, err := openServerStore(ctx, cfg)
			require.NoError(t, err)
			defer closeStore()
			a := app(store)
			login := func(user string) *client {
				c := &client{t: t, app: a}
				c.get("/login?user=" + user)
				return c
			}
			aliceA, aliceB, bob := login("alice"), login("alice"), login("bob")
			anon := &client{t: t, app: a}
			anon.get("/visit")
			all := []*client{aliceA, aliceB, bob, anon}
			count := func() int {
				n, err := store.Count(ctx)
				require.NoError(t, err)
				return n
			}
			require.Equal(t, 4, count())

			srv := httptest.NewServer(newAdmin(store, "secret", slog.New(slog.NewTextHandler(io.Discard, nil))))
			defer srv.Close()
			admin := adminClient{t: t, url: srv.URL}

			// The list: the total, every session, the users.
			code, body, h := admin.do("GET", "/", nil, true)
			require.Equal(t, http.StatusOK, code)
			assert.Contains(t, body, "4 live sessions")
			for _, c := range all {
				assert.Contains(t, body, "<code>"+c.id()+"</code>")
			}
			assert.Contains(t, body, "<tr><td>alice</td><td>2</td>")
			assert.Contains(t, body, "<tr><td>bob</td><td>1</td>")
			assert.Equal(t, "no-store", h.Get("Cache-Control"))
			assert.Equal(t, "DENY", h.Get("X-Frame-Options"))

			// No password, a wrong one, a GET that would sign out, a POST
			// from another site: refused, and nothing ended.
			code, _, h = admin.do("GET", "/", nil, false)
			assert.Equal(t, http.StatusUnauthorized, code)
			assert.Contains(t, h.Get("WWW-Authenticate"), "Basic")
			code, _, _ = admin.do("POST", "/signout/all", url.Values{"confirm": {"yes"}}, false)
			assert.Equal(t, http.StatusUnauthorized, code)
			req, _ := http.NewRequest("GET", srv.URL+"/", nil)
			req.SetBasicAuth("admin", "wrong")
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
			code, _, _ = admin.do("GET", "/signout/all?confirm=yes", nil, true)
			assert.Equal(t, http.StatusMethodNotAllowed, code)
			code, _, _ = admin.do("POST", "/signout/all", url.Values{"confirm": {"yes"}}, true, "Sec-Fetch-Site", "cross-site")
			assert.Equal(t, http.StatusForbidden, code)
			code, _, _ = admin.do("POST", "/signout/all", url.Values{"confirm": {"yes"}}, true, "Origin", "http://evil.example")
			assert.Equal(t, http.StatusForbidden, code)
			require.Equal(t, 4, count(), "a refused request ended sessions")

			// One session: alice's first device.
			sessions, err := store.ListUser(ctx, "alice")
			require.NoError(t, err)
			require.Len(t, sessions, 2)
			target := aliceA.id()
			handle := ""
			for _, s := range sessions {
				if s.ID == target {
					handle = s.Handle
				}
			}
			require.NotEmpty(t, handle)
			// Posted with another owner, the handle ends nothing.
			require.Equal(t, http.StatusSeeOther, admin.post("/signout/session", url.Values{"user": {"bob"}, "handle": {handle}}))
			require.Equal(t, 4, count())
			require.Equal(t, http.StatusSeeOther, admin.post("/signout/session", url.Values{"user": {"alice"}, "handle": {handle}}))
			assert.Empty(t, aliceA.id(), "the signed-out session still loads")
			assert.Equal(t, aliceB.get("/whoami"), aliceB.id()+" alice")
			sessions, err = store.ListUser(ctx, "alice")
			require.NoError(t, err)
			require.Len(t, sessions, 1)
			require.Equal(t, 3, count())

			// One user, everywhere.
			require.Equal(t, http.StatusSeeOther, admin.post("/signout/user", url.Values{"user": {"bob"}}))
			assert.Empty(t, bob.id())
			sessions, err = store.ListUser(ctx, "bob")
			require.NoError(t, err)
			require.Empty(t, sessions)
			require.Equal(t, 2, count())
			_, body, _ = admin.do("GET", "/", nil, true)
			assert.Contains(t, body, "2 live sessions")
			assert.NotContains(t, body, "<td>bob</td>")

			// Everyone, once confirmed.
			require.Equal(t, http.StatusBadRequest, admin.post("/signout/all", nil))
			require.Equal(t, 2, count())
			require.Equal(t, http.StatusSeeOther, admin.post("/signout/all", url.Values{"confirm": {"yes"}}))
			require.Zero(t, count())
			for _, c := range all {
				assert.Empty(t, c.id())
			}
			_, body, _ = admin.do("GET", "/", nil, true)
			assert.Contains(t, body, "0 live sessions")
		})
	}
}

func TestStartup(t *testing.T) {
	t.Setenv("ADMIN_PASSWORD", "")
	err := run(context.Background(), []string{"-store", "memory"})
	require.ErrorContains(t, err, "ADMIN_PASSWORD is not set")
	t.Setenv("ADMIN_PASSWORD", "secret")
	err = run(context.Background(), []string{"-store", "cookie"})
	require.ErrorContains(t, err, "-store cookie keeps sessions in the browser")
	cfg, err := parseFlags([]string{"-store", "sqlite", "-sqlite-path", "x.sqlite"})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8081", cfg.addr)
	assert.Equal(t, "x.sqlite", cfg.SQLitePath)
}

func TestSameOrigin(t *testing.T) {
	for _, c := range []struct {
		headers []string
		want    bool
	}{
		{nil, true}, // not a browser
		{[]string{"Sec-Fetch-Site", "same-origin"}, true},
		{[]string{"Sec-Fetch-Site", "none"}, true}, // typed in the address bar
		{[]string{"Sec-Fetch-Site", "same-site"}, false},
		{[]string{"Sec-Fetch-Site", "cross-site"}, false},
		{[]string{"Sec-Fetch-Site", "cross-site", "Origin", "http://admin.test"}, false},
		{[]string{"Origin", "http://admin.test"}, true},
		{[]string{"Origin", "http://evil.test"}, false},
		{[]string{"Origin", "null"}, false},
	} {
		r := httptest.NewRequest("POST", "http://admin.test/signout/all", nil)
		for i := 0; i < len(c.headers); i += 2 {
			r.Header.Set(c.headers[i], c.headers[i+1])
		}
		assert.Equal(t, c.want, sameOrigin(r), "%v", c.headers)
	}
}
