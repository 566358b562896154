package compare

import (
	"fmt"
)

// Spec describes one mechanism and makes instances of it.
type Spec struct {
	// Name is the short name, used as the column header.
	Name string
	// Title says what the mechanism is, in a few words.
	Title string
	// Driven says how the experiments drive it.
	Driven string
	// New makes a fresh instance: new keys, an empty backend.
	New func(Config) (Mechanism, error)
}

// Skipped is a mechanism that could not run here, and why.
type Skipped struct {
	Name, Reason string
}

const (
	viaManager   = "session.Manager middleware under httptest: the real Set-Cookie and Cookie headers"
	viaTokenHTTP = "its own net/http handler under httptest, cookie attributes as the Manager's: the real Set-Cookie and Cookie headers"
)

// Mechanisms returns the mechanisms that can run here: every one, but the
// Redis server session only if a Redis answers at RedisURL; otherwise it
// is listed among the skipped, with the reason.
func Mechanisms() ([]Spec, []Skipped) {
	specs := []Spec{{
		Name:   "server (memory)",
		Title:  "server session: serverstore + memstore, the cookie holds a random ID",
		Driven: viaManager,
		New: func(cfg Config) (Mechanism, error) {
			return harnessed[*serverSession]("server (memory)")(newServerSession(cfg, memConnector{}))
		},
	}}
	var skipped []Skipped
	url := RedisURL()
	if c, err := dialRedis(url); err != nil {
		skipped = append(skipped, Skipped{Name: "server (Redis)", Reason: err.Error()})
	} else {
		_ = c.close()
		specs = append(specs, Spec{
			Name:   "server (Redis)",
			Title:  fmt.Sprintf("server session: serverstore + redisstore at %s", url),
			Driven: viaManager,
			New: func(cfg Config) (Mechanism, error) {
				c, err := dialRedis(url)
				if err != nil {
					return nil, err
				}
				return harnessed[*serverSession]("server (Redis)")(newServerSession(cfg, c))
			},
		})
	}
	specs = append(specs, []Spec{{
		Name:   "sealed cookie",
		Title:  "cookiesession: the whole session in the cookie, XChaCha20-Poly1305",
		Driven: viaManager,
		New: func(cfg Config) (Mechanism, error) {
			return harnessed[*sealedCookie]("sealed cookie")(newSealedCookie(cfg, newKeyring(randomKey)))
		},
	}, {
		Name:   "JWT HS256",
		Title:  "JWT (golang-jwt/jwt/v5), HMAC-SHA256, key named by kid",
		Driven: viaTokenHTTP,
		New:    statelessSpec("JWT HS256", func(Config) tokenCodec { return newHS256() }),
	}, {
		Name:   "JWT EdDSA",
		Title:  "JWT (golang-jwt/jwt/v5), Ed25519 signature, key named by kid",
		Driven: viaTokenHTTP,
		New:    statelessSpec("JWT EdDSA", func(Config) tokenCodec { return newEdDSA() }),
	}, {
		Name:   "signed cookie",
		Title:  "gorilla/securecookie with a hash key only: HMAC-SHA256 over readable JSON",
		Driven: viaTokenHTTP,
		New:    statelessSpec("signed cookie", func(cfg Config) tokenCodec { return newSigned(cfg) }),
	}, {
		Name:   "plain cookie",
		Title:  "base64 JSON: neither signed nor encrypted",
		Driven: viaTokenHTTP,
		New:    statelessSpec("plain cookie", func(Config) tokenCodec { return plainCodec{} }),
	}}...)
	return specs, skipped
}

// harnessed returns a function that wraps a backend made by a
// constructor in a harness named name, passing the constructor's error on.
func harnessed[B backend](name string) func(B, error) (Mechanism, error) {
	return func(b B, err error) (Mechanism, error) {
		if err != nil {
			return nil, err
		}
		return &harness{name: name, b: b}, nil
	}
}

// statelessSpec is the constructor of a mechanism whose token is made by
// the codec newCodec returns.
func statelessSpec(name string, newCodec func(Config) tokenCodec) func(Config) (Mechanism, error) {
	return func(cfg Config) (Mechanism, error) {
		return &harness{name: name, b: &stateless{cfg: cfg, codec: newCodec(cfg)}}, nil
	}
}
