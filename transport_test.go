package session_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/internal/browsertest"
)

// apiCall sends a request with the given headers through h.
func apiCall(h http.Handler, path string, header map[string]string) *http.Response {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func TestHeaderTransport(t *testing.T) {
	for name, store := range map[string]session.Store{
		"server-side": newRecordStore(),
		"sealed":      mustSealed(t),
	} {
		t.Run(name, func(t *testing.T) {
			m := session.New(store) // the real clock, which the sealed store checks too
			m.Transport = session.TransportHeader
			h := testApp(m)

			res := apiCall(h, "/put?user=ada", nil)
			token := res.Header.Get("Session-Token")
			require.NotEmpty(t, token, "a new session's token comes in the response header")
			assert.Empty(t, res.Header.Values("Set-Cookie"), "and no cookie")
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))

			res = apiCall(h, "/get?k=user", bearer(token))
			assert.Equal(t, "ada", body(t, res))
			assert.Empty(t, res.Header.Get("Session-Token"), "an unchanged token is not sent again")

			res = apiCall(h, "/get?k=user", map[string]string{"Cookie": "session=" + token})
			assert.Empty(t, body(t, res), "the header transport ignores cookies")

			res = apiCall(h, "/renew", bearer(token))
			renewed := res.Header.Get("Session-Token")
			require.NotEmpty(t, renewed)
			assert.NotEqual(t, token, renewed)
			assert.Equal(t, "ada", body(t, apiCall(h, "/get?k=user", bearer(renewed))))

			res = apiCall(h, "/destroy", bearer(renewed))
			assert.Contains(t, res.Header, "Session-Token", "Destroy says so")
			assert.Empty(t, res.Header.Get("Session-Token"), "with an empty token")
			if name == "server-side" {
				assert.Empty(t, body(t, apiCall(h, "/get?k=user", bearer(renewed))), "the token is dead")
			}
		})
	}
}

func mustSealed(t *testing.T) *cookiesession.Store {
	s, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	return s
}

func TestMalformedAuthorizationIsAnEmptySession(t *testing.T) {
	m, _ := newManager(newRecordStore())
	m.Transport = session.TransportHeader
	h := testApp(m)
	for _, v := range []string{"Basic YWRhOnB3", "Bearer", "Bearer    ", "bearer", "garbage", "Bearer \x01\x02", "Bearer " + strings.Repeat("A", 100000)} {
		res := apiCall(h, "/get?k=user", map[string]string{"Authorization": v})
		assert.Equal(t, http.StatusOK, res.StatusCode, "%.20q", v)
		assert.Empty(t, body(t, res))
	}
	// The scheme is case-insensitive.
	token := apiCall(h, "/put?user=ada", nil).Header.Get("Session-Token")
	assert.Equal(t, "ada", body(t, apiCall(h, "/get?k=user", map[string]string{"Authorization": "bEaReR " + token})))
}

func TestCustomHeaderNames(t *testing.T) {
	m, _ := newManager(newRecordStore())
	m.Transport = session.TransportHeader
	m.Header = session.HeaderOptions{Request: "X-Session", Response: "X-New-Session"}
	h := testApp(m)
	token := apiCall(h, "/put?user=ada", nil).Header.Get("X-New-Session")
	require.NotEmpty(t, token)
	assert.Equal(t, "ada", body(t, apiCall(h, "/get?k=user", map[string]string{"X-Session": token})))
	assert.Empty(t, body(t, apiCall(h, "/get?k=user", bearer(token))), "only the named header counts")
}

func TestTransportBothPrecedence(t *testing.T) {
	m, _ := newManager(newRecordStore())
	m.Transport = session.TransportBoth
	h := testApp(m)

	res := apiCall(h, "/put?user=cookie-user", nil)
	require.Len(t, res.Cookies(), 1, "a new session sets the cookie")
	cookieToken := res.Cookies()[0].Value
	assert.Equal(t, cookieToken, res.Header.Get("Session-Token"), "and the header")
	headerToken := apiCall(h, "/put?user=header-user", nil).Header.Get("Session-Token")

	both := map[string]string{"Cookie": "session=" + cookieToken, "Authorization": "Bearer " + headerToken}
	assert.Equal(t, "header-user", body(t, apiCall(h, "/get?k=user", both)), "the header wins over the cookie")

	res = apiCall(h, "/renew", both)
	assert.NotEmpty(t, res.Header.Get("Session-Token"), "a header-borne session is answered by header")
	assert.Empty(t, res.Cookies(), "and not by cookie")

	res = apiCall(h, "/renew", map[string]string{"Cookie": "session=" + cookieToken})
	assert.Len(t, res.Cookies(), 1, "a cookie-borne session is answered by cookie")
	assert.Empty(t, res.Header.Get("Session-Token"), "and not by header")

	malformed := map[string]string{"Cookie": "session=" + res.Cookies()[0].Value, "Authorization": "Basic Zm9vOmJhcg=="}
	assert.Equal(t, "cookie-user", body(t, apiCall(h, "/get?k=user", malformed)), "a malformed header falls back to the cookie")
}

func TestHeaderTransportCarriesLargeSealedSessions(t *testing.T) {
	m := session.New(mustSealed(t))
	m.Transport = session.TransportHeader
	big := strings.Repeat("x", 20000)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if r.URL.Path == "/put" {
			s.Put("big", big)
			return
		}
		_, _ = w.Write([]byte(s.GetString("big")))
	}))
	token := apiCall(h, "/put", nil).Header.Get("Session-Token")
	assert.Greater(t, len(token), 20000, "one header, no chunks")
	assert.True(t, big == body(t, apiCall(h, "/get", bearer(token))), "the large value reads back")
}

// TestExplicitSaveOverHeaders checks that a second save in one response
// answers on the same channels as the first: the header a client reads
// carries the last token, and a Destroy after a save clears it.
func TestExplicitSaveOverHeaders(t *testing.T) {
	for _, transport := range []session.Transport{session.TransportHeader, session.TransportBoth} {
		m := session.New(mustSealed(t))
		m.Transport = transport
		saveTwice := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			s.Put("a", 1)
			require.NoError(t, m.Save(w, s))
			s.Put("b", 2)
		}))
		res := apiCall(saveTwice, "/", nil)
		token := res.Header.Get("Session-Token")
		keys := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.Join(m.Get(r).Keys(), ",")))
		}))
		assert.Equal(t, "a,b", body(t, apiCall(keys, "/", bearer(token))), "transport %d: the header has the last save's token", transport)
		if transport == session.TransportBoth {
			require.Len(t, res.Cookies(), 1)
			assert.Equal(t, token, res.Cookies()[0].Value, "cookie and header agree")
		}

		saveThenDestroy := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			s.Put("secret", "s3cr3t")
			require.NoError(t, m.Save(w, s))
			s.Destroy()
		}))
		res = apiCall(saveThenDestroy, "/", nil)
		assert.Contains(t, res.Header, "Session-Token", "transport %d", transport)
		assert.Empty(t, res.Header.Get("Session-Token"), "transport %d: Destroy clears the token the save had set", transport)
		for _, c := range res.Cookies() {
			assert.Equal(t, -1, c.MaxAge, "transport %d: only an expiry, never the saved cookie", transport)
		}
		if transport == session.TransportHeader {
			assert.Empty(t, res.Header.Values("Set-Cookie"), "the header transport sets no cookie")
		}
	}
}

func TestExplicitSave(t *testing.T) {
	store := newRecordStore()
	m, _ := newManager(store)

	t.Run("inside Handler, saved once", func(t *testing.T) {
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			s.Put("a", 1)
			require.NoError(t, m.Save(w, s))
			s.Put("b", 2) // changed again after the explicit save
			_, _ = w.Write([]byte("ok"))
		}))
		res := apiCall(h, "/", nil)
		require.Len(t, res.Cookies(), 1, "one cookie, not one per save")
		c := browsertest.InProcess(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.Join(m.Get(r).Keys(), ",")))
		})))
		c.SetCookie("session", res.Cookies()[0].Value)
		assert.Equal(t, "a,b", text(t, c, "/"), "the later change was saved too")
	})

	t.Run("saved twice, the request's chunks are still expired", func(t *testing.T) {
		m := session.New(mustSealed(t))
		m.Cookie.MaxChunks, m.Cookie.MaxBytes = 8, 64<<10 // past the defaults, knowingly
		c := browsertest.InProcess(t, testApp(m))
		c.Get("/put?user=ada&big=" + strings.Repeat("x", 7000))
		require.ElementsMatch(t, []string{"session", "session.1", "session.2"}, keysOf(c.Cookies()))

		c.SetHandler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			s.Delete("big") // one cookie from now on
			require.NoError(t, m.Save(w, s))
			s.Put("b", "2") // the middleware saves again
		})))
		c.Get("/")
		assert.Equal(t, []string{"session"}, keysOf(c.Cookies()), "the second save expires what the request carried")

		c.SetHandler(testApp(m))
		assert.Equal(t, "ada", text(t, c, "/get?k=user"))
		assert.Equal(t, "2", text(t, c, "/get?k=b"))
	})

	t.Run("saved, then destroyed", func(t *testing.T) {
		c := browsertest.InProcess(t, testApp(m))
		c.Get("/put?user=ada")
		c.SetHandler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			s.Put("a", 1)
			require.NoError(t, m.Save(w, s))
			s.Destroy()
		})))
		res, _ := c.Get("/")
		assert.Empty(t, c.Cookies(), "the cookie is expired, not set")
		require.Len(t, res.Cookies(), 1, "one expiry, not the first save's cookie as well")
	})

	t.Run("a failed save is the handler's to answer", func(t *testing.T) {
		store.failSave = errors.New("backend down")
		defer func() { store.failSave = nil }()
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			s.Put("a", 1)
			if err := m.Save(w, s); err != nil {
				http.Error(w, "please retry", http.StatusServiceUnavailable)
			}
		}))
		res := apiCall(h, "/", nil)
		assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
		assert.Equal(t, "please retry\n", body(t, res))
	})

	t.Run("outside Handler", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Load(r)
			s.Put("n", s.GetInt("n")+1)
			require.NoError(t, m.Save(w, s))
			_, _ = w.Write([]byte("saved"))
		})
		c := browsertest.InProcess(t, h)
		c.Get("/")
		c.Get("/")
		c.SetHandler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			assert.Equal(t, 2, m.Get(r).GetInt("n"))
		})))
		c.Get("/")
	})

	t.Run("another Manager's session", func(t *testing.T) {
		other := session.New(newRecordStore())
		s := other.Load(httptest.NewRequest("GET", "/", nil))
		assert.Error(t, m.Save(httptest.NewRecorder(), s))
	})
}
