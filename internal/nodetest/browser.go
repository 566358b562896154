package nodetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Browser is an HTTP client with one cookie jar for every server on one
// host, whatever its port (as browsers keep cookies), which follows no
// redirect: the Express app and the Go app, on two loopback ports, get
// the same cookies from it.
type Browser struct {
	t   testing.TB
	jar *cookiejar.Jar
	c   *http.Client
}

// NewBrowser returns a Browser with an empty jar.
func NewBrowser(t testing.TB) *Browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &Browser{t: t, jar: jar, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Do sends a request, a POST of form if form is not nil, and returns the
// response, its body read and closed, and the body.
func (b *Browser) Do(method, rawURL string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	require.NoError(b.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp, string(data)
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
	for _, c := range b.jar.Cookies(b.url(base)) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// SetCookie puts the cookie name=value, on path "/", into the jar, as a
// browser that kept a copy of an old cookie would send it.
func (b *Browser) SetCookie(base, name, value string) {
	b.jar.SetCookies(b.url(base), []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

func (b *Browser) url(base string) *url.URL {
	u, err := url.Parse(base)
	require.NoError(b.t, err)
	return u
}
