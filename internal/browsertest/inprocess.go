package browsertest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// inProcessBase is the site an InProcess Browser visits: HTTPS, so that
// the jar keeps the Manager's default Secure cookie, and the handler sees
// a TLS request.
const inProcessBase = "https://example.com"

// InProcess returns a Browser whose requests h serves in-process, through
// an httptest.ResponseRecorder: no listener, no TLS handshake, for tests
// that send many requests. The base URL is https://example.com, and the
// handler sees the request as net/http would give it to a server (its
// path as RequestURI, Host, a TLS connection state). h may be nil if
// SetHandler gives one before the first request. t may be nil (an Example
// function has none): then a failure panics.
func InProcess(t testing.TB, h http.Handler) *Browser {
	r := reporterOf(t)
	r.Helper()
	rt := new(inProcess)
	rt.h.Store(&h)
	return newBrowser(r, inProcessBase, rt)
}

// SetHandler makes h serve the next requests of an InProcess Browser,
// with the same jar: the site redeployed, or a test that serves each step
// with a handler of its own.
func (b *Browser) SetHandler(h http.Handler) {
	b.t.Helper()
	rt, ok := b.client.Transport.(*inProcess)
	if !ok {
		b.t.Fatalf("browsertest: SetHandler on a Browser that is not InProcess")
	}
	rt.h.Store(&h)
}

// inProcess is an http.RoundTripper that serves each request by calling a
// handler with a recorder.
type inProcess struct{ h atomic.Pointer[http.Handler] }

func (p *inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	var body io.Reader
	if req.Body != nil {
		data, err := io.ReadAll(req.Body)
		_ = req.Body.Close() // a RoundTripper closes the body, always
		if err != nil {
			return nil, err
		}
		if len(data) > 0 {
			body = bytes.NewReader(data)
		}
	}
	h := *p.h.Load()
	if h == nil {
		return nil, errors.New("an InProcess Browser without a handler: SetHandler gives it one")
	}
	in := httptest.NewRequestWithContext(req.Context(), req.Method, req.URL.RequestURI(), body)
	in.Header = req.Header.Clone()
	if in.Header == nil {
		in.Header = http.Header{}
	}
	in.Host = req.Host
	if in.Host == "" {
		in.Host = req.URL.Host
	}
	if req.URL.Scheme == "https" {
		in.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true, ServerName: req.URL.Hostname()}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, in)
	res := rec.Result()
	res.Request = req
	return res, nil
}
