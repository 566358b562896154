package session

import (
	"errors"
	"fmt"
	"iter"
	"net"
	"net/http"
	"strings"
)

// ErrResponseStarted is wrapped by the error of a change to a session made
// after its response began (the handler wrote, or called WriteHeader or
// Flush) that could not reach the client: Renew then, or a change that
// needs a new token or cookie. Renew returns it; other changes are
// reported by Session.Err and logged. See Session for what is still saved.
var ErrResponseStarted = errors.New("session: the response has already begun")

// lateChange is called, with s.mu held, by a method that changed the
// session's values, its deadline, or destroyed it, after the response
// began. A store that keeps records on the server saves such a change
// when Handler returns, under the token the client already holds; any
// other change cannot be saved any more, and is reported now.
func (s *Session) lateChange(op string) {
	if !s.sent {
		return
	}
	switch {
	case !s.m.serverKept():
		s.reportLate(fmt.Errorf("%w: %s cannot be saved: the session lives in its cookie, which can no longer be set; call it before the handler writes", ErrResponseStarted, op))
	case s.fresh && !(op == "Destroy" && s.destroyed):
		s.reportLate(fmt.Errorf("%w: %s cannot be saved: it starts a new session, whose token can no longer reach the client; call it before the handler writes", ErrResponseStarted, op))
	}
}

// lateRefusal returns the error for a change that needs a new token or a
// new cookie (Renew, SetUser with another user, RememberMe), which cannot
// be made after the response began, and reports it; nil if the response
// has not begun.
func (s *Session) lateRefusal(op string) error {
	if !s.sent {
		return nil
	}
	err := fmt.Errorf("%w: %s changes the session's token or cookie, which can no longer reach the client; nothing was changed; call it before the handler writes", ErrResponseStarted, op)
	s.reportLate(err)
	return err
}

// reportLate keeps the first late error for Err and logs it.
func (s *Session) reportLate(err error) {
	if s.lateErr() != nil {
		return
	}
	s.aside().lateErr = err
	args := []any{"id", s.rec.ID, "err", err}
	if s.req != nil {
		args = append(args, "method", s.req.Method, "path", s.req.URL.Path)
	}
	s.m.logger().ErrorContext(s.ctx, "session: change after the response began", args...)
}

// protect readies the response header h of a request whose session was
// loaded, just before it is sent, for the caches between the application
// and the client.
//
// Vary names what the response depends on: the cookie, or the token
// header. And a response that hands out or clears a token must never be
// stored by a shared cache, which would serve the token, or the page made
// for one user, to another: its Cache-Control is made private, whatever
// the handler set, and the headers that target CDNs alone
// (CDN-Cache-Control, Surrogate-Control and the like), which override
// Cache-Control there, are removed.
func (m *Manager) protect(h http.Header, replied bool) {
	// The values added go in one allocation, cut to capacity, so that an
	// append to one header cannot reach into another's.
	var add [3]string
	n := 0
	if m.useCookie() && !varies(h, "Cookie") {
		add[n] = "Cookie"
		n++
	}
	if m.useHeader() && !varies(h, m.Header.request()) {
		add[n] = m.Header.request()
		n++
	}
	vary := n
	if replied {
		dropCDNCacheControl(h)
		if len(h["Cache-Control"]) == 0 {
			add[n] = defaultCacheControl
			n++
		} else {
			privateCacheControl(h)
		}
	}
	switch {
	case n == 0:
		return
	case n == 1 && add[0] == "Cookie" && len(h["Vary"]) == 0:
		// The common case, a page of the cookie transport that set no
		// cookie: a shared value, capacity-capped, costs no allocation; an
		// append to it copies.
		h["Vary"] = varyCookie[:1:1]
		return
	}
	values := make([]string, n)
	copy(values, add[:n])
	if vary > 0 {
		if len(h["Vary"]) == 0 {
			h["Vary"] = values[:vary:vary]
		} else {
			h["Vary"] = append(h["Vary"], values[:vary]...)
		}
	}
	if n > vary {
		h["Cache-Control"] = values[vary:n:n]
	}
}

// varyCookie is the Vary value of most responses. It is never written to:
// a header's values are replaced or appended to, never changed in place.
var varyCookie = []string{"Cookie"}

// defaultCacheControl is what a response that hands out or clears a token
// gets when the handler set no Cache-Control, as OWASP recommends: no
// shared cache keeps it, and a browser may keep the page, but never the
// cookie.
const defaultCacheControl = `private, no-cache="Set-Cookie"`

// varies reports whether h's Vary header names name already (or is "*").
func varies(h http.Header, name string) bool {
	for _, line := range h["Vary"] {
		for line != "" {
			var v string
			v, line, _ = strings.Cut(line, ",")
			if v = strings.TrimSpace(v); v == "*" || strings.EqualFold(v, name) {
				return true
			}
		}
	}
	return false
}

// dropCDNCacheControl removes the headers that set caching for CDNs alone
// (CDN-Cache-Control of RFC 9213, a CDN's own such as
// Cloudflare-CDN-Cache-Control, Surrogate-Control), which override
// Cache-Control there.
func dropCDNCacheControl(h http.Header) {
	for name := range h {
		if name == "Surrogate-Control" || strings.HasSuffix(name, "-Cache-Control") {
			delete(h, name)
		}
	}
}

// privateCacheControl makes the handler's Cache-Control unstorable by
// shared caches: it keeps the handler's directives but those that allow
// shared storage (public, s-maxage), and adds private unless no-store or
// private is there. A value that needs no change is left as it is.
func privateCacheControl(h http.Header) {
	lines := h["Cache-Control"]
	shared, private := false, false
	for _, line := range lines {
		for d := range directives(line) {
			switch directiveName(d) {
			case "public", "s-maxage":
				shared = true
			case "private", "no-store":
				private = true
			}
		}
	}
	if private && !shared {
		return
	}
	var kept []string
	for _, line := range lines {
		for d := range directives(line) {
			if n := directiveName(d); n != "public" && n != "s-maxage" {
				kept = append(kept, d)
			}
		}
	}
	if !private {
		kept = append(kept, "private")
	}
	h["Cache-Control"] = []string{strings.Join(kept, ", ")}
}

// directiveName is a Cache-Control directive's name, in lower case.
func directiveName(d string) string {
	name, _, _ := strings.Cut(d, "=")
	return strings.ToLower(strings.TrimSpace(name))
}

// directives yields the directives of a Cache-Control value, split on the
// commas between them, not those inside a quoted argument
// (no-cache="a, b"), and trimmed.
func directives(v string) iter.Seq[string] {
	return func(yield func(string) bool) {
		quoted, start := false, 0
		for i := 0; i <= len(v); i++ {
			if i < len(v) && v[i] == '"' {
				quoted = !quoted
			}
			if i == len(v) || (v[i] == ',' && !quoted) {
				if d := strings.TrimSpace(v[start:i]); d != "" && !yield(d) {
					return
				}
				start = i + 1
			}
		}
	}
}

// warnPlainHTTP warns once, through the Logger, when a Secure cookie is set
// in answer to a request that came over plain HTTP from somewhere other
// than the machine itself: a browser drops such a cookie without a word
// (it keeps Secure cookies from http://localhost only), so every request
// would start a new session. A request that a proxy says came over HTTPS
// (X-Forwarded-Proto, or Forwarded's proto) counts as HTTPS.
func (m *Manager) warnPlainHTTP(r *http.Request) {
	if r == nil || r.TLS != nil || m.warnedPlainHTTP.Load() || viaHTTPS(r) || isLoopbackHost(r.Host) {
		return
	}
	if m.warnedPlainHTTP.Swap(true) {
		return
	}
	m.logger().WarnContext(r.Context(), "session: a Secure cookie was set in answer to a plain-HTTP request; browsers drop it, so sessions will not stick. Serve over HTTPS (or behind a proxy that sets X-Forwarded-Proto: https), or set Manager.Cookie.Secure = false for local development only",
		"host", r.Host, "path", r.URL.Path)
}

// viaHTTPS reports whether a proxy in front says r came over HTTPS.
func viaHTTPS(r *http.Request) bool {
	if strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return true
	}
	for _, f := range r.Header.Values("Forwarded") {
		for _, pair := range strings.FieldsFunc(f, func(c rune) bool { return c == ';' || c == ',' }) {
			k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
			if strings.EqualFold(k, "proto") && strings.EqualFold(strings.Trim(v, `"`), "https") {
				return true
			}
		}
	}
	return false
}

// isLoopbackHost reports whether host (a Host header, with or without a
// port) names this machine, where browsers accept Secure cookies over
// plain HTTP.
func isLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
