package compare

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Values are the contents of a session: what an application puts in it
// and expects back from a verified token. Mechanisms that carry JSON give
// back JSON types (a []string comes back as []any); the experiments
// compare string values only.
type Values map[string]any

// ErrRejected is returned by Mechanism.Verify for a token the server does
// not accept: forged, expired, revoked or unknown.
var ErrRejected = errors.New("compare: token rejected")

// Mechanism is one way of keeping a session, seen from the outside: what
// the client holds, and what the server does with it.
//
// Methods that a mechanism cannot support (it has no key to rotate, it
// keeps nothing to log out everywhere) return errors.ErrUnsupported; the
// experiments report that as the mechanism's behaviour.
type Mechanism interface {
	// Name is the mechanism's short name, the column header of the report.
	Name() string

	// Issue starts a session for user holding v, as a login would, and
	// returns the token as the server sent it.
	Issue(ctx context.Context, user string, v Values) (Token, error)

	// Verify sends tok back, as the next request would, and returns the
	// values the server sees, or an error wrapping ErrRejected. If the
	// server answered with a new token (a cookie re-sealed under a new
	// key, say), Verified.Reissued holds it.
	Verify(ctx context.Context, tok Token) (Verified, error)

	// Logout ends the session tok names, as a logout request carrying it
	// would.
	Logout(ctx context.Context, tok Token) error

	// LogoutEverywhere ends every session of user.
	LogoutEverywhere(ctx context.Context, user string) error

	// RotateKey makes a new key the signing key and keeps the previous
	// ones for verification only.
	RotateKey() error

	// RetireOldKeys drops every key but the current signing key.
	RetireOldKeys() error

	// Replica returns a second server instance made from the same
	// configuration (keys, backend address), sharing no memory with this
	// one, as a second process behind a load balancer would be.
	Replica() (Mechanism, error)

	// Stats reports the server-side work and state so far.
	Stats() Stats

	// Close releases what the mechanism holds (a backend connection, the
	// records it wrote to a shared backend).
	Close() error
}

// Verified is what the server saw in a token it accepted.
type Verified struct {
	// Values are the session's values.
	Values Values
	// Reissued is the new token the server sent with its answer, or the
	// zero Token if it sent none.
	Reissued Token
}

// Stats counts a mechanism's server-side work and state.
type Stats struct {
	// Backend reports whether the mechanism keeps state in a backend at
	// all; the other fields are zero when it does not.
	Backend bool
	// Calls is how many backend operations (Find, Commit, Update, Delete,
	// ...) the server made.
	Calls int64
	// RoundTrips is how many network round trips to the backend those
	// calls took (a command or a pipeline each); 0 for an in-process
	// backend.
	RoundTrips int64
	// LastEntryBytes is the size of the last entry written: its key, its
	// data and its user tag, the bytes the backend was asked to keep for
	// one session.
	LastEntryBytes int64
	// ResidentBytes is what the backend itself reports it uses for the
	// mechanism's records (Redis MEMORY USAGE), or -1 if it cannot tell.
	ResidentBytes int64
}

// Config is what a mechanism is made with.
type Config struct {
	// Lifetime is how long an issued session lasts.
	Lifetime time.Duration
}

// CookieName is the name of the cookie every mechanism uses, so that the
// bytes on the wire differ only by what the token holds.
const CookieName = "session"

// Token is what the client holds: the cookies a server set. Its zero value
// is no token.
type Token struct {
	// SetCookie holds the Set-Cookie header values as the server sent
	// them, the bytes of the response that issued the token.
	SetCookie []string
	// Cookies are the cookies the client keeps from them and sends back,
	// in order: the session cookie first, then any continuation chunks.
	Cookies []*http.Cookie
}

// tokenFrom returns the token the response headers h carry, the zero Token
// if they set no live cookie.
func tokenFrom(h http.Header) Token {
	var t Token
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil || c.MaxAge < 0 || c.Value == "" {
			continue // a deletion, or something that is no token
		}
		t.SetCookie = append(t.SetCookie, line)
		t.Cookies = append(t.Cookies, c)
	}
	return t
}

// IsZero reports whether t holds no cookie.
func (t Token) IsZero() bool { return len(t.Cookies) == 0 }

// CookieHeader returns the Cookie header value the client sends with every
// request while it holds t.
func (t Token) CookieHeader() string {
	parts := make([]string, len(t.Cookies))
	for i, c := range t.Cookies {
		parts[i] = c.Name + "=" + c.Value
	}
	return strings.Join(parts, "; ")
}

// Value returns the session cookie's value, "" for the zero Token.
func (t Token) Value() string {
	if t.IsZero() {
		return ""
	}
	return t.Cookies[0].Value
}

// WithValue returns a copy of t whose session cookie holds v instead: what
// a client that edits its cookie sends.
func (t Token) WithValue(v string) Token {
	c := t
	c.Cookies = append([]*http.Cookie(nil), t.Cookies...)
	if len(c.Cookies) > 0 {
		first := *c.Cookies[0]
		first.Value = v
		c.Cookies[0] = &first
	}
	return c
}

// SetCookieBytes is the total length of the Set-Cookie header values.
func (t Token) SetCookieBytes() int {
	n := 0
	for _, l := range t.SetCookie {
		n += len(l)
	}
	return n
}

// LargestSetCookie is the length of the longest Set-Cookie header value,
// the one a browser's 4096-byte limit applies to.
func (t Token) LargestSetCookie() int {
	n := 0
	for _, l := range t.SetCookie {
		n = max(n, len(l))
	}
	return n
}
