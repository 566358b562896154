package express

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-sealed/session"
)

// Configure sets the fields of m that must match the Express app's
// session settings, as the Store was told them (WithCookie, WithMaxAge,
// and the backend's TTL), so that Check passes:
//
//   - Codec: session.JSON, since express-session keeps the values as JSON;
//   - Cookie: the name and attributes of WithCookie, Persist when
//     WithMaxAge is set (MaxChunks and MaxBytes are left as they are);
//   - IdleTimeout: cookie.maxAge, or the TTL for a browser-session cookie,
//     since express-session renews a session's expiry on each use;
//     BrowserSessionIdleTimeout: the TTL, for a session the Go side makes
//     a browser-session one (Session.RememberMe(false));
//   - Lifetime: raised to the longest of those if shorter, since
//     express-session has no absolute lifetime (see Check).
//
// The other fields (Transport, TouchInterval, ErrorFunc...) are left as
// they are.
func (s *Store) Configure(m *session.Manager) {
	m.Codec = session.JSON
	c := s.cookie.opts
	c.MaxChunks, c.MaxBytes = m.Cookie.MaxChunks, m.Cookie.MaxBytes
	m.Cookie = c
	ttl := s.b.TTL()
	if s.cookie.maxAge > 0 {
		m.IdleTimeout, m.BrowserSessionIdleTimeout = s.cookie.maxAge, ttl
	} else {
		m.IdleTimeout, m.BrowserSessionIdleTimeout = ttl, 0
	}
	m.Lifetime = max(m.Lifetime, m.IdleTimeout, ttl)
}

// Check implements session.Checker: the Manager's Handler calls it at
// start, and panics with its error, if m's settings differ from the
// Express app's as the Store knows them, which would make the two apps
// treat one session differently. It names every difference; Configure
// sets them all. What it holds m to:
//
//   - Codec is session.JSON;
//   - the token travels in the cookie (TransportCookie or TransportBoth),
//     the only place express-session looks;
//   - the cookie's name, path, domain, HttpOnly, Secure, SameSite and
//     Partitioned are those of WithCookie, and Persist is set when
//     WithMaxAge is;
//   - the idle limits are express-session's: IdleTimeout is cookie.maxAge
//     (or the TTL, without one), and a browser-session cookie's idle limit
//     (BrowserSessionIdleTimeout, or IdleTimeout) is the TTL;
//   - Lifetime is at least the longest idle limit. express-session ends a
//     session only once it has not been used for its idle period, never
//     at a fixed age, so a Store loads each session as created at that
//     moment: Lifetime bounds how far one save extends a session, and a
//     shorter Lifetime would end sessions the Express app keeps.
func (s *Store) Check(m *session.Manager) error {
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	if m.Codec != session.JSON {
		add("Codec must be session.JSON: express-session keeps the values as JSON")
	}
	if m.Transport == session.TransportHeader {
		add("Transport must carry the token in the cookie (TransportCookie or TransportBoth): express-session reads only its cookie")
	}
	want, got := s.cookie.opts, m.Cookie
	if got.Name != want.Name {
		add("Cookie.Name is %q, the Express app's cookie is %q", got.Name, want.Name)
	}
	if got.Path != want.Path || got.Domain != want.Domain {
		add("Cookie.Path and Domain are %q and %q, the Express app's are %q and %q", got.Path, got.Domain, want.Path, want.Domain)
	}
	if got.HttpOnly != want.HttpOnly || got.Secure != want.Secure || got.SameSite != want.SameSite || got.Partitioned != want.Partitioned {
		add("Cookie.HttpOnly, Secure, SameSite and Partitioned are %v, %v, %s and %v, the Express app's are %v, %v, %s and %v",
			got.HttpOnly, got.Secure, sameSiteLabel(got.SameSite), got.Partitioned, want.HttpOnly, want.Secure, sameSiteLabel(want.SameSite), want.Partitioned)
	}
	if got.Persist != want.Persist {
		add("Cookie.Persist is %v, but the Express app's cookie.maxAge is %v (persistent when set)", got.Persist, s.cookie.maxAge)
	}
	ttl := s.b.TTL()
	wantIdle := ttl
	if s.cookie.maxAge > 0 {
		wantIdle = s.cookie.maxAge
	}
	if m.IdleTimeout != wantIdle {
		add("IdleTimeout is %v, the Express app's sessions end %v after their last use", m.IdleTimeout, wantIdle)
	}
	browserIdle := m.BrowserSessionIdleTimeout
	if browserIdle <= 0 {
		browserIdle = m.IdleTimeout
	}
	if browserIdle != ttl {
		add("a browser-session cookie's idle limit (BrowserSessionIdleTimeout, or IdleTimeout) is %v, the Node store's TTL is %v", browserIdle, ttl)
	}
	lifetime := m.Lifetime
	if lifetime <= 0 {
		lifetime = session.DefaultLifetime
	}
	if longest := max(wantIdle, ttl); lifetime < longest {
		add("Lifetime is %v, shorter than the %v express-session keeps an unused session (it has no absolute lifetime)", lifetime, longest)
	}
	if len(diffs) == 0 {
		return nil
	}
	return errors.New("express: the Manager does not match the Express app's session settings: " +
		strings.Join(diffs, "; ") + " (Store.Configure sets them all)")
}

// sameSiteLabel names a SameSite mode in Check's messages.
func sameSiteLabel(s http.SameSite) string {
	if n := sameSiteName(s); n != "" {
		return n
	}
	return "unset"
}
