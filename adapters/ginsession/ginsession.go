// Package ginsession runs a session.Manager in Gin
// (github.com/gin-gonic/gin), so that Gin handlers get the native
// *session.Session:
//
//	m := session.New(store)
//	r := gin.New()
//	r.Use(ginsession.New(m))
//	r.POST("/login", func(c *gin.Context) {
//		s := ginsession.Get(c)
//		if err := s.Renew(); err != nil { // at login, against session fixation
//			c.AbortWithStatus(http.StatusInternalServerError)
//			return
//		}
//		s.Put("user", "admin")
//		c.Redirect(http.StatusSeeOther, "/dashboard")
//	})
//
// The session is saved, and its cookie set, just before the response's
// header goes out, however the handler writes it (c.String, c.JSON,
// c.Redirect, c.Status, c.AbortWithStatus, c.Stream, c.Writer directly, or
// nothing at all), as the Manager's own middleware does for net/http.
// examples/frameworks/gin is a complete application.
package ginsession

import (
	"bufio"
	"io"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/go-sealed/session"
)

// New returns Gin middleware that gives the rest of the chain its session
// under m: Get(c), m.Get(c.Request), or session.FromContext(c.Request.Context())
// (and session.FromContext(c) itself with Engine.ContextWithFallback).
//
// It runs m.Handler around c.Next(), with c.Writer replaced, for the
// handlers after it, by a gin.ResponseWriter that sends every write
// through the Manager's writer first, so that the session is saved just
// before the header goes out. A store failure is answered by m.ErrorFunc
// instead of the handler's response, as with m.Handler.
//
// If a handler panics the session is not saved, as with net/http: c.Writer
// is put back before the panic goes on to gin.Recovery, which answers 500
// without this request's session changes. Like m.Handler, New panics if
// m's configuration is one browsers would refuse.
func New(m *session.Manager) gin.HandlerFunc {
	// Checks m's configuration now, at start, rather than on the first
	// request; the handler is the one each request runs through.
	m.Handler(http.NotFoundHandler())
	return func(c *gin.Context) {
		gw := c.Writer
		defer func() { c.Writer = gw }()
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.Request = r // carries the session in its context
			c.Writer = &sessionWriter{ResponseWriter: gw, sw: w}
			c.Next()
		})).ServeHTTP(gw, c.Request)
	}
}

// Get returns the session of c's request: that of the innermost New in
// the chain, if several Managers are in use (then use Manager.Get to pick
// one). It panics if no New ran before, a wiring mistake as with
// Manager.Get.
func Get(c *gin.Context) *session.Session {
	if s := session.FromContext(c.Request.Context()); s != nil {
		return s
	}
	panic("ginsession: Get called on a request that did not pass through ginsession.New")
}

// sessionWriter is a gin.ResponseWriter whose writes go through the
// Manager's writer sw, which saves the session, then on to Gin's own
// writer. Gin's writer keeps the status and size, so those methods are
// its.
type sessionWriter struct {
	gin.ResponseWriter                     // Gin's: Status, Size, Written, Header, CloseNotify, Pusher
	sw                 http.ResponseWriter // the Manager's, around Gin's
}

// WriteHeader saves the session, then records the status in Gin's writer
// (which sends it with the first byte, as Gin does).
func (w *sessionWriter) WriteHeader(code int) { w.sw.WriteHeader(code) }

func (w *sessionWriter) Write(b []byte) (int, error) { return w.sw.Write(b) }

func (w *sessionWriter) WriteString(s string) (int, error) { return io.WriteString(w.sw, s) }

// WriteHeaderNow saves the session and sends the header.
func (w *sessionWriter) WriteHeaderNow() {
	if !w.Written() {
		w.sw.WriteHeader(w.Status())
	}
	w.ResponseWriter.WriteHeaderNow()
}

func (w *sessionWriter) Flush() {
	_ = http.NewResponseController(w.sw).Flush()
}

func (w *sessionWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.sw).Hijack()
}

// Unwrap lets http.ResponseController reach the writers below.
func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.sw }
