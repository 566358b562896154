package nodetest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/internal/browsertest"
)

// Browser is an HTTP client with one cookie jar for every server on one
// host, whatever its port (as browsers keep cookies), which follows no
// redirect: the Express app and the Go app, on two loopback ports, get
// the same cookies from it. It is browsertest's, with the methods the
// Express tests use.
type Browser struct {
	*browsertest.Browser
	t testing.TB
}

// NewBrowser returns a Browser with an empty jar.
func NewBrowser(t testing.TB) *Browser {
	return &Browser{Browser: browsertest.Open(t, "http://127.0.0.1/"), t: t}
}

// Do sends a request to rawURL, a POST of form if form is not nil, and
// returns the response and its body.
func (b *Browser) Do(method, rawURL string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	if form != nil {
		return b.Post(rawURL, form)
	}
	return b.Browser.Do(b.NewRequest(method, rawURL, nil))
}

// Cart returns the cart GET base/cart answers, which must be 200 with a
// JSON array of strings.
func (b *Browser) Cart(base string) []string {
	b.t.Helper()
	resp, body := b.Do("GET", base+"/cart", nil)
	require.Equal(b.t, http.StatusOK, resp.StatusCode, body)
	var cart []string
	require.NoError(b.t, json.Unmarshal([]byte(body), &cart), body)
	return cart
}

// Cookie returns the value of the cookie name the Browser would send to
// base, "" if none.
func (b *Browser) Cookie(base, name string) string {
	return b.CookiesAt(base)[name]
}

// SetCookie puts the cookie name=value, on path "/", into the jar, as a
// browser that kept a copy of an old cookie would send it. The jar keeps
// cookies by host, so base names no more than the host.
func (b *Browser) SetCookie(base, name, value string) {
	b.Browser.SetCookie(name, value)
}
