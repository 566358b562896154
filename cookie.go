package session

import (
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
	// The room for the value is what the attributes leave of a cookie,
	// reserving the longest chunk name suffix.
	overhead := len(o.cookie(o.chunkName(o.maxChunks()), "", maxAge).String())
	room := MaxCookieSize - overhead
	if room < minChunk {
		return 0, fmt.Errorf("session: cookie attributes leave only %d bytes for the value", room)
	}
	n := (len(token) + room - 1) / room
	if n > o.maxChunks() {
		return 0, fmt.Errorf("%w: the session needs %d bytes of cookies, more than the %d cookies of %d bytes CookieOptions.MaxChunks allows; keep less in it, or use a server-side store",
			ErrTooLarge, len(token), o.maxChunks(), room)
	}
	cookies := make([]string, 0, n)
	for i := 0; i < n; i++ {
		part := token[i*room : min(len(token), (i+1)*room)]
		c := o.cookie(o.chunkName(i), part, maxAge)
		v := c.String()
		if v == "" {
			return 0, fmt.Errorf("session: invalid cookie name %q or value", c.Name)
		}
		cookies = append(cookies, v)
	}
	// A session saved twice in one response (an explicit Manager.Save,
	// then the middleware's) must not leave two versions of its cookies.
	o.drop(h)
	for _, v := range cookies {
		h.Add("Set-Cookie", v)
	}
	o.expireFrom(h, n, had)
	return n, nil
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
