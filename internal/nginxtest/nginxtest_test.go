package nginxtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get sends a GET of path to base with a Cookie header of value cookie
// (none if ""), and returns the status and body.
func get(t *testing.T, base, path, cookie string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	require.NoError(t, err)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(body)
}

// TestDefaultLimits: Start proxies to the upstream, with nginx's default
// limits on request header lines: a "Cookie: ..." line of 8190 bytes
// passes (Apache's LimitRequestFieldSize, 8190, is the same), one more
// byte is answered 400 by nginx itself.
func TestDefaultLimits(t *testing.T) {
	var (
		mu  sync.Mutex
		got []int // the Cookie header lines of /cookie requests that reached the upstream
	)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cookie" {
			mu.Lock()
			got = append(got, len("Cookie: ")+len(r.Header.Get("Cookie")))
			mu.Unlock()
		}
		_, _ = io.WriteString(w, "upstream "+r.URL.Path)
	}))
	defer upstream.Close()
	base := Start(t, upstream.URL)

	status, body := get(t, base, "/hello", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "upstream /hello", body)

	cookie := func(line int) string { return "a=" + strings.Repeat("x", line-len("Cookie: a=")) }
	status, _ = get(t, base, "/cookie", cookie(8190))
	assert.Equal(t, http.StatusOK, status)
	status, body = get(t, base, "/cookie", cookie(8191))
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "Request Header Or Cookie Too Large")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []int{8190}, got, "what reached the upstream")
}

// TestResponseHeaderLimit: with nginx's default proxy_buffer_size (4k),
// a response whose headers exceed some 4 KB, one cookie as large as a
// browser keeps for one, is answered 502 by nginx; a directive given to
// Start lifts the limit.
func TestResponseHeaderLimit(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			// A cookie of 4096 bytes, attributes included.
			const attrs = "; Path=/; HttpOnly; Secure; SameSite=Lax"
			w.Header().Add("Set-Cookie", "s="+strings.Repeat("x", 4096-len("s=")-len(attrs))+attrs)
		}
	}))
	defer upstream.Close()
	status, _ := get(t, Start(t, upstream.URL), "/big", "")
	assert.Equal(t, http.StatusBadGateway, status, "nginx's default proxy_buffer_size")
	status, _ = get(t, Start(t, upstream.URL, "proxy_buffer_size 16k", "proxy_buffers 4 16k"), "/big", "")
	assert.Equal(t, http.StatusOK, status)
}
