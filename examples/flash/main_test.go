package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
)

func TestPostRedirectGet(t *testing.T) {
	store, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	m := session.New(store)
	m.Cookie.Secure = false // httptest serves plain HTTP
	srv := httptest.NewServer(newApp(m))
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	do := func(method, message string) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader(url.Values{"message": {message}}.Encode())
		}
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+"/", body)
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, string(b)
	}

	res, body := do(http.MethodGet, "")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotContains(t, body, `class="flash"`)
	assert.Empty(t, res.Cookies(), "reading no flashes creates no session")

	res, _ = do(http.MethodPost, "hello <world>")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "POST answers 303, so a reload does not post again")
	assert.Equal(t, "/", res.Header.Get("Location"))

	res, body = do(http.MethodGet, "")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `<p class="flash">Saved: hello &lt;world&gt;</p>`, "shown, escaped")

	_, body = do(http.MethodGet, "")
	assert.NotContains(t, body, `class="flash"`, "shown once only")

	do(http.MethodPost, "one")
	do(http.MethodPost, " ")
	_, body = do(http.MethodGet, "")
	assert.Contains(t, body, "Saved: one</p>\n<p class=\"flash\">Nothing saved: the message was empty.", "queued flashes, oldest first")
	_, body = do(http.MethodGet, "")
	assert.NotContains(t, body, `class="flash"`)
}
