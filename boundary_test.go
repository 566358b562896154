package session_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/internal/browsertest"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

// serverManager is a Manager over an in-memory server-side store, with the
// log captured.
func serverManager(t *testing.T) (*session.Manager, *serverstore.Store, *bytes.Buffer) {
	backend := memstore.New()
	t.Cleanup(func() { _ = backend.Close() })
	store := serverstore.New(backend)
	m := session.New(store)
	var log bytes.Buffer
	m.Logger = slogTo(&log)
	return m, store, &log
}

// sealedManager is a Manager over the sealed cookie store, with the log
// captured.
func sealedManager(t *testing.T) (*session.Manager, *bytes.Buffer) {
	m := session.New(mustSealed(t))
	var log bytes.Buffer
	m.Logger = slogTo(&log)
	return m, &log
}

// startResponse begins the response each way a handler can.
var startResponse = map[string]func(http.ResponseWriter){
	"Write":       func(w http.ResponseWriter) { _, _ = w.Write([]byte("page")) },
	"WriteHeader": func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) },
	"Flush":       func(w http.ResponseWriter) { http.NewResponseController(w).Flush() }, //nolint:errcheck // the recorder flushes
}

func TestDestroyAfterTheResponseBeganEndsTheServerRecord(t *testing.T) {
	for how, start := range startResponse {
		t.Run(how, func(t *testing.T) {
			m, _, log := serverManager(t)
			c := browsertest.InProcess(t, testApp(m))
			c.Get("/put?user=ada")
			token := c.Cookies()["session"]
			require.NotEmpty(t, token)

			c.SetHandler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := m.Get(r)
				_ = s.GetString("user")
				start(w)
				s.Destroy()
				assert.NoError(t, s.Err(), "a server record can still be deleted")
			})))
			c.Get("/logout")

			// The cookie could not be expired, but what it names is gone.
			c.SetHandler(testApp(m))
			c.ResetCookies(map[string]string{"session": token})
			assert.Empty(t, text(t, c, "/get?k=user"), "the old cookie no longer logs the user in")
			assert.NotContains(t, log.String(), "level=ERROR", "nothing was dropped, so nothing is logged")
		})
	}
}

func TestDestroyAfterTheResponseBeganIsReportedForSealedCookies(t *testing.T) {
	m, log := sealedManager(t)
	c := browsertest.InProcess(t, testApp(m))
	c.Get("/put?user=ada")
	var err error
	c.SetHandler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		_, _ = w.Write([]byte("bye"))
		s.Destroy()
		err = s.Err()
	})))
	c.Get("/logout")
	require.ErrorIs(t, err, session.ErrResponseStarted)
	assert.Contains(t, log.String(), "Destroy cannot be saved")
	assert.Contains(t, log.String(), "level=ERROR")
	assert.Contains(t, log.String(), "path=/logout")
}

func TestRenewAfterTheResponseBeganChangesNothing(t *testing.T) {
	bothModes(t, func(t *testing.T, m *session.Manager) {
		c := browsertest.InProcess(t, testApp(m))
		c.Get("/put?user=ada")
		before := text(t, c, "/id")
		token := c.Cookies()["session"]
		var err error
		var id string
		c.SetHandler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			_, _ = w.Write([]byte("hello"))
			err = s.Renew()
			id = s.ID()
		})))
		res, _ := c.Get("/login")
		require.ErrorIs(t, err, session.ErrResponseStarted)
		assert.Equal(t, before, id, "the ID did not change")
		assert.Empty(t, res.Header.Values("Set-Cookie"))

		c.SetHandler(testApp(m))
		assert.Equal(t, token, c.Cookies()["session"])
		assert.Equal(t, before, text(t, c, "/id"), "the old token still names the session")
		assert.Equal(t, "ada", text(t, c, "/get?k=user"))
	})
}

func TestChangesAfterTheResponseBegan(t *testing.T) {
	// Each change, and what the session holds once it is saved.
	changes := map[string]struct {
		change func(*session.Session)
		want   string
	}{
		"Put":      {func(s *session.Session) { s.Put("late", "yes") }, "late=yes user=ada"},
		"Delete":   {func(s *session.Session) { s.Delete("user") }, ""},
		"Clear":    {func(s *session.Session) { s.Clear() }, ""},
		"Pop":      {func(s *session.Session) { s.Pop("user") }, ""},
		"PopAs":    {func(s *session.Session) { session.PopAs[string](s, "user") }, ""},
		"AddFlash": {func(s *session.Session) { s.AddFlash("hi") }, "user=ada flash=[hi]"},
		"SetDeadline": {func(s *session.Session) { s.SetDeadline(time.Now().Add(time.Hour)) },
			"user=ada deadline=1h0m0s"},
	}
	for name, tc := range changes {
		t.Run(name+"/server: saved under the same token", func(t *testing.T) {
			m, _, log := serverManager(t)
			c := browsertest.InProcess(t, testApp(m))
			c.Get("/put?user=ada")
			token := c.Cookies()["session"]
			var err error
			c.SetHandler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := m.Get(r)
				_, _ = w.Write([]byte("page"))
				tc.change(s)
				err = s.Err()
			})))
			c.Get("/")
			require.NoError(t, err)
			assert.NotContains(t, log.String(), "level=ERROR")
			require.Equal(t, token, c.Cookies()["session"])
			s, err := m.LoadToken(t.Context(), token)
			require.NoError(t, err)
			assert.Equal(t, tc.want, describe(s), "the late change was saved")
		})
		t.Run(name+"/sealed: reported", func(t *testing.T) {
			m, log := sealedManager(t)
			c := browsertest.InProcess(t, testApp(m))
			c.Get("/put?user=ada")
			var err error
			c.SetHandler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := m.Get(r)
				_, _ = w.Write([]byte("page"))
				tc.change(s)
				err = s.Err()
			})))
			c.Get("/")
			require.ErrorIs(t, err, session.ErrResponseStarted)
			assert.Contains(t, err.Error(), name)
			assert.Contains(t, log.String(), "session: change after the response began")
		})
	}
}

// describe sums up what a session holds, for comparisons: its values in
// key order, pending flashes, and a per-session deadline within the next
// 12 hours, rounded to the hour from now.
func describe(s *session.Session) string {
	var parts []string
	for _, k := range s.Keys() {
		parts = append(parts, fmt.Sprintf("%s=%v", k, s.Get(k)))
	}
	if f := s.Flashes(); f != nil {
		parts = append(parts, fmt.Sprintf("flash=%v", f))
	}
	if d := s.Deadline(); !d.IsZero() && d.Before(time.Now().Add(12*time.Hour)) {
		parts = append(parts, "deadline="+time.Until(d).Round(time.Hour).String())
	}
	return strings.Join(parts, " ")
}

func TestNewSessionAfterTheResponseBeganIsReported(t *testing.T) {
	backend := memstore.New()
	defer backend.Close()
	m := session.New(serverstore.New(backend))
	var log bytes.Buffer
	m.Logger = slogTo(&log)
	var err error
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		_, _ = w.Write([]byte("page"))
		s.Put("cart", "book") // no session yet: its new token cannot be sent
		err = s.Err()
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	require.ErrorIs(t, err, session.ErrResponseStarted)
	assert.Contains(t, err.Error(), "starts a new session")
	assert.Contains(t, log.String(), "level=ERROR")
	assert.Zero(t, backend.Len(), "no record was stored that no client could name")
}

func TestSetUserAndRememberMeAfterTheResponseBeganAreRefused(t *testing.T) {
	for name, change := range map[string]func(*session.Session){
		"SetUser":    func(s *session.Session) { s.SetUser("mallory") },
		"RememberMe": func(s *session.Session) { s.RememberMe(false) },
	} {
		t.Run(name, func(t *testing.T) {
			m, _, log := serverManager(t)
			c := browsertest.InProcess(t, testApp(m))
			c.Get("/put?user=ada")
			var err error
			c.SetHandler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := m.Get(r)
				_, _ = w.Write([]byte("page"))
				change(s)
				err = s.Err()
			})))
			c.Get("/")
			require.ErrorIs(t, err, session.ErrResponseStarted)
			assert.Contains(t, log.String(), "nothing was changed")
			s, err := m.LoadToken(t.Context(), c.Cookies()["session"])
			require.NoError(t, err)
			assert.Empty(t, s.UserID())
			assert.True(t, s.Deadline().After(time.Now().Add(23*time.Hour)), "still persistent, with the Lifetime's deadline")
		})
	}
}

func TestExplicitSaveAfterTheResponseBegan(t *testing.T) {
	m, _, _ := serverManager(t)
	c := browsertest.InProcess(t, testApp(m))
	c.Get("/put?user=ada")
	c.SetHandler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		_, _ = w.Write([]byte("page"))
		s.Put("late", "yes")
		assert.NoError(t, m.Save(w, s), "a server store keeps it under the same token")
	})))
	c.Get("/")
	c.SetHandler(testApp(m))
	assert.Equal(t, "yes", text(t, c, "/get?k=late"))

	sm, _ := sealedManager(t)
	c = browsertest.InProcess(t, testApp(sm))
	c.Get("/put?user=ada")
	c.SetHandler(sm.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sm.Get(r)
		_, _ = w.Write([]byte("page"))
		s.Put("late", "yes")
		assert.ErrorIs(t, sm.Save(w, s), session.ErrResponseStarted)
	})))
	c.Get("/")
}

func TestVary(t *testing.T) {
	m, _ := sealedManager(t)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/session" {
			_ = m.Get(r).GetString("user")
		}
		w.Header().Set("Vary", "Accept-Encoding")
		_, _ = w.Write([]byte("page"))
	}))
	serve := func(path string) http.Header {
		res := httptest.NewRecorder()
		h.ServeHTTP(res, httptest.NewRequest("GET", path, nil))
		return res.Header()
	}
	assert.Equal(t, []string{"Accept-Encoding", "Cookie"}, serve("/session").Values("Vary"), "a page made from the session varies with the cookie")
	assert.Equal(t, []string{"Accept-Encoding"}, serve("/static").Values("Vary"), "a page that did not use the session does not")

	m.Transport = session.TransportHeader
	assert.Equal(t, []string{"Accept-Encoding", "Authorization"}, serve("/session").Values("Vary"))
	m.Transport = session.TransportBoth
	assert.Equal(t, []string{"Accept-Encoding", "Cookie", "Authorization"}, serve("/session").Values("Vary"))
}

func TestResponsesThatSetTheCookieAreNeverSharedCacheable(t *testing.T) {
	for set, want := range map[string]string{
		"":                                 `private, no-cache="Set-Cookie"`,
		"public, max-age=3600":             "max-age=3600, private",
		"public, s-maxage=600, max-age=60": "max-age=60, private",
		"max-age=60":                       "max-age=60, private",
		"no-store":                         "no-store",
		"private, max-age=60":              "private, max-age=60",
		`no-cache="Set-Cookie, X", public`: `no-cache="Set-Cookie, X", private`,
	} {
		t.Run(set, func(t *testing.T) {
			m, _ := sealedManager(t)
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m.Get(r).Put("user", "ada")
				if set != "" {
					w.Header().Set("Cache-Control", set)
				}
				w.Header().Set("CDN-Cache-Control", "max-age=86400")
				w.Header().Set("Cloudflare-CDN-Cache-Control", "max-age=86400")
				w.Header().Set("Surrogate-Control", "max-age=86400")
				_, _ = w.Write([]byte("page"))
			}))
			res := httptest.NewRecorder()
			h.ServeHTTP(res, httptest.NewRequest("GET", "/", nil))
			require.NotEmpty(t, res.Header().Values("Set-Cookie"))
			assert.Equal(t, []string{want}, res.Header().Values("Cache-Control"))
			for _, name := range []string{"CDN-Cache-Control", "Cloudflare-CDN-Cache-Control", "Surrogate-Control"} {
				assert.Empty(t, res.Header().Values(name), "%s would let a CDN keep the response", name)
			}
		})
	}

	t.Run("a clearing response too", func(t *testing.T) {
		m, _ := sealedManager(t)
		c := browsertest.InProcess(t, testApp(m))
		c.Get("/put?user=ada")
		res, _ := c.Get("/destroy")
		require.NotEmpty(t, res.Header.Values("Set-Cookie"))
		assert.Equal(t, `private, no-cache="Set-Cookie"`, res.Header.Get("Cache-Control"))
	})

	t.Run("an explicit Save, then a public Cache-Control", func(t *testing.T) {
		m, _ := sealedManager(t)
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			s.Put("user", "ada")
			require.NoError(t, m.Save(w, s))
			w.Header().Set("Cache-Control", "public, max-age=60")
		}))
		res := httptest.NewRecorder()
		h.ServeHTTP(res, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, "max-age=60, private", res.Header().Get("Cache-Control"))
	})

	t.Run("a read-only response keeps the handler's", func(t *testing.T) {
		m, _ := sealedManager(t)
		c := browsertest.InProcess(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/put" {
				m.Get(r).Put("user", "ada")
				return
			}
			_ = m.Get(r).GetString("user")
			w.Header().Set("Cache-Control", "public, max-age=60")
		})))
		c.Get("/put")
		res, _ := c.Get("/read")
		assert.Empty(t, res.Header.Values("Set-Cookie"))
		assert.Equal(t, "public, max-age=60", res.Header.Get("Cache-Control"), "Vary: Cookie keeps it apart")
		assert.Equal(t, "Cookie", res.Header.Get("Vary"))
	})

	t.Run("header transport", func(t *testing.T) {
		m, _ := sealedManager(t)
		m.Transport = session.TransportHeader
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.Get(r).Put("user", "ada")
			w.Header().Set("Cache-Control", "public, max-age=60")
		}))
		res := httptest.NewRecorder()
		h.ServeHTTP(res, httptest.NewRequest("GET", "/", nil))
		require.NotEmpty(t, res.Header().Get("Session-Token"))
		assert.Equal(t, "max-age=60, private", res.Header().Get("Cache-Control"))
	})
}

func TestSetCookieWithMaxAgeCarriesExpires(t *testing.T) {
	m, clk := newManager(newRecordStore())
	c := browsertest.InProcess(t, testApp(m))
	res, _ := c.Get("/put?user=ada")
	cookies := res.Cookies()
	require.Len(t, cookies, 1)
	assert.Equal(t, int(session.DefaultLifetime/time.Second), cookies[0].MaxAge)
	assert.True(t, clk.Now().Add(session.DefaultLifetime).Equal(cookies[0].Expires), "Expires %v matches Max-Age", cookies[0].Expires)

	res, _ = c.Get("/destroy")
	cookies = res.Cookies()
	require.Len(t, cookies, 1)
	assert.Equal(t, -1, cookies[0].MaxAge)
	assert.True(t, cookies[0].Expires.Equal(time.Unix(0, 0)), "a deletion's Expires is in the past: %v", cookies[0].Expires)

	c.Get("/put?user=ada")
	res, _ = c.Get("/forget")
	require.NotEmpty(t, res.Header.Get("Set-Cookie"))
	assert.NotContains(t, res.Header.Get("Set-Cookie"), "Expires", "a browser-session cookie has neither")
	assert.NotContains(t, res.Header.Get("Set-Cookie"), "Max-Age")
}

// largestValue finds, by bisection, the longest value of incompressible
// text that a session of m saves.
func largestValue(t *testing.T, m *session.Manager) int {
	fits := func(n int) bool {
		var err error
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			s.Put("v", randomText(n))
			err = m.Save(w, s)
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		if err != nil {
			require.ErrorIs(t, err, session.ErrTooLarge)
		}
		return err == nil
	}
	lo, hi := 0, 64<<10
	for lo+1 < hi {
		if mid := (lo + hi) / 2; fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// randomText is n random letters and digits: text no codec shrinks.
func randomText(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func TestDefaultsKeepTheCookieHeaderWithinProxyLimits(t *testing.T) {
	m, _ := sealedManager(t)
	n := largestValue(t, m)
	require.Greater(t, n, 4000, "the default budget holds a session of several KB")

	// The Cookie header a browser sends back for the largest session.
	res := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Put("v", randomText(n))
	})).ServeHTTP(res, httptest.NewRequest("GET", "/", nil))
	var pairs []string
	for _, c := range res.Result().Cookies() {
		if c.MaxAge >= 0 {
			pairs = append(pairs, c.Name+"="+c.Value)
		}
	}
	header := "Cookie: " + strings.Join(pairs, "; ")
	assert.LessOrEqual(t, len(header), 8190-1000, "within 8190 bytes, with about 1 KB left for the site's other cookies")
	t.Logf("largest value %d bytes; Cookie header %d bytes in %d cookies", n, len(header), len(pairs))
}

func TestCookieTossingCannotLogAUserOut(t *testing.T) {
	bothModes(t, func(t *testing.T, m *session.Manager) {
		c := browsertest.InProcess(t, testApp(m))
		c.Get("/put?user=ada")
		token := c.Cookies()["session"]
		for _, header := range []string{
			"session=junk; session=" + token,
			"session=" + token + "; session=junk",
			"session=" + strings.Repeat("A", 43) + "; session=" + token, // well formed, unknown
			"session=; session=junk; session=" + token,
		} {
			req := httptest.NewRequest("GET", "/get?k=user", nil)
			req.Header.Set("Cookie", header)
			res := httptest.NewRecorder()
			testApp(m).ServeHTTP(res, req)
			assert.Equal(t, "ada", res.Body.String(), "%s: the cookie that opens is used", header)
			assert.Empty(t, res.Header().Values("Set-Cookie"), "%s: the victim's cookie is not expired", header)
		}
	})
}

func TestCookieTossingBoundsTheWork(t *testing.T) {
	store := newRecordStore()
	m, _ := newManager(store)
	var pairs []string
	for i := range 50 {
		pairs = append(pairs, "session=planted"+strconv.Itoa(i))
	}
	req := httptest.NewRequest("GET", "/get?k=user", nil)
	req.Header.Set("Cookie", strings.Join(pairs, "; "))
	testApp(m).ServeHTTP(httptest.NewRecorder(), req)
	loads, _, _ := store.counts()
	assert.Equal(t, 4, loads, "at most four cookies of the session's name are tried")
}

func TestStaleChunksOfConcurrentResponsesNeverBreakTheSession(t *testing.T) {
	m, _ := sealedManager(t)
	c := browsertest.InProcess(t, testApp(m))
	c.Get("/put?user=ada")
	base := c.Cookies()

	// Concurrent requests of one session, whose saves give a token of two
	// cookies, of one long cookie, and of one short one, answered in any
	// order: the browser keeps, for each name, the last value it was sent.
	respond := func(size int) *http.Response {
		c.ResetCookies(base)
		res, _ := c.Get("/put?v=" + randomText(size))
		return res
	}
	responses := map[string]*http.Response{"two": respond(4000), "long": respond(1800), "short": respond(10)}
	require.Len(t, responses["two"].Cookies(), 2)
	require.Greater(t, len(responses["long"].Cookies()[0].Value), 2048, "long enough to look for a continuation")
	for _, order := range [][]string{{"two", "long"}, {"long", "two"}, {"two", "short"}, {"short", "two"}} {
		c.ResetCookies(base)
		for _, name := range order {
			c.Receive(responses[name])
		}
		if order[1] == "long" {
			assert.NotContains(t, c.Cookies(), "session.1", "%v: a long cookie expires the chunk after it, which a reader would glue on", order)
		}
		assert.Equal(t, "ada", text(t, c, "/get?k=user"), "%v: the jar the browser ends with opens", order)
	}
}

func TestMisconfiguredCookiesPanicAtStart(t *testing.T) {
	for name, tc := range map[string]struct {
		set  func(*session.CookieOptions)
		want string
	}{
		"__Host- without Secure":     {func(o *session.CookieOptions) { o.Name, o.Secure = "__Host-session", false }, "Cookie.Secure = true"},
		"__Host- with a Domain":      {func(o *session.CookieOptions) { o.Name, o.Domain = "__Host-session", "example.com" }, `Cookie.Domain = ""`},
		"__Host- on a path":          {func(o *session.CookieOptions) { o.Name, o.Path = "__Host-session", "/app" }, `Cookie.Path = "/"`},
		"__Secure- without Secure":   {func(o *session.CookieOptions) { o.Name, o.Secure = "__Secure-session", false }, "Cookie.Secure = true"},
		"SameSite None, not Secure":  {func(o *session.CookieOptions) { o.SameSite, o.Secure = http.SameSiteNoneMode, false }, "Cookie.Secure = true"},
		"Partitioned, not Secure":    {func(o *session.CookieOptions) { o.Partitioned, o.Secure = true, false }, "Cookie.Secure = true"},
		"a name that is not a token": {func(o *session.CookieOptions) { o.Name = "my session" }, "not a valid cookie name"},
	} {
		t.Run(name, func(t *testing.T) {
			m := session.New(newRecordStore())
			tc.set(&m.Cookie)
			defer func() {
				r := recover()
				require.NotNil(t, r, "Handler must refuse the configuration")
				assert.Contains(t, fmt.Sprint(r), tc.want, "the panic names the fix")
			}()
			m.Handler(http.NotFoundHandler())
		})
	}
	m := session.New(newRecordStore())
	m.Cookie.Name = "__Host-session"
	assert.NotPanics(t, func() { m.Handler(http.NotFoundHandler()) }, "the recommended production name is fine with the defaults")
}

func TestSetUserWithAnotherUserRenews(t *testing.T) {
	m, store, _ := serverManager(t)
	c := browsertest.InProcess(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		switch r.URL.Path {
		case "/visit":
			s.Put("cart", "book")
		case "/login":
			s.SetUser(r.URL.Query().Get("user")) // no Renew: the Manager renews
		}
		fmt.Fprint(w, s.ID())
	})))
	before := text(t, c, "/visit")
	planted := c.Cookies()["session"]
	after := text(t, c, "/login?user=ada")
	assert.NotEqual(t, before, after, "a new ID")
	assert.NotEqual(t, planted, c.Cookies()["session"], "a new token")
	s, err := m.LoadToken(t.Context(), planted)
	require.NoError(t, err)
	assert.True(t, s.IsNew(), "the pre-login token no longer names the session")
	list, err := store.ListUser(t.Context(), "ada")
	require.NoError(t, err)
	require.Len(t, list, 1)

	// The same user again is no change: no renewal.
	token := c.Cookies()["session"]
	text(t, c, "/login?user=ada")
	assert.Equal(t, token, c.Cookies()["session"])
}

func TestMisconfigurationPanicsOnEveryUseOutsideHandler(t *testing.T) {
	m := session.New(newRecordStore())
	m.Cookie.SameSite, m.Cookie.Secure = http.SameSiteNoneMode, false
	for range 2 {
		assert.PanicsWithValue(t, "session: Cookie.SameSite is None, which browsers accept only with Secure: set Cookie.Secure = true, or choose SameSite Lax", func() {
			_, _ = m.LoadToken(t.Context(), "token")
		})
	}
}

// jsonOnly is a store that works only with the JSON codec.
type jsonOnly struct{ *recordStore }

func (jsonOnly) Check(m *session.Manager) error {
	if m.Codec != session.JSON {
		return fmt.Errorf("jsonOnly: set Manager.Codec = session.JSON")
	}
	return nil
}

func TestStoreChecksTheManagerAtStart(t *testing.T) {
	m := session.New(jsonOnly{newRecordStore()})
	assert.PanicsWithValue(t, "jsonOnly: set Manager.Codec = session.JSON", func() { m.Handler(http.NotFoundHandler()) })
	m.Codec = session.JSON
	assert.NotPanics(t, func() { m.Handler(http.NotFoundHandler()) })
}
