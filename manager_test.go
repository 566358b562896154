package session_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
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

// recordStore is a Store kept in a map, counting its calls. It stands in
// for the real stores, which have their own tests, so that these tests see
// exactly what the Manager asks of a store.
type recordStore struct {
	mu                  sync.Mutex
	records             map[string]*session.Record
	loads, saves, dels  int
	failLoad, failSave  error
	tokenPadding        int // makes tokens this much longer, to force chunking
	lastSavedPersistent bool
}

func newRecordStore() *recordStore {
	return &recordStore{records: map[string]*session.Record{}}
}

func (s *recordStore) Load(_ context.Context, token string) (*session.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	if s.failLoad != nil {
		return nil, s.failLoad
	}
	return s.records[token].Clone(), nil
}

func (s *recordStore) Save(_ context.Context, token string, rec *session.Record) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if s.failSave != nil {
		return "", s.failSave
	}
	if token == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		token = base64.RawURLEncoding.EncodeToString(b) + strings.Repeat("p", s.tokenPadding)
	}
	s.records[token] = rec.Clone()
	s.lastSavedPersistent = rec.Persistent
	return token, nil
}

func (s *recordStore) Delete(_ context.Context, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dels++
	delete(s.records, token)
	return nil
}

func (s *recordStore) counts() (loads, saves, dels int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads, s.saves, s.dels
}

func (s *recordStore) resetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads, s.saves, s.dels = 0, 0, 0
}

// clock is a settable Manager.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func body(t *testing.T, res *http.Response) string {
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

// text is the body of c's GET of path.
func text(t *testing.T, c *browsertest.Browser, path string) string {
	t.Helper()
	_, s := c.Get(path)
	return s
}

// testApp wires a Manager to a few routes that exercise the session.
func testApp(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/none", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "no session used")
	})
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		for k, v := range r.URL.Query() {
			s.Put(k, v[0])
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, m.Get(r).GetString(r.URL.Query().Get("k")))
	})
	mux.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, m.Get(r).ID())
	})
	mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Get(r).Renew(); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/destroy", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Destroy()
	})
	mux.HandleFunc("/forget", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).RememberMe(false)
	})
	return m.Handler(mux)
}

func newManager(store session.Store) (*session.Manager, *clock) {
	m := session.New(store)
	c := newClock()
	m.Now = c.Now
	return m, c
}

func TestNewDefaultsAreSecure(t *testing.T) {
	m := session.New(newRecordStore())
	assert.Equal(t, "session", m.Cookie.Name)
	assert.Equal(t, "/", m.Cookie.Path)
	assert.True(t, m.Cookie.HttpOnly)
	assert.True(t, m.Cookie.Secure)
	assert.Equal(t, http.SameSiteLaxMode, m.Cookie.SameSite)
	assert.Equal(t, 24*time.Hour, m.Lifetime)
	assert.Panics(t, func() { session.New(nil) })
}

func TestUntouchedSessionCostsNothing(t *testing.T) {
	store := newRecordStore()
	m, _ := newManager(store)
	c := browsertest.InProcess(t, testApp(m))
	c.SetCookie("session", "whatever-the-client-sends")

	res, _ := c.Get("/none")
	assert.Equal(t, "no session used", body(t, res))
	assert.Empty(t, res.Header.Values("Set-Cookie"))
	loads, saves, dels := store.counts()
	assert.Zero(t, loads+saves+dels, "no store call for a request that never touches its session")
}

func TestNewEmptySessionSetsNoCookie(t *testing.T) {
	store := newRecordStore()
	m, _ := newManager(store)
	c := browsertest.InProcess(t, testApp(m))

	res, _ := c.Get("/get?k=x")
	assert.Empty(t, res.Header.Values("Set-Cookie"))
	_, saves, _ := store.counts()
	assert.Zero(t, saves)
}

func TestSetUserAloneStartsASession(t *testing.T) {
	store := newRecordStore()
	m, _ := newManager(store)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		require.NoError(t, s.Renew())
		s.SetUser("ada")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	require.Len(t, rec.Result().Cookies(), 1, "a session with an owner and no values is still a session")
	store.mu.Lock()
	defer store.mu.Unlock()
	for _, r := range store.records {
		assert.Equal(t, "ada", r.UserID)
	}
	assert.Len(t, store.records, 1)
}

func TestPutSetsSecureCookieAndReadsBack(t *testing.T) {
	store := newRecordStore()
	m, _ := newManager(store)
	c := browsertest.InProcess(t, testApp(m))

	res, _ := c.Get("/put?user=ada")
	cookies := res.Cookies()
	require.Len(t, cookies, 1)
	ck := cookies[0]
	assert.Equal(t, "session", ck.Name)
	assert.True(t, ck.HttpOnly)
	assert.True(t, ck.Secure)
	assert.Equal(t, http.SameSiteLaxMode, ck.SameSite)
	assert.Equal(t, "/", ck.Path)
	assert.Equal(t, int((24 * time.Hour).Seconds()), ck.MaxAge, "persistent until the Lifetime ends")

	store.resetCounts()
	res, _ = c.Get("/get?k=user")
	assert.Equal(t, "ada", body(t, res))
	assert.Empty(t, res.Header.Values("Set-Cookie"), "a read-only request sets no cookie")
	loads, saves, dels := store.counts()
	assert.Equal(t, []int{1, 0, 0}, []int{loads, saves, dels}, "a read-only request is one load and no write")
}

func TestRememberMeFalseGivesBrowserSessionCookie(t *testing.T) {
	m, _ := newManager(newRecordStore())
	c := browsertest.InProcess(t, testApp(m))
	c.Get("/put?a=1")
	res, _ := c.Get("/forget")
	require.Len(t, res.Cookies(), 1)
	assert.Zero(t, res.Cookies()[0].MaxAge)
	assert.NotContains(t, res.Header.Get("Set-Cookie"), "Max-Age")
}

func TestSaveHappensBeforeTheFirstByte(t *testing.T) {
	m, _ := newManager(newRecordStore())
	cases := map[string]http.HandlerFunc{
		"WriteHeader": func(w http.ResponseWriter, r *http.Request) {
			m.Get(r).Put("k", "v")
			w.WriteHeader(http.StatusCreated)
		},
		"Write": func(w http.ResponseWriter, r *http.Request) {
			m.Get(r).Put("k", "v")
			_, _ = w.Write([]byte("x"))
		},
		"Flush": func(w http.ResponseWriter, r *http.Request) {
			m.Get(r).Put("k", "v")
			w.(http.Flusher).Flush()
		},
		"ResponseController.Flush": func(w http.ResponseWriter, r *http.Request) {
			m.Get(r).Put("k", "v")
			require.NoError(t, http.NewResponseController(w).Flush())
		},
		"ReadFrom": func(w http.ResponseWriter, r *http.Request) {
			m.Get(r).Put("k", "v")
			_, _ = io.Copy(w, strings.NewReader("body"))
		},
		"return": func(w http.ResponseWriter, r *http.Request) {
			m.Get(r).Put("k", "v")
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(m.Handler(h))
			defer srv.Close()
			res, err := srv.Client().Get(srv.URL)
			require.NoError(t, err)
			defer res.Body.Close()
			require.Len(t, res.Cookies(), 1, "the cookie made it into the header")
			assert.Equal(t, "session", res.Cookies()[0].Name)
		})
	}
}

func TestInformationalHeaderDoesNotCommit(t *testing.T) {
	m, _ := newManager(newRecordStore())
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		m.Get(r).Put("k", "after early hints")
		w.WriteHeader(http.StatusOK)
	})))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, 200, res.StatusCode)
	assert.Len(t, res.Cookies(), 1, "the cookie goes with the final header")
}

func TestResponseControllerAndHijackPassThrough(t *testing.T) {
	m, _ := newManager(newRecordStore())
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		require.NoError(t, rc.SetWriteDeadline(time.Now().Add(time.Minute)), "Unwrap reaches the server's writer")
		m.Get(r).Put("k", "v")
		conn, buf, err := rc.Hijack()
		require.NoError(t, err)
		defer conn.Close()
		// The session was saved before the connection was handed over.
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		_ = buf.Flush()
	})))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, "hi", body(t, res))
}

func TestStoreFailureGoesToErrorFunc(t *testing.T) {
	store := newRecordStore()
	m, _ := newManager(store)
	var logged strings.Builder
	m.Logger = slogTo(&logged)
	c := browsertest.InProcess(t, testApp(m))
	c.Get("/put?user=ada")

	t.Run("save", func(t *testing.T) {
		store.failSave = errors.New("backend down, token=SECRET")
		defer func() { store.failSave = nil }()
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			m.Get(r).Put("k", "v")
			_, err := w.Write([]byte("handler body"))
			assert.ErrorIs(t, err, session.ErrAborted)
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, 500, rec.Code)
		assert.NotContains(t, rec.Body.String(), "handler body")
		assert.NotContains(t, rec.Body.String(), "SECRET", "no store details in the response")
		assert.Empty(t, rec.Header().Get("Content-Encoding"), "the handler's headers are dropped")
		assert.Empty(t, rec.Result().Cookies())
		assert.Contains(t, logged.String(), "backend down")
	})

	t.Run("load", func(t *testing.T) {
		store.failLoad = errors.New("backend down")
		store.resetCounts()
		res, _ := c.Get("/put?user=mallory")
		store.failLoad = nil
		assert.Equal(t, 500, res.StatusCode)
		_, saves, _ := store.counts()
		assert.Zero(t, saves, "an empty session never overwrites one that failed to load")
		assert.Equal(t, "ada", text(t, c, "/get?k=user"), "the real session is intact")
	})

	t.Run("custom ErrorFunc", func(t *testing.T) {
		store.failLoad = errors.New("backend down")
		defer func() { store.failLoad = nil }()
		m.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "try again", http.StatusServiceUnavailable)
		}
		defer func() { m.ErrorFunc = nil }()
		res, _ := c.Get("/get?k=user")
		assert.Equal(t, 503, res.StatusCode)
	})
}

func TestRollingIdleTimeout(t *testing.T) {
	store := newRecordStore()
	m, clk := newManager(store)
	m.IdleTimeout = 10 * time.Minute // touched at most every minute
	c := browsertest.InProcess(t, testApp(m))
	c.Get("/put?user=ada")

	clk.Add(30 * time.Second)
	store.resetCounts()
	res, _ := c.Get("/get?k=user")
	assert.Equal(t, "ada", body(t, res))
	_, saves, _ := store.counts()
	assert.Zero(t, saves, "no re-save within the touch interval")

	clk.Add(time.Minute)
	res, _ = c.Get("/get?k=user")
	assert.Equal(t, "ada", body(t, res))
	_, saves, _ = store.counts()
	assert.Equal(t, 1, saves, "the idle deadline is extended after the touch interval")
	require.Len(t, res.Cookies(), 1)
	assert.Equal(t, int((10 * time.Minute).Seconds()), res.Cookies()[0].MaxAge)

	// Kept alive by use well past one IdleTimeout...
	for range 5 {
		clk.Add(5 * time.Minute)
		assert.Equal(t, "ada", text(t, c, "/get?k=user"))
	}
	// ...and gone after a whole IdleTimeout unused, even with the cookie kept.
	clk.Add(10*time.Minute + time.Second)
	assert.Empty(t, text(t, c, "/get?k=user"))
}

func TestLifetimeIsAbsolute(t *testing.T) {
	m, clk := newManager(newRecordStore())
	m.Lifetime = time.Hour
	m.IdleTimeout = 30 * time.Minute
	c := browsertest.InProcess(t, testApp(m))
	c.Get("/put?user=ada")
	for range 5 {
		clk.Add(11 * time.Minute)
		assert.Equal(t, "ada", text(t, c, "/get?k=user"))
	}
	clk.Add(6 * time.Minute) // 61 minutes after creation
	assert.Empty(t, text(t, c, "/get?k=user"))
}

func TestShortenedLimitsApplyToExistingSessions(t *testing.T) {
	store := newRecordStore()
	m, clk := newManager(store)
	c := browsertest.InProcess(t, testApp(m))
	c.Get("/put?user=ada")
	clk.Add(2 * time.Hour)
	m.Lifetime = time.Hour
	store.resetCounts()
	res, _ := c.Get("/get?k=user")
	assert.Empty(t, body(t, res))
	_, _, dels := store.counts()
	assert.Equal(t, 1, dels, "a record rejected under the new limits is deleted")
	assert.Empty(t, c.Cookies(), "and its cookie expired")
}

func TestRenewChangesIDAndRevokesOldToken(t *testing.T) {
	store := newRecordStore()
	m, _ := newManager(store)
	c := browsertest.InProcess(t, testApp(m))
	c.Get("/put?user=ada")
	oldCookie := c.Cookies()["session"]
	oldID := text(t, c, "/id")

	c.Get("/renew")
	newID := text(t, c, "/id")
	assert.NotEqual(t, oldID, newID)
	assert.NotEqual(t, oldCookie, c.Cookies()["session"])
	assert.Equal(t, "ada", text(t, c, "/get?k=user"), "data survives Renew")

	thief := browsertest.InProcess(t, testApp(m))
	thief.SetCookie("session", oldCookie)
	assert.Empty(t, text(t, thief, "/get?k=user"), "the old token loads nothing")
}

func TestDestroy(t *testing.T) {
	store := newRecordStore()
	m, _ := newManager(store)
	c := browsertest.InProcess(t, testApp(m))
	c.Get("/put?user=ada")
	old := c.Cookies()["session"]

	res, _ := c.Get("/destroy")
	require.Len(t, res.Cookies(), 1)
	assert.Equal(t, -1, res.Cookies()[0].MaxAge, "cookie expired")
	assert.Empty(t, c.Cookies())
	store.mu.Lock()
	assert.Empty(t, store.records, "record deleted")
	store.mu.Unlock()

	thief := browsertest.InProcess(t, testApp(m))
	thief.SetCookie("session", old)
	assert.Empty(t, text(t, thief, "/get?k=user"))
}

func TestDestroyThenPutStartsNewSession(t *testing.T) {
	m, _ := newManager(newRecordStore())
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		before := s.ID()
		s.Destroy()
		s.Put("fresh", true)
		assert.NotEqual(t, before, s.ID())
		assert.True(t, s.IsNew())
	}))
	c := browsertest.InProcess(t, testApp(m))
	c.Get("/put?user=ada")
	c.SetHandler(h)
	c.Get("/")
	c.SetHandler(testApp(m))
	assert.Empty(t, text(t, c, "/get?k=user"))
}

func TestTamperedOrUnknownTokenIsNewSession(t *testing.T) {
	m, _ := newManager(newRecordStore())
	c := browsertest.InProcess(t, testApp(m))
	c.SetCookie("session", "not-a-token-this-store-knows")
	res, _ := c.Get("/id")
	assert.NotEmpty(t, body(t, res), "a new session has an ID")
	assert.Equal(t, 200, res.StatusCode)
	require.Len(t, res.Cookies(), 1)
	assert.Equal(t, -1, res.Cookies()[0].MaxAge, "the dead cookie is expired")
}

func TestChunking(t *testing.T) {
	store := newRecordStore()
	m, _ := newManager(store)
	m.Cookie.MaxChunks, m.Cookie.MaxBytes = 8, 64<<10 // past the defaults, knowingly
	c := browsertest.InProcess(t, testApp(m))

	store.tokenPadding = 10000 // ~10 KB tokens: three cookies
	res, _ := c.Get("/put?user=ada")
	setCookies := res.Header.Values("Set-Cookie")
	require.Len(t, setCookies, 3)
	for _, sc := range setCookies {
		assert.LessOrEqual(t, len(sc), session.MaxCookieSize)
	}
	assert.Contains(t, c.Cookies(), "session.1")
	assert.Contains(t, c.Cookies(), "session.2")
	assert.Equal(t, "ada", text(t, c, "/get?k=user"), "chunks reassemble")

	store.tokenPadding = 0
	c.Get("/renew") // a short token now: the stale chunks are expired
	assert.Equal(t, []string{"session"}, keysOf(c.Cookies()))
	assert.Equal(t, "ada", text(t, c, "/get?k=user"))

	store.tokenPadding = 9 * session.MaxCookieSize
	res, _ = c.Get("/renew") // a new token, too long for 8 cookies
	assert.Equal(t, 500, res.StatusCode, "more than MaxChunks cookies fails the save")
	assert.Empty(t, res.Cookies(), "and writes no cookie")
	assert.Equal(t, "ada", text(t, c, "/get?k=user"), "the session is as it was")
}

// TestSaveKeepsOtherCookies checks that the Manager replaces only its own
// cookies (Name and its chunks) when it saves or expires a session, not a
// handler's cookie, or another Manager's, whose name merely starts with
// Name.
func TestSaveKeepsOtherCookies(t *testing.T) {
	m, _ := newManager(newRecordStore())
	m.Cookie.Name = "app"
	for _, action := range []string{"put", "destroy"} {
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, name := range []string{"app.lang", "app.admin", "app.01", "app.+1", "app.8", "application"} {
				http.SetCookie(w, &http.Cookie{Name: name, Value: "x"})
			}
			s := m.Get(r)
			s.Put("user", "ada")
			if action == "destroy" {
				require.NoError(t, m.Save(w, s))
				s.Destroy()
			}
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		var names []string
		for _, c := range rec.Result().Cookies() {
			names = append(names, c.Name)
		}
		assert.Subset(t, names, []string{"app.lang", "app.admin", "app.01", "app.+1", "app.8", "application"}, action)
		assert.Contains(t, names, "app", action)
	}
}

func keysOf(m map[string]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func TestSessionAPI(t *testing.T) {
	m, _ := newManager(newRecordStore())
	type profile struct {
		Name  string
		Langs []string
	}
	when := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	put := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Put("str", "x")
		s.Put("int", 42)
		s.Put("bool", true)
		s.Put("time", when)
		s.Put("profile", profile{Name: "ada", Langs: []string{"go"}})
		s.Put("gone", 1)
		s.Delete("gone")
		s.Delete("never-there")
		s.AddFlash("saved")
		s.AddFlash("twice")
	}))
	check := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		assert.Equal(t, []string{"bool", "int", "profile", "str", "time"}, s.Keys(), "flashes are not keys")
		assert.Equal(t, "x", s.GetString("str"))
		assert.Equal(t, 42, s.GetInt("int"))
		assert.True(t, s.GetBool("bool"))
		assert.True(t, when.Equal(s.GetTime("time")))
		assert.Equal(t, "", s.GetString("int"), "wrong type gives the zero value")
		assert.Zero(t, s.GetInt("missing"))
		p, ok := session.GetAs[profile](s, "profile")
		assert.True(t, ok)
		assert.Equal(t, profile{Name: "ada", Langs: []string{"go"}}, p)
		_, ok = session.GetAs[int](s, "str")
		assert.False(t, ok)
		assert.False(t, s.Has("gone"))
		assert.Equal(t, []any{"saved", "twice"}, s.Flashes())
		assert.Nil(t, s.Flashes(), "flashes are consumed on read")
		assert.Equal(t, "x", s.Pop("str"))
		assert.False(t, s.Has("str"))
		n, ok := session.PopAs[int](s, "int")
		assert.Equal(t, 42, n)
		assert.True(t, ok)
		assert.False(t, s.IsNew())
		assert.Same(t, s, session.FromContext(r.Context()))
	}))
	after := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		assert.Nil(t, s.Flashes(), "consumed flashes stay consumed")
		assert.False(t, s.Has("str"), "a Pop is saved")
		s.Clear()
		assert.Empty(t, s.Keys())
		assert.NotEmpty(t, s.ID(), "Clear keeps the session")
	}))
	c := browsertest.InProcess(t, put)
	c.Get("/")
	c.SetHandler(check)
	c.Get("/")
	c.SetHandler(after)
	c.Get("/")
}

func TestConcurrentUseOfOneSession(t *testing.T) {
	m, _ := newManager(newRecordStore())
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := fmt.Sprint("k", i)
				s.Put(key, i)
				_ = s.GetInt(key)
				_ = s.Keys()
				s.AddFlash(i)
			}()
		}
		wg.Wait()
		assert.Len(t, s.Keys(), 20)
		assert.Len(t, s.Flashes(), 20)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, 200, rec.Code)
}

func TestNestedManagers(t *testing.T) {
	outer, _ := newManager(newRecordStore())
	inner, _ := newManager(newRecordStore())
	inner.Cookie.Name = "prefs"
	h := outer.Handler(inner.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outer.Get(r).Put("who", "outer")
		inner.Get(r).Put("who", "inner")
		assert.Same(t, inner.Get(r), session.FromContext(r.Context()))
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	names := map[string]bool{}
	for _, c := range rec.Result().Cookies() {
		names[c.Name] = true
	}
	assert.Equal(t, map[string]bool{"session": true, "prefs": true}, names)
}

// TestHandlerContextIsTheRequests checks that the context Handler gives the
// handler, which carries the session, is otherwise the request's own:
// its values, its deadline, and its cancellation, passed on to contexts
// derived from it, cause included.
func TestHandlerContextIsTheRequests(t *testing.T) {
	type key struct{}
	m, _ := newManager(newRecordStore())
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), key{}, "parent's value"))
	deadline := time.Now().Add(time.Hour)
	parent, cancelDeadline := context.WithDeadline(parent, deadline)
	defer cancelDeadline()
	cause := errors.New("client went away")
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		assert.Same(t, m.Get(r), session.FromContext(ctx))
		assert.Equal(t, "parent's value", ctx.Value(key{}))
		got, ok := ctx.Deadline()
		assert.True(t, ok)
		assert.Equal(t, deadline, got)

		child, cancelChild := context.WithCancel(ctx)
		defer cancelChild()
		require.NoError(t, child.Err())
		cancel(cause)
		select {
		case <-child.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("a context derived from the handler's was not cancelled with the request's")
		}
		assert.ErrorIs(t, ctx.Err(), context.Canceled)
		assert.ErrorIs(t, context.Cause(child), cause)
		assert.ErrorIs(t, context.Cause(ctx), cause)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(parent, "GET", "/", nil))
}

func TestGetOutsideHandler(t *testing.T) {
	m := session.New(newRecordStore())
	assert.Nil(t, session.FromContext(context.Background()))
	assert.PanicsWithValue(t,
		"session: Manager.Get called on a request that did not pass through this Manager's Handler",
		func() { m.Get(httptest.NewRequest("GET", "/", nil)) })
}

// slogTo returns a logger that writes text records to w.
func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}
