package session

import (
	"net/http"
	"strings"
	"time"
)

// Transport says where a Manager looks for the session token in requests
// and puts it in responses.
type Transport int

const (
	// TransportCookie carries the token in the session cookie, split into
	// chunks when it is long. The default, and the right choice for
	// browsers: the cookie is HttpOnly, out of reach of page scripts.
	TransportCookie Transport = iota

	// TransportHeader carries the token in headers only, for API and
	// mobile clients that keep it themselves: requests send it in
	// HeaderOptions.Request ("Authorization: Bearer <token>" by default),
	// and a response whose token changed carries the new one in
	// HeaderOptions.Response ("Session-Token" by default). No cookie is
	// read or set.
	TransportHeader

	// TransportBoth accepts either. A request's header token takes
	// precedence over its cookie; the response answers on the channel the
	// token came in, and a response that starts a session sets both the
	// cookie and the header. Prefer two Managers over one store, one for
	// the browser routes and one for the API routes, when you can: this
	// mode shows new tokens to page scripts that read response headers.
	TransportBoth
)

// DefaultRequestHeader and DefaultResponseHeader are the header names the
// header transport uses unless HeaderOptions says otherwise.
const (
	DefaultRequestHeader  = "Authorization"
	DefaultResponseHeader = "Session-Token"
)

// HeaderOptions names the headers of the header transport.
type HeaderOptions struct {
	// Request is the request header that carries the token. With
	// "Authorization", the default, the token goes in the Bearer scheme
	// ("Authorization: Bearer <token>"); any other header carries the bare
	// token. A header that is malformed (another scheme, an empty token)
	// counts as no token: the request gets a new, empty session (or its
	// cookie's, with TransportBoth), never an error.
	Request string

	// Response is the response header that carries a token whenever it
	// changes: a new session, Renew, a re-seal after a key rotation, an
	// extended idle deadline. After Destroy, or when the request's token
	// is dead, it is sent empty: the client must drop its token. Default
	// "Session-Token". A response that sets it gets "Cache-Control:
	// no-store" if the handler set none, and is made unstorable by shared
	// caches whatever it set, as one that sets the session cookie is (see
	// Manager.Handler).
	Response string
}

func (o *HeaderOptions) request() string {
	if o.Request != "" {
		return o.Request
	}
	return DefaultRequestHeader
}

func (o *HeaderOptions) response() string {
	if o.Response != "" {
		return o.Response
	}
	return DefaultResponseHeader
}

// read returns the token in r's header, or "".
func (o *HeaderOptions) read(r *http.Request) string {
	v := strings.TrimSpace(r.Header.Get(o.request()))
	if !strings.EqualFold(o.request(), "Authorization") {
		return v
	}
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// write sets the token header. An API response that carries a token
// gets "Cache-Control: no-store" if the handler set none: no cache, the
// client's included, should keep a token on disk.
func (o *HeaderOptions) write(h http.Header, token string) {
	h.Set(o.response(), token)
	if len(h["Cache-Control"]) == 0 {
		h.Set("Cache-Control", "no-store")
	}
}

func (m *Manager) useCookie() bool { return m.Transport != TransportHeader }
func (m *Manager) useHeader() bool { return m.Transport != TransportCookie }

// tokens calls yield with each token r carries, in the order to try them,
// until yield returns false: the header's, then those of the cookies (see
// CookieOptions.tokens). chunks is how many cookies carried the token, 0
// for the header's.
func (m *Manager) tokens(r *http.Request, yield func(token string, chunks int) bool) {
	if m.useHeader() {
		if token := m.Header.read(r); token != "" && !yield(token, 0) {
			return
		}
	}
	if m.useCookie() {
		m.Cookie.tokens(r.Header, yield)
	}
}

// replyChannels says where a response about s's token goes: where the
// request's token came from, or, for a request that had none, every
// channel in use. It depends on the request only, so that every save of
// one response, and an expiry after a save, answers on the same channels.
func (m *Manager) replyChannels(s *Session) (cookie, header bool) {
	switch {
	case m.Transport != TransportBoth:
		return m.useCookie(), m.useHeader()
	case s.viaHeader:
		return false, true
	case s.chunks > 0:
		return true, false
	}
	return true, true
}

// headerReply hands a save's outcome to an HTTP client, through the
// response header h. Handler's writer does the same, without the
// allocation of a headerReply.
type headerReply struct {
	s *Session
	h http.Header
}

func (r *headerReply) hand(token string, rec *Record, now time.Time) error {
	return r.s.m.handToken(r.h, r.s, token, rec, now)
}

func (r *headerReply) drop() error { return r.s.m.dropToken(r.h, r.s) }

// handToken gives the client of s token, in the response header h: in
// the Manager's cookie, its token header, or both, in place of anything an
// earlier save of this response set.
func (m *Manager) handToken(h http.Header, s *Session, token string, rec *Record, now time.Time) error {
	cookie, header := m.replyChannels(s)
	if cookie {
		if err := m.Cookie.write(h, &m.cookieAttrs, token, rec, now, s.chunks); err != nil {
			return err
		}
		if m.Cookie.Secure {
			m.warnPlainHTTP(s.req)
		}
	}
	if header {
		m.Header.write(h, token)
	}
	s.replied = true
	return nil
}

// dropToken tells the client of s to drop its token: the one the request
// carried, and any an earlier save of this response handed out.
func (m *Manager) dropToken(h http.Header, s *Session) error {
	cookie, header := m.replyChannels(s)
	if cookie {
		if err := m.Cookie.expire(h, &m.cookieAttrs, s.chunks); err != nil {
			return err
		}
	}
	if header {
		m.Header.write(h, "")
	}
	s.replied = true
	return nil
}
