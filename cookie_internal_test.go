package session

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// netHTTPWrite is how CookieOptions.write formatted cookies before it
// joined them by hand: every chunk through http.Cookie.String, the overhead
// measured on a formatted cookie. write must give exactly its output.
func netHTTPWrite(o *CookieOptions, token string, rec *Record, now time.Time) ([]string, error) {
	maxAge := 0
	if rec.Persistent {
		maxAge = int(math.Ceil(rec.Expires.Sub(now).Seconds()))
		if maxAge <= 0 {
			maxAge = -1
		}
	}
	room := MaxCookieSize - len(o.cookie(o.chunkName(o.maxChunks()), "", maxAge).String())
	n := (len(token) + room - 1) / room
	if n > o.maxChunks() {
		return nil, ErrTooLarge
	}
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, o.cookie(o.chunkName(i), token[i*room:min(len(token), (i+1)*room)], maxAge).String())
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
		"short":       "AbtAX5JAQUJDREVGR0hJSktMTU5PUFFSU1RVVleV492O91I55KN0QWP2a180CiOlc_AsKcTXJaTKhDPadislZffJKX6X",
		"every byte":  safe.String(),
		"two chunks":  strings.Repeat("x", 5000),
		"many chunks": strings.Repeat("A-_z", 7000),
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
	for on, o := range options {
		for rn, rec := range expires {
			for tn, token := range tokens {
				t.Run(fmt.Sprintf("%s/%s/%s", on, rn, tn), func(t *testing.T) {
					want, wantErr := netHTTPWrite(&o, token, rec, now)
					h := http.Header{}
					n, err := o.write(h, token, rec, now, 0)
					if wantErr != nil {
						require.ErrorIs(t, err, ErrTooLarge)
						assert.Empty(t, h)
						return
					}
					require.NoError(t, err)
					assert.Equal(t, len(want), n)
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
		_, err := o.write(h, token, rec, time.Now(), 0)
		assert.ErrorIs(t, err, errUnsafeToken, "%q", token)
		assert.Empty(t, h, "%q: no cookie written", token)
	}
	o.Name = "bad name"
	_, err := o.write(http.Header{}, "token", rec, time.Now(), 0)
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
