package session

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"time"
)

// writer wraps the handler's ResponseWriter so that the session is saved,
// and its cookies set, just before the header goes out, however the
// handler starts its response.
type writer struct {
	http.ResponseWriter
	m *Manager
	s *Session
	r *http.Request

	committed bool
	failed    bool // the save failed and ErrorFunc answered instead
}

// commit saves the session once, readies the header for caches (see
// Manager.protect), and marks the response as begun: from then on the
// session saves only what keeps the client's token. On failure ErrorFunc
// answers the request and the handler's own response is discarded from
// then on.
func (w *writer) commit() {
	if w.committed {
		return
	}
	w.committed = true
	s, h := w.s, w.ResponseWriter.Header()
	s.mu.Lock()
	err := s.commit(s.ctx, w, false)
	if err != nil {
		s.saveErr = err
	} else if s.loaded {
		w.m.protect(h, s.replied)
	}
	s.sent = true
	s.mu.Unlock()
	if err != nil {
		w.failed = true
		w.m.serveError(w.ResponseWriter, w.r, err)
	}
}

// hand and drop make the writer the reply of its session's save.
func (w *writer) hand(token string, rec *Record, now time.Time) error {
	return w.m.handToken(w.ResponseWriter.Header(), w.s, token, rec, now)
}

func (w *writer) drop() error { return w.m.dropToken(w.ResponseWriter.Header(), w.s) }

// WriteHeader saves the session, then sends the header. Informational
// (1xx) headers other than 101 go out as they are: the final header
// still follows.
func (w *writer) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		if !w.committed {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	w.commit()
	if !w.failed {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *writer) Write(b []byte) (int, error) {
	w.commit()
	if w.failed {
		return 0, ErrAborted
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps io.Copy's fast paths (sendfile) open to handlers.
func (w *writer) ReadFrom(src io.Reader) (int64, error) {
	w.commit()
	if w.failed {
		return 0, ErrAborted
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(w.ResponseWriter, src)
}

// Flush saves the session, sends the header and flushes what is buffered.
func (w *writer) Flush() {
	w.commit()
	if w.failed {
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack saves the session first, since the handler takes the connection
// over and no header will be written through this writer afterwards.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.commit()
	if w.failed {
		return nil, nil, ErrAborted
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer's
// optional methods (deadlines, full duplex).
func (w *writer) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}
