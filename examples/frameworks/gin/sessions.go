package main

import (
	"bufio"
	"io"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/go-sealed/session"
)

// Sessions returns Gin middleware that gives the rest of the chain its
// session: m.Get(c.Request), or session.FromContext(c.Request.Context()).
//
// It runs m.Handler around c.Next(). The Manager's writer wraps Gin's
// ResponseWriter, and c.Writer is replaced, for the handlers after this
// one, by a gin.ResponseWriter that sends every write through the
// Manager's writer first. So the session is saved, and its cookie set,
// just before the header goes out, however the handler writes: c.String,
// c.JSON, c.Redirect, c.Status, c.AbortWithStatus, c.Stream, or nothing at
// all (then when the chain returns, before Gin writes the header itself).
//
// If a handler panics the session is not saved, as with net/http: c.Writer
// is put back before the panic goes on to gin.Recovery, which answers 500
// without this request's session changes.
func Sessions(m *session.Manager) gin.HandlerFunc {
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
