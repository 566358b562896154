package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/servetest"
	"github.com/go-sealed/session/internal/browsertest"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
			b := browsertest.InProcess(t, app(before))
			res, _ := b.Post("/login", url.Values{"user": {"alice"}})
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			_, body := b.Get("/")
			require.Contains(t, body, "logged in as alice (visit 1)")
			require.Contains(t, body, "flash: welcome, alice")
			legacy := b.Cookies()[sessionName]

			// After: the one line changed. Same browser, same cookie.
			b.SetHandler(app(newStore(hashKey, tc.blockKey, sessionKeys)))
			res, body = b.Get("/")
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.Contains(t, body, "logged in as alice (visit 2)")
			require.NotContains(t, body, "flash:", "the flash was consumed before the switch")
			sealed := b.Cookies()[sessionName]
			require.NotEqual(t, legacy, sealed, "the old cookie was replaced")

			// The replacement is a sealed cookie: the old store cannot
			// read it, the new one can.
			var v map[any]any
			require.Error(t, securecookie.DecodeMulti(sessionName, sealed, &v, before.Codecs...))
			_, body = b.Get("/")
			require.Contains(t, body, "logged in as alice (visit 3)")

			// Everything else works as before.
			_, body = b.Post("/logout", nil)
			require.Contains(t, body, "logged out")
			require.Empty(t, b.Cookies())
			_, body = b.Get("/")
			require.Contains(t, body, "not logged in")
			b.Post("/login", url.Values{"user": {"bob"}})
			_, body = b.Get("/")
			require.Contains(t, body, "logged in as bob (visit 1)")
			require.Contains(t, body, "flash: welcome, bob")
		})
	}
}

// TestForeignCookieIsNotLoggedIn: a legacy cookie under keys the new store
// was not given, or tampered with, is a logged-out visitor, not an error.
func TestForeignCookieIsNotLoggedIn(t *testing.T) {
	hashKey := securecookie.GenerateRandomKey(64)
	b := browsertest.InProcess(t, app(sessions.NewCookieStore(securecookie.GenerateRandomKey(64))))
	b.Post("/login", url.Values{"user": {"mallory"}})
	require.NotEmpty(t, b.Cookies())

	b.SetHandler(app(newStore(hashKey, nil, [][]byte{cookiesession.GenerateKey()})))
	res, body := b.Get("/")
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
