package session

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// netHTTPWrite is how CookieOptions.write formatted cookies before it
// joined them by hand: every chunk through http.Cookie.String, the overhead
// measured on a formatted cookie, then the other chunk names expired if
// the last chunk is long enough to have a continuation.
// write must give exactly its output.
func netHTTPWrite(o *CookieOptions, token string, rec *Record, now time.Time) ([]string, error) {
	maxAge := 0
	var expires time.Time
	if rec.Persistent {
		maxAge = int(math.Ceil(rec.Expires.Sub(now).Seconds()))
		expires = now.Add(time.Duration(maxAge) * time.Second)
		if maxAge <= 0 {
			maxAge, expires = -1, time.Unix(0, 0)
		}
	}
	cookie := func(name, value string, maxAge int, expires time.Time) string {
		c := o.cookie(name, value, maxAge)
		c.Expires = expires
		return c.String()
	}
	room := MaxCookieSize - len(cookie(o.chunkName(o.maxChunks()), "", maxAge, expires))
	n := (len(token) + room - 1) / room
	if n > o.maxChunks() {
		return nil, ErrTooLarge
	}
	var out, sent []string
	for i := 0; i < n; i++ {
		part := token[i*room : min(len(token), (i+1)*room)]
		out = append(out, cookie(o.chunkName(i), part, maxAge, expires))
		sent = append(sent, o.chunkName(i)+"="+part)
	}
	if len(strings.Join(sent, "; ")) > o.maxBytes() {
		return nil, ErrTooLarge
	}
	if len(token)-(n-1)*room >= minChunk {
		for i := n; i < o.maxChunks(); i++ {
			out = append(out, cookie(o.chunkName(i), "", -1, time.Unix(0, 0)))
		}
	}
	return out, nil
}

func TestCookieWriteMatchesNetHTTP(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	// Every cookie-safe byte, so that a byte net/http would quote or drop
	// would show.
	var safe strings.Builder
	for c := 0; c < 256; c++ {
		if cookieSafeByte[c] {
			safe.WriteByte(byte(c))
		}
	}
	tokens := map[string]string{
		"short":                            "AbtAX5JAQUJDREVGR0hJSktMTU5PUFFSU1RVVleV492O91I55KN0QWP2a180CiOlc_AsKcTXJaTKhDPadislZffJKX6X",
		"every byte":                       safe.String(),
		"two chunks":                       strings.Repeat("x", 5000),
		"over MaxBytes, within two chunks": strings.Repeat("y", DefaultMaxBytes),
		"many chunks":                      strings.Repeat("A-_z", 7000),
	}
	expires := map[string]*Record{
		"browser session (Max-Age unset)": {Persistent: false, Expires: now.Add(time.Hour)},
		"persistent (Max-Age=n)":          {Persistent: true, Expires: now.Add(90*time.Minute + 300*time.Millisecond)},
		"expired (Max-Age=0, from -1)":    {Persistent: true, Expires: now.Add(-time.Second)},
		"expiring now (Max-Age=0)":        {Persistent: true, Expires: now},
	}
	options := map[string]CookieOptions{
		"defaults":                 New(newNopStore()).Cookie,
		"bare":                     {Name: "s"},
		"domain, SameSite None":    {Name: "__Host-sid", Domain: "example.com", Path: "/app", Secure: true, SameSite: http.SameSiteNoneMode, Partitioned: true},
		"leading-dot domain":       {Name: "sid", Domain: ".example.com", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode},
		"SameSite Default":         {Name: "sid", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteDefaultMode},
		"Partitioned, MaxChunks 3": {Name: "sid", Secure: true, Partitioned: true, MaxChunks: 3},
	}
	// One cache for every case, as a Manager whose Cookie changes between
	// saves would have: it must never serve another options' attributes.
	attrs := new(attributeCache)
	for on, o := range options {
		for rn, rec := range expires {
			for tn, token := range tokens {
				t.Run(fmt.Sprintf("%s/%s/%s", on, rn, tn), func(t *testing.T) {
					want, wantErr := netHTTPWrite(&o, token, rec, now)
					h := http.Header{}
					err := o.write(h, attrs, token, rec, now, 0)
					if wantErr != nil {
						require.ErrorIs(t, err, ErrTooLarge)
						assert.Empty(t, h)
						return
					}
					require.NoError(t, err)
					assert.Equal(t, want, h.Values("Set-Cookie"))
				})
			}
		}
	}
}

func TestCookieWriteRejectsUnsafeTokens(t *testing.T) {
	o := New(newNopStore()).Cookie
	rec := &Record{Persistent: true, Expires: time.Now().Add(time.Hour)}
	for _, token := range []string{"a b", "a,b", "a;b", `a"b`, `a\b`, "a\x00b", "a\nb", "a\x7fb", "a\xffb", "é"} {
		h := http.Header{}
		err := o.write(h, new(attributeCache), token, rec, time.Now(), 0)
		assert.ErrorIs(t, err, errUnsafeToken, "%q", token)
		assert.Empty(t, h, "%q: no cookie written", token)
	}
	o.Name = "bad name"
	err := o.write(http.Header{}, new(attributeCache), "token", rec, time.Now(), 0)
	assert.ErrorContains(t, err, "invalid cookie name")
}

func TestGetAsDoesNotAllocate(t *testing.T) {
	m := New(newNopStore())
	s := m.newSession(httpRequest())
	s.Put("cart", []string{"a", "b"})
	s.Put("n", 42)
	s.Put("t", time.Now())
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = GetAs[[]string](s, "cart")
		_, _ = GetAs[int](s, "n")
		_, _ = GetAs[time.Time](s, "t")
		_, _ = GetAs[string](s, "missing")
	})
	assert.Zero(t, allocs)
}

// nopStore stores nothing; the tests here never save.
type nopStore struct{}

func newNopStore() Store                                               { return nopStore{} }
func (nopStore) Load(context.Context, string) (*Record, error)         { return nil, nil }
func (nopStore) Save(context.Context, string, *Record) (string, error) { return "", nil }
func (nopStore) Delete(context.Context, string) error                  { return nil }

func httpRequest() *http.Request {
	return httptest.NewRequest(http.MethodGet, "/", nil)
}

// requestCookieCases are Cookie headers on which cookieValues must read
// exactly what net/http's Request.CookiesNamed reads, each header a list
// of lines.
var requestCookieCases = map[string][]string{
	"none":                        nil,
	"empty line":                  {""},
	"only the cookie":             {"session=abc"},
	"among others":                {"theme=dark; session=abc; lang=en"},
	"last, no space":              {"a=1;b=2;session=abc"},
	"spaces and tabs around":      {" \t a=1 ;\t session \t= abc \t; b=2 "},
	"space inside the value":      {"session=a bc"},
	"comma inside the value":      {"session=a,bc"},
	"leading space of the value":  {"session= abc"},
	"quoted":                      {`session="abc"`},
	"quoted, empty":               {`session=""`},
	"a lone quote":                {`session="`},
	"quote at one end only":       {`session="abc`, `session=abc"`},
	"quote inside":                {`session=a"bc`},
	"quote inside, then valid":    {`session=a"bc; session=def`},
	"backslash, then valid":       {`session=a\bc; session=def`},
	"control byte, then valid":    {"session=a\x01bc; session=def"},
	"DEL, then valid":             {"session=a\x7fbc; session=def"},
	"non-ASCII, then valid":       {"session=é; session=def"},
	"duplicates":                  {"session=first; session=second"},
	"duplicates, same value":      {"session=first; session=first; session=second"},
	"many duplicates":             {"session=1; session=2; session=3; session=4; session=5"},
	"empty first, then a value":   {"session=; session=abc"},
	"no equals sign":              {"session; session=abc"},
	"no equals sign alone":        {"session"},
	"two equals signs":            {"session=a=b"},
	"on the second line":          {"a=1", "session=abc"},
	"on both lines":               {"session=one", "session=two"},
	"invalid on line one":         {`session=a"b`, "session=two"},
	"prefix of the name":          {"sessionx=abc; xsession=def; session.1=ghi"},
	"case differs":                {"Session=abc"},
	"empty pairs":                 {";;; ; session=abc;;"},
	"name with a space inside":    {"ses sion=abc"},
	"chunks":                      {"session=abc; session.1=def; session.2=ghi"},
	"chunks out of order":         {"session.2=ghi; session.1=def; session=abc"},
	"empty name":                  {"=abc; session=def"},
	"trailing semicolon and tabs": {"session=abc;\t"},
}

// netHTTPValues is what cookieValues must give: the distinct non-empty
// values net/http's Request.CookiesNamed reads, up to maxCookieValues.
func netHTTPValues(r *http.Request, name string) []string {
	var out []string
	for _, c := range r.CookiesNamed(name) {
		if c.Value != "" && !slices.Contains(out, c.Value) && len(out) < maxCookieValues {
			out = append(out, c.Value)
		}
	}
	return out
}

func TestCookieValuesMatchNetHTTP(t *testing.T) {
	names := []string{"session", "session.1", "session.2", "a", "ses sion", "", "sessionx"}
	for cn, lines := range requestCookieCases {
		r := httpRequest()
		for _, l := range lines {
			r.Header.Add("Cookie", l)
		}
		for _, name := range names {
			t.Run(cn+"/"+name, func(t *testing.T) {
				var buf [maxCookieValues]string
				want, got := netHTTPValues(r, name), cookieValues(r.Header, name, buf[:0])
				assert.True(t, slices.Equal(want, got), "net/http reads %q, cookieValues %q", want, got)
			})
		}
	}
}

func TestCookieValuesDoNotAllocate(t *testing.T) {
	r := httpRequest()
	r.Header.Set("Cookie", `theme=dark; session="abc"; session.1=def; session=ghi`)
	allocs := testing.AllocsPerRun(100, func() {
		var buf [maxCookieValues]string
		_ = cookieValues(r.Header, "session", buf[:0])
		_ = cookieValues(r.Header, "session.1", buf[:0])
		_ = cookieValues(r.Header, "missing", buf[:0])
	})
	assert.Zero(t, allocs)
}

// FuzzCookieValues checks cookieValues against net/http's
// Request.CookiesNamed on arbitrary Cookie headers of one or two lines.
func FuzzCookieValues(f *testing.F) {
	for _, lines := range requestCookieCases {
		switch len(lines) {
		case 1:
			f.Add(lines[0], "", "session")
		case 2:
			f.Add(lines[0], lines[1], "session")
		}
	}
	f.Add("session=abc; session.1=def", "", "session.1")
	f.Fuzz(func(t *testing.T, line1, line2, name string) {
		r := httpRequest()
		r.Header.Add("Cookie", line1)
		if line2 != "" {
			r.Header.Add("Cookie", line2)
		}
		if strings.Count(line1, ";")+strings.Count(line2, ";")+2 > 3000 {
			t.Skip("past net/http's limit on the number of cookies, which cookieValues does not apply")
		}
		want := netHTTPValues(r, name)
		var buf [maxCookieValues]string
		if got := cookieValues(r.Header, name, buf[:0]); !slices.Equal(got, want) {
			t.Fatalf("in %q, net/http reads %q = %q; cookieValues %q", r.Header["Cookie"], name, want, got)
		}
	})
}
