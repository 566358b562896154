package gorillastore

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/go-sealed/session"
	"github.com/gorilla/sessions"
)

// withAttributes returns c with the cookie attributes of a session's
// Options o in place of its own.
func withAttributes(c session.CookieOptions, o *sessions.Options) session.CookieOptions {
	c.Path, c.Domain = o.Path, o.Domain
	c.Secure, c.HttpOnly, c.SameSite, c.Partitioned = o.Secure, o.HttpOnly, o.SameSite, o.Partitioned
	return c
}

// saveWith saves sess through m, and sets its cookies in w's header with
// the attributes of c in place of m.Cookie's: the Manager writes them,
// with everything else a save puts in a header (Vary, Cache-Control), into
// a copy of the header, where its cookies are then rewritten.
func saveWith(m *session.Manager, w http.ResponseWriter, sess *session.Session, c session.CookieOptions) error {
	h := w.Header()
	scratch := h.Clone()
	if scratch == nil {
		scratch = http.Header{}
	}
	if err := m.Save(headerOnly(scratch), sess); err != nil {
		return err
	}
	lines := scratch["Set-Cookie"]
	for i, line := range lines {
		name, _, _ := strings.Cut(line, "=")
		if !isChunkName(m.Cookie.Name, name) {
			continue
		}
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			return fmt.Errorf("gorillastore: the Manager wrote a cookie net/http does not parse: %w", err)
		}
		ck.Path, ck.Domain = c.Path, c.Domain
		ck.Secure, ck.HttpOnly, ck.SameSite, ck.Partitioned = c.Secure, c.HttpOnly, c.SameSite, c.Partitioned
		if lines[i] = ck.String(); len(lines[i]) > session.MaxCookieSize {
			return fmt.Errorf("%w: with the session's Options, its cookie %q takes %d bytes, more than a browser keeps (%d)",
				session.ErrTooLarge, name, len(lines[i]), session.MaxCookieSize)
		}
	}
	clear(h)
	maps.Copy(h, scratch)
	return nil
}

// isChunkName reports whether name is the session cookie base, or one of
// the continuations (base.1, base.2, ...) a long session spans.
func isChunkName(base, name string) bool {
	if name == base {
		return true
	}
	suffix, ok := strings.CutPrefix(name, base+".")
	if !ok || suffix == "" {
		return false
	}
	for _, c := range suffix {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// headerOnly is the ResponseWriter saveWith hands Manager.Save, which
// writes only headers.
type headerOnly http.Header

func (h headerOnly) Header() http.Header { return http.Header(h) }

func (headerOnly) Write([]byte) (int, error) {
	return 0, errors.New("gorillastore: a save writes no body")
}

func (headerOnly) WriteHeader(int) {}
