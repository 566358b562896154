package main

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
	"github.com/go-sealed/session/examples/frameworks/internal/flowtest"
	"github.com/go-sealed/session/examples/internal/servetest"
	"github.com/go-sealed/session/internal/browsertest"
)

func init() { gin.SetMode(gin.TestMode) }

func TestFlow(t *testing.T) {
	flowtest.Run(t, newRouter(browsertest.NewManager(t)))
}

// Gin's writer holds the status until the first byte, and some of its
// helpers write the header straight away: whichever a handler uses, the
// session cookie must be in the response.
func TestCookieWhateverWritesTheResponse(t *testing.T) {
	m := browsertest.NewManager(t)
	r := newRouter(m)
	count := func(c *gin.Context) int {
		s := m.Get(c.Request)
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
	r.GET("/data", func(c *gin.Context) {
		c.Data(http.StatusAccepted, "text/plain", []byte(fmt.Sprint(count(c))))
	})
	r.GET("/read", func(c *gin.Context) {
		c.String(http.StatusOK, "n=%d", m.Get(c.Request).GetInt("n"))
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
		{"/data", http.StatusAccepted, "8"},
	} {
		res, body := b.Get(tc.path)
		assert.Equal(t, tc.status, res.StatusCode, tc.path)
		assert.Equal(t, tc.body, body, tc.path)
		c := browsertest.SessionCookie(t, res)
		browsertest.AssertAttributes(t, c)

		// Every change arrived: the counter went up by one each time.
		res, body = b.Get("/read")
		assert.Equal(t, fmt.Sprintf("n=%d", i+1), body, "after %s", tc.path)
		assert.Empty(t, res.Header.Values("Set-Cookie"), "a read-only request sets no cookie")
	}
}

// A panic is answered by gin.Recovery with a 500, and the half-done
// session changes of the panicking request are not saved.
func TestPanicSavesNothing(t *testing.T) {
	m := browsertest.NewManager(t)
	r := gin.New()
	r.Use(gin.RecoveryWithWriter(io.Discard), ginsession.New(m))
	r.GET("/panic", func(c *gin.Context) {
		m.Get(c.Request).Put("user", "admin")
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
	r := newRouter(m)
	r.GET("/big", func(c *gin.Context) {
		m.Get(c.Request).Put("blob", make([]byte, 64<<10)) // more than 8 cookies hold
		c.String(http.StatusOK, "never sent")
	})
	res, body := browsertest.New(t, r).Get("/big")
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	assert.Equal(t, "session trouble\n", body)
	assert.Empty(t, res.Header.Values("Set-Cookie"))
}

// Outside the routes that use it, the session costs nothing: a Gin 404
// sets no cookie, and the session is reachable from the gin.Context
// itself (ContextWithFallback) as from the request.
func TestContextAndNotFound(t *testing.T) {
	m := browsertest.NewManager(t)
	r := newRouter(m)
	r.GET("/same", func(c *gin.Context) {
		c.String(http.StatusOK, "%t", session.FromContext(c) == m.Get(c.Request))
	})
	b := browsertest.New(t, r)
	res, body := b.Get("/same")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "true", body)

	res, _ = b.Get("/nowhere")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Empty(t, res.Header.Values("Set-Cookie"))
}

// TestInvalidKeys: SESSION_KEYS set but not valid stops the example, where
// it used to serve with a random key.
func TestInvalidKeys(t *testing.T) {
	servetest.InvalidKeys(t, run)
}
