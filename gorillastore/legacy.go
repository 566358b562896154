package gorillastore

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
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/internal/gobcheck"
	"github.com/gorilla/securecookie"
)

// Legacy describes the cookies of a github.com/gorilla/sessions CookieStore
// that a cookiesession.Store should accept while an application moves to
// this library, so that nobody is logged out by the switch. See
// AcceptGorilla.
type Legacy struct {
	// Codecs decode the legacy cookies: the CookieStore's own Codecs, or
	// securecookie.CodecsFromPairs called with the same key pairs as
	// sessions.NewCookieStore (hash key, then block key or nil, for each
	// pair). They are tried in order, as gorilla does. Each must be a
	// *securecookie.SecureCookie, as those are: the reader has them check
	// the MAC, age and encryption, and decodes the gob payload itself
	// (see AcceptGorilla); a serializer set on them is not used.
	Codecs []securecookie.Codec

	// MaxAge is the CookieStore's Options.MaxAge, in seconds: gorilla
	// re-signs its cookie on every save, so a legacy cookie is honoured
	// until MaxAge after it was last saved, and the session converted from
	// it ends then at the latest (see AcceptGorilla). 0 or less means
	// DefaultMaxAge, gorilla's default. (securecookie's own MaxAge check,
	// inside the codecs, applies too.)
	MaxAge int

	// Codec encodes the converted values into Record.Data. It must be the
	// Codec of the Manager that uses the store, since the Manager decodes
	// Data with its own: the store never sees the Manager. nil means
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
}

// AcceptGorilla makes sealed read, besides its own tokens, the cookies of
// a gorilla/sessions CookieStore described by l: a securecookie encoding of
// the session's Values (a gob of map[interface{}]interface{}) under the
// same cookie name. It sets sealed.Fallback, so call it after
// cookiesession.New and before the store serves requests; it is off unless
// called, and a call with no Codecs turns it off again. The reader lives
// here, not in cookiesession, so that an application that never used
// gorilla does not build securecookie and gob's decoder into its binary.
//
// An authentic, unexpired legacy cookie loads as a session holding its
// string-keyed values (non-string keys: see Legacy.Key), with Reissue set,
// so the Manager replaces it with a sealed token on that very response:
// from then on the client holds the new format. Its Created and Touched
// times are the cookie's securecookie timestamp, the time gorilla last
// saved it, and it expires Legacy.MaxAge later. That expiry is also the
// session's own deadline (session.Record.Deadline, Session.Deadline),
// sealed with it: the conversion never lengthens a session, whatever the
// Manager's Lifetime and IdleTimeout (which apply on top, counted from
// the timestamp) and whatever the handler does, Renew included. A Save
// through this package's Store sets the deadline afresh from the
// session's Options.MaxAge, as a save under gorilla re-signed the cookie
// (see Store.Save); with the native API alone the session ends at the
// legacy deadline at the latest. The record is persistent, as
// CookieStore cookies are by default.
//
// A legacy cookie that is forged, tampered with, expired, encoded for
// another cookie name, or holding a value whose type is not registered
// with gob (session.Register registers it with both) loads as a new, empty
// session, like a bad sealed token: never an error. Only CookieStore
// cookies can be converted: a FilesystemStore cookie holds just the name
// of a file, and loads as a new session (see docs/migrating-from-gorilla.md).
//
// While the call is in place, the gorilla keys bound the application's
// safety as much as the store's own keys do: whoever holds them can forge
// a legacy cookie for any user. The payload of an authentic legacy cookie
// is gob, which trusts the sizes it declares, so before decoding it the
// reader checks that no map or slice in it declares more elements than the
// cookie has bytes left (a forged cookie of a few hundred bytes could
// otherwise make gob allocate until the process dies); one that does loads
// as a new session, with a warning. Once every legacy cookie has expired
// (MaxAge after the switch), remove the call and retire the gorilla keys.
// The sealed tokens the conversions issued do not need it.
//
// AcceptGorilla panics if one of l.Codecs is not a
// *securecookie.SecureCookie: the reader could not check its payload
// before gob decodes it.
func AcceptGorilla(sealed *cookiesession.Store, l Legacy) {
	if len(l.Codecs) == 0 {
		sealed.Fallback = nil
		return
	}
	r := &legacyReader{Legacy: l, store: sealed}
	for i, c := range l.Codecs {
		sc, ok := c.(*securecookie.SecureCookie)
		if !ok || sc == nil {
			panic(fmt.Sprintf("gorillastore: AcceptGorilla: Legacy.Codecs[%d] is a %T, not a *securecookie.SecureCookie, so its gob payload could not be checked before it is decoded", i, c))
		}
		// A copy, so the application's codec keeps its serializer:
		// NopEncoder hands back the payload once the MAC, the age and
		// the encryption are checked, for load to vet and decode.
		u := *sc
		r.unsealers = append(r.unsealers, u.SetSerializer(securecookie.NopEncoder{}))
	}
	sealed.Fallback = r.load
}

// legacyReader is the cookiesession.Store.Fallback AcceptGorilla sets.
type legacyReader struct {
	Legacy
	store     *cookiesession.Store // for its Name, in calls without a Manager
	unsealers []*securecookie.SecureCookie
}

func (r *legacyReader) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *legacyReader) maxAge() time.Duration {
	if r.MaxAge > 0 {
		return time.Duration(r.MaxAge) * time.Second
	}
	return DefaultMaxAge * time.Second
}

func (r *legacyReader) codec() session.Codec {
	if r.Codec != nil {
		return r.Codec
	}
	return session.CBOR
}

// cookieName is the name a token of a call with ctx travels under, as
// cookiesession binds it: the Manager's, or the store's own.
func (r *legacyReader) cookieName(ctx context.Context) string {
	if name := session.CookieName(ctx); name != "" {
		return name
	}
	if r.store.Name != "" {
		return r.store.Name
	}
	return cookiesession.DefaultName
}

// load returns the record of a legacy gorilla cookie, or nil when token is
// not a valid one. The store checks its times (future, expired) as it
// checks a seal's.
func (r *legacyReader) load(ctx context.Context, token string) *session.Record {
	if token == "" || len(token) > cookiesession.MaxTokenLen {
		return nil
	}
	name := r.cookieName(ctx)
	log := r.logger()
	var payload []byte
	var err error
	for _, c := range r.unsealers {
		if err = c.Decode(name, token, &payload); err == nil {
			break
		}
	}
	if err != nil {
		log.DebugContext(ctx, "gorillastore: token is neither a seal nor a gorilla cookie", "cookie", name, "err", err)
		return nil
	}
	// The cookie is authentic (its MAC checked out), so what follows is
	// not an attacker's noise but either the application's problem or a
	// forgery by someone holding the gorilla keys: say so loudly.
	if err := gobcheck.Check(payload); err != nil {
		log.WarnContext(ctx, "gorillastore: refusing an authentic gorilla cookie whose payload declares more than it holds (forged with the gorilla keys?)",
			"cookie", name, "err", err)
		return nil
	}
	// What securecookie's GobEncoder does, into a fresh map.
	values := map[any]any{}
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&values); err != nil {
		log.WarnContext(ctx, "gorillastore: an authentic gorilla cookie does not decode; register the types of its values with session.Register",
			"cookie", name, "err", err)
		return nil
	}
	ts, ok := gorillaTimestamp(token)
	if !ok {
		return nil // cannot happen for a token a codec accepted
	}
	data := r.stringKeyed(ctx, name, values)
	enc, err := r.codec().Encode(data)
	if err != nil {
		log.WarnContext(ctx, "gorillastore: a gorilla session's values do not encode with the session codec; starting a new session",
			"cookie", name, "err", err)
		return nil
	}
	saved := time.Unix(ts, 0).UTC()
	expires := saved.Add(r.maxAge())
	return &session.Record{
		ID:         newSessionID(),
		Created:    saved,
		Touched:    saved,
		Expires:    expires,
		Deadline:   expires,
		Persistent: true,
		Data:       enc,
		Reissue:    true,
	}
}

// stringKeyed returns the values of a legacy cookie under string keys,
// mapped by Key, dropping (and logging) those it cannot keep.
func (r *legacyReader) stringKeyed(ctx context.Context, name string, values map[any]any) map[string]any {
	data := make(map[string]any, len(values))
	for k, v := range values {
		key, ok := k.(string)
		if !ok && r.Key != nil {
			key, ok = r.Key(k)
		}
		switch {
		case !ok:
			r.logger().WarnContext(ctx, "gorillastore: dropping a gorilla session value whose key is not a string (set Legacy.Key to keep it)",
				"cookie", name, "keyType", fmt.Sprintf("%T", k))
			continue
		case strings.HasPrefix(key, "\x00"):
			// session.Session reserves keys starting with NUL for itself.
			r.logger().WarnContext(ctx, "gorillastore: dropping a gorilla session value under a reserved key (one starting with NUL)",
				"cookie", name)
			continue
		}
		data[key] = v
	}
	return data
}

// gorillaTimestamp returns the time, in Unix seconds, at which securecookie
// encoded value. A securecookie value is base64url (padded) of
// "timestamp|base64url(payload)|mac"; the codec that accepted the value
// has already checked the MAC over the timestamp, but does not return it.
//
// Only a prefix of value is decoded: the timestamp and its separator take
// at most 21 bytes (a sign, 19 digits, "|"), which the first 28 characters
// hold.
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
