package compare

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/securecookie"
)

// The mechanisms outside the library carry a self-contained token in the
// same cookie, with the attributes a session.Manager gives its own
// (Path=/, HttpOnly, Secure, SameSite=Lax, Max-Age until expiry), or, over
// the header transport, hand it out in a JSON body as OAuth token
// endpoints do and read it from "Authorization: Bearer". Their bytes on
// the wire differ from the library's only by the token.

// tokenCodec turns a session into a self-contained token and back. decode
// fails for a token the server must not accept; stale reports a token
// signed with a key other than the current signing key.
type tokenCodec interface {
	encode(claims map[string]any, exp time.Time) (string, error)
	decode(token string) (claims map[string]any, stale bool, err error)
	rotateKey() error
	retireOldKeys() error
	// clone returns the codec a second server made from the same
	// configuration would have.
	clone() tokenCodec
}

// stateless is a mechanism whose token is all there is: the server keeps
// nothing, so it can only verify what the codec can check.
type stateless struct {
	cfg   Config
	codec tokenCodec
}

func (s *stateless) endpoint() endpoint { return statelessEndpoint(*s) }

// There is nothing on the server to find a user's tokens by.
func (s *stateless) logoutEverywhere(context.Context, string) error {
	return errors.ErrUnsupported
}

func (s *stateless) rotateKey() error     { return s.codec.rotateKey() }
func (s *stateless) retireOldKeys() error { return s.codec.retireOldKeys() }
func (s *stateless) stats() Stats         { return Stats{} }
func (s *stateless) close() error         { return nil }

func (s *stateless) replica() (backend, error) {
	return &stateless{cfg: s.cfg, codec: s.codec.clone()}, nil
}

// statelessEndpoint hands out and reads the token.
type statelessEndpoint stateless

// tokenCookie is a token cookie with the Manager's attributes.
func tokenCookie(cfg Config, name, value, path string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: cfg.sameSite(),
	}
}

// bearer returns the token of r's "Authorization: Bearer" header, or "".
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// requestToken returns the token r carries over tr.
func requestToken(r *http.Request, tr Transport) string {
	if tr == TransportHeader {
		return bearer(r)
	}
	c, err := r.Cookie(CookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

// writeJSON answers with v as a JSON body that no cache may keep, as
// RFC 6749 requires of a token response.
func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(v)
}

func (e statelessEndpoint) issue(w http.ResponseWriter, _ *http.Request, user string, v Values) error {
	exp := e.cfg.Clock.Now().Add(e.cfg.Lifetime)
	tok, err := e.codec.encode(claimsOf(user, v), exp)
	if err != nil {
		return err
	}
	if e.cfg.Transport == TransportHeader {
		return writeJSON(w, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": maxAgeOf(e.cfg.Lifetime)})
	}
	http.SetCookie(w, tokenCookie(e.cfg, CookieName, tok, "/", maxAgeOf(e.cfg.Lifetime)))
	return nil
}

func (e statelessEndpoint) verify(w http.ResponseWriter, r *http.Request, _ scope) (Values, bool, error) {
	tok := requestToken(r, e.cfg.Transport)
	if tok == "" {
		return nil, false, nil
	}
	claims, stale, err := e.codec.decode(tok)
	if err != nil {
		return nil, false, nil
	}
	if stale && e.cfg.Reissue {
		if err := e.reissue(w, claims); err != nil {
			return nil, false, err
		}
	}
	return Values(claims), true, nil
}

// reissue signs claims again under the current key, with the expiry they
// had, and hands the new token out: in the cookie, or in the
// Session-Token response header.
func (e statelessEndpoint) reissue(w http.ResponseWriter, claims map[string]any) error {
	exp, err := jwt.MapClaims(claims).GetExpirationTime()
	if err != nil || exp == nil {
		return fmt.Errorf("compare: re-issue a token without an expiry: %v", err)
	}
	c := maps.Clone(claims)
	delete(c, "exp")
	tok, err := e.codec.encode(c, exp.Time)
	if err != nil {
		return err
	}
	if e.cfg.Transport == TransportHeader {
		w.Header().Set(tokenHeader, tok)
		return nil
	}
	http.SetCookie(w, tokenCookie(e.cfg, CookieName, tok, "/", maxAgeOf(exp.Sub(e.cfg.Clock.Now()))))
	return nil
}

// logout expires the cookie: all a server that keeps nothing can do. A
// header client is told nothing: it drops its token itself.
func (e statelessEndpoint) logout(w http.ResponseWriter, _ *http.Request) error {
	if e.cfg.Transport == TransportCookie {
		http.SetCookie(w, tokenCookie(e.cfg, CookieName, "", "/", -1))
	}
	return nil
}

// maxAgeOf is a lifetime in whole seconds, rounded up, as cookie Max-Age
// and second-granular token timestamps count it.
func maxAgeOf(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

// claimsOf is the flat map of claims a self-contained token carries: the
// values, and the user under "sub".
func claimsOf(user string, v Values) map[string]any {
	c := maps.Clone(v)
	if c == nil {
		c = map[string]any{}
	}
	c["sub"] = user
	return c
}

// keyed gives a codec with a keyring its rotation.
type keyed[K any] struct{ ring *keyring[K] }

func (k keyed[K]) rotateKey() error {
	k.ring.rotate()
	return nil
}

func (k keyed[K]) retireOldKeys() error {
	k.ring.retire()
	return nil
}

// unkeyed is what a mechanism without keys answers to rotation.
type unkeyed struct{}

func (unkeyed) rotateKey() error     { return errors.ErrUnsupported }
func (unkeyed) retireOldKeys() error { return errors.ErrUnsupported }

// jwtCodec is a JWT signed with method, under keys of type K, naming its
// key in the "kid" header so that verification picks the key rather than
// trying each, and checking "exp" against clock.
type jwtCodec[K any] struct {
	keyed[K]
	method    jwt.SigningMethod
	signKey   func(K) any
	verifyKey func(K) any
	clock     *Clock
}

func newHS256(clock *Clock) *jwtCodec[[]byte] {
	return &jwtCodec[[]byte]{
		keyed:     keyed[[]byte]{newKeyring(randomKey)},
		method:    jwt.SigningMethodHS256,
		signKey:   func(k []byte) any { return k },
		verifyKey: func(k []byte) any { return k },
		clock:     clock,
	}
}

func newEdDSA(clock *Clock) *jwtCodec[ed25519.PrivateKey] {
	return &jwtCodec[ed25519.PrivateKey]{
		keyed: keyed[ed25519.PrivateKey]{newKeyring(func() ed25519.PrivateKey {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			return k
		})},
		method:    jwt.SigningMethodEdDSA,
		signKey:   func(k ed25519.PrivateKey) any { return k },
		verifyKey: func(k ed25519.PrivateKey) any { return k.Public() },
		clock:     clock,
	}
}

// randomKey returns a 32-byte secret.
func randomKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

func (c *jwtCodec[K]) encode(claims map[string]any, exp time.Time) (string, error) {
	mc := jwt.MapClaims(maps.Clone(claims))
	mc["exp"] = jwt.NewNumericDate(exp)
	t := jwt.NewWithClaims(c.method, mc)
	t.Header["kid"] = c.ring.ids[0]
	return t.SignedString(c.signKey(c.ring.keys[0]))
}

func (c *jwtCodec[K]) decode(token string) (map[string]any, bool, error) {
	var kid string
	t, err := jwt.Parse(token, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		k, ok := c.ring.lookup(kid)
		if !ok {
			return nil, fmt.Errorf("unknown key ID %q", kid)
		}
		return c.verifyKey(k), nil
	}, jwt.WithValidMethods([]string{c.method.Alg()}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(c.clock.Now))
	if err != nil {
		return nil, false, err
	}
	return t.Claims.(jwt.MapClaims), kid != c.ring.ids[0], nil
}

func (c *jwtCodec[K]) clone() tokenCodec {
	d := *c
	d.ring = c.ring.clone()
	return &d
}

// signedCodec is gorilla securecookie with a hash key and no block key:
// HMAC-SHA256 over a timestamp and the JSON of the values, which stay
// readable. securecookie names no key, so verification tries each.
//
// securecookie checks a cookie's age against the wall clock, and its
// clock cannot be set from outside the package. Moving the server's
// clock forward by d is the same, for that check, as shortening MaxAge by
// d (a cookie of time t is expired when t < now+d-MaxAge), so that is how
// the codec follows the experiment's Clock.
type signedCodec struct {
	keyed[[]byte]
	maxAge int
	clock  *Clock
}

func newSigned(cfg Config) *signedCodec {
	return &signedCodec{keyed: keyed[[]byte]{newKeyring(randomKey)}, maxAge: maxAgeOf(cfg.Lifetime), clock: cfg.Clock}
}

func (c *signedCodec) codecs() []securecookie.Codec {
	// A MaxAge of 0 would switch the check off: -1 keeps it, and expires
	// every cookie.
	maxAge := c.maxAge - int(c.clock.Offset()/time.Second)
	if maxAge <= 0 {
		maxAge = -1
	}
	cs := make([]securecookie.Codec, len(c.ring.keys))
	for i, k := range c.ring.keys {
		cs[i] = securecookie.New(k, nil).
			SetSerializer(securecookie.JSONEncoder{}).
			MaxAge(maxAge).
			MaxLength(0) // no limit of its own: the experiments measure the browser's
	}
	return cs
}

func (c *signedCodec) encode(claims map[string]any, _ time.Time) (string, error) {
	return securecookie.EncodeMulti(CookieName, claims, c.codecs()...)
}

func (c *signedCodec) decode(token string) (map[string]any, bool, error) {
	var v map[string]any
	if err := securecookie.DecodeMulti(CookieName, token, &v, c.codecs()...); err != nil {
		return nil, false, err
	}
	return v, false, nil
}

func (c *signedCodec) clone() tokenCodec {
	d := *c
	d.ring = c.ring.clone()
	return &d
}

// plainCodec is base64url of the JSON of the values: neither signed nor
// encrypted, and with no expiry but the cookie's Max-Age, as the naive
// cookie sessions of tutorials are.
type plainCodec struct{ unkeyed }

func (plainCodec) encode(claims map[string]any, _ time.Time) (string, error) {
	b, err := json.Marshal(claims)
	return base64.URLEncoding.EncodeToString(b), err
}

func (plainCodec) decode(token string) (map[string]any, bool, error) {
	b, err := base64.URLEncoding.DecodeString(token)
	if err != nil {
		return nil, false, err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, false, err
	}
	return v, false, nil
}

func (c plainCodec) clone() tokenCodec { return c }
