package session

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxCookieSize is the largest Set-Cookie header value, attributes included,
// that the Manager writes: every browser keeps a cookie of 4096 bytes.
const MaxCookieSize = 4096

// DefaultMaxChunks is how many cookies one session may span unless
// CookieOptions.MaxChunks says otherwise: about 30 KB of token.
const DefaultMaxChunks = 8

// minChunk is a lower bound on a full chunk's length: a token cookie this
// long may have a continuation, a shorter one has none. Attributes never
// take 2 KB, so every chunk but the last is longer than this.
const minChunk = 2048

// CookieOptions are the session cookie's name and attributes.
type CookieOptions struct {
	// Name is the cookie's name. A token longer than one cookie continues
	// in cookies named Name.1, Name.2, and so on.
	Name string

	// Domain and Path scope the cookie, as in http.Cookie.
	Domain string
	Path   string

	// Secure, HttpOnly, SameSite and Partitioned are the cookie attributes
	// of the same names. New sets Secure, HttpOnly and SameSite Lax; turn
	// Secure off only for plain-HTTP development.
	Secure      bool
	HttpOnly    bool
	SameSite    http.SameSite
	Partitioned bool

	// Persist is the default for Session.RememberMe: true gives a cookie
	// with Max-Age that survives a browser restart until the session
	// expires, false a browser-session cookie.
	Persist bool

	// MaxChunks caps how many cookies one session may span. A save that
	// would need more fails with ErrTooLarge, leaving the client's cookies
	// as they were. 0 means DefaultMaxChunks.
	MaxChunks int
}

func (o *CookieOptions) maxChunks() int {
	if o.MaxChunks > 0 {
		return o.MaxChunks
	}
	return DefaultMaxChunks
}

func (o *CookieOptions) chunkName(i int) string {
	if i == 0 {
		return o.Name
	}
	return o.Name + "." + strconv.Itoa(i)
}

func (o *CookieOptions) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:        name,
		Value:       value,
		Domain:      o.Domain,
		Path:        o.Path,
		MaxAge:      maxAge,
		Secure:      o.Secure,
		HttpOnly:    o.HttpOnly,
		SameSite:    o.SameSite,
		Partitioned: o.Partitioned,
	}
}

// read returns the token the request carries and how many cookies carry
// it.
func (o *CookieOptions) read(r *http.Request) (token string, chunks int) {
	c, err := r.Cookie(o.Name)
	if err != nil || c.Value == "" {
		return "", 0
	}
	token, chunks = c.Value, 1
	for last := c.Value; len(last) >= minChunk && chunks < o.maxChunks(); chunks++ {
		c, err := r.Cookie(o.chunkName(chunks))
		if err != nil || c.Value == "" {
			break
		}
		last = c.Value
		token += last
	}
	return token, chunks
}

// write adds the Set-Cookie headers that carry token, split into as many
// cookies as it needs, and expires chunks left over from a longer token
// (had is how many the request carried).
func (o *CookieOptions) write(h http.Header, token string, rec *Record, now time.Time, had int) (int, error) {
	maxAge := 0 // a browser-session cookie
	if rec.Persistent {
		maxAge = int(math.Ceil(rec.Expires.Sub(now).Seconds()))
		if maxAge <= 0 {
			maxAge = -1
		}
	}
	// The attributes are the same for every chunk: net/http formats them
	// once, behind the bare name (String returns "" if the name is
	// invalid; a chunk's name adds only '.' and digits, valid too). Each
	// cookie is then name=part+attrs, joined here, so that net/http does
	// not examine the token byte by byte for every chunk: it holds only
	// cookie-safe bytes (checked below), which net/http would pass through
	// as they are, unquoted.
	attrs := o.cookie(o.Name, "", maxAge).String()
	if attrs == "" {
		return 0, fmt.Errorf("session: invalid cookie name %q", o.Name)
	}
	attrs = attrs[len(o.Name)+len("="):]
	if !cookieSafe(token) {
		return 0, errUnsafeToken
	}
	// The room for the value is what the attributes leave of a cookie,
	// reserving the longest chunk name: Name.MaxChunks.
	overhead := len(o.Name) + len(".") + len(strconv.Itoa(o.maxChunks())) + len("=") + len(attrs)
	room := MaxCookieSize - overhead
	if room < minChunk {
		return 0, fmt.Errorf("session: cookie attributes leave only %d bytes for the value", room)
	}
	n := (len(token) + room - 1) / room
	if n > o.maxChunks() {
		return 0, fmt.Errorf("%w: the session needs %d bytes of cookies, more than the %d cookies of %d bytes CookieOptions.MaxChunks allows; keep less in it, or use a server-side store",
			ErrTooLarge, len(token), o.maxChunks(), room)
	}
	// A session saved twice in one response (an explicit Manager.Save,
	// then the middleware's) must not leave two versions of its cookies.
	o.drop(h)
	for i := 0; i < n; i++ {
		part := token[i*room : min(len(token), (i+1)*room)]
		h.Add("Set-Cookie", o.chunkName(i)+"="+part+attrs)
	}
	o.expireFrom(h, n, had)
	return n, nil
}

// errUnsafeToken reports a token that cannot go into a cookie as it is.
var errUnsafeToken = errors.New("session: the store returned a token with bytes a cookie value cannot hold; a Store's tokens must be cookie-safe (see Store)")

// cookieSafeByte marks the bytes RFC 6265 allows unquoted in a cookie value
// (cookie-octet): printable ASCII but space, '"', ',', ';' and '\'. A
// value made of these only is what net/http's Cookie.String writes as it
// is, neither quoted nor with bytes dropped. A table lookup has no branch
// that depends on the byte, so cookieSafe costs little even on long tokens
// of random characters, where a chain of comparisons would mispredict.
var cookieSafeByte = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = c != '"' && c != ',' && c != ';' && c != '\\'
	}
	return t
}()

// cookieSafe reports whether s is made only of cookie-safe bytes.
func cookieSafe(s string) bool {
	ok := true
	for i := 0; i < len(s); i++ {
		ok = ok && cookieSafeByte[s[i]]
	}
	return ok
}

// drop removes the Set-Cookie headers of this session's cookies from h.
func (o *CookieOptions) drop(h http.Header) {
	kept := h["Set-Cookie"][:0]
	for _, v := range h["Set-Cookie"] {
		name, _, _ := strings.Cut(v, "=")
		if name != o.Name && !strings.HasPrefix(name, o.Name+".") {
			kept = append(kept, v)
		}
	}
	if len(kept) == 0 {
		delete(h, "Set-Cookie")
	} else {
		h["Set-Cookie"] = kept
	}
}

// expire removes the session cookies the request carried.
func (o *CookieOptions) expire(h http.Header, had int) {
	o.drop(h)
	o.expireFrom(h, 0, max(had, 1))
}

func (o *CookieOptions) expireFrom(h http.Header, from, to int) {
	for i := from; i < to; i++ {
		h.Add("Set-Cookie", o.cookie(o.chunkName(i), "", -1).String())
	}
}
