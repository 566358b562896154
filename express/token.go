package express

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Tokens, as express-session 1.19 writes and reads its cookie.
//
// The cookie's value is "s:" + sid + "." + signature, URL-encoded as the
// cookie package's serialize does it (encodeURIComponent): "s%3A" + sid +
// "." + signature with '+' and '/' escaped. The signature is the
// cookie-signature package's (1.0.7): the HMAC-SHA256 of the sid under a
// secret, in standard base64 without its padding. express-session signs
// with the first of its secrets and accepts a signature by any of them.
// The sid is what express-session's default genid makes, uid-safe's 24
// random bytes in base64url: 32 characters.

// sidBytes is how many random bytes a session ID has (uid(24)).
const sidBytes = 24

// maxTokenLen bounds the cookie values a Store examines, so that a junk
// cookie costs no more than a short one: express-session's own are 80
// bytes or so.
const maxTokenLen = 1024

// newSID returns a fresh session ID as express-session's default genid
// makes one.
func newSID() string {
	var b [sidBytes]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24; it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// signature is cookie-signature's signature of sid under secret, without
// the sid and the dot sign puts before it.
func signature(secret, sid string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(sid))
	return base64.RawStdEncoding.EncodeToString(mac.Sum(nil))
}

// tokenOf returns the cookie value express-session writes for sid signed
// under secret.
func tokenOf(secret, sid string) string {
	return encodeURIComponent("s:" + sid + "." + signature(secret, sid))
}

// parseToken returns the sid a cookie value carries and the index of the
// secret whose signature it bears, or ok false when it bears none, as
// express-session's getcookie reads it: URL-decoded if it holds a '%'
// (left as it is if that fails), then "s:" + sid + "." + signature, split
// at the last dot. The signatures are compared in constant time.
func parseToken(secrets []string, token string) (sid string, secret int, ok bool) {
	if len(token) > maxTokenLen {
		return "", 0, false
	}
	v := token
	if strings.IndexByte(v, '%') >= 0 {
		if d, err := decodeURIComponent(v); err == nil {
			v = d
		}
	}
	v, ok = strings.CutPrefix(v, "s:")
	dot := strings.LastIndexByte(v, '.')
	if !ok || dot <= 0 {
		return "", 0, false
	}
	sid, sig := v[:dot], []byte(v[dot+1:])
	for i, s := range secrets {
		if hmac.Equal([]byte(signature(s, sid)), sig) {
			return sid, i, true
		}
	}
	return "", 0, false
}

// encodeURIComponent is JavaScript's: every byte of s's UTF-8 but the
// letters, digits and -_.!~*'() is percent-encoded, in upper-case hex.
func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func unreserved(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()", c) >= 0
}

var errNotUTF8 = errors.New("escapes that decode to bytes that are not UTF-8")

// decodeURIComponent is JavaScript's: percent-escapes decoded, '+' left
// as it is, and an error for a malformed escape or bytes that are not
// UTF-8, where JavaScript throws a URIError.
func decodeURIComponent(s string) (string, error) {
	d, err := url.PathUnescape(s)
	if err != nil {
		return "", err
	}
	if !utf8.ValidString(d) {
		return "", errNotUTF8
	}
	return d, nil
}
