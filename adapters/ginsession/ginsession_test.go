package ginsession_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/adapters/ginsession"
	"github.com/go-sealed/session/internal/browsertest"
)

func init() { gin.SetMode(gin.TestMode) }

// router is a Gin engine with the session middleware and a route that
// reads the counter "n" without changing it.
func router(m *session.Manager) *gin.Engine {
	r := gin.New()
	r.Use(gin.RecoveryWithWriter(io.Discard), ginsession.New(m))
	r.ContextWithFallback = true
	r.GET("/read", func(c *gin.Context) {
		c.String(http.StatusOK, "n=%d", ginsession.Get(c).GetInt("n"))
	})
	return r
}

// Gin's writer holds the status until the first byte, and some of its
// helpers write the header straight away: whichever a handler uses, the
// session cookie must be in the response.
func TestCookieWhateverWritesTheResponse(t *testing.T) {
	r := router(browsertest.NewManager(t))
	count := func(c *gin.Context) int {
		s := ginsession.Get(c)
		s.Put("n", s.GetInt("n")+1)
		return s.GetInt("n")
	}
	r.GET("/string", func(c *gin.Context) { c.String(http.StatusOK, "n=%d", count(c)) })
	r.GET("/json", func(c *gin.Context) { c.JSON(http.StatusCreated, gin.H{"n": count(c)}) })
	r.GET("/status", func(c *gin.Context) { count(c); c.Status(http.StatusNoContent) })
	r.GET("/abort", func(c *gin.Context) { count(c); c.AbortWithStatus(http.StatusForbidden) })
	r.GET("/nothing", func(c *gin.Context) { count(c) })
	r.GET("/header-now", func(c *gin.Context) {
		count(c)
		c.Writer.WriteHeaderNow()
		_, _ = c.Writer.WriteString("late")
	})
	r.GET("/stream", func(c *gin.Context) {
		n := count(c)
		c.Stream(func(w io.Writer) bool {
			fmt.Fprintf(w, "n=%d", n)
			return false
		})
	})
	r.GET("/redirect", func(c *gin.Context) { count(c); c.Redirect(http.StatusSeeOther, "/read") })
	r.GET("/context", func(c *gin.Context) {
		// With ContextWithFallback, the gin.Context reaches the session.
		s := session.FromContext(c)
		s.Put("n", s.GetInt("n")+1)
		c.Data(http.StatusAccepted, "text/plain", []byte(fmt.Sprint(s.GetInt("n"))))
	})

	b := browsertest.New(t, r)
	for i, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/string", http.StatusOK, "n=1"},
		{"/json", http.StatusCreated, `{"n":2}`},
		{"/status", http.StatusNoContent, ""},
		{"/abort", http.StatusForbidden, ""},
		{"/nothing", http.StatusOK, ""},
		{"/header-now", http.StatusOK, "late"},
		{"/stream", http.StatusOK, "n=7"},
		{"/redirect", http.StatusSeeOther, ""},
		{"/context", http.StatusAccepted, "9"},
	} {
		res, body := b.Get(tc.path)
		assert.Equal(t, tc.status, res.StatusCode, tc.path)
		if tc.body != "" {
			assert.Equal(t, tc.body, body, tc.path)
		}
		browsertest.AssertAttributes(t, browsertest.SessionCookie(t, res))

		res, body = b.Get("/read")
		assert.Equal(t, fmt.Sprintf("n=%d", i+1), body, "after %s", tc.path)
		assert.Empty(t, res.Header.Values("Set-Cookie"), "a read-only request sets no cookie")
	}
}

// A panic is answered by gin.Recovery with a 500, and the half-done
// session changes of the panicking request are not saved.
func TestPanicSavesNothing(t *testing.T) {
	r := router(browsertest.NewManager(t))
	r.GET("/panic", func(c *gin.Context) {
		ginsession.Get(c).Put("n", 1)
		panic("boom")
	})
	res, _ := browsertest.New(t, r).Get("/panic")
	assert.Equal(t, http.StatusInternalServerError, res.StatusCode)
	assert.Empty(t, res.Header.Values("Set-Cookie"))
}

// A session that cannot be saved is answered by the Manager's ErrorFunc,
// instead of the handler's response.
func TestStoreFailure(t *testing.T) {
	m := browsertest.NewManager(t)
	m.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		assert.ErrorIs(t, err, session.ErrTooLarge)
		http.Error(w, "session trouble", http.StatusServiceUnavailable)
	}
	r := router(m)
	r.GET("/big", func(c *gin.Context) {
		ginsession.Get(c).Put("blob", make([]byte, 64<<10)) // more than the cookies hold
		c.String(http.StatusOK, "never sent")
	})
	res, body := browsertest.New(t, r).Get("/big")
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	assert.Equal(t, "session trouble\n", body)
	assert.Empty(t, res.Header.Values("Set-Cookie"))
}

// Outside the routes that use it, the session costs nothing: a 404 sets
// no cookie.
func TestNotFoundSetsNoCookie(t *testing.T) {
	res, _ := browsertest.New(t, router(browsertest.NewManager(t))).Get("/nowhere")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Empty(t, res.Header.Values("Set-Cookie"))
}

// Wiring mistakes fail at once: a Manager browsers would refuse, when the
// middleware is made; Get on a route without it.
func TestWiringMistakes(t *testing.T) {
	m := browsertest.NewManager(t)
	m.Cookie.SameSite = http.SameSiteNoneMode
	m.Cookie.Secure = false
	assert.PanicsWithValue(t,
		"session: Cookie.SameSite is None, which browsers accept only with Secure: set Cookie.Secure = true, or choose SameSite Lax",
		func() { ginsession.New(m) })

	r := gin.New()
	var recovered any
	r.GET("/", func(c *gin.Context) {
		defer func() { recovered = recover(); c.Status(http.StatusOK) }()
		ginsession.Get(c)
	})
	browsertest.New(t, r).Get("/")
	assert.Equal(t, "ginsession: Get called on a request that did not pass through ginsession.New", recovered)
}
