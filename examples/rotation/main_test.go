package main

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/servetest"
)

// server is one server of the fleet; deploy restarts it with other keys,
// at the same address.
type server struct {
	t   *testing.T
	h   atomic.Pointer[http.Handler]
	url string
}

func newServer(t *testing.T, env string) *server {
	s := &server{t: t}
	s.deploy(env)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*s.h.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *server) deploy(env string) {
	h, err := newApp(env)
	require.NoError(s.t, err)
	s.h.Store(&h)
}

// client is a browser. Its cookie jar ignores ports, as browsers do, so
// every server of the fleet (all on 127.0.0.1) gets the same cookie, as
// behind one load balancer.
type client struct {
	t   *testing.T
	c   *http.Client
	jar *cookiejar.Jar
}

func newClient(t *testing.T) *client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &client{t: t, c: &http.Client{Jar: jar}, jar: jar}
}

func (c *client) login(s *server) {
	c.t.Helper()
	res, err := c.c.PostForm(s.url+"/login", url.Values{"user": {"ada"}})
	require.NoError(c.t, err)
	res.Body.Close()
	require.Equal(c.t, http.StatusOK, res.StatusCode)
}

// visit asks s who is logged in, and reports whether its response set a
// new cookie (a re-seal).
func (c *client) visit(s *server) (body string, resealed bool) {
	c.t.Helper()
	res, err := c.c.Get(s.url + "/")
	require.NoError(c.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return string(b), len(res.Cookies()) > 0
}

// sealedWith is the ID of the key that sealed the client's cookie.
func (c *client) sealedWith(s *server) string {
	u, err := url.Parse(s.url)
	require.NoError(c.t, err)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == "session" {
			return tokenKeyID(ck.Value)
		}
	}
	return "none"
}

func TestRollingRotation(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	oldKey, newKey := cookiesession.GenerateKey(), cookiesession.GenerateKey()
	oldID, newID := keyID(oldKey), keyID(newKey)
	var (
		step0 = b64(oldKey)
		step1 = b64(oldKey) + "," + b64(newKey)
		step2 = b64(newKey) + "," + b64(oldKey)
		step3 = b64(newKey)
	)

	a, b := newServer(t, step0), newServer(t, step0)
	ada, sleeper := newClient(t), newClient(t)
	ada.login(a)
	sleeper.login(b) // comes back only after step 3
	require.Equal(t, oldID, ada.sealedWith(a))

	loggedIn := func(s *server) bool {
		body, _ := ada.visit(s)
		return strings.HasPrefix(body, "logged in: ada\n")
	}

	// Step 1, one server at a time: every server learns the new key while
	// still sealing with the old one. Nothing changes for the client.
	for _, s := range []*server{a, b} {
		s.deploy(step1)
		for _, s := range []*server{a, b} {
			body, resealed := ada.visit(s)
			assert.Contains(t, body, "logged in: ada")
			assert.False(t, resealed, "step 1 re-seals nothing")
		}
	}
	assert.Equal(t, oldID, ada.sealedWith(a))

	// Step 2: a promotes the new key. The client's next response from it
	// re-seals the cookie with the new key; b, still at step 1, opens it.
	a.deploy(step2)
	body, resealed := ada.visit(a)
	assert.Contains(t, body, "your cookie was sealed with key "+oldID)
	assert.True(t, resealed, "a cookie under a retired key is re-sealed on the next response")
	assert.Equal(t, newID, ada.sealedWith(a))
	_, resealed = ada.visit(a)
	assert.False(t, resealed, "once")
	assert.True(t, loggedIn(b), "a step-1 server opens cookies sealed with the new key")
	b.deploy(step2)
	assert.True(t, loggedIn(a))
	assert.True(t, loggedIn(b))
	assert.Equal(t, newID, ada.sealedWith(b), "every server now seals with the new key")

	// Step 3, after Lifetime: the old key goes. Ada, re-sealed, stays
	// logged in; a cookie still under the old key no longer opens.
	a.deploy(step3)
	b.deploy(step3)
	body, resealed = ada.visit(a)
	assert.Contains(t, body, "logged in: ada")
	assert.Contains(t, body, "your cookie was sealed with key "+newID)
	assert.False(t, resealed)
	assert.True(t, loggedIn(b))

	body, _ = sleeper.visit(b)
	assert.Contains(t, body, "logged in: nobody", "a cookie left under a dropped key is a new, empty session: wait out the Lifetime before step 3")
}

func TestKeyIDMatchesTokenHeader(t *testing.T) {
	key := cookiesession.GenerateKey()
	s := newServer(t, base64.StdEncoding.EncodeToString(key))
	c := newClient(t)
	c.login(s)
	assert.Equal(t, keyID(key), c.sealedWith(s))
	body, _ := c.visit(s)
	assert.Contains(t, body, "this server: SESSION_KEYS="+keyID(key)+"\n", "keys are shown by ID, never in full")
	assert.NotContains(t, body, base64.StdEncoding.EncodeToString(key))
}

// TestInvalidKeys: the command needs SESSION_KEYS, and valid; without
// them it fails before it serves, with an error naming the variable.
func TestInvalidKeys(t *testing.T) {
	servetest.InvalidKeys(t, run)
	t.Setenv("SESSION_KEYS", "")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()                                                                                    // should it serve, it stops at once and returns nil
	assert.EqualError(t, run(ctx, []string{"-addr", "127.0.0.1:0"}), "SESSION_KEYS is not set") // after printing the steps
}
