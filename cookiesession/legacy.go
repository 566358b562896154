package cookiesession

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/internal/gobcheck"
	"github.com/gorilla/securecookie"
)

// DefaultGorillaMaxAge is the lifetime Gorilla.MaxAge stands for when it is
// 0: 30 days, the default of gorilla's CookieStore and of securecookie.
const DefaultGorillaMaxAge = 86400 * 30

// Gorilla describes the legacy cookies of a github.com/gorilla/sessions
// CookieStore that a Store should accept while an application moves to this
// library, so that nobody is logged out by the switch. See AcceptGorilla.
type Gorilla struct {
	// Codecs decode the legacy cookies: the CookieStore's own Codecs, or
	// securecookie.CodecsFromPairs called with the same key pairs as
	// sessions.NewCookieStore (hash key, then block key or nil, for each
	// pair). They are tried in order, as gorilla does. Each must be a
	// *securecookie.SecureCookie, as those are: the Store has them check
	// the MAC, age and encryption, and decodes the gob payload itself
	// (see AcceptGorilla); a serializer set on them is not used.
	Codecs []securecookie.Codec

	// MaxAge is the CookieStore's Options.MaxAge, in seconds: gorilla
	// re-signs its cookie on every save, so a legacy cookie is honoured
	// until MaxAge after it was last saved, and the sealed cookie that
	// replaces it expires then too (see AcceptGorilla). 0 or less means
	// DefaultGorillaMaxAge. (securecookie's own MaxAge check, inside the
	// codecs, applies too.)
	MaxAge int

	// Codec encodes the converted values into Record.Data. It must be the
	// Codec of the Manager that uses this Store, since the Manager decodes
	// Data with its own: the Store never sees the Manager. nil means
	// session.CBOR, the Manager's default.
	Codec session.Codec

	// Key maps a non-string key of a legacy cookie's Values to the string
	// key it should have here, or reports false to drop it. This library
	// keys values by string only, while gorilla accepts any comparable key
	// (an application's own `type key int`, say). nil drops every
	// non-string key. A dropped key is logged, by type only, at warning
	// level; the rest of the session is kept, so that the user stays
	// logged in whenever the login itself lives under a string key.
	Key func(key any) (string, bool)

	// Logger receives warnings about legacy cookies that were authentic but
	// could not be converted in full (a dropped key, a value type that is
	// not registered), and, at debug level, why a cookie that is not a
	// sealed token was not accepted either. nil means slog.Default().
	Logger *slog.Logger

	// unsealers are copies of Codecs that stop short of decoding the
	// payload, set by AcceptGorilla.
	unsealers []*securecookie.SecureCookie
}

// AcceptGorilla makes s read, besides its own sealed tokens, the cookies
// of a gorilla/sessions CookieStore described by g: a securecookie
// encoding of the session's Values (a gob of map[interface{}]interface{})
// under the same cookie name. Call it after New and before the Store
// serves requests; it is off unless called, and a call with no Codecs
// turns it off again.
//
// An authentic, unexpired legacy cookie loads as a session holding its
// string-keyed values (non-string keys: see Gorilla.Key), with Reissue set,
// so the Manager replaces it with a sealed token on that very response:
// from then on the client holds the new format. Its Created and Touched
// times are the cookie's securecookie timestamp, the time gorilla last
// saved it, and it expires Gorilla.MaxAge later; the Manager's own
// Lifetime and IdleTimeout apply on top, counted from that timestamp, so
// set Lifetime at least as long as the gorilla MaxAge during the migration
// if every gorilla session should survive it. The record is persistent,
// as CookieStore cookies are by default.
//
// The conversion never lengthens a session: the sealed token that replaces
// the legacy cookie expires at the earliest of the timestamp plus
// Gorilla.MaxAge (when the legacy cookie would have), the timestamp plus
// Lifetime, and the conversion plus IdleTimeout, whatever else the handler
// did on that request but Renew, or a second save (Manager.Save, then
// more changes that the middleware saves): Store.Save takes the deadline
// from the legacy cookie the Manager passes it, and a second save passes
// the first one's seal instead. From then on the session is like any
// other: each later write of it (a change the application saves, or the
// Manager's touch to extend IdleTimeout) sets its deadline by the
// Manager's rules alone, Lifetime after the gorilla timestamp, which stays
// its Created, and IdleTimeout after the write, much as each save under
// gorilla pushed MaxAge out. A Session.Renew on the converting request
// counts as such a write: the Manager seals the renewed session without
// the legacy cookie. A session that is not written again ends at the
// legacy deadline.
//
// A legacy cookie that is forged, tampered with, expired, encoded for
// another cookie name, or holding a value whose type is not registered
// with gob (session.Register registers it with both) loads as a new, empty
// session, like a bad sealed token: never an error. Only CookieStore
// cookies can be converted: a FilesystemStore cookie holds just the name
// of a file, and loads as a new session (see docs/migrating-from-gorilla.md).
//
// While the call is in place, the gorilla keys bound the application's
// safety as much as the Store's own keys do: whoever holds them can forge
// a legacy cookie for any user. The payload of an authentic legacy cookie is gob, which
// trusts the sizes it declares, so before decoding it the Store checks
// that no map or slice in it declares more elements than the cookie has
// bytes left (a forged cookie of a few hundred bytes could otherwise make
// gob allocate until the process dies); one that does loads as a new
// session, with a warning. Once every legacy cookie has expired (MaxAge
// after the switch), remove the call and retire the gorilla keys. The
// sealed tokens the conversions issued do not need it.
//
// AcceptGorilla panics if one of g.Codecs is not a
// *securecookie.SecureCookie: the Store could not check its payload
// before gob decodes it.
func (s *Store) AcceptGorilla(g Gorilla) {
	if len(g.Codecs) == 0 {
		s.gorilla = nil
		return
	}
	g.unsealers = make([]*securecookie.SecureCookie, len(g.Codecs))
	for i, c := range g.Codecs {
		sc, ok := c.(*securecookie.SecureCookie)
		if !ok || sc == nil {
			panic(fmt.Sprintf("cookiesession: AcceptGorilla: Gorilla.Codecs[%d] is a %T, not a *securecookie.SecureCookie, so its gob payload could not be checked before it is decoded", i, c))
		}
		// A copy, so the application's codec keeps its serializer:
		// NopEncoder hands back the payload once the MAC, the age and
		// the encryption are checked, for loadGorilla to vet and decode.
		u := *sc
		g.unsealers[i] = u.SetSerializer(securecookie.NopEncoder{})
	}
	s.gorilla = &g
}

func (g *Gorilla) logger() *slog.Logger {
	if g.Logger != nil {
		return g.Logger
	}
	return slog.Default()
}

func (g *Gorilla) maxAge() time.Duration {
	if g.MaxAge > 0 {
		return time.Duration(g.MaxAge) * time.Second
	}
	return DefaultGorillaMaxAge * time.Second
}

func (g *Gorilla) codec() session.Codec {
	if g.Codec != nil {
		return g.Codec
	}
	return session.CBOR
}

// loadGorilla returns the record of a legacy gorilla cookie, or nil when
// legacy cookies are not accepted or token is not a valid one. Load calls
// it for every token that did not open as a seal.
func (s *Store) loadGorilla(ctx context.Context, token string) *session.Record {
	g := s.gorilla
	if g == nil || token == "" || len(token) > MaxTokenLen {
		return nil
	}
	name := s.name(ctx)
	log := g.logger()
	var payload []byte
	var err error
	for _, c := range g.unsealers {
		if err = c.Decode(name, token, &payload); err == nil {
			break
		}
	}
	if err != nil {
		log.DebugContext(ctx, "cookiesession: token is neither a seal nor a gorilla cookie", "cookie", name, "err", err)
		return nil
	}
	// The cookie is authentic (its MAC checked out), so what follows is
	// not an attacker's noise but either the application's problem or a
	// forgery by someone holding the gorilla keys: say so loudly.
	if err := gobcheck.Check(payload); err != nil {
		log.WarnContext(ctx, "cookiesession: refusing an authentic gorilla cookie whose payload declares more than it holds (forged with the gorilla keys?)",
			"cookie", name, "err", err)
		return nil
	}
	// What securecookie's GobEncoder does, into a fresh map.
	values := map[any]any{}
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&values); err != nil {
		log.WarnContext(ctx, "cookiesession: an authentic gorilla cookie does not decode; register the types of its values with session.Register",
			"cookie", name, "err", err)
		return nil
	}
	ts, ok := gorillaTimestamp(token)
	if !ok {
		return nil // cannot happen for a token a codec accepted
	}
	now := s.now()
	saved := time.Unix(ts, 0).UTC()
	expires := saved.Add(g.maxAge())
	if saved.After(now.Add(s.clockSkew())) || !now.Before(expires) {
		return nil
	}

	data := make(map[string]any, len(values))
	for k, v := range values {
		key, ok := k.(string)
		if !ok && g.Key != nil {
			key, ok = g.Key(k)
		}
		switch {
		case !ok:
			log.WarnContext(ctx, "cookiesession: dropping a gorilla session value whose key is not a string (set Gorilla.Key to keep it)",
				"cookie", name, "keyType", fmt.Sprintf("%T", k))
			continue
		case strings.HasPrefix(key, "\x00"):
			// session.Session reserves keys starting with NUL for itself.
			log.WarnContext(ctx, "cookiesession: dropping a gorilla session value under a reserved key (one starting with NUL)",
				"cookie", name)
			continue
		}
		data[key] = v
	}
	enc, err := g.codec().Encode(data)
	if err != nil {
		log.WarnContext(ctx, "cookiesession: a gorilla session's values do not encode with the session codec; starting a new session",
			"cookie", name, "err", err)
		return nil
	}
	return &session.Record{
		ID:         newSessionID(),
		Created:    saved,
		Touched:    saved,
		Expires:    expires,
		Persistent: true,
		Data:       enc,
		Reissue:    true,
	}
}

// clampExpires lowers rec.Expires to the deadline of the legacy cookie
// token, when token is one: Store.Save calls it, and the Manager passes
// Save the token the record was loaded with, so a gorilla cookie there
// means that this save replaces it (see AcceptGorilla). Without this, the
// seal would get the Manager's deadline, Created plus Lifetime, and outlive
// the legacy cookie it replaces. A sealed token is never taken for a
// gorilla one: its first byte, the format version, is not a digit.
//
// The timestamp is not authenticated again: the token is one Load
// accepted, and a lowered deadline could only shorten the session anyway.
func (g *Gorilla) clampExpires(token string, rec *session.Record) {
	ts, ok := gorillaTimestamp(token)
	if !ok {
		return
	}
	if limit := time.Unix(ts, 0).UTC().Add(g.maxAge()); limit.Before(rec.Expires) {
		rec.Expires = limit
	}
}

// gorillaTimestamp returns the time, in Unix seconds, at which securecookie
// encoded value. A securecookie value is base64url (padded) of
// "timestamp|base64url(payload)|mac"; the codec that accepted the value
// has already checked the MAC over the timestamp, but does not return it.
//
// Only a prefix of value is decoded: the timestamp and its separator take
// at most 21 bytes (a sign, 19 digits, "|"), which the first 28 characters
// hold, so a long token (Save passes every token here during a migration)
// costs no more than a short one.
func gorillaTimestamp(value string) (int64, bool) {
	const prefix = 32 // whole base64 quanta, and more than 28 characters
	if len(value) > prefix {
		value = value[:prefix]
	}
	b, err := base64.URLEncoding.DecodeString(value)
	if err != nil {
		return 0, false
	}
	ts, _, ok := bytes.Cut(b, []byte("|"))
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(ts), 10, 64)
	return n, err == nil
}

// newSessionID returns 128 random bits, base64url encoded: the form of the
// IDs the Manager gives sessions, which a converted legacy session needs
// too.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24; it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}
