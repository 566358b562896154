package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/servetest"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// browser keeps cookies between requests to one handler.
type browser struct {
	t   *testing.T
	h   http.Handler
	jar map[string]*http.Cookie
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, "http://example.com"+path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range b.jar {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, r)
	res := w.Result()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c
		}
	}
	return res, w.Body.String()
}

// TestSwitchKeepsUsersLoggedIn: a user logs in on the application as it
// ran on gorilla's CookieStore; after the switch (the store constructor,
// and only it, replaced) the same browser, with its old cookie, is still
// logged in, gets a sealed cookie in exchange, and goes on with it.
func TestSwitchKeepsUsersLoggedIn(t *testing.T) {
	for _, tc := range []struct {
		name     string
		blockKey []byte
	}{
		{"hash+block", securecookie.GenerateRandomKey(32)},
		{"hash only", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hashKey := securecookie.GenerateRandomKey(64)
			sessionKeys := [][]byte{cookiesession.GenerateKey()}

			// Before: gorilla's CookieStore.
			before := sessions.NewCookieStore(hashKey, tc.blockKey)
			b := &browser{t: t, h: app(before), jar: map[string]*http.Cookie{}}
			res, _ := b.do(http.MethodPost, "/login", url.Values{"user": {"alice"}})
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			_, body := b.do(http.MethodGet, "/", nil)
			require.Contains(t, body, "logged in as alice (visit 1)")
			require.Contains(t, body, "flash: welcome, alice")
			legacy := b.jar[sessionName].Value

			// After: the one line changed. Same browser, same cookie.
			b.h = app(newStore(hashKey, tc.blockKey, sessionKeys))
			res, body = b.do(http.MethodGet, "/", nil)
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.Contains(t, body, "logged in as alice (visit 2)")
			require.NotContains(t, body, "flash:", "the flash was consumed before the switch")
			sealed := b.jar[sessionName].Value
			require.NotEqual(t, legacy, sealed, "the old cookie was replaced")

			// The replacement is a sealed cookie: the old store cannot
			// read it, the new one can.
			var v map[any]any
			require.Error(t, securecookie.DecodeMulti(sessionName, sealed, &v, before.Codecs...))
			_, body = b.do(http.MethodGet, "/", nil)
			require.Contains(t, body, "logged in as alice (visit 3)")

			// Everything else works as before.
			_, body = b.do(http.MethodPost, "/logout", nil)
			require.Contains(t, body, "logged out")
			require.Empty(t, b.jar)
			_, body = b.do(http.MethodGet, "/", nil)
			require.Contains(t, body, "not logged in")
			b.do(http.MethodPost, "/login", url.Values{"user": {"bob"}})
			_, body = b.do(http.MethodGet, "/", nil)
			require.Contains(t, body, "logged in as bob (visit 1)")
			require.Contains(t, body, "flash: welcome, bob")
		})
	}
}

// TestForeignCookieIsNotLoggedIn: a legacy cookie under keys the new store
// was not given, or tampered with, is a logged-out visitor, not an error.
func TestForeignCookieIsNotLoggedIn(t *testing.T) {
	hashKey := securecookie.GenerateRandomKey(64)
	b := &browser{t: t, h: app(sessions.NewCookieStore(securecookie.GenerateRandomKey(64))), jar: map[string]*http.Cookie{}}
	b.do(http.MethodPost, "/login", url.Values{"user": {"mallory"}})
	require.NotEmpty(t, b.jar)

	b.h = app(newStore(hashKey, nil, [][]byte{cookiesession.GenerateKey()}))
	res, body := b.do(http.MethodGet, "/", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "not logged in")
}

// TestInvalidKeys: a key that is set but not valid stops the command
// before it serves, where it used to serve with a random key.
func TestInvalidKeys(t *testing.T) {
	t.Setenv("GORILLA_HASH_KEY", "")
	t.Setenv("GORILLA_BLOCK_KEY", "")
	servetest.InvalidKeys(t, run)

	// The gorilla keys too.
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // should it serve, it stops at once and returns nil
	for _, name := range []string{"GORILLA_HASH_KEY", "GORILLA_BLOCK_KEY"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, "not base64!")
			assert.EqualError(t, run(ctx, []string{"-addr", "127.0.0.1:0"}), name+" is not valid base64")
		})
	}
}
