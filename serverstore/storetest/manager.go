package storetest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
)

// runManager checks the Store under a session.Manager serving requests.
func runManager(t *testing.T, newBackend func(t *testing.T) serverstore.Backend) {
	t.Run("ReadOnlyRequest", func(t *testing.T) {
		m, _, _, counts := newManager(t, newBackend)
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			if v := r.URL.Query().Get("put"); v != "" {
				s.Put("a", v)
			}
			_, _ = io.WriteString(w, s.GetString("a"))
		}))
		token := serve(t, h, "/?put=1", "").token
		require.NotEmpty(t, token)

		counts.Reset()
		res := serve(t, h, "/", token)
		require.Equal(t, "1", res.body)
		require.False(t, res.setCookie, "a read-only request set a cookie")
		require.EqualValues(t, 1, counts.Reads.Load(), "a read-only request must cost one backend read")
		require.Zero(t, counts.Writes.Load(), "a read-only request must not write")

		counts.Reset()
		serve(t, m.Handler(http.NotFoundHandler()), "/", token)
		require.Zero(t, counts.Reads.Load()+counts.Writes.Load(), "a request that does not use its session must not reach the backend")
	})

	t.Run("ConcurrentRequestsMerge", func(t *testing.T) {
		// Both requests load the session before either saves: the
		// second save must merge into what the first saved, not
		// overwrite it with its own stale copy.
		m, _, _, _ := newManager(t, newBackend)
		loaded := make(chan struct{}, 2)
		release := map[string]chan struct{}{"/a": make(chan struct{}), "/b": make(chan struct{})}
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			if next, ok := release[r.URL.Path]; ok {
				s.Keys() // load now
				loaded <- struct{}{}
				<-next
				s.Put(r.URL.Path[1:], "set")
			} else {
				s.Put("start", "set")
			}
			_, _ = io.WriteString(w, strings.Join(s.Keys(), ","))
		}))
		token := serve(t, h, "/start", "").token
		done := make(chan response)
		go func() { done <- serve(t, h, "/a", token) }()
		go func() { done <- serve(t, h, "/b", token) }()
		<-loaded
		<-loaded
		close(release["/a"])
		requireOK(t, <-done)
		close(release["/b"])
		requireOK(t, <-done)
		require.Equal(t, "a,b,start", serve(t, h, "/start", token).body)
	})

	t.Run("ManyConcurrentRequests", func(t *testing.T) {
		m, _, _, _ := newManager(t, newBackend)
		const n = 20
		var allLoaded sync.WaitGroup
		allLoaded.Add(n)
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			if k := r.URL.Query().Get("k"); k != "" {
				s.Keys()
				allLoaded.Done()
				allLoaded.Wait()
				s.Put(k, "set")
			}
			_, _ = io.WriteString(w, fmt.Sprint(len(s.Keys())))
		}))
		start := serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.Get(r).Put("start", "set")
		})), "/", "")
		done := make(chan response, n)
		for i := range n {
			go func() { done <- serve(t, h, fmt.Sprintf("/?k=k%02d", i), start.token) }()
		}
		for range n {
			requireOK(t, <-done)
		}
		require.Equal(t, fmt.Sprint(n+1), serve(t, h, "/", start.token).body, "concurrent requests lost keys")
	})

	t.Run("Renew", func(t *testing.T) {
		m, s, _, _ := newManager(t, newBackend)
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sess := m.Get(r)
			switch r.URL.Path {
			case "/put":
				sess.Put("a", "1")
			case "/login":
				sess.SetUser("alice")
				if err := sess.Renew(); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
			}
			_, _ = io.WriteString(w, sess.GetString("a"))
		}))
		old := serve(t, h, "/put", "").token
		renewed := serve(t, h, "/login", old)
		requireOK(t, renewed)
		require.NotEmpty(t, renewed.token)
		require.NotEqual(t, old, renewed.token)
		require.Nil(t, load(t, s, old), "the old token still loads after Renew")
		require.Equal(t, "1", serve(t, h, "/", renewed.token).body)
		stale := serve(t, h, "/", old)
		require.Empty(t, stale.body, "the old cookie still carries the session")
		require.True(t, stale.setCookie && stale.token == "", "the old cookie was not expired")
	})

	t.Run("Destroy", func(t *testing.T) {
		m, s, b, _ := newManager(t, newBackend)
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sess := m.Get(r)
			if r.URL.Path == "/destroy" {
				sess.Destroy()
			} else {
				sess.Put("a", "1")
			}
		}))
		token := serve(t, h, "/put", "").token
		res := serve(t, h, "/destroy", token)
		requireOK(t, res)
		require.True(t, res.setCookie && res.token == "", "Destroy did not expire the cookie")
		require.Nil(t, load(t, s, token))
		requireMissing(t, b, KeyOf(t, token))
	})

	t.Run("LogoutEverywhere", func(t *testing.T) {
		m, s, b, _ := newManager(t, newBackend)
		if _, ok := b.(serverstore.UserIndex); !ok {
			t.Skip("backend does not implement serverstore.UserIndex")
		}
		loaded, release := make(chan struct{}), make(chan struct{})
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sess := m.Get(r)
			switch r.URL.Path {
			case "/login":
				sess.SetUser(r.URL.Query().Get("user"))
				sess.Put("logged in", true)
				if err := sess.Renew(); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
			case "/slow":
				sess.Keys()
				loaded <- struct{}{}
				<-release
				switch r.URL.Query().Get("then") {
				case "clear":
					sess.Clear()
				case "renew":
					if err := sess.Renew(); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
				}
				sess.Put("late", "write")
			}
			_, _ = io.WriteString(w, sess.UserID())
		}))
		bob := serve(t, h, "/login?user=bob", "").token
		// A request of the laptop is under way while alice logs out
		// everywhere: its save must not bring the session back, whatever
		// it does to the session.
		for _, then := range []string{"put", "clear", "renew"} {
			laptop := serve(t, h, "/login?user=alice", "").token
			phone := serve(t, h, "/login?user=alice", "").token
			infos, err := s.ListUser(t.Context(), "alice")
			require.NoError(t, err)
			require.Len(t, infos, 2)

			done := make(chan response)
			go func() { done <- serve(t, h, "/slow?then="+then, laptop) }()
			<-loaded
			n, err := s.DestroyUser(t.Context(), "alice")
			require.NoError(t, err)
			require.Equal(t, 2, n)
			release <- struct{}{}
			late := <-done
			requireOK(t, late)
			require.True(t, late.setCookie && late.token == "", "%s: the in-flight request kept a cookie", then)

			require.Nil(t, load(t, s, laptop), then)
			require.Nil(t, load(t, s, phone), then)
			infos, err = s.ListUser(t.Context(), "alice")
			require.NoError(t, err)
			require.Empty(t, infos, "%s: a session of alice came back", then)
		}
		require.Equal(t, "bob", serve(t, h, "/", bob).body, "another user was logged out")
	})
}

// newManager returns a Manager on a Store on a fresh backend, with the
// backend itself and the counts of the Store's calls to it.
func newManager(t *testing.T, newBackend func(t *testing.T) serverstore.Backend) (*session.Manager, *serverstore.Store, serverstore.Backend, *Counts) {
	s, b, counts := newStore(t, newBackend)
	return session.New(s), s, b, counts
}

// response is what a request through a Manager's handler gave.
type response struct {
	code int
	body string
	// token is the session token the client holds after the response:
	// the one it sent unless setCookie, "" if the cookie was expired.
	token     string
	setCookie bool
}

// serve sends a GET of path with token as the session cookie ("" for
// none) through h. It may run on any goroutine.
func serve(t *testing.T, h http.Handler, path, token string) response {
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
	if token != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: token})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	res := response{code: w.Code, body: w.Body.String(), token: token}
	for _, c := range w.Result().Cookies() {
		if c.Name == "session" {
			res.setCookie = true
			res.token = c.Value
			if c.MaxAge < 0 {
				res.token = ""
			}
		}
	}
	return res
}

func requireOK(t *testing.T, res response) {
	t.Helper()
	require.Equal(t, http.StatusOK, res.code, "response: %s", res.body)
}
