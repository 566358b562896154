package express

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/internal/nodetest"
)

func TestTokenRoundTrip(t *testing.T) {
	secrets := []string{"new secret", "old secret"}
	sid := newSID()
	for i, secret := range secrets {
		token := tokenOf(secret, sid)
		assert.True(t, strings.HasPrefix(token, "s%3A"+sid+"."), token)
		got, idx, ok := parseToken(secrets, token)
		require.True(t, ok, "a token signed with secret %d does not verify", i)
		assert.Equal(t, sid, got)
		assert.Equal(t, i, idx)
	}

	good := tokenOf(secrets[0], sid)
	raw, err := decodeURIComponent(good)
	require.NoError(t, err)
	for name, token := range map[string]string{
		"signed with another secret":  tokenOf("another", sid),
		"signature of another sid":    "s%3A" + newSID() + good[len("s%3A")+len(sid):],
		"signature cut short":         good[:len(good)-1],
		"unsigned":                    sid,
		"no prefix":                   strings.TrimPrefix(raw, "s:"),
		"no dot":                      strings.ReplaceAll(raw, ".", ""),
		"empty sid":                   "s%3A." + signature(secrets[0], ""),
		"padded signature":            good + "%3D",
		"longer than any cookie":      good + strings.Repeat("x", maxTokenLen),
		"malformed escape, not s%3A:": "s%3A" + sid + ".%zz",
	} {
		_, _, ok := parseToken(secrets, token)
		assert.False(t, ok, "%s: verified", name)
	}
	// As the cookie package reads it: decoded when it holds a '%', and
	// as it is when it holds none, or decoding fails.
	_, _, ok := parseToken(secrets, raw)
	assert.True(t, ok, "the cookie's value, not URL-encoded, does not verify")
}

func TestNewSID(t *testing.T) {
	shape := regexp.MustCompile(`^[A-Za-z0-9_-]{32}$`)
	seen := map[string]bool{}
	for range 100 {
		sid := newSID()
		assert.Regexp(t, shape, sid)
		assert.False(t, seen[sid], "a session ID came twice")
		seen[sid] = true
	}
}

func TestEncodeURIComponent(t *testing.T) {
	assert.Equal(t, "s%3Aab-_.!~*'()%2B%2F%3D%20%25%C3%A9", encodeURIComponent("s:ab-_.!~*'()+/= %é"))
	d, err := decodeURIComponent("s%3Aa+b%2F%C3%A9")
	require.NoError(t, err)
	assert.Equal(t, "s:a+b/é", d)
	_, err = decodeURIComponent("%C3")
	assert.Error(t, err, "bytes that are not UTF-8 decoded")
	_, err = decodeURIComponent("%zz")
	assert.Error(t, err)
}

// nodeModules resolves the modules express-session itself uses, rather
// than those of the same name Express depends on, in other versions.
const nodeModules = `
const fromSession = (name) => require(require.resolve(name, { paths: [require.resolve('express-session')] }))
const signature = fromSession('cookie-signature')
const cookie = fromSession('cookie')
const uid = fromSession('uid-safe')
`

// TestTokensAgainstNode checks the cookie values against express-session's
// own modules: cookie-signature's sign and cookie's serialize write what
// tokenOf writes, cookie's parse and cookie-signature's unsign accept what
// it writes, and uid-safe's IDs have newSID's shape.
func TestTokensAgainstNode(t *testing.T) {
	type pair struct{ Sid, Secret string }
	var pairs []pair
	for i := range 20 {
		pairs = append(pairs, pair{newSID(), []string{"keyboard cat", "s3cr3t+/=", "ünïcødé", strings.Repeat("k", 100)}[i%4]})
	}
	pairs = append(pairs, pair{"custom:id with spaces", "keyboard cat"}) // a genid of the app's own
	in, err := json.Marshal(pairs)
	require.NoError(t, err)
	out := nodetest.Eval(t, nodeModules+`
const pairs = JSON.parse(process.env.PAIRS)
const written = pairs.map(p => cookie.serialize('connect.sid', 's:' + signature.sign(p.Sid, p.Secret)).slice('connect.sid='.length))
const sids = Array.from({ length: 100 }, () => uid.sync(24))
console.log(JSON.stringify({ written, sids }))
`, "PAIRS="+string(in))
	var got struct {
		Written []string
		Sids    []string
	}
	require.NoError(t, json.Unmarshal(out, &got))
	require.Len(t, got.Written, len(pairs))
	for i, p := range pairs {
		assert.Equal(t, got.Written[i], tokenOf(p.Secret, p.Sid), "the cookie value of %+v", p)
		sid, _, ok := parseToken([]string{"other", p.Secret}, got.Written[i])
		assert.True(t, ok && sid == p.Sid, "express-session's cookie for %+v does not verify", p)
	}
	for _, sid := range got.Sids {
		assert.Len(t, sid, len(newSID()))
		assert.Regexp(t, `^[A-Za-z0-9_-]+$`, sid)
	}

	// And the other way: Node reads the cookies Go writes.
	type signed struct{ Sid, Secret, Token string }
	var tokens []signed
	for _, p := range pairs {
		tokens = append(tokens, signed{p.Sid, p.Secret, tokenOf(p.Secret, p.Sid)})
	}
	in, err = json.Marshal(tokens)
	require.NoError(t, err)
	out = nodetest.Eval(t, nodeModules+`
const tokens = JSON.parse(process.env.TOKENS)
console.log(JSON.stringify(tokens.map(p => {
  const raw = cookie.parse('connect.sid=' + p.Token)['connect.sid']
  return raw.startsWith('s:') ? signature.unsign(raw.slice(2), p.Secret) : false
})))
`, "TOKENS="+string(in))
	var unsigned []any
	require.NoError(t, json.Unmarshal(out, &unsigned))
	for i, p := range tokens {
		assert.Equal(t, p.Sid, unsigned[i], "express-session does not read the cookie Go writes for %+v", p)
	}
}
