package session

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
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
	// in cookies named Name.1, Name.2, and so on, up to MaxChunks cookies
	// in all; give no other cookie such a name.
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

// isChunkName reports whether name is one of the names chunkName gives:
// Name, or Name.i for 0 < i < maxChunks, written as chunkName writes it.
func (o *CookieOptions) isChunkName(name string) bool {
	if name == o.Name {
		return true
	}
	suffix, ok := strings.CutPrefix(name, o.Name+".")
	if !ok {
		return false
	}
	i, err := strconv.Atoi(suffix)
	return err == nil && i > 0 && i < o.maxChunks() && o.chunkName(i) == name
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
	first, _ := requestCookie(r.Header, o.Name)
	if first == "" {
		return "", 0
	}
	token, chunks = first, 1
	for last := first; len(last) >= minChunk && chunks < o.maxChunks(); chunks++ {
		if last, _ = requestCookie(r.Header, o.chunkName(chunks)); last == "" {
			break
		}
		token += last
	}
	return token, chunks
}

// requestCookie returns the value of the first cookie named name in the
// request header h, and whether there is one: what r.Cookie(name) returns,
// found without parsing every cookie of the request into an *http.Cookie,
// which costs two allocations and a check of every byte of every value
// when only one cookie is wanted.
//
// It reads as net/http does: every Cookie header line, pairs split on ';'
// and trimmed of ASCII spaces, the name trimmed too and compared exactly,
// the value unquoted if it is wholly in double quotes. A pair whose value
// holds a byte net/http rejects is skipped, so that a later pair of the
// same name can still match, and a name that is not a valid cookie name
// never matches. Unlike net/http it sets no limit on the number of
// cookies in a request (GODEBUG httpcookiemaxnum): that limit guards
// against the allocation per cookie that this scan does not make.
func requestCookie(h http.Header, name string) (value string, ok bool) {
	for _, line := range h["Cookie"] {
		for line != "" {
			var pair string
			pair, line, _ = strings.Cut(line, ";")
			pairName, raw, _ := strings.Cut(textproto.TrimString(pair), "=")
			if textproto.TrimString(pairName) != name {
				continue
			}
			if value, ok := parseCookieValue(raw); ok && validCookieName(name) {
				return value, true
			}
		}
	}
	return "", false
}

// validCookieName reports whether net/http takes name as a cookie's name
// (an RFC 7230 token).
func validCookieName(name string) bool {
	return (&http.Cookie{Name: name}).Valid() == nil
}

// parseCookieValue is net/http's reading of a request cookie's value: the
// double quotes around it removed, if any, and ok only if every byte left
// is one net/http accepts.
func parseCookieValue(raw string) (value string, ok bool) {
	if len(raw) > 1 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	ok = true
	for i := 0; i < len(raw); i++ {
		ok = ok && cookieValueByte[raw[i]]
	}
	return raw, ok
}

// cookieValueByte marks the bytes net/http accepts in the value of a
// request cookie: printable ASCII and space, but '"', ';' and '\'. It is
// laxer than cookieSafeByte, RFC 6265's cookie-octet, which the Manager
// writes: net/http lets spaces and commas through from clients that send
// them, and a store may accept such tokens.
var cookieValueByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != ';' && c != '\\'
	}
	return t
}()

// write adds the Set-Cookie headers that carry token, split into as many
// cookies as it needs, and expires chunks left over from a longer token
// (had is how many the request carried). attrs keeps the formatted
// attributes from one write to the next.
func (o *CookieOptions) write(h http.Header, attrs *attributeCache, token string, rec *Record, now time.Time, had int) (int, error) {
	maxAge := 0 // a browser-session cookie
	if rec.Persistent {
		maxAge = int(math.Ceil(rec.Expires.Sub(now).Seconds()))
		if maxAge <= 0 {
			maxAge = -1
		}
	}
	// The attributes are the same for every chunk, and but for Max-Age
	// for every save. Each cookie is name=part+attributes, joined here, so
	// that net/http does not examine the token byte by byte for every
	// chunk: it holds only cookie-safe bytes (checked below), which
	// net/http would pass through as they are, unquoted.
	a, err := attrs.get(o)
	if err != nil {
		return 0, err
	}
	var maxAgeBuf [len("; Max-Age=") + 20]byte
	maxAgeAttr := appendMaxAge(maxAgeBuf[:0], maxAge)
	attrsLen := len(a.beforeMaxAge) + len(maxAgeAttr) + len(a.afterMaxAge)
	if !cookieSafe(token) {
		return 0, errUnsafeToken
	}
	// The room for the value is what the attributes leave of a cookie,
	// reserving the longest chunk name: Name.MaxChunks.
	overhead := len(o.Name) + len(".") + len(strconv.Itoa(o.maxChunks())) + len("=") + attrsLen
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
		name := o.chunkName(i)
		part := token[i*room : min(len(token), (i+1)*room)]
		var line strings.Builder // one allocation, of exactly the header's length
		line.Grow(len(name) + len("=") + len(part) + attrsLen)
		line.WriteString(name)
		line.WriteByte('=')
		line.WriteString(part)
		line.WriteString(a.beforeMaxAge)
		line.Write(maxAgeAttr)
		line.WriteString(a.afterMaxAge)
		h.Add("Set-Cookie", line.String())
	}
	o.expireFrom(h, n, had)
	return n, nil
}

// cookieAttributes are the attributes of the cookies CookieOptions
// describes, as net/http's Cookie.String formats them, split around the
// place of Max-Age, the one attribute that changes from save to save.
// net/http writes them in a fixed order: Path, Domain, Expires (which the
// Manager never sets), Max-Age, HttpOnly, Secure, SameSite, Partitioned.
// TestCookieWriteMatchesNetHTTP holds write to net/http's own output, so a
// Go release that changed the order would fail it.
type cookieAttributes struct {
	opts         CookieOptions // what they were formatted from
	beforeMaxAge string        // "; Path=/", and Domain
	afterMaxAge  string        // "; HttpOnly; Secure; SameSite=Lax", and Partitioned
}

func formatCookieAttributes(o *CookieOptions) (*cookieAttributes, error) {
	// String returns "" if the name is invalid; a chunk's name adds only
	// '.' and digits, valid too.
	before := (&http.Cookie{Name: o.Name, Path: o.Path, Domain: o.Domain}).String()
	after := (&http.Cookie{Name: o.Name, HttpOnly: o.HttpOnly, Secure: o.Secure, SameSite: o.SameSite, Partitioned: o.Partitioned}).String()
	if before == "" || after == "" {
		return nil, fmt.Errorf("session: invalid cookie name %q", o.Name)
	}
	bare := len(o.Name) + len("=")
	return &cookieAttributes{opts: *o, beforeMaxAge: before[bare:], afterMaxAge: after[bare:]}, nil
}

// attributeCache keeps the attributes a Manager last formatted, so that a
// save does not have net/http format them again (an allocation, and a
// check of every byte of the path and domain). It is keyed by the whole
// CookieOptions, so a change to Manager.Cookie is seen at once.
type attributeCache struct {
	last atomic.Pointer[cookieAttributes]
}

func (c *attributeCache) get(o *CookieOptions) (*cookieAttributes, error) {
	if a := c.last.Load(); a != nil && a.opts == *o {
		return a, nil
	}
	a, err := formatCookieAttributes(o)
	if err != nil {
		return nil, err
	}
	c.last.Store(a)
	return a, nil
}

// appendMaxAge appends the Max-Age attribute as net/http formats it: none
// for a browser-session cookie (0), the seconds left if positive, and
// Max-Age=0, which deletes the cookie, if negative.
func appendMaxAge(b []byte, maxAge int) []byte {
	switch {
	case maxAge > 0:
		return strconv.AppendInt(append(b, "; Max-Age="...), int64(maxAge), 10)
	case maxAge < 0:
		return append(b, "; Max-Age=0"...)
	}
	return b
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

// drop removes the Set-Cookie headers of this session's cookies from h,
// and only those: a handler's own cookies stay, even one whose name
// starts with Name (another Manager's "session.admin", say).
func (o *CookieOptions) drop(h http.Header) {
	kept := h["Set-Cookie"][:0]
	for _, v := range h["Set-Cookie"] {
		name, _, _ := strings.Cut(v, "=")
		if !o.isChunkName(name) {
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
