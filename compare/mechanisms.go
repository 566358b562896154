package compare

import (
	"fmt"
	"slices"
	"time"
)

// Spec describes one mechanism and makes instances of it.
type Spec struct {
	// Name is the short name, used as the column header.
	Name string
	// Title says what the mechanism is, in a few words.
	Title string
	// Transports are the transports it runs over: cookie only for the
	// cookie mechanisms, both for the others.
	Transports []Transport
	// Library: the mechanism is this library's (a session.Manager).
	Library bool
	// Reissuable: a stateless JWT, whose server can be made to re-issue a
	// token signed with an old key (Config.Reissue).
	Reissuable bool
	// New makes a fresh instance: new keys, an empty backend.
	New func(Config) (Mechanism, error)
}

// Has reports whether s runs over t.
func (s Spec) Has(t Transport) bool { return slices.Contains(s.Transports, t) }

// Skipped is a mechanism that could not run here, and why.
type Skipped struct {
	Name, Reason string
}

// Mechanism names, as the report's columns show them.
const (
	NameServerMemory = "server (memory)"
	NameServerRedis  = "server (Redis)"
	NameSealed       = "sealed cookie"
	NameJWTRefresh   = "JWT 15 min + refresh"
	NameJWTHS256     = "JWT 24 h HS256"
	NameJWTEdDSA     = "JWT 24 h EdDSA"
	NameSigned       = "signed cookie"
	NamePlain        = "plain cookie"
)

var both = []Transport{TransportCookie, TransportHeader}

// Mechanisms returns the mechanisms that can run here: every one, but
// those that need Redis only if a Redis answers at RedisURL; otherwise
// they are listed among the skipped, with the reason.
func Mechanisms() ([]Spec, []Skipped) {
	var skipped []Skipped
	url := RedisURL()
	c, err := dialRedis(url)
	redisOK := err == nil
	if redisOK {
		_ = c.close()
	} else {
		for _, n := range []string{NameServerRedis, NameJWTRefresh} {
			skipped = append(skipped, Skipped{Name: n, Reason: err.Error()})
		}
	}
	// withRedis returns the constructor of a mechanism on a connector of
	// its own to the Redis at url.
	withRedis := func(f func(Config, *redisConnector) (Mechanism, error)) func(Config) (Mechanism, error) {
		return func(cfg Config) (Mechanism, error) {
			c, err := dialRedis(url)
			if err != nil {
				return nil, err
			}
			return f(cfg, c)
		}
	}
	specs := []Spec{{
		Name:       NameServerMemory,
		Title:      "server session: serverstore + memstore, the token is a random ID",
		Transports: both,
		Library:    true,
		New: func(cfg Config) (Mechanism, error) {
			return harnessed[*serverSession](NameServerMemory, cfg)(newServerSession(cfg, memConnector{}))
		},
	}}
	if redisOK {
		specs = append(specs, Spec{
			Name:       NameServerRedis,
			Title:      fmt.Sprintf("server session: serverstore + redisstore at %s", url),
			Transports: both,
			Library:    true,
			New: withRedis(func(cfg Config, c *redisConnector) (Mechanism, error) {
				return harnessed[*serverSession](NameServerRedis, cfg)(newServerSession(cfg, c))
			}),
		})
	}
	specs = append(specs, Spec{
		Name:       NameSealed,
		Title:      "cookiesession: the whole session sealed in the token, XChaCha20-Poly1305",
		Transports: both,
		Library:    true,
		New: func(cfg Config) (Mechanism, error) {
			return harnessed[*sealedCookie](NameSealed, cfg)(newSealedCookie(cfg, newKeyring(randomKey)))
		},
	})
	if redisOK {
		specs = append(specs, Spec{
			Name:       NameJWTRefresh,
			Title:      fmt.Sprintf("JWT (golang-jwt/jwt/v5) HS256 access token of %s carrying only IDs and the role; rotating refresh token; denylist and the rest of the session in Redis at %s", human(int(DefaultAccessTTL/time.Second)), url),
			Transports: both,
			New: withRedis(func(cfg Config, c *redisConnector) (Mechanism, error) {
				return &harness{name: NameJWTRefresh, tr: cfg.Transport, b: newRefreshJWT(cfg, c, newHS256(cfg.Clock), true)}, nil
			}),
		})
	}
	specs = append(specs, []Spec{{
		Name:       NameJWTHS256,
		Title:      "long-lived JWT (golang-jwt/jwt/v5), HMAC-SHA256, the whole session in the token, valid 24 h like the other sessions",
		Transports: both,
		Reissuable: true,
		New:        statelessSpec(NameJWTHS256, func(cfg Config) tokenCodec { return newHS256(cfg.Clock) }),
	}, {
		Name:       NameJWTEdDSA,
		Title:      "long-lived JWT (golang-jwt/jwt/v5), Ed25519 signature, the whole session in the token, valid 24 h",
		Transports: both,
		Reissuable: true,
		New:        statelessSpec(NameJWTEdDSA, func(cfg Config) tokenCodec { return newEdDSA(cfg.Clock) }),
	}, {
		Name:       NameSigned,
		Title:      "gorilla/securecookie with a hash key only: HMAC-SHA256 over readable JSON",
		Transports: []Transport{TransportCookie},
		New:        statelessSpec(NameSigned, func(cfg Config) tokenCodec { return newSigned(cfg) }),
	}, {
		Name:       NamePlain,
		Title:      "base64 JSON: neither signed nor encrypted",
		Transports: []Transport{TransportCookie},
		New:        statelessSpec(NamePlain, func(Config) tokenCodec { return plainCodec{} }),
	}}...)
	return specs, skipped
}

// harnessed returns a function that wraps a backend made by a
// constructor in a harness named name, passing the constructor's error on.
func harnessed[B backend](name string, cfg Config) func(B, error) (Mechanism, error) {
	return func(b B, err error) (Mechanism, error) {
		if err != nil {
			return nil, err
		}
		return &harness{name: name, tr: cfg.Transport, b: b}, nil
	}
}

// statelessSpec is the constructor of a mechanism whose token is made by
// the codec newCodec returns.
func statelessSpec(name string, newCodec func(Config) tokenCodec) func(Config) (Mechanism, error) {
	return func(cfg Config) (Mechanism, error) {
		return &harness{name: name, tr: cfg.Transport, b: &stateless{cfg: cfg, codec: newCodec(cfg)}}, nil
	}
}
