package compare

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Token is what the client holds: the cookies a server set, or the tokens
// it handed out for the Authorization header. Its zero value is no token.
type Token struct {
	// SetCookie holds the Set-Cookie header values as the server sent
	// them, the bytes of the response that issued the token.
	SetCookie []string
	// Cookies are the cookies the client keeps from them and sends back
	// where their Path matches: the session cookie first, then any
	// continuation chunks, then any refresh cookie.
	Cookies []*http.Cookie
	// Bearer is the token a header-transport client sends as
	// "Authorization: Bearer <Bearer>".
	Bearer string
	// Refresh is the refresh token a header-transport client keeps and
	// sends only to the refresh endpoint.
	Refresh string
	// IssuedBytes is the size of what the server added to the response
	// that handed the token out: header lines and body, HTTP/1.1 bytes.
	IssuedBytes int
}

// tokenFrom returns the token a response carries: its live cookies, its
// Session-Token header, or the access and refresh tokens of its JSON body.
// It is the zero Token if the response handed out none.
func tokenFrom(h http.Header, body []byte) Token {
	var t Token
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil || c.MaxAge < 0 || c.Value == "" {
			continue // a deletion, or something that is no token
		}
		t.SetCookie = append(t.SetCookie, line)
		t.Cookies = append(t.Cookies, c)
	}
	t.Bearer = h.Get(tokenHeader)
	var j struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	if len(body) > 0 && json.Unmarshal(body, &j) == nil && j.Access != "" {
		t.Bearer, t.Refresh = j.Access, j.Refresh
	}
	if !t.IsZero() {
		t.IssuedBytes = headerBytes(h) + len(body)
	}
	return t
}

// headerBytes is the size of the header lines of h in HTTP/1.1: "Name:
// value" and a CRLF each.
func headerBytes(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	return n
}

// IsZero reports whether t holds no token.
func (t Token) IsZero() bool { return len(t.Cookies) == 0 && t.Bearer == "" }

// pathMatch reports whether a cookie with path cp is sent with a request
// for path p (RFC 6265, 5.1.4).
func pathMatch(cp, p string) bool {
	if cp == "" || cp == "/" || cp == p {
		return true
	}
	return strings.HasPrefix(p, cp) && (strings.HasSuffix(cp, "/") || p[len(cp)] == '/')
}

// cookiesFor returns the cookies sent with a request for path.
func (t Token) cookiesFor(path string) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range t.Cookies {
		if pathMatch(c.Path, path) {
			out = append(out, c)
		}
	}
	return out
}

// RequestHeader returns the header a request for path carries while the
// client holds t: Authorization for a bearer token, Cookie otherwise, and
// "" for the name when it carries none.
func (t Token) RequestHeader(path string) (name, value string) {
	if t.Bearer != "" {
		return "Authorization", "Bearer " + t.Bearer
	}
	cs := t.cookiesFor(path)
	if len(cs) == 0 {
		return "", ""
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + "=" + c.Value
	}
	return "Cookie", strings.Join(parts, "; ")
}

// RequestBytes is the size of the header line that carries t on every
// request (to path "/"), in HTTP/1.1 bytes.
func (t Token) RequestBytes() int {
	name, value := t.RequestHeader(requestPath)
	if name == "" {
		return 0
	}
	return len(name) + len(": ") + len(value) + len("\r\n")
}

// RequestCookies is how many cookies every request carries.
func (t Token) RequestCookies() int { return len(t.cookiesFor(requestPath)) }

// Value returns the credential itself: the bearer token, or the session
// cookie's value; "" for the zero Token.
func (t Token) Value() string {
	if t.Bearer != "" {
		return t.Bearer
	}
	if len(t.Cookies) == 0 {
		return ""
	}
	return t.Cookies[0].Value
}

// WithValue returns a copy of t whose credential is v instead: what a
// client that edits its token sends.
func (t Token) WithValue(v string) Token {
	c := t
	if t.Bearer != "" {
		c.Bearer = v
		return c
	}
	c.Cookies = append([]*http.Cookie(nil), t.Cookies...)
	if len(c.Cookies) > 0 {
		first := *c.Cookies[0]
		first.Value = v
		c.Cookies[0] = &first
	}
	return c
}

// LargestSetCookie is the length of the longest Set-Cookie header value,
// the one a browser's 4096-byte limit applies to.
func (t Token) LargestSetCookie() int {
	n := 0
	for _, l := range t.SetCookie {
		n = max(n, len(l))
	}
	return n
}

// refreshRequest is what a client sends to the refresh endpoint: the
// header carrying its cookies for that path, or a JSON body with its
// refresh token.
func (t Token) refreshRequest() (header http.Header, body []byte) {
	header = http.Header{}
	if t.Refresh != "" {
		body, _ = json.Marshal(map[string]string{"refresh_token": t.Refresh})
		header.Set("Content-Type", "application/json")
		return header, body
	}
	if name, value := t.RequestHeader(refreshPath); name != "" {
		header.Set(name, value)
	}
	return header, nil
}
