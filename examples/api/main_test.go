package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/internal/browsertest"
)

// newClient serves the API over store and returns a client for it. It
// talks to the API the way a mobile app or CLI does, headers only: call
// checks that no response sets a cookie, so its jar stays empty and
// nothing travels in a cookie.
func newClient(t *testing.T, store string) *browsertest.Browser {
	t.Helper()
	st, closeStore, err := openStore(store)
	require.NoError(t, err)
	t.Cleanup(closeStore)
	srv := httptest.NewServer(newAPI(newManager(st)))
	t.Cleanup(srv.Close)
	return browsertest.Open(t, srv.URL)
}

// call sends a request with the given Authorization header (none if
// empty) and returns the response and its decoded JSON body.
func call(t *testing.T, c *browsertest.Browser, method, path, authorization, body string) (*http.Response, map[string]string) {
	t.Helper()
	req := c.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, text := c.Do(req)
	assert.Empty(t, res.Header.Values("Set-Cookie"), "%s %s: the header transport never sets a cookie", method, path)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	var out map[string]string
	require.NoError(t, json.Unmarshal([]byte(text), &out), "%s %s: a JSON body", method, path)
	return res, out
}

// login logs in as admin, sending authorization if not empty, and returns
// the token from the Session-Token header.
func login(t *testing.T, c *browsertest.Browser, authorization string) string {
	t.Helper()
	res, body := call(t, c, http.MethodPost, "/login", authorization, `{"username":"admin","password":"123"}`)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, map[string]string{"user": "admin"}, body)
	token := res.Header.Get("Session-Token")
	require.NotEmpty(t, token, "the token comes in the Session-Token header")
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"), "a response with a token is never cached")
	return token
}

func bearer(token string) string { return "Bearer " + token }

func TestLoginMeLogout(t *testing.T) {
	for _, store := range []string{"memory", "cookie"} {
		t.Run(store, func(t *testing.T) {
			c := newClient(t, store)

			res, body := call(t, c, http.MethodGet, "/me", "", "")
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "no token")
			assert.Equal(t, "not logged in", body["error"])
			assert.Equal(t, `Bearer realm="api"`, res.Header.Get("WWW-Authenticate"))
			assert.NotContains(t, res.Header, "Session-Token", "no token sent, none to drop")

			token := login(t, c, "")

			res, body = call(t, c, http.MethodGet, "/me", bearer(token), "")
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Equal(t, map[string]string{"user": "admin"}, body)
			assert.NotContains(t, res.Header, "Session-Token", "an unchanged token is not sent again")

			res, body = call(t, c, http.MethodPost, "/logout", bearer(token), "")
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Equal(t, "logged out", body["status"])
			require.Contains(t, res.Header, "Session-Token", "logout tells the client to drop its token")
			assert.Empty(t, res.Header.Get("Session-Token"), "with an empty Session-Token")

			// The client dropped its token; but what of a copy of it (a
			// stolen one, say) used after logout?
			res, body = call(t, c, http.MethodGet, "/me", bearer(token), "")
			switch store {
			case "memory":
				// Server-side: Destroy deleted the record, so the token
				// names nothing. The response tells the client to drop it.
				assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "revoked")
				assert.Equal(t, "not logged in", body["error"])
				require.Contains(t, res.Header, "Session-Token")
				assert.Empty(t, res.Header.Get("Session-Token"))
			case "cookie":
				// Sealed: the token is the whole session and the server
				// keeps nothing to revoke. A copy made before logout
				// stays valid until it expires (IdleTimeout, Lifetime).
				// That is the trade-off of a stateless token, as with a
				// JWT: use a server-side store when logout must revoke.
				assert.Equal(t, http.StatusOK, res.StatusCode, "a sealed token is not revocable")
				assert.Equal(t, map[string]string{"user": "admin"}, body)
			}
		})
	}
}

func TestLoginRenewsTheToken(t *testing.T) {
	for _, store := range []string{"memory", "cookie"} {
		t.Run(store, func(t *testing.T) {
			c := newClient(t, store)
			first := login(t, c, "")
			second := login(t, c, bearer(first))
			assert.NotEqual(t, first, second, "logging in again with a token gives a new one")

			res, _ := call(t, c, http.MethodGet, "/me", bearer(second), "")
			assert.Equal(t, http.StatusOK, res.StatusCode)
			res, _ = call(t, c, http.MethodGet, "/me", bearer(first), "")
			if store == "memory" {
				assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "Renew killed the old server-side token")
			} else {
				assert.Equal(t, http.StatusOK, res.StatusCode, "a sealed token outlives Renew until it expires")
			}
		})
	}
}

func TestBadLogin(t *testing.T) {
	c := newClient(t, "memory")
	for name, body := range map[string]string{
		"wrong password": `{"username":"admin","password":"1234"}`,
		"unknown user":   `{"username":"root","password":"123"}`,
		"empty":          `{}`,
	} {
		res, out := call(t, c, http.MethodPost, "/login", "", body)
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode, name)
		assert.Equal(t, "invalid credentials", out["error"], name)
		assert.NotContains(t, res.Header, "Session-Token", "%s: no session for a failed login", name)
	}
	for _, body := range []string{`not json`, `{"username":`, strings.Repeat(" ", 2<<10) + `{}`} {
		res, out := call(t, c, http.MethodPost, "/login", "", body)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "%.20q", body)
		assert.Contains(t, out["error"], "JSON")
	}
}

// A malformed or forged Authorization header is an empty session: 401,
// never a 500, in both modes.
func TestMalformedAuthorization(t *testing.T) {
	for _, store := range []string{"memory", "cookie"} {
		t.Run(store, func(t *testing.T) {
			c := newClient(t, store)
			token := login(t, c, "")
			for _, h := range []string{
				"Bearer",
				"Bearer ",
				"Bearer not-a-token",
				"Bearer " + token[:len(token)/2],
				"Bearer " + token + "x",
				"Bearer " + strings.Repeat("A", len(token)),
				"Bearer " + strings.Repeat("%", 4000),
				"Basic YWRtaW46MTIz",
				token, // no scheme
				"Bearer\t" + token + " trailing",
				"Bearer ☃",
			} {
				res, body := call(t, c, http.MethodGet, "/me", h, "")
				assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "Authorization: %.40q", h)
				assert.Equal(t, "not logged in", body["error"], "Authorization: %.40q", h)
			}
			// Untouched by all that, the real token still works.
			res, _ := call(t, c, http.MethodGet, "/me", bearer(token), "")
			assert.Equal(t, http.StatusOK, res.StatusCode)
			// The scheme is case-insensitive, as RFC 9110 has it.
			res, _ = call(t, c, http.MethodGet, "/me", "bearer "+token, "")
			assert.Equal(t, http.StatusOK, res.StatusCode)
		})
	}
}

func TestFlags(t *testing.T) {
	cfg, err := parseFlags(nil)
	require.NoError(t, err)
	assert.Equal(t, config{addr: "127.0.0.1:8081", store: "memory"}, cfg)

	cfg, err = parseFlags([]string{"-addr", ":0", "-store", "cookie"})
	require.NoError(t, err)
	assert.Equal(t, config{addr: ":0", store: "cookie"}, cfg)

	_, _, err = openStore("floppy")
	assert.ErrorContains(t, err, "want memory or cookie")

	t.Setenv("SESSION_KEYS", "not base64!")
	_, _, err = openStore("cookie")
	assert.ErrorContains(t, err, "SESSION_KEYS")
}
