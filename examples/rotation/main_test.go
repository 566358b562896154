package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/servetest"
	"github.com/go-sealed/session/internal/browsertest"
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

// login logs c in as ada on s.
func login(t *testing.T, c *browsertest.Browser, s *server) {
	t.Helper()
	res, _ := c.Post(s.url+"/login", url.Values{"user": {"ada"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
}

// visit asks s who is logged in, and reports whether its response set a
// new cookie (a re-seal).
func visit(c *browsertest.Browser, s *server) (body string, resealed bool) {
	res, body := c.Get(s.url + "/")
	return body, len(res.Cookies()) > 0
}

// sealedWith is the ID of the key that sealed the client's cookie.
func sealedWith(c *browsertest.Browser, s *server) string {
	if token, ok := c.CookiesAt(s.url)["session"]; ok {
		return tokenKeyID(token)
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
	// Browsers: their cookie jars ignore ports, as browsers' do, so every
	// server of the fleet (all on 127.0.0.1) gets the same cookie, as
	// behind one load balancer. They visit each by its absolute URL.
	ada, sleeper := browsertest.Open(t, a.url), browsertest.Open(t, b.url)
	login(t, ada, a)
	login(t, sleeper, b) // comes back only after step 3
	require.Equal(t, oldID, sealedWith(ada, a))

	loggedIn := func(s *server) bool {
		body, _ := visit(ada, s)
		return strings.HasPrefix(body, "logged in: ada\n")
	}

	// Step 1, one server at a time: every server learns the new key while
	// still sealing with the old one. Nothing changes for the client.
	for _, s := range []*server{a, b} {
		s.deploy(step1)
		for _, s := range []*server{a, b} {
			body, resealed := visit(ada, s)
			assert.Contains(t, body, "logged in: ada")
			assert.False(t, resealed, "step 1 re-seals nothing")
		}
	}
	assert.Equal(t, oldID, sealedWith(ada, a))

	// Step 2: a promotes the new key. The client's next response from it
	// re-seals the cookie with the new key; b, still at step 1, opens it.
	a.deploy(step2)
	body, resealed := visit(ada, a)
	assert.Contains(t, body, "your cookie was sealed with key "+oldID)
	assert.True(t, resealed, "a cookie under a retired key is re-sealed on the next response")
	assert.Equal(t, newID, sealedWith(ada, a))
	_, resealed = visit(ada, a)
	assert.False(t, resealed, "once")
	assert.True(t, loggedIn(b), "a step-1 server opens cookies sealed with the new key")
	b.deploy(step2)
	assert.True(t, loggedIn(a))
	assert.True(t, loggedIn(b))
	assert.Equal(t, newID, sealedWith(ada, b), "every server now seals with the new key")

	// Step 3, after Lifetime: the old key goes. Ada, re-sealed, stays
	// logged in; a cookie still under the old key no longer opens.
	a.deploy(step3)
	b.deploy(step3)
	body, resealed = visit(ada, a)
	assert.Contains(t, body, "logged in: ada")
	assert.Contains(t, body, "your cookie was sealed with key "+newID)
	assert.False(t, resealed)
	assert.True(t, loggedIn(b))

	body, _ = visit(sleeper, b)
	assert.Contains(t, body, "logged in: nobody", "a cookie left under a dropped key is a new, empty session: wait out the Lifetime before step 3")
}

func TestKeyIDMatchesTokenHeader(t *testing.T) {
	key := cookiesession.GenerateKey()
	s := newServer(t, base64.StdEncoding.EncodeToString(key))
	c := browsertest.Open(t, s.url)
	login(t, c, s)
	assert.Equal(t, keyID(key), sealedWith(c, s))
	body, _ := visit(c, s)
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
