// Package browsertest is the tests' browser: an HTTP client with a real
// cookie jar (net/http/cookiejar) that does not follow redirects, so that
// a test sees every response and the cookies it sets, and sends back what
// a browser would. It talks to a handler it serves over TLS (New), to an
// httptest.Server (ForServer), to a server at a base URL (Open), or to a
// handler it calls in-process, with no listener (InProcess).
//
// It serves the tests of the root module and, by Go's internal rule, those
// of the modules under it (adapters, examples/frameworks), which replace
// the root module with their checkout.
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Browser is a cookie-keeping HTTP client bound to one base URL. Its
// methods fail the test (or panic, where there is none) on a transport
// error; an HTTP error status is a response like any other.
type Browser struct {
	t       reporter
	base    *url.URL
	client  *http.Client
	jar     *cookiejar.Jar
	asHTTPS bool
}

// New serves h over TLS with httptest.NewTLSServer, closed when the test
// ends, and returns a Browser for it: HTTPS, the only scheme over which a
// browser sends the Manager's default, Secure, cookie to a host that is
// not loopback.
func New(t testing.TB, h http.Handler) *Browser {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return ForServer(t, srv)
}

// ForServer returns a Browser for srv, through srv's transport, which
// trusts the certificate of a TLS server. t may be nil (an Example
// function has none): then a failure panics.
func ForServer(t testing.TB, srv *httptest.Server) *Browser {
	r := reporterOf(t)
	r.Helper()
	return newBrowser(r, srv.URL, srv.Client().Transport)
}

// Open returns a Browser for the running server at base, "http://host:port"
// say, through a transport of its own, whose idle connections are closed
// when the test ends.
func Open(t testing.TB, base string) *Browser {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return newBrowser(t, base, tr)
}

func newBrowser(t reporter, base string, rt http.RoundTripper) *Browser {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		t.Fatalf("browsertest: base %q is not an absolute URL (%v)", base, err)
	}
	b := &Browser{t: t, base: u, jar: newJar(t)}
	b.client = &http.Client{
		Transport: rt,
		Jar:       jarView{b},
		// A test checks each redirect: where it goes, what it sets.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return b
}

func newJar(t reporter) *cookiejar.Jar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("browsertest: %v", err) // only for invalid options
	}
	return jar
}

// URL returns the base URL the Browser's targets are resolved against.
func (b *Browser) URL() string { return b.base.String() }

// AsHTTPS makes the jar take the Browser's plain-HTTP server for the HTTPS
// site it stands for, so that it keeps and sends Secure cookies, as a
// browser does when TLS ends in front of that server (a proxy under test):
// the server reads the Cookie header a browser would send. (Recent Go
// jars, as browsers, already treat loopback hosts as secure; AsHTTPS
// makes it so on any toolchain and host.) It returns b.
func (b *Browser) AsHTTPS() *Browser {
	b.asHTTPS = true
	return b
}

// NewRequest returns a request for target, resolved against the base URL
// as a link would be ("/path?query", or another server's absolute URL),
// bound to the test's context. Send it with Do.
func (b *Browser) NewRequest(method, target string, body io.Reader) *http.Request {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.resolve(target).String(), body)
	if err != nil {
		b.t.Fatalf("browsertest: %s %s: %v", method, target, err)
	}
	return req
}

// resolve is target resolved against the base URL.
func (b *Browser) resolve(target string) *url.URL {
	b.t.Helper()
	ref, err := url.Parse(target)
	if err != nil {
		b.t.Fatalf("browsertest: target %q: %v", target, err)
	}
	return b.base.ResolveReference(ref)
}

// Do sends req with the cookies the jar holds for its URL, keeps those its
// response sets, and returns the response, a redirect not followed, and
// its body, read and closed. res.Body reads the same bytes again.
func (b *Browser) Do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("browsertest: %s %s: %v", req.Method, req.URL, err)
	}
	data, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		b.t.Fatalf("browsertest: %s %s: reading the body: %v", req.Method, req.URL, err)
	}
	res.Body = io.NopCloser(bytes.NewReader(data))
	return res, string(data)
}

// Get requests target (see NewRequest) and returns as Do does.
func (b *Browser) Get(target string) (*http.Response, string) {
	b.t.Helper()
	return b.Do(b.NewRequest(http.MethodGet, target, nil))
}

// Post submits form to target (see NewRequest) as an HTML form does,
// urlencoded; a nil form is an empty body. It returns as Do does.
func (b *Browser) Post(target string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req := b.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.Do(req)
}

// Cookies returns, by name, the values of the cookies the jar would send
// to the base URL: those responses set, less those expired since, and
// those SetCookie put there. As in browsers, cookies go by host, not port:
// another server on the same host shares them.
func (b *Browser) Cookies() map[string]string { return b.CookiesAt("") }

// CookiesAt is Cookies for target (see NewRequest): a cookie with a Path
// of its own is sent only below it.
func (b *Browser) CookiesAt(target string) map[string]string {
	b.t.Helper()
	out := map[string]string{}
	for _, c := range b.jar.Cookies(b.jarURL(b.resolve(target))) {
		out[c.Name] = c.Value
	}
	return out
}

// SetCookie puts a cookie in the jar for the base URL's host, path "/",
// replacing the one of that name a response set there: a copied, forged
// or tampered cookie for the next requests.
func (b *Browser) SetCookie(name, value string) {
	b.jar.SetCookies(b.jarURL(b.base), []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// DeleteCookie removes the cookie name (path "/") from the jar, as a user
// clearing it would.
func (b *Browser) DeleteCookie(name string) {
	b.jar.SetCookies(b.jarURL(b.base), []*http.Cookie{{Name: name, Path: "/", MaxAge: -1}})
}

// ResetCookies empties the jar, then puts each of cookies in it as
// SetCookie does: a browser with another copy of the cookies.
func (b *Browser) ResetCookies(cookies map[string]string) {
	b.jar = newJar(b.t)
	for name, value := range cookies {
		b.SetCookie(name, value)
	}
}

// Receive takes the cookies res sets into the jar as if res arrived now:
// for a test that plays the responses of concurrent requests back in an
// order of its choosing. res is one a Browser returned.
func (b *Browser) Receive(res *http.Response) {
	b.jar.SetCookies(b.jarURL(res.Request.URL), res.Cookies())
}

// jarURL is u as the jar sees it: https for an AsHTTPS Browser.
func (b *Browser) jarURL(u *url.URL) *url.URL {
	if !b.asHTTPS || u.Scheme != "http" {
		return u
	}
	c := *u
	c.Scheme = "https"
	return &c
}

// jarView is the Browser's jar as its client uses it, through jarURL.
type jarView struct{ b *Browser }

func (j jarView) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.b.jar.SetCookies(j.b.jarURL(u), cookies)
}

func (j jarView) Cookies(u *url.URL) []*http.Cookie { return j.b.jar.Cookies(j.b.jarURL(u)) }

// reporter is what a Browser needs of a testing.TB.
type reporter interface {
	Helper()
	Fatalf(format string, args ...any)
	Context() context.Context
}

// reporterOf is t, or, for a nil t, a reporter that panics.
func reporterOf(t testing.TB) reporter {
	if t == nil {
		return panicking{}
	}
	return t
}

// panicking reports failures by panicking, for Example functions.
type panicking struct{}

func (panicking) Helper()                           {}
func (panicking) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (panicking) Context() context.Context          { return context.Background() }
