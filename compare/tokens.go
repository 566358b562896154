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
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/securecookie"
)

// The mechanisms outside the library carry a self-contained token in the
// same cookie, with the attributes a session.Manager gives its own
// (Path=/, HttpOnly, Secure, SameSite=Lax, Max-Age until expiry), so that
// their bytes on the wire differ from the library's only by the token.

// tokenCodec turns a session into a self-contained token and back. decode
// fails for a token the server must not accept.
type tokenCodec interface {
	encode(user string, v Values, exp time.Time) (string, error)
	decode(token string) (Values, error)
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

// statelessEndpoint sets and reads the token cookie.
type statelessEndpoint stateless

func (e statelessEndpoint) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
}

func (e statelessEndpoint) issue(w http.ResponseWriter, _ *http.Request, user string, v Values) error {
	exp := time.Now().Add(e.cfg.Lifetime)
	tok, err := e.codec.encode(user, v, exp)
	if err != nil {
		return err
	}
	http.SetCookie(w, e.cookie(tok, maxAgeOf(e.cfg.Lifetime)))
	return nil
}

func (e statelessEndpoint) verify(_ http.ResponseWriter, r *http.Request) (Values, bool, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil, false, nil
	}
	v, err := e.codec.decode(c.Value)
	if err != nil {
		return nil, false, nil
	}
	return v, true, nil
}

// logout expires the cookie: all a server that keeps nothing can do.
func (e statelessEndpoint) logout(w http.ResponseWriter, _ *http.Request) error {
	http.SetCookie(w, e.cookie("", -1))
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
// trying each.
type jwtCodec[K any] struct {
	keyed[K]
	method    jwt.SigningMethod
	signKey   func(K) any
	verifyKey func(K) any
}

func newHS256() *jwtCodec[[]byte] {
	return &jwtCodec[[]byte]{
		keyed:     keyed[[]byte]{newKeyring(randomKey)},
		method:    jwt.SigningMethodHS256,
		signKey:   func(k []byte) any { return k },
		verifyKey: func(k []byte) any { return k },
	}
}

func newEdDSA() *jwtCodec[ed25519.PrivateKey] {
	return &jwtCodec[ed25519.PrivateKey]{
		keyed: keyed[ed25519.PrivateKey]{newKeyring(func() ed25519.PrivateKey {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			return k
		})},
		method:    jwt.SigningMethodEdDSA,
		signKey:   func(k ed25519.PrivateKey) any { return k },
		verifyKey: func(k ed25519.PrivateKey) any { return k.Public() },
	}
}

// randomKey returns a 32-byte secret.
func randomKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

func (c *jwtCodec[K]) encode(user string, v Values, exp time.Time) (string, error) {
	claims := jwt.MapClaims(claimsOf(user, v))
	claims["exp"] = jwt.NewNumericDate(exp)
	t := jwt.NewWithClaims(c.method, claims)
	t.Header["kid"] = c.ring.ids[0]
	return t.SignedString(c.signKey(c.ring.keys[0]))
}

func (c *jwtCodec[K]) decode(token string) (Values, error) {
	t, err := jwt.Parse(token, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := c.ring.lookup(kid)
		if !ok {
			return nil, fmt.Errorf("unknown key ID %q", kid)
		}
		return c.verifyKey(k), nil
	}, jwt.WithValidMethods([]string{c.method.Alg()}), jwt.WithExpirationRequired())
	if err != nil {
		return nil, err
	}
	return Values(t.Claims.(jwt.MapClaims)), nil
}

func (c *jwtCodec[K]) clone() tokenCodec {
	d := *c
	d.ring = c.ring.clone()
	return &d
}

// signedCodec is gorilla securecookie with a hash key and no block key:
// HMAC-SHA256 over a timestamp and the JSON of the values, which stay
// readable. securecookie names no key, so verification tries each.
type signedCodec struct {
	keyed[[]byte]
	maxAge int
}

func newSigned(cfg Config) *signedCodec {
	return &signedCodec{keyed: keyed[[]byte]{newKeyring(randomKey)}, maxAge: maxAgeOf(cfg.Lifetime)}
}

func (c *signedCodec) codecs() []securecookie.Codec {
	cs := make([]securecookie.Codec, len(c.ring.keys))
	for i, k := range c.ring.keys {
		cs[i] = securecookie.New(k, nil).
			SetSerializer(securecookie.JSONEncoder{}).
			MaxAge(c.maxAge).
			MaxLength(0) // no limit of its own: the experiments measure the browser's
	}
	return cs
}

func (c *signedCodec) encode(user string, v Values, _ time.Time) (string, error) {
	return securecookie.EncodeMulti(CookieName, claimsOf(user, v), c.codecs()...)
}

func (c *signedCodec) decode(token string) (Values, error) {
	var v map[string]any
	if err := securecookie.DecodeMulti(CookieName, token, &v, c.codecs()...); err != nil {
		return nil, err
	}
	return v, nil
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

func (plainCodec) encode(user string, v Values, _ time.Time) (string, error) {
	b, err := json.Marshal(claimsOf(user, v))
	return base64.URLEncoding.EncodeToString(b), err
}

func (plainCodec) decode(token string) (Values, error) {
	b, err := base64.URLEncoding.DecodeString(token)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func (c plainCodec) clone() tokenCodec { return c }
