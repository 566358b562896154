package compare

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
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

// Transport is how a token travels between the client and the server.
type Transport int

const (
	// TransportCookie: the server sets the token with Set-Cookie and the
	// client sends it back in the Cookie header, as a browser does.
	TransportCookie Transport = iota
	// TransportHeader: the server hands the token out in a response header
	// or a JSON body, and the client sends it in "Authorization: Bearer",
	// as an API client or a single-page application that keeps it in
	// localStorage does.
	TransportHeader
)

// Transports lists every transport, in the order the report shows them.
var Transports = []Transport{TransportCookie, TransportHeader}

// String is the transport's name as the report writes it: "cookie" or
// "header".
func (t Transport) String() string {
	if t == TransportHeader {
		return "header"
	}
	return "cookie"
}

// Mechanism is one way of keeping a session, over one transport, seen
// from the outside: what the client holds, and what the server does with
// it.
//
// Methods that a mechanism cannot support (it has no key to rotate, it
// keeps nothing to log out everywhere, it has no refresh token) return
// errors.ErrUnsupported; the experiments report that as the mechanism's
// behaviour.
type Mechanism interface {
	// Name is the mechanism's short name, the column header of the report.
	Name() string

	// Transport is how its tokens travel.
	Transport() Transport

	// Issue starts a session for user holding v, as a login would, and
	// returns the token as the server handed it out.
	Issue(ctx context.Context, user string, v Values) (Token, error)

	// Verify sends tok back with a request that reads every value of the
	// session, and returns the values the server sees, or an error
	// wrapping ErrRejected. If the server answered with a new token (a
	// cookie re-sealed under a new key, say), Verified.Reissued holds it.
	Verify(ctx context.Context, tok Token) (Verified, error)

	// Identify is Verify for a request that needs only who the user is:
	// the values "uid" and "role".
	Identify(ctx context.Context, tok Token) (Verified, error)

	// Refresh sends tok's refresh token to the refresh endpoint and
	// returns the new tokens, or an error wrapping ErrRejected.
	Refresh(ctx context.Context, tok Token) (Token, error)

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
	// configuration (keys, backend address, clock), sharing no memory with
	// this one, as a second process behind a load balancer would be.
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
	// ResponseBytes is what the mechanism added to the response: its
	// header lines and body, in HTTP/1.1 bytes.
	ResponseBytes int
}

// Stats counts a mechanism's server-side work and state.
type Stats struct {
	// Backend reports whether the mechanism keeps state in a backend at
	// all; the other fields are zero when it does not.
	Backend bool
	// Network reports whether the backend is reached over the network;
	// an in-process backend's calls are not counted.
	Network bool
	// Commands is how many commands the server sent to its backend, and
	// RoundTrips in how many network round trips (a command or a
	// pipeline each); StoreBytes is what crossed the network to and from
	// the backend, both ways.
	Commands, RoundTrips, StoreBytes int64
	// ResidentBytes is what the backend itself reports it uses for the
	// mechanism's records (Redis MEMORY USAGE), or -1 if it cannot tell.
	ResidentBytes int64
}

// Config is what a mechanism is made with.
type Config struct {
	// Lifetime is how long an issued session lasts: the token's expiry,
	// or for a mechanism with refresh tokens, the refresh token's.
	Lifetime time.Duration
	// AccessTTL is the lifetime of a short-lived access token, for the
	// mechanisms that have one; 0 means DefaultAccessTTL.
	AccessTTL time.Duration
	// Transport is how the tokens travel.
	Transport Transport
	// Clock is the time the server sees; nil means the wall clock.
	Clock *Clock
	// SameSite overrides the cookie's SameSite attribute; 0 keeps the
	// mechanism's (Lax, as session.New sets it).
	SameSite http.SameSite
	// Reissue makes a stateless JWT server answer a token signed with a
	// key other than the current one with a new token under the current
	// key, as an application can do with any JWT library.
	Reissue bool
}

// DefaultAccessTTL is the access-token lifetime of the JWT deployment with
// refresh tokens: 15 minutes, within the 5 to 15 minutes its guides
// advise.
const DefaultAccessTTL = 15 * time.Minute

func (c Config) accessTTL() time.Duration {
	if c.AccessTTL > 0 {
		return c.AccessTTL
	}
	return DefaultAccessTTL
}

func (c Config) sameSite() http.SameSite {
	if c.SameSite != 0 {
		return c.SameSite
	}
	return http.SameSiteLaxMode
}

// Clock is the time the servers of an experiment see: the wall clock
// moved forward by an offset, so that an experiment can send a token back
// hours after it was issued without waiting for them. The nil Clock is the
// wall clock.
type Clock struct{ offset atomic.Int64 }

// Now returns the wall clock's time plus the offset.
func (c *Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return time.Now().Add(c.Offset())
}

// Offset returns how far the clock is ahead of the wall clock.
func (c *Clock) Offset() time.Duration {
	if c == nil {
		return 0
	}
	return time.Duration(c.offset.Load())
}

// Set moves the clock to d ahead of the wall clock.
func (c *Clock) Set(d time.Duration) { c.offset.Store(int64(d)) }

// CookieName is the name of the cookie every mechanism keeps its token
// in, so that the bytes on the wire differ only by what the token holds.
const CookieName = "session"

// Routes of the servers the harness drives, and the response header that
// carries a token to a header-transport client when it changes.
const (
	loginPath     = "/login"
	requestPath   = "/"
	logoutPath    = "/logout"
	refreshPath   = "/auth/refresh"
	refreshCookie = "refresh"
	tokenHeader   = "Session-Token" // the Manager's default response header
)
