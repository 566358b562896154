package compare

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// refreshJWT is the JWT deployment its guides teach: a short-lived access
// token (Config.AccessTTL, 15 minutes by default) carrying only IDs and
// the role, a rotating refresh token, and a denylist in Redis that every
// request checks. The rest of the session (name, CSRF token, cart, ...)
// lives where a JWT application keeps it: on the server, in Redis, under
// the session's ID.
//
// Redis keys, under the connector's prefix ({sid} is a hash tag, so that
// a session's keys share a Redis Cluster slot):
//
//	sess:{sid}  hash: rt (SHA-256 of the current refresh secret), uid,
//	            role, exp (Unix seconds), data (JSON of the other values);
//	            Redis TTL: the session's lifetime
//	deny:{sid}  set at logout: every access token of the session is
//	            refused; Redis TTL: the access tokens' lifetime
//	user:uid    set of the user's session IDs, for "log out everywhere"
//
// The access token's claims: sub (the user ID), sid, role, jti, iat and
// exp. The refresh token is "sid.secret"; a refresh presenting any secret
// but the current one is a reuse, and revokes the whole session, as
// refresh-token rotation prescribes.
type refreshJWT struct {
	cfg    Config
	codec  *jwtCodec[[]byte]
	conn   *redisConnector
	owner  bool // closing it removes the connector's keys
	client *redis.Client
	net    *netCount
}

func newRefreshJWT(cfg Config, conn *redisConnector, codec *jwtCodec[[]byte], owner bool) *refreshJWT {
	client, n := conn.client()
	return &refreshJWT{cfg: cfg, codec: codec, conn: conn, owner: owner, client: client, net: n}
}

func (j *refreshJWT) endpoint() endpoint { return refreshEndpoint{j} }

func (j *refreshJWT) key(kind, id string) string {
	if kind == "user" {
		return j.conn.prefix + "user:" + id
	}
	return j.conn.prefix + kind + ":{" + id + "}"
}

// deny lists session sid, and deletes its refresh record and data, in one
// round trip.
func (j *refreshJWT) deny(ctx context.Context, sids ...string) error {
	_, err := j.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, sid := range sids {
			p.Set(ctx, j.key("deny", sid), "1", j.cfg.accessTTL())
			p.Del(ctx, j.key("sess", sid))
		}
		return nil
	})
	return err
}

func (j *refreshJWT) logoutEverywhere(ctx context.Context, user string) error {
	sids, err := j.client.SMembers(ctx, j.key("user", user)).Result()
	if err != nil || len(sids) == 0 {
		return err
	}
	if err := j.deny(ctx, sids...); err != nil {
		return err
	}
	return j.client.Del(ctx, j.key("user", user)).Err()
}

func (j *refreshJWT) rotateKey() error     { return j.codec.rotateKey() }
func (j *refreshJWT) retireOldKeys() error { return j.codec.retireOldKeys() }

func (j *refreshJWT) replica() (backend, error) {
	return newRefreshJWT(j.cfg, j.conn, j.codec.clone().(*jwtCodec[[]byte]), false), nil
}

func (j *refreshJWT) stats() Stats {
	return Stats{
		Backend: true, Network: true,
		Commands: j.net.commands.Load(), RoundTrips: j.net.roundTrips.Load(), StoreBytes: j.net.bytes.Load(),
		ResidentBytes: j.conn.residentBytes(),
	}
}

func (j *refreshJWT) close() error {
	err := j.client.Close()
	if j.owner {
		err = errors.Join(err, j.conn.close())
	}
	return err
}

// refreshEndpoint is the HTTP side of refreshJWT.
type refreshEndpoint struct{ *refreshJWT }

// randomID returns n random bytes, base64url.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// hand mints an access token for (user, sid, role) and hands it out with
// the refresh token sid.secret: two cookies (the refresh cookie only on
// the refresh route, SameSite=Strict), or a JSON body.
func (e refreshEndpoint) hand(w http.ResponseWriter, user, sid, role, secret string) error {
	now := e.cfg.Clock.Now()
	access, err := e.codec.encode(map[string]any{
		"sub": user, "sid": sid, "role": role, "jti": randomID(12), "iat": now.Unix(),
	}, now.Add(e.cfg.accessTTL()))
	if err != nil {
		return err
	}
	refresh := sid + "." + secret
	if e.cfg.Transport == TransportHeader {
		return writeJSON(w, map[string]any{
			"access_token": access, "token_type": "Bearer",
			"expires_in": maxAgeOf(e.cfg.accessTTL()), "refresh_token": refresh,
		})
	}
	http.SetCookie(w, tokenCookie(e.cfg, CookieName, access, "/", maxAgeOf(e.cfg.accessTTL())))
	rc := tokenCookie(e.cfg, refreshCookie, refresh, refreshPath, maxAgeOf(e.cfg.Lifetime))
	rc.SameSite = http.SameSiteStrictMode
	http.SetCookie(w, rc)
	return nil
}

func (e refreshEndpoint) issue(w http.ResponseWriter, r *http.Request, user string, v Values) error {
	ctx := r.Context()
	role, _ := v["role"].(string)
	data := maps.Clone(v)
	delete(data, "uid")
	delete(data, "role")
	js, err := json.Marshal(data)
	if err != nil {
		return err
	}
	sid, secret := randomID(16), randomID(32)
	exp := e.cfg.Clock.Now().Add(e.cfg.Lifetime).Unix()
	_, err = e.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, e.key("sess", sid), "rt", hashSecret(secret), "uid", user, "role", role, "exp", exp, "data", js)
		p.Expire(ctx, e.key("sess", sid), e.cfg.Lifetime)
		p.SAdd(ctx, e.key("user", user), sid)
		p.Expire(ctx, e.key("user", user), e.cfg.Lifetime)
		return nil
	})
	if err != nil {
		return err
	}
	return e.hand(w, user, sid, role, secret)
}

// access returns the claims of r's access token, or nil if it has none
// that verifies.
func (e refreshEndpoint) access(r *http.Request) map[string]any {
	tok := requestToken(r, e.cfg.Transport)
	if tok == "" {
		return nil
	}
	claims, _, err := e.codec.decode(tok)
	if err != nil {
		return nil
	}
	return claims
}

func (e refreshEndpoint) verify(_ http.ResponseWriter, r *http.Request, sc scope) (Values, bool, error) {
	claims := e.access(r)
	sid, _ := claims["sid"].(string)
	if sid == "" {
		return nil, false, nil
	}
	ctx := r.Context()
	// The denylist check, and the session's data if the request needs
	// it: one round trip.
	var data *redis.StringCmd
	cmds, err := e.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Exists(ctx, e.key("deny", sid))
		if sc == scopeAll {
			data = p.HGet(ctx, e.key("sess", sid), "data")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, false, err
	}
	if cmds[0].(*redis.IntCmd).Val() > 0 {
		return nil, false, nil // logged out
	}
	v := Values{"uid": claims["sub"], "role": claims["role"]}
	if data != nil && data.Err() == nil {
		var rest map[string]any
		if err := json.Unmarshal([]byte(data.Val()), &rest); err != nil {
			return nil, false, err
		}
		maps.Copy(v, rest)
	}
	return v, true, nil
}

func (e refreshEndpoint) logout(w http.ResponseWriter, r *http.Request) error {
	if sid, _ := e.access(r)["sid"].(string); sid != "" {
		if err := e.deny(r.Context(), sid); err != nil {
			return err
		}
	}
	if e.cfg.Transport == TransportCookie {
		http.SetCookie(w, tokenCookie(e.cfg, CookieName, "", "/", -1))
		http.SetCookie(w, tokenCookie(e.cfg, refreshCookie, "", refreshPath, -1))
	}
	return nil
}

// rotateRefresh replaces the refresh secret of session KEYS[1] if ARGV[1]
// is its hash and the session has not expired (exp > ARGV[3]); returns
// {uid, role}. A hash that is not the current one is a reuse: the session
// is deleted and denied (KEYS[2], for ARGV[4] seconds), and the answer is
// "reuse". An unknown or expired session answers nil.
var rotateRefresh = redis.NewScript(`
local s = redis.call('HMGET', KEYS[1], 'rt', 'uid', 'role', 'exp')
if not s[1] then return nil end
if tonumber(s[4]) <= tonumber(ARGV[3]) then return nil end
if s[1] ~= ARGV[1] then
	redis.call('DEL', KEYS[1])
	redis.call('SET', KEYS[2], '1', 'EX', ARGV[4])
	return 'reuse'
end
redis.call('HSET', KEYS[1], 'rt', ARGV[2])
return {s[2], s[3]}
`)

func (e refreshEndpoint) refresh(w http.ResponseWriter, r *http.Request) (bool, error) {
	var presented string
	if e.cfg.Transport == TransportHeader {
		var body struct {
			Refresh string `json:"refresh_token"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil {
			return false, nil
		}
		presented = body.Refresh
	} else if c, err := r.Cookie(refreshCookie); err == nil {
		presented = c.Value
	}
	sid, secret, ok := strings.Cut(presented, ".")
	if !ok {
		return false, nil
	}
	ctx := r.Context()
	next := randomID(32)
	res, err := rotateRefresh.Run(ctx, e.client, []string{e.key("sess", sid), e.key("deny", sid)},
		hashSecret(secret), hashSecret(next), e.cfg.Clock.Now().Unix(), strconv.Itoa(maxAgeOf(e.cfg.accessTTL()))).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s, ok := res.([]any)
	if !ok || len(s) != 2 {
		return false, nil // a reuse: the session is revoked
	}
	user, _ := s[0].(string)
	role, _ := s[1].(string)
	return true, e.hand(w, user, sid, role, next)
}
