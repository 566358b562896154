package session

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// MaxCookieSize is the largest Set-Cookie header value, attributes included,
// that the Manager writes: every browser keeps a cookie of 4096 bytes.
const MaxCookieSize = 4096

// DefaultMaxChunks is how many cookies one session may span unless
// CookieOptions.MaxChunks says otherwise: two, as DefaultMaxBytes needs.
const DefaultMaxChunks = 2

// DefaultMaxBytes is how many bytes the session's cookies may take in a
// request's Cookie header unless CookieOptions.MaxBytes says otherwise.
// Browsers send all of a site's cookies in one Cookie header, and common
// proxies refuse a header line past 8 KB (nginx's default
// large_client_header_buffers, 8192 bytes with "Cookie: " and CRLF) or
// 8190 bytes (Apache's LimitRequestFieldSize): a request over it gets a
// 400 and the user's session is lost. 7168 bytes keeps the header within
// 8190 with 1014 bytes left for the site's other cookies.
const DefaultMaxBytes = 7168

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

	// MaxChunks caps how many cookies one session may span, and MaxBytes
	// how many bytes they may take in a request's Cookie header (each
	// "name=value", and "; " between them). A save that would pass either
	// fails with ErrTooLarge, leaving the client's cookies as they were.
	// 0 means DefaultMaxChunks and DefaultMaxBytes. Raise them only with
	// the limits of every proxy and server in front of the application
	// (docs/security.md lists them), and both together: a cookie carries
	// at most MaxCookieSize bytes.
	MaxChunks int
	MaxBytes  int
}

// Check reports a configuration that browsers would refuse or ignore
// without a word (a __Host- cookie that is not Secure, SameSite=None
// without Secure, …), naming the fix. Handler panics with its error; an
// adapter that writes cookies with options of its own (gorillastore's
// per-session Options) reports it instead.
func (o *CookieOptions) Check() error {
	switch {
	case !validCookieName(o.Name):
		return fmt.Errorf("session: Cookie.Name %q is not a valid cookie name (a token of RFC 7230: letters, digits and !#$%%&'*+-.^_`|~)", o.Name)
	case strings.HasPrefix(o.Name, "__Host-") && (!o.Secure || o.Path != "/" || o.Domain != ""):
		return fmt.Errorf("session: Cookie.Name %q has the __Host- prefix, which browsers accept only with Secure, Path \"/\" and no Domain: set Cookie.Secure = true, Cookie.Path = \"/\" and Cookie.Domain = \"\"", o.Name)
	case strings.HasPrefix(o.Name, "__Secure-") && !o.Secure:
		return fmt.Errorf("session: Cookie.Name %q has the __Secure- prefix, which browsers accept only with Secure: set Cookie.Secure = true", o.Name)
	case o.SameSite == http.SameSiteNoneMode && !o.Secure:
		return errors.New("session: Cookie.SameSite is None, which browsers accept only with Secure: set Cookie.Secure = true, or choose SameSite Lax")
	case o.Partitioned && !o.Secure:
		return errors.New("session: Cookie.Partitioned is set, which browsers accept only with Secure: set Cookie.Secure = true")
	case o.MaxChunks < 0 || o.MaxBytes < 0:
		return errors.New("session: Cookie.MaxChunks and Cookie.MaxBytes must not be negative (0 means the default)")
	}
	return nil
}

func (o *CookieOptions) maxChunks() int {
	if o.MaxChunks > 0 {
		return o.MaxChunks
	}
	return DefaultMaxChunks
}

func (o *CookieOptions) maxBytes() int {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return DefaultMaxBytes
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

// maxCookieValues bounds how many cookies of one name the Manager
// considers, and maxTokenTries how many tokens assembled from them it
// tries to open, so that a request stuffed with cookies of the session's
// name costs a bounded number of store reads.
const (
	maxCookieValues = 4
	maxTokenTries   = 8
)

// tokens calls yield with each token h's cookies may carry, in the order
// to try them, until yield returns false: the value of the first cookie
// named Name, followed by its continuations if it is long enough to have
// any, then the other cookies of the same name. A request usually carries
// one; several come from cookie tossing (a sibling subdomain, or a page on
// a longer path, planting a cookie of the same name), and the Manager uses
// the first that opens, so a planted junk cookie cannot log a user out.
// chunks is how many cookies carried the token.
func (o *CookieOptions) tokens(h http.Header, yield func(token string, chunks int) bool) {
	var buf [maxCookieValues]string
	firsts := cookieValues(h, o.Name, buf[:0])
	if len(firsts) == 1 && len(firsts[0]) < minChunk {
		yield(firsts[0], 1) // the common case: one cookie, one chunk
		return
	}
	w := chunkWalk{o: o, h: h, yield: yield}
	for _, v := range firsts {
		if !w.from(v, v, 1) {
			return
		}
	}
}

// chunkWalk assembles the tokens a chunked cookie may carry, trying every
// value of every continuation name, depth first, within maxTokenTries.
type chunkWalk struct {
	o     *CookieOptions
	h     http.Header
	tries int
	yield func(token string, chunks int) bool
}

// from yields the tokens that start with token, whose last chunk was last
// and whose next chunk would be number i. It returns false to stop.
func (w *chunkWalk) from(token, last string, i int) bool {
	if len(last) >= minChunk && i < w.o.maxChunks() {
		var buf [maxCookieValues]string
		for _, v := range cookieValues(w.h, w.o.chunkName(i), buf[:0]) {
			if !w.from(token+v, v, i+1) {
				return false
			}
		}
	}
	// The token as it stands: whole if its last chunk is short, and worth
	// a try otherwise, in case a continuation was planted.
	w.tries++
	return w.tries <= maxTokenTries && w.yield(token, i)
}

// cookieValues appends to values the distinct values of the cookies named
// name in the request header h, in the order net/http's Request.CookiesNamed
// gives them, up to cap(values): each is what r.Cookie(name) would return
// if the cookies before it were not there. It finds them without parsing
// every cookie of the request into an *http.Cookie, which costs two
// allocations and a check of every byte of every value when only one name
// is wanted.
//
// It reads as net/http does: every Cookie header line, pairs split on ';'
// and trimmed of ASCII spaces, the name trimmed too and compared exactly,
// the value unquoted if it is wholly in double quotes. A pair whose value
// holds a byte net/http rejects is skipped, and a name that is not a
// valid cookie name never matches. Unlike net/http it sets no limit on
// the number of cookies in a request (GODEBUG httpcookiemaxnum): that limit
// guards against the allocation per cookie that this scan does not make.
// An empty value is skipped: it names no session.
func cookieValues(h http.Header, name string, values []string) []string {
	for _, line := range h["Cookie"] {
		for line != "" && len(values) < cap(values) {
			var pair string
			pair, line, _ = strings.Cut(line, ";")
			pairName, raw, _ := strings.Cut(textproto.TrimString(pair), "=")
			if textproto.TrimString(pairName) != name {
				continue
			}
			if value, ok := parseCookieValue(raw); ok && value != "" && validCookieName(name) && !slices.Contains(values, value) {
				values = append(values, value)
			}
		}
	}
	return values
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
// cookies as it needs, in place of any an earlier save of this response
// added, and expires the chunk names past them that a client could read
// (had is how many cookies the request carried). attrs keeps the
// formatted attributes from one write to the next.
func (o *CookieOptions) write(h http.Header, attrs *attributeCache, token string, rec *Record, now time.Time, had int) error {
	maxAge := 0 // a browser-session cookie
	if rec.Persistent {
		maxAge = int(math.Ceil(rec.Expires.Sub(now).Seconds()))
		if maxAge <= 0 {
			maxAge = -1
		}
	}
	// The attributes are the same for every chunk, and but for Expires and
	// Max-Age for every save. Each cookie is name=part+attributes, joined
	// here, so that net/http does not examine the token byte by byte for
	// every chunk: it holds only cookie-safe bytes (checked below), which
	// net/http would pass through as they are, unquoted.
	a, err := attrs.get(o)
	if err != nil {
		return err
	}
	var lifeBuf [len(expiresAttr) + len(http.TimeFormat) + len(maxAgeAttr) + 20]byte
	life := attrs.appendLifetime(lifeBuf[:0], now, maxAge)
	attrsLen := len(a.beforeExpires) + len(life) + len(a.afterMaxAge)
	if !cookieSafe(token) {
		return errUnsafeToken
	}
	// The room for the value is what the attributes leave of a cookie,
	// reserving the longest chunk name: Name.MaxChunks.
	overhead := len(o.Name) + len(".") + len(strconv.Itoa(o.maxChunks())) + len("=") + attrsLen
	room := MaxCookieSize - overhead
	if room < minChunk {
		return fmt.Errorf("session: cookie attributes leave only %d bytes for the value", room)
	}
	n := (len(token) + room - 1) / room
	if n > o.maxChunks() {
		return fmt.Errorf("%w: the session needs %d bytes of cookies, more than the %d cookies of %d bytes CookieOptions.MaxChunks allows; keep less in it, or use a server-side store",
			ErrTooLarge, len(token), o.maxChunks(), room)
	}
	// What the cookies will take in the request's Cookie header:
	// "name=part" for each, and "; " between them.
	sent := len(token) + 2*(n-1)
	for i := range n {
		sent += len(o.chunkName(i)) + len("=")
	}
	if sent > o.maxBytes() {
		return fmt.Errorf("%w: the session's cookies would take %d bytes of the request's Cookie header, more than CookieOptions.MaxBytes (%d); keep less in it, or use a server-side store",
			ErrTooLarge, sent, o.maxBytes())
	}
	// A session saved twice in one response (an explicit Manager.Save,
	// then the middleware's) must not leave two versions of its cookies.
	o.drop(h)
	for i := range n {
		name := o.chunkName(i)
		part := token[i*room : min(len(token), (i+1)*room)]
		var line strings.Builder // one allocation, of exactly the header's length
		line.Grow(len(name) + len("=") + len(part) + attrsLen)
		line.WriteString(name)
		line.WriteByte('=')
		line.WriteString(part)
		line.WriteString(a.beforeExpires)
		line.Write(life)
		line.WriteString(a.afterMaxAge)
		h.Add("Set-Cookie", line.String())
	}
	// The chunk names past the last written are expired, not only those
	// the request carried, whenever the last chunk is long enough for a
	// reader to look for a continuation: of two responses that wrote
	// different numbers of chunks, the browser may otherwise keep the
	// longer one's tail after the shorter one's head, and glue them into
	// a token that does not open. After a short chunk no reader looks
	// further (see tokens), so nothing past it can do harm, and the
	// common one-cookie session pays no expiry lines; those the request
	// carried are expired all the same, to tidy the client's jar.
	last := len(token) - (n-1)*room
	switch {
	case last >= minChunk:
		o.expireFrom(h, a, n, o.maxChunks())
	case had > n:
		o.expireFrom(h, a, n, had)
	}
	return nil
}

// cookieAttributes are the attributes of the cookies CookieOptions
// describes, as net/http's Cookie.String formats them, split around the
// place of Expires and Max-Age, the attributes that change from save to
// save. net/http writes them in a fixed order: Path, Domain, Expires,
// Max-Age, HttpOnly, Secure, SameSite, Partitioned.
// TestCookieWriteMatchesNetHTTP holds write to net/http's own output, so a
// Go release that changed the order would fail it.
type cookieAttributes struct {
	opts          CookieOptions // what they were formatted from
	beforeExpires string        // "; Path=/", and Domain
	afterMaxAge   string        // "; HttpOnly; Secure; SameSite=Lax", and Partitioned

	// expired[i] is the Set-Cookie line that expires chunk i.
	expired []string
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
	a := &cookieAttributes{opts: *o, beforeExpires: before[bare:], afterMaxAge: after[bare:]}
	for i := range o.maxChunks() {
		a.expired = append(a.expired, o.chunkName(i)+"="+a.beforeExpires+expiredLifetime+a.afterMaxAge)
	}
	return a, nil
}

// attributeCache keeps the attributes a Manager last formatted, so that a
// save does not have net/http format them again (an allocation, and a
// check of every byte of the path and domain). It is keyed by the whole
// CookieOptions, so a change to Manager.Cookie is seen at once.
type attributeCache struct {
	last        atomic.Pointer[cookieAttributes]
	lastExpires atomic.Pointer[expiresText]
}

// expires returns the Unix time sec as an Expires attribute's date: the
// last one formatted if it is the same second, as it is for every save of
// a busy second with the same Max-Age, rather than formatted again.
func (c *attributeCache) expires(sec int64) string {
	if e := c.lastExpires.Load(); e != nil && e.sec == sec {
		return e.text
	}
	e := &expiresText{sec: sec, text: time.Unix(sec, 0).UTC().Format(http.TimeFormat)}
	c.lastExpires.Store(e)
	return e.text
}

// expiresText is a formatted Expires date and the second it stands for.
type expiresText struct {
	sec  int64
	text string
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

const (
	expiresAttr = "; Expires="
	maxAgeAttr  = "; Max-Age="

	// expiredLifetime is the lifetime of a cookie being deleted: an
	// Expires in the past for clients that ignore Max-Age, as net/http
	// formats time.Unix(0, 0).
	expiredLifetime = expiresAttr + "Thu, 01 Jan 1970 00:00:00 GMT" + maxAgeAttr + "0"
)

// appendLifetime appends the Expires and Max-Age attributes as net/http
// formats them: none for a browser-session cookie (maxAge 0); Max-Age the
// seconds left and Expires the moment they run out, if positive; a
// deletion, if negative. Expires goes with every Max-Age, as
// express-session, scs and gorilla send it, for clients (and proxies)
// that know only Expires.
func (c *attributeCache) appendLifetime(b []byte, now time.Time, maxAge int) []byte {
	switch {
	case maxAge > 0:
		b = append(b, expiresAttr...)
		b = append(b, c.expires(now.Unix()+int64(maxAge))...)
		return strconv.AppendInt(append(b, maxAgeAttr...), int64(maxAge), 10)
	case maxAge < 0:
		return append(b, expiredLifetime...)
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

// expire tells the client to delete the session's cookies the request
// carried (had of them), in place of any an earlier save of this response
// added. Without the first, no reader looks at the others.
func (o *CookieOptions) expire(h http.Header, attrs *attributeCache, had int) error {
	a, err := attrs.get(o)
	if err != nil {
		return err
	}
	o.drop(h)
	o.expireFrom(h, a, 0, max(had, 1))
	return nil
}

// expireFrom expires chunks from..to-1.
func (o *CookieOptions) expireFrom(h http.Header, a *cookieAttributes, from, to int) {
	for _, line := range a.expired[from:min(to, len(a.expired))] {
		h.Add("Set-Cookie", line)
	}
}
