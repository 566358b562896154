package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-sealed/session"
	"github.com/gorilla/sessions"
)

func init() {
	// gob, which gorilla/sessions and scs encode with, must know every
	// concrete type held in an interface value that is not one of its
	// basics; []string is one of them, time.Time is not.
	gob.Register(time.Time{})
}

// The keys of the typical session, the same in every library.
const (
	kUserID    = "user_id"
	kName      = "name"
	kRole      = "role"
	kCSRF      = "csrf_token"
	kLastLogin = "last_login"
	kCart      = "cart"
	kTheme     = "theme"
)

// typical is the session every benchmark stores and reads: a logged-in
// user with a CSRF token and a small cart.
type typical struct {
	UserID    int
	Name      string
	Role      string
	CSRF      string
	LastLogin time.Time
	Cart      []string
	Theme     string
}

// typicalSession returns the typical session. Its CSRF token is 32 fresh
// random bytes in base64 (44 characters), as a real one would be; every
// other value is fixed, so that sizes are the same on every run.
func typicalSession() typical {
	csrf := make([]byte, 32)
	_, _ = rand.Read(csrf)
	return typical{
		UserID:    4217,
		Name:      "Ada Lovelace",
		Role:      "admin",
		CSRF:      base64.StdEncoding.EncodeToString(csrf),
		LastLogin: time.Date(2025, time.November, 24, 18, 30, 15, 123456789, time.UTC),
		Cart:      []string{"SKU-000123", "SKU-004217", "SKU-010001", "SKU-000042", "SKU-123456"},
		Theme:     "dark",
	}
}

// values is t as a session.Codec encodes it.
func (t typical) values() map[string]any {
	return map[string]any{
		kUserID:    t.UserID,
		kName:      t.Name,
		kRole:      t.Role,
		kCSRF:      t.CSRF,
		kLastLogin: t.LastLogin,
		kCart:      t.Cart,
		kTheme:     t.Theme,
	}
}

func (t typical) equal(u typical) bool {
	return t.UserID == u.UserID && t.Name == u.Name && t.Role == u.Role &&
		t.CSRF == u.CSRF && t.LastLogin.Equal(u.LastLogin) &&
		slices.Equal(t.Cart, u.Cart) && t.Theme == u.Theme
}

// plausible is the cheap check the benchmarks make on what they read back,
// so that a broken load fails instead of measuring nothing.
func (t typical) plausible() bool {
	return t.UserID == 4217 && len(t.Cart) == 5 && t.Theme != "" && !t.LastLogin.IsZero()
}

// The typical session through this library's Session.

// putSealed puts the typical session through s's Put: this library's
// Session, or the minimal yardstick's.
func putSealed(s interface{ Put(string, any) }, t typical) {
	s.Put(kUserID, t.UserID)
	s.Put(kName, t.Name)
	s.Put(kRole, t.Role)
	s.Put(kCSRF, t.CSRF)
	s.Put(kLastLogin, t.LastLogin)
	s.Put(kCart, t.Cart)
	s.Put(kTheme, t.Theme)
}

func readSealed(s *session.Session) typical {
	cart, _ := session.GetAs[[]string](s, kCart)
	return typical{
		UserID:    s.GetInt(kUserID),
		Name:      s.GetString(kName),
		Role:      s.GetString(kRole),
		CSRF:      s.GetString(kCSRF),
		LastLogin: s.GetTime(kLastLogin),
		Cart:      cart,
		Theme:     s.GetString(kTheme),
	}
}

// The typical session through gorilla/sessions.

func putGorilla(s *sessions.Session, t typical) {
	s.Values[kUserID] = t.UserID
	s.Values[kName] = t.Name
	s.Values[kRole] = t.Role
	s.Values[kCSRF] = t.CSRF
	s.Values[kLastLogin] = t.LastLogin
	s.Values[kCart] = t.Cart
	s.Values[kTheme] = t.Theme
}

func readGorilla(s *sessions.Session) typical {
	return readValues(func(key string) any { return s.Values[key] })
}

// readValues reads the typical session back through get, which returns
// the value stored under a key, untyped.
func readValues(get func(key string) any) typical {
	var t typical
	t.UserID, _ = get(kUserID).(int)
	t.Name, _ = get(kName).(string)
	t.Role, _ = get(kRole).(string)
	t.CSRF, _ = get(kCSRF).(string)
	t.LastLogin, _ = get(kLastLogin).(time.Time)
	t.Cart, _ = get(kCart).([]string)
	t.Theme, _ = get(kTheme).(string)
	return t
}

// The typical session through scs.

func putSCS(ctx context.Context, m *scs.SessionManager, t typical) {
	m.Put(ctx, kUserID, t.UserID)
	m.Put(ctx, kName, t.Name)
	m.Put(ctx, kRole, t.Role)
	m.Put(ctx, kCSRF, t.CSRF)
	m.Put(ctx, kLastLogin, t.LastLogin)
	m.Put(ctx, kCart, t.Cart)
	m.Put(ctx, kTheme, t.Theme)
}

func readSCS(ctx context.Context, m *scs.SessionManager) typical {
	cart, _ := m.Get(ctx, kCart).([]string)
	return typical{
		UserID:    m.GetInt(ctx, kUserID),
		Name:      m.GetString(ctx, kName),
		Role:      m.GetString(ctx, kRole),
		CSRF:      m.GetString(ctx, kCSRF),
		LastLogin: m.GetTime(ctx, kLastLogin),
		Cart:      cart,
		Theme:     m.GetString(ctx, kTheme),
	}
}

// HTTP plumbing shared by the benchmarks.

// fresh returns a shallow copy of base to serve once. gorilla/sessions
// keeps its per-request registry by overwriting *r, so a request must not
// be served twice; every benchmark pays for this copy, whatever library it
// measures.
func fresh(base *http.Request) *http.Request {
	r := new(http.Request)
	*r = *base
	return r
}

// serverContext stands for the context net/http gives every request: one
// that is cancelled when the client goes away or the handler returns, so
// that code which watches ctx.Done() pays here what it pays in a server.
// httptest.NewRequest alone would give context.Background(), which has no
// Done channel.
var serverContext, _ = context.WithCancel(context.Background()) // never cancelled: it lasts as long as the process

// withCookie returns a request built once for the benchmarks to serve
// (through fresh) that carries cookie, a Cookie header value.
func withCookie(method, target, cookie string) *http.Request {
	r := httptest.NewRequestWithContext(serverContext, method, target, nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

// cookieHeader turns a response's Set-Cookie headers into the Cookie
// header a browser would send back, leaving out the cookies it expires.
func cookieHeader(h http.Header) string {
	var b strings.Builder
	for _, sc := range h["Set-Cookie"] {
		nv, attrs, _ := strings.Cut(sc, ";")
		_, value, _ := strings.Cut(nv, "=")
		if value == "" || strings.Contains(attrs, "Max-Age=-1") || strings.Contains(attrs, "Max-Age=0") {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(nv)
	}
	return b.String()
}

// setCookieBytes is the total length of a response's Set-Cookie header
// values, attributes included: what the session costs on the wire, one
// way.
func setCookieBytes(h http.Header) int {
	n := 0
	for _, sc := range h["Set-Cookie"] {
		n += len(sc)
	}
	return n
}

// serve runs h on a fresh copy of base and returns the recorder.
func serve(h http.Handler, base *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, fresh(base))
	return w
}

// mustOK fails tb unless the response is a success.
func mustOK(tb testing.TB, w *httptest.ResponseRecorder) {
	tb.Helper()
	if w.Code >= 300 {
		tb.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
}
