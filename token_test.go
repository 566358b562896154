package session_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/internal/browsertest"
)

// bothModes runs f with a Manager over each storage mode.
func bothModes(t *testing.T, f func(t *testing.T, m *session.Manager)) {
	t.Run("server", func(t *testing.T) {
		m, _, _ := serverManager(t)
		f(t, m)
	})
	t.Run("sealed", func(t *testing.T) {
		m, _ := sealedManager(t)
		f(t, m)
	})
}

func TestLoadTokenAndSaveToken(t *testing.T) {
	bothModes(t, func(t *testing.T, m *session.Manager) {
		ctx := t.Context()
		c := browsertest.InProcess(t, testApp(m))
		c.Get("/put?user=ada")
		token := c.Cookies()["session"]

		// A WebSocket handler, say, holds the token the page had.
		s, err := m.LoadToken(ctx, token)
		require.NoError(t, err)
		assert.False(t, s.IsNew())
		assert.Equal(t, "ada", s.GetString("user"))
		same, err := m.SaveToken(ctx, s)
		require.NoError(t, err)
		assert.Equal(t, token, same, "nothing changed: the same token")

		s.Put("theme", "dark")
		token, err = m.SaveToken(ctx, s)
		require.NoError(t, err)
		require.NotEmpty(t, token)
		c.ResetCookies(map[string]string{"session": token})
		assert.Equal(t, "dark", text(t, c, "/get?k=theme"), "the HTTP side sees the change")

		s, err = m.LoadToken(ctx, token)
		require.NoError(t, err)
		s.Destroy()
		gone, err := m.SaveToken(ctx, s)
		require.NoError(t, err)
		assert.Empty(t, gone, "a destroyed session has no token")
	})
}

func TestLoadTokenOfNothingIsANewSession(t *testing.T) {
	bothModes(t, func(t *testing.T, m *session.Manager) {
		for _, token := range []string{"", "junk", strings.Repeat("A", 43)} {
			s, err := m.LoadToken(t.Context(), token)
			require.NoError(t, err)
			assert.True(t, s.IsNew(), "%q", token)
			empty, err := m.SaveToken(t.Context(), s)
			require.NoError(t, err)
			assert.Empty(t, empty, "an untouched new session stores nothing")

			s.Put("job", "done")
			minted, err := m.SaveToken(t.Context(), s)
			require.NoError(t, err)
			require.NotEmpty(t, minted)
			assert.NotEqual(t, token, minted)
			again, err := m.LoadToken(t.Context(), minted)
			require.NoError(t, err)
			assert.Equal(t, "done", again.GetString("job"))
		}
	})
}

func TestLoadTokenFollowsDeadlines(t *testing.T) {
	bothModes(t, func(t *testing.T, m *session.Manager) {
		c := browsertest.InProcess(t, testApp(m))
		c.Get("/put?user=ada")
		token := c.Cookies()["session"]
		m.Lifetime = time.Nanosecond // shortened since: the session is over
		s, err := m.LoadToken(t.Context(), token)
		require.NoError(t, err)
		assert.True(t, s.IsNew())
		assert.Empty(t, s.GetString("user"))
	})
}

func TestSaveTokenMergesAndRespectsRevocation(t *testing.T) {
	m, store, _ := serverManager(t)
	ctx := t.Context()
	s, err := m.LoadToken(ctx, "")
	require.NoError(t, err)
	s.Put("a", 1)
	s.SetUser("ada")
	token, err := m.SaveToken(ctx, s)
	require.NoError(t, err)

	// Two jobs change different keys of the same session at once.
	one, err := m.LoadToken(ctx, token)
	require.NoError(t, err)
	two, err := m.LoadToken(ctx, token)
	require.NoError(t, err)
	one.Put("b", 2)
	two.Put("c", 3)
	_, err = m.SaveToken(ctx, one)
	require.NoError(t, err)
	_, err = m.SaveToken(ctx, two)
	require.NoError(t, err)
	both, err := m.LoadToken(ctx, token)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, both.Keys(), "merged, as requests are")

	// "Log out everywhere" while a job holds the session: its save does
	// not bring it back.
	late, err := m.LoadToken(ctx, token)
	require.NoError(t, err)
	n, err := store.DestroyUser(ctx, "ada")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	late.Put("d", 4)
	revived, err := m.SaveToken(ctx, late)
	require.NoError(t, err)
	assert.Empty(t, revived)
	again, err := m.LoadToken(ctx, token)
	require.NoError(t, err)
	assert.True(t, again.IsNew())
}

func TestSaveTokenRefusesRequestSessions(t *testing.T) {
	m, _ := sealedManager(t)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := m.SaveToken(r.Context(), m.Get(r))
		assert.ErrorContains(t, err, "Handler saves those")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	other, _ := sealedManager(t)
	s, err := other.LoadToken(t.Context(), "")
	require.NoError(t, err)
	_, err = m.SaveToken(t.Context(), s)
	assert.ErrorContains(t, err, "another Manager's session")
}

func TestLoadTokenReportsAStoreFailure(t *testing.T) {
	store := newRecordStore()
	store.failLoad = fmt.Errorf("backend down")
	m := session.New(store)
	_, err := m.LoadToken(t.Context(), "some-token")
	assert.ErrorContains(t, err, "backend down")
}

// clockOn gives m a settable clock that starts now: a sealed store checks
// its deadlines by the real clock too.
func clockOn(m *session.Manager) *clock {
	clk := newClock()
	clk.t = time.Now().Truncate(time.Second)
	m.Now = clk.Now
	return clk
}

func TestSetDeadline(t *testing.T) {
	bothModes(t, func(t *testing.T, m *session.Manager) {
		clk := clockOn(m)
		m.IdleTimeout = 2 * time.Hour
		c := browsertest.InProcess(t, testApp(m))
		c.SetHandler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			switch r.URL.Path {
			case "/reset":
				s.Put("reset", "pending")
				s.SetDeadline(clk.Now().Add(15 * time.Minute))
			case "/late":
				s.SetDeadline(clk.Now().Add(48 * time.Hour))
			case "/touch":
				s.Put("n", s.GetInt("n")+1)
			}
			if d := s.Deadline(); !d.IsZero() {
				fmt.Fprint(w, d.Sub(clk.Now()))
			}
		})))
		assert.Empty(t, text(t, c, "/nothing"), "no deadline before the session exists")
		res, _ := c.Get("/reset")
		assert.Equal(t, "15m0s", body(t, res))
		assert.Equal(t, 15*60, res.Cookies()[0].MaxAge, "the cookie follows the deadline")

		clk.Add(10 * time.Minute)
		assert.Equal(t, "5m0s", text(t, c, "/touch"), "activity does not push it back")
		clk.Add(5 * time.Minute)
		token := c.Cookies()["session"]
		s, err := m.LoadToken(t.Context(), token)
		require.NoError(t, err)
		assert.True(t, s.IsNew(), "over at the deadline, whatever the cookie says")

		c.ResetCookies(map[string]string{})
		assert.Equal(t, "2h0m0s", text(t, c, "/late"), "never later than the idle limit allows")
	})
}

func TestBrowserSessionIdleTimeout(t *testing.T) {
	bothModes(t, func(t *testing.T, m *session.Manager) {
		clk := clockOn(m)
		m.BrowserSessionIdleTimeout = 30 * time.Minute
		remembered := browsertest.InProcess(t, testApp(m))
		remembered.Get("/put?user=ada")
		forgotten := browsertest.InProcess(t, testApp(m))
		forgotten.Get("/put?user=bob")
		forgotten.Get("/forget")

		clk.Add(31 * time.Minute)
		assert.Equal(t, "ada", text(t, remembered, "/get?k=user"), "a remembered session keeps the Lifetime")
		assert.Empty(t, text(t, forgotten, "/get?k=user"), "a copy of a browser-session cookie dies after 30 idle minutes")
	})
}

func TestSecureCookieOverPlainHTTPWarnsOnce(t *testing.T) {
	for name, tc := range map[string]struct {
		host, proto string
		warn        bool
	}{
		"plain HTTP":                 {"app.example.com", "", true},
		"behind an HTTPS proxy":      {"app.example.com", "https", false},
		"localhost":                  {"localhost:8080", "", false},
		"loopback address":           {"127.0.0.1:8080", "", false},
		"a .localhost name":          {"app.localhost", "", false},
		"an HTTP proxy says so too":  {"app.example.com", "http", true},
		"IPv6 loopback with a port:": {"[::1]:8080", "", false},
	} {
		t.Run(name, func(t *testing.T) {
			m, log := sealedManager(t)
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.Get(r).Put("a", 1) }))
			for range 3 {
				req := httptest.NewRequest("GET", "http://"+tc.host+"/", nil)
				if tc.proto != "" {
					req.Header.Set("X-Forwarded-Proto", tc.proto)
				}
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
			if !tc.warn {
				assert.Empty(t, log.String())
				return
			}
			assert.Equal(t, 1, strings.Count(log.String(), "plain-HTTP request"), "warned once")
			assert.Contains(t, log.String(), "Cookie.Secure = false for local development only", "naming the fix")
		})
	}
	t.Run("Forwarded: proto=https", func(t *testing.T) {
		m, log := sealedManager(t)
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.Get(r).Put("a", 1) }))
		req := httptest.NewRequest("GET", "http://app.example.com/", nil)
		req.Header.Set("Forwarded", `for=192.0.2.60;proto=https;by=203.0.113.43`)
		h.ServeHTTP(httptest.NewRecorder(), req)
		assert.Empty(t, log.String())
	})
}

// eventLog collects a Manager's events.
type eventLog struct {
	mu     sync.Mutex
	events []session.Event
}

func (l *eventLog) record(_ context.Context, e session.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) kinds() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		out = append(out, e.Kind.String())
	}
	l.events = nil
	return out
}

func TestEvents(t *testing.T) {
	bothModes(t, func(t *testing.T, m *session.Manager) {
		var events eventLog
		m.OnEvent = events.record
		c := browsertest.InProcess(t, testApp(m))
		c.Get("/put?user=ada")
		assert.Equal(t, []string{"created"}, events.kinds())
		c.Get("/get?k=user")
		assert.Empty(t, events.kinds(), "a read is no event")
		c.Get("/renew")
		assert.Equal(t, []string{"renewed"}, events.kinds())
		token := c.Cookies()["session"]
		c.Get("/destroy")
		assert.Equal(t, []string{"destroyed"}, events.kinds())

		c.ResetCookies(map[string]string{"session": "forged" + token[6:]})
		c.Get("/get?k=user")
		events.mu.Lock()
		require.Len(t, events.events, 1)
		e := events.events[0]
		events.mu.Unlock()
		assert.Equal(t, session.EventRejected, e.Kind)
		assert.ErrorIs(t, e.Reason, session.ErrInvalidToken)
		assert.NotNil(t, e.Request)
		assert.NotContains(t, fmt.Sprintf("%+v", e), token[6:], "an event never carries a token")
	})
}

func TestEventsGoToTheLoggerByDefault(t *testing.T) {
	m := session.New(mustSealed(t))
	var debug bytes.Buffer
	m.Logger = slog.New(slog.NewTextHandler(&debug, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := browsertest.InProcess(t, testApp(m))
	c.Get("/put?user=ada")
	c.Get("/renew")
	c.SetCookie("session", "tampered")
	c.Get("/get?k=user")
	out := debug.String()
	assert.Contains(t, out, `level=DEBUG msg="session: created"`)
	assert.Contains(t, out, `level=DEBUG msg="session: renewed"`)
	assert.Contains(t, out, `level=DEBUG msg="session: rejected"`)
	assert.Contains(t, out, "reason=")
	assert.NotContains(t, out, "=tampered", "never the token")
}
