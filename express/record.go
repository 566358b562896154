package express

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-sealed/session"
)

// What express-session stores is the session object as JSON.stringify
// writes it: its values, and under "cookie" the Cookie's data
// (originalMaxAge, expires, httpOnly, path, and secure, domain, sameSite,
// partitioned and priority when set), in that order. The Store maps it to
// a session.Record and back:
//
//   - Record.Data is the values, every member but "cookie" and MetaKey,
//     as the stored bytes have them: a value the Go side does not change
//     is written back byte for byte, in its place.
//   - Record.Expires is when the store lets the record expire (Redis's
//     TTL, connect-pg-simple's expire column, connect-mongo's expires
//     field), which express-session's touch extends without rewriting the
//     JSON; Persistent is cookie.expires != null, as for express-session.
//   - Record.Touched is Expires less the session's idle period (its
//     originalMaxAge, or the store's TTL for a browser-session cookie):
//     when express-session last saved or touched it. Record.Created is
//     when it was loaded, since express-session keeps no creation time
//     and has no absolute lifetime (see Store.Check).
//   - Record.UserID and Record.Deadline, which express-session has no
//     place for, go under MetaKey, only when set.

// MetaKey is the member of the session object under which the Store keeps
// what express-session has no place for: the session's user tag
// (Session.SetUser) as "user", and its deadline (Session.SetDeadline) as
// "deadline", an ISO 8601 string as JSON.stringify writes a Date. It is
// written only when one of them is set. express-session keeps it, as it
// keeps any member, and an Express app that does not look for it is not
// affected by it; the Go side hides it from the session's values, and
// refuses a value of that name, as it refuses "cookie".
const MetaKey = "_goSession"

// cookieKey is express-session's member for the cookie's settings.
const cookieKey = "cookie"

// member is a member of a JSON object: its key, and its value as stored.
type member struct {
	key   string
	value json.RawMessage
}

// object is a JSON object's members in their order.
type object []member

// parseObject reads data, which must be one JSON object, keeping its
// members' order and values as they are. Of two members with one key the
// last value counts, in the first one's place, as for JSON.parse.
func parseObject(data []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var o object
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o.set(key, v)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return o, nil
}

// get returns the value of key, or nil.
func (o object) get(key string) json.RawMessage {
	for _, m := range o {
		if m.key == key {
			return m.value
		}
	}
	return nil
}

// set sets key's value, in its place if o has it, else last.
func (o *object) set(key string, v json.RawMessage) {
	for i := range *o {
		if (*o)[i].key == key {
			(*o)[i].value = v
			return
		}
	}
	*o = append(*o, member{key, v})
}

// appendTo appends o as JSON to b.
func (o object) appendTo(b []byte) []byte {
	b = append(b, '{')
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.key)
		b = append(b, ':')
		b = append(b, m.value...)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string, without the HTML escapes
// encoding/json adds by default, as JSON.stringify writes it.
func appendString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// meta is what the Store keeps under MetaKey.
type meta struct {
	User     string `json:"user,omitempty"`
	Deadline string `json:"deadline,omitempty"`
}

// isoTime formats t as JavaScript's Date.prototype.toISOString does, as
// JSON.stringify writes a Date.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// parseISOTime reads a time isoTime, or another RFC 3339 writer, wrote.
func parseISOTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

// recordID is the Record.ID of the session sid names: a hash of it, as
// long as the Manager's own IDs, so that it is stable for one sid and
// changes with it, and reveals nothing that would resume the session.
func recordID(sid string) string {
	sum := sha256.Sum256([]byte("go-sealed/session express ID\x00" + sid))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// errNotSession says a stored record is not an express-session session.
var errNotSession = errors.New("not an express-session session object")

// decode maps data, a stored session, to a Record. expires is when the
// store lets it expire, zero if never; ttl the store's idle period for a
// browser-session cookie; now the time of the load.
func decode(sid string, data []byte, expires time.Time, ttl time.Duration, now time.Time) (*session.Record, error) {
	o, err := parseObject(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotSession, err)
	}
	cookie, err := parseObject(o.get(cookieKey))
	if err != nil {
		return nil, fmt.Errorf("%w: its cookie is not an object", errNotSession)
	}
	rec := &session.Record{ID: recordID(sid), Created: now, Stored: data}
	var cookieExpires *string
	if raw := cookie.get("expires"); raw != nil {
		if err := json.Unmarshal(raw, &cookieExpires); err != nil {
			return nil, fmt.Errorf("%w: its cookie.expires is neither a date nor null", errNotSession)
		}
	}
	period := ttl
	if cookieExpires != nil {
		rec.Persistent = true
		t, err := parseISOTime(*cookieExpires)
		if err != nil {
			return nil, fmt.Errorf("%w: its cookie.expires is not a date", errNotSession)
		}
		if expires.IsZero() {
			expires = t
		}
		var maxAge *float64
		if json.Unmarshal(cookie.get("originalMaxAge"), &maxAge) == nil && maxAge != nil && *maxAge > 0 {
			period = time.Duration(*maxAge * float64(time.Millisecond))
		}
	}
	if expires.IsZero() {
		// Kept with no expiry (connect-redis's disableTTL, say): alive,
		// and taken as touched now.
		expires = now.Add(ttl)
	}
	rec.Expires = expires
	rec.Touched = expires.Add(-period)
	if rec.Touched.After(now) {
		rec.Touched = now
	}

	values := make(object, 0, len(o))
	for _, m := range o {
		switch m.key {
		case cookieKey:
		case MetaKey:
			var md meta
			if json.Unmarshal(m.value, &md) != nil {
				return nil, fmt.Errorf("%w: its %s is not what this package writes", errNotSession, MetaKey)
			}
			rec.UserID = md.User
			if md.Deadline != "" {
				if rec.Deadline, err = parseISOTime(md.Deadline); err != nil {
					return nil, fmt.Errorf("%w: its %s.deadline is not a date", errNotSession, MetaKey)
				}
			}
		default:
			values = append(values, m)
		}
	}
	rec.Data = values.appendTo(nil)
	return rec, nil
}

// cookieSettings is how express-session's Cookie would be set up for a
// new session: the Express app's cookie options.
type cookieSettings struct {
	opts   session.CookieOptions
	maxAge time.Duration // 0: none, a browser-session cookie
}

// object returns the cookie's data as express-session writes it for a new
// session, expires and originalMaxAge left for encode to set.
func (c *cookieSettings) object() object {
	o := object{{"originalMaxAge", json.RawMessage("null")}}
	if c.opts.Partitioned {
		o = append(o, member{"partitioned", json.RawMessage("true")})
	}
	o = append(o, member{"expires", json.RawMessage("null")})
	if c.opts.Secure {
		o = append(o, member{"secure", json.RawMessage("true")})
	}
	o = append(o, member{"httpOnly", json.RawMessage(strconv.FormatBool(c.opts.HttpOnly))})
	if c.opts.Domain != "" {
		o = append(o, member{"domain", appendString(nil, c.opts.Domain)})
	}
	o = append(o, member{"path", appendString(nil, c.opts.Path)})
	if s := sameSiteName(c.opts.SameSite); s != "" {
		o = append(o, member{"sameSite", appendString(nil, s)})
	}
	return o
}

// sameSiteName is express-session's name of a SameSite mode, "" for none.
func sameSiteName(s http.SameSite) string {
	switch s {
	case http.SameSiteLaxMode:
		return "lax"
	case http.SameSiteStrictMode:
		return "strict"
	case http.SameSiteNoneMode:
		return "none"
	}
	return ""
}

// encode maps rec to the session object to store. base is the stored
// session rec was read from, if any: its members keep their order, its
// cookie object its settings, and the values rec.Data holds as they are
// replace theirs in place; values rec no longer has are left out, and new
// ones follow, in rec.Data's order.
func encode(rec *session.Record, base []byte, c *cookieSettings) ([]byte, error) {
	values, err := parseObject(rec.Data)
	if err != nil {
		return nil, fmt.Errorf("express: the session's values are not a JSON object (the Manager's Codec must be session.JSON): %w", err)
	}
	for _, m := range values {
		if m.key == cookieKey || m.key == MetaKey {
			return nil, fmt.Errorf("express: a session value may not be named %q: express-session keeps its cookie's settings there, and this package its own", m.key)
		}
	}
	var stored object
	if base != nil {
		stored, _ = parseObject(base) // nil if it does not parse: a new layout
	}
	cookie, err := parseObject(stored.get(cookieKey))
	if err != nil {
		cookie = c.object()
	}
	expires, maxAge := json.RawMessage("null"), json.RawMessage("null")
	if rec.Persistent {
		expires = appendString(nil, isoTime(rec.Expires))
		maxAge = cookie.get("originalMaxAge")
		var ms *float64
		if json.Unmarshal(maxAge, &ms) != nil || ms == nil || *ms <= 0 {
			d := c.maxAge
			if d <= 0 {
				d = rec.Expires.Sub(rec.Touched)
			}
			maxAge = strconv.AppendInt(nil, d.Milliseconds(), 10)
		}
	}
	cookie.set("originalMaxAge", maxAge)
	cookie.set("expires", expires)

	var md json.RawMessage
	if rec.UserID != "" || !rec.Deadline.IsZero() {
		m := meta{User: rec.UserID}
		if !rec.Deadline.IsZero() {
			m.Deadline = isoTime(rec.Deadline)
		}
		md, _ = json.Marshal(m) // two strings always encode
	}
	out := make(object, 0, len(values)+2)
	out = append(out, member{cookieKey, cookie.appendTo(nil)})
	for _, m := range stored {
		switch v := values.get(m.key); {
		case m.key == cookieKey:
		case m.key == MetaKey && md != nil:
			out = append(out, member{MetaKey, md})
			md = nil
		case v != nil:
			out = append(out, member{m.key, v})
		}
	}
	for _, m := range values {
		if stored.get(m.key) == nil {
			out = append(out, m)
		}
	}
	if md != nil {
		out = append(out, member{MetaKey, md})
	}
	return out.appendTo(nil), nil
}
