package session_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/internal/browsertest"
	"github.com/go-sealed/session/internal/nginxtest"
)

// maxCookieLine is the longest "Cookie: ..." request header line that
// common proxies pass with their defaults: nginx's
// large_client_header_buffers (4 8k) holds it and its CRLF in 8192 bytes,
// and Apache's LimitRequestFieldSize is 8190.
const maxCookieLine = 8190

// TestLargestSessionThroughNginx: with the default options, the largest
// sealed-cookie session that saves still passes nginx (with its default
// limit on request header lines) in the Cookie header of the requests
// that follow; one byte more fails its save with ErrTooLarge, and leaves
// the client's session as it was.
func TestLargestSessionThroughNginx(t *testing.T) {
	store, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	m := session.New(store) // the default options, Secure cookies included

	// Random, so that no encoding or compression shrinks it; base64url, so
	// that every codec keeps it as it is.
	raw := make([]byte, 48<<10)
	_, _ = rand.Read(raw)
	value := base64.RawURLEncoding.EncodeToString(raw)

	// The largest value that saves, found with Manager.Save in a handler:
	// ErrTooLarge is the only failure expected.
	saves := func(n int) bool {
		var saveErr error
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			s.Put("v", value[:n])
			saveErr = m.Save(w, s)
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		if saveErr != nil && !errors.Is(saveErr, session.ErrTooLarge) {
			t.Fatalf("save of %d bytes: %v", n, saveErr)
		}
		return saveErr == nil
	}
	require.True(t, saves(1000), "a small session must save")
	require.False(t, saves(len(value)), "%d bytes of session must not save", len(value))
	lo, hi := 1000, len(value) // lo saves, hi does not
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; saves(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	largest := value[:lo]
	t.Logf("the largest session that saves holds a %d-byte string", lo)

	// The application: /set saves the request's body as the session's
	// value, answering 413 when the save fails with ErrTooLarge; /get
	// answers the value. Each records the length of the Cookie header
	// line that nginx forwarded.
	var (
		mu         sync.Mutex
		cookieLine int
	)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /set", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s := m.Get(r)
		s.Put("v", string(body))
		switch err := m.Save(w, s); {
		case errors.Is(err, session.ErrTooLarge):
			http.Error(w, "session too large", http.StatusRequestEntityTooLarge)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, m.Get(r).GetString("v"))
	})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cookieLine = len("Cookie: ") + len(r.Header.Get("Cookie"))
		mu.Unlock()
		m.Handler(mux).ServeHTTP(w, r)
	}))
	defer app.Close()
	// nginx's default proxy_buffer_size (4k) would answer 502 to the
	// Set-Cookie headers of any session over some 4 KB, of today's caps
	// and of the 8190-byte one alike: it is raised here so that the test
	// is about the request's Cookie header.
	base := nginxtest.Start(t, app.URL, "proxy_buffer_size 64k", "proxy_buffers 4 64k")
	// The jar takes the plain-HTTP nginx for the HTTPS site it stands
	// for, so that it keeps and sends the Manager's Secure cookies, as a
	// browser does when TLS ends at or before the proxy: the Cookie header
	// the proxy reads is the same.
	b := browsertest.Open(t, base).AsHTTPS()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		res, text := b.Do(b.NewRequest(method, path, strings.NewReader(body)))
		if method == http.MethodPost && res.StatusCode != http.StatusOK {
			assert.Empty(t, res.Header.Values("Set-Cookie"), "a failed save sets no cookie")
		}
		return res.StatusCode, text
	}
	// readBack checks that the client's session, read through nginx,
	// holds want, and that nginx forwarded a Cookie line within limits.
	readBack := func(want string) {
		t.Helper()
		status, body := do(http.MethodGet, "/get", "")
		require.Equal(t, http.StatusOK, status, "nginx refused the session's cookies: %.200s", body)
		assert.True(t, body == want, "the session read back holds %d bytes, not the %d saved", len(body), len(want))
		mu.Lock()
		defer mu.Unlock()
		t.Logf("the Cookie header line nginx forwarded: %d bytes", cookieLine)
		assert.LessOrEqual(t, cookieLine, maxCookieLine, "the Cookie header line nginx forwarded")
	}

	status, body := do(http.MethodPost, "/set", largest)
	require.Equal(t, http.StatusOK, status, "setting the largest session through nginx: %.200s", body)
	readBack(largest)

	status, body = do(http.MethodPost, "/set", value[:lo+1])
	require.Equal(t, http.StatusRequestEntityTooLarge, status, "a session one byte larger: %.200s", body)
	readBack(largest)
}
