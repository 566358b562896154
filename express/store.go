package express

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-sealed/session"
)

// Store is a session.Store that shares sessions with an Express app: it
// reads and writes express-session's signed cookie and the records of the
// app's Node session store (through a Backend), so that a request may go
// to either app at any step. It implements session.ServerSide, so that
// Go-side requests that change one session at once merge their changes,
// and session.Checker, so that a Manager whose settings differ from the
// Express app's fails at start. Make one with New; it is safe for
// concurrent use.
type Store struct {
	b       Backend
	secrets []string
	cookie  cookieSettings
}

var (
	_ session.ServerSide = (*Store)(nil)
	_ session.Checker    = (*Store)(nil)
)

// An Option mirrors an express-session setting in a Store.
type Option func(*Store)

// WithCookie sets the session cookie's name and attributes as the Express
// app sets them: express-session's name option as Name, and its cookie
// option's path, domain, httpOnly, secure, sameSite and partitioned. The
// default is express-session's: Name "connect.sid", Path "/", HttpOnly,
// and nothing else. Persist, MaxChunks and MaxBytes are not read: a
// cookie is persistent when WithMaxAge is set, as in express-session.
// The Store writes these settings into the sessions the Go side creates,
// where express-session reads them back, and Check holds the Manager's
// cookie to them.
func WithCookie(c session.CookieOptions) Option {
	return func(s *Store) { s.cookie.opts = c }
}

// WithMaxAge sets express-session's cookie.maxAge: the cookie's lifetime,
// which express-session renews on every save and touch of a session, so
// that a session ends after it has not been used for that long. 0 (the
// default, as in express-session) gives a browser-session cookie, and
// the store keeps such a session for its TTL (see WithTTL).
func WithMaxAge(d time.Duration) Option {
	return func(s *Store) { s.cookie.maxAge = d }
}

// New returns a Store on b whose cookies are signed with secrets[0] and
// verified against every one of secrets, as express-session's secret
// option (a string or an array): the same list, in the same order, as the
// Express app's. Rotating secrets on both sides (a new one first, the old
// ones after it) logs no one out; a cookie signed with an older secret is
// signed again with the first the next time the Go side answers it.
func New(b Backend, secrets []string, opts ...Option) (*Store, error) {
	if b == nil {
		return nil, errors.New("express: New called with a nil Backend")
	}
	if len(secrets) == 0 {
		return nil, errors.New("express: no secret: express-session's secret option is required, and must be shared")
	}
	for i, sec := range secrets {
		if sec == "" {
			return nil, fmt.Errorf("express: secret %d of %d is empty", i+1, len(secrets))
		}
	}
	s := &Store{
		b:       b,
		secrets: append([]string(nil), secrets...),
		cookie: cookieSettings{opts: session.CookieOptions{
			Name: "connect.sid", Path: "/", HttpOnly: true,
		}},
	}
	for _, o := range opts {
		o(s)
	}
	if s.cookie.maxAge < 0 {
		return nil, fmt.Errorf("express: WithMaxAge(%v): must not be negative", s.cookie.maxAge)
	}
	s.cookie.opts.Persist = s.cookie.maxAge > 0
	if err := (&http.Cookie{Name: s.cookie.opts.Name, Value: "v", Path: s.cookie.opts.Path, Domain: s.cookie.opts.Domain}).Valid(); err != nil {
		return nil, fmt.Errorf("express: WithCookie: %w", err)
	}
	return s, nil
}

// Why a token loaded nothing, for the Manager's EventRejected. Like every
// error of this package, they never quote the token or the sid.
var (
	errBadToken  = fmt.Errorf("%w: not an express-session cookie signed with one of the secrets", session.ErrInvalidToken)
	errNoSession = fmt.Errorf("%w: no live session under it (unknown, expired or ended)", session.ErrInvalidToken)
)

// Load returns the session a cookie value names. A value that is not
// signed with one of the secrets costs no backend call; one signed with a
// secret other than the first loads with Record.Reissue set, so that the
// Manager hands out the cookie signed with the first.
func (s *Store) Load(ctx context.Context, token string) (*session.Record, error) {
	sid, secret, ok := parseToken(s.secrets, token)
	if !ok {
		return nil, errBadToken
	}
	rec, err := s.read(ctx, sid)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, errNoSession
	}
	rec.Reissue = secret > 0
	return rec, nil
}

// read returns the live record stored under sid, or nil. A record that is
// not an express-session session object is an error, not a missing
// session: under a cookie signed with the app's secret, it means the Node
// store writes what this package does not read (a serializer of its own,
// encryption), and answering with a new session would log the user out
// of both apps.
func (s *Store) read(ctx context.Context, sid string) (*session.Record, error) {
	data, expires, err := s.b.Get(ctx, sid)
	if err != nil {
		return nil, fmt.Errorf("express: load: %w", err)
	}
	if data == nil {
		return nil, nil
	}
	now := time.Now()
	rec, err := decode(sid, data, expires, s.b.TTL(), now)
	if err != nil {
		return nil, fmt.Errorf("express: load: %w (is the Node store set up to serialize or encrypt sessions otherwise than as JSON?)", err)
	}
	if !now.Before(rec.Expires) {
		return nil, nil // by this process's clock, whatever the store's says
	}
	return rec, nil
}

// Save stores rec under the session the token names, or under a new
// session ID if token is "", and returns the cookie value for it, signed
// with the first secret. It sets rec.ID to the session's ID, which is
// derived from the session ID (see Session.ID).
func (s *Store) Save(ctx context.Context, token string, rec *session.Record) (string, error) {
	var sid string
	if token == "" {
		sid = newSID()
	} else {
		var ok bool
		if sid, _, ok = parseToken(s.secrets, token); !ok {
			return "", errors.New("express: save: the cookie is not signed with one of the secrets")
		}
	}
	data, err := encode(rec, rec.Stored, &s.cookie)
	if err != nil {
		return "", err
	}
	if err := s.put(ctx, sid, data, rec.Expires); err != nil {
		return "", fmt.Errorf("express: save: %w", err)
	}
	rec.ID = recordID(sid)
	return tokenOf(s.secrets[0], sid), nil
}

// put stores data under sid until expires, or ends the session if that
// has passed, as connect-redis does for a TTL that is not positive.
func (s *Store) put(ctx context.Context, sid string, data []byte, expires time.Time) error {
	if !time.Now().Before(expires) {
		_, err := s.b.Destroy(ctx, sid)
		return err
	}
	return s.b.Set(ctx, sid, data, expires)
}

// maxSwaps bounds how many times Update tries its compare-and-set before
// it gives up on a session that other writers keep changing.
const maxSwaps = 16

// Update applies fn to the session stored under token and stores the
// result with a compare-and-set on the stored JSON (Backend.Swap), trying
// again on what is stored then if another writer (either app) changed it
// meanwhile: the Manager's merge applies a Go request's changes to what
// is stored, key by key, so that concurrent Go requests lose nothing. A
// write by the Express app is not merged: express-session saves the whole
// session it loaded, and the last write wins (see the package
// documentation). It returns the cookie value for the session, signed
// with the first secret, or "" if the session is gone or fn returned nil.
func (s *Store) Update(ctx context.Context, token string, loaded *session.Record, fn func(current *session.Record) (*session.Record, error)) (string, error) {
	sid, _, ok := parseToken(s.secrets, token)
	if !ok {
		// Nothing can be stored under a cookie that does not verify:
		// what fn makes of nothing is a new session.
		rec, err := fn(nil)
		if err != nil || rec == nil {
			return "", err
		}
		return s.Save(ctx, "", rec)
	}
	cur := loaded
	if cur == nil || cur.Stored == nil {
		var err error
		if cur, err = s.read(ctx, sid); err != nil {
			return "", err
		}
	}
	for range maxSwaps {
		rec, err := fn(cur)
		if err != nil || rec == nil {
			return "", err
		}
		var base []byte
		if cur != nil {
			base = cur.Stored
		}
		data, err := encode(rec, base, &s.cookie)
		if err != nil {
			return "", err
		}
		switch {
		case !time.Now().Before(rec.Expires):
			_, err := s.b.Destroy(ctx, sid)
			return "", wrap("update", err)
		case cur == nil:
			// fn made a session where none is stored: stored as it is.
			if err := s.b.Set(ctx, sid, data, rec.Expires); err != nil {
				return "", wrap("update", err)
			}
			return tokenOf(s.secrets[0], sid), nil
		}
		swapped, err := s.b.Swap(ctx, sid, cur.Stored, data, rec.Expires)
		if err != nil {
			return "", wrap("update", err)
		}
		if swapped {
			return tokenOf(s.secrets[0], sid), nil
		}
		// Changed or ended meanwhile: again, on what is stored now.
		if cur, err = s.read(ctx, sid); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("express: update: the session changed under each of %d attempts", maxSwaps)
}

// Renew moves rec to a new session ID and returns the cookie value for it:
// the new record is written, then the old one ended, which both apps see
// at once. If the old one was no longer live (either app destroyed it
// meanwhile), the new one is removed again and Renew returns "", so that
// a renewal never brings back a session that was ended. It sets rec.ID to
// the new session's ID.
func (s *Store) Renew(ctx context.Context, oldToken string, rec *session.Record) (string, error) {
	sid := newSID()
	data, err := encode(rec, rec.Stored, &s.cookie)
	if err != nil {
		return "", err
	}
	oldSID, _, ok := parseToken(s.secrets, oldToken)
	if err := s.put(ctx, sid, data, rec.Expires); err != nil {
		return "", wrap("renew", err)
	}
	if ok {
		live, err := s.b.Destroy(ctx, oldSID)
		if err != nil || !live {
			// Whether the old one was ended is unknown, or it had been:
			// the new one is taken back, as far as the backend answers.
			_, _ = s.b.Destroy(ctx, sid)
			return "", wrap("renew", err)
		}
	}
	rec.ID = recordID(sid)
	return tokenOf(s.secrets[0], sid), nil
}

// Delete ends the session the token names, for both apps. A token that
// does not verify, or names nothing, is not an error.
func (s *Store) Delete(ctx context.Context, token string) error {
	sid, _, ok := parseToken(s.secrets, token)
	if !ok {
		return nil
	}
	_, err := s.b.Destroy(ctx, sid)
	return wrap("delete", err)
}

// wrap prefixes a backend's error with the Store call it failed, and
// leaves nil as it is.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("express: %s: %w", op, err)
}
