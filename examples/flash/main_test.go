package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/internal/browsertest"
)

func TestPostRedirectGet(t *testing.T) {
	store, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	m := session.New(store)
	m.Cookie.Secure = false // httptest serves plain HTTP
	srv := httptest.NewServer(newApp(m))
	t.Cleanup(srv.Close)
	b := browsertest.Open(t, srv.URL)

	res, body := b.Get("/")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotContains(t, body, `class="flash"`)
	assert.Empty(t, res.Cookies(), "reading no flashes creates no session")

	res, _ = b.Post("/", url.Values{"message": {"hello <world>"}})
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "POST answers 303, so a reload does not post again")
	assert.Equal(t, "/", res.Header.Get("Location"))

	res, body = b.Get("/")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `<p class="flash">Saved: hello &lt;world&gt;</p>`, "shown, escaped")

	_, body = b.Get("/")
	assert.NotContains(t, body, `class="flash"`, "shown once only")

	b.Post("/", url.Values{"message": {"one"}})
	b.Post("/", url.Values{"message": {" "}})
	_, body = b.Get("/")
	assert.Contains(t, body, "Saved: one</p>\n<p class=\"flash\">Nothing saved: the message was empty.", "queued flashes, oldest first")
	_, body = b.Get("/")
	assert.NotContains(t, body, `class="flash"`)
}
