package bench

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"golang.org/x/crypto/chacha20poly1305"
)

// cookieName is the cookie every benchmark uses, gorilla's included.
const cookieName = "session"

// cookieLib is one library's pair of handlers for the typical session:
// save sets all of it on a request without a cookie, load reads all of it
// back from a request carrying the cookie save set.
type cookieLib struct {
	save, load http.Handler
}

// newGorilla returns gorilla/sessions' CookieStore handlers, with an HMAC
// key of 64 bytes and an AES-256 key, and the same cookie attributes as the
// Manager's defaults (gorilla adds Expires to them, as it always does).
func newGorilla(t typical) (*sessions.CookieStore, cookieLib) {
	st := sessions.NewCookieStore(securecookie.GenerateRandomKey(64), securecookie.GenerateRandomKey(32))
	st.Options = &sessions.Options{Path: "/", MaxAge: 86400, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
	st.MaxAge(86400)
	return st, cookieLib{
		save: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := st.Get(r, cookieName)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			putGorilla(s, t)
			if err := s.Save(r, w); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		}),
		load: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := st.Get(r, cookieName)
			if err != nil || s.IsNew || !readGorilla(s).plausible() {
				http.Error(w, "session did not load", http.StatusInternalServerError)
			}
		}),
	}
}

// newSealed returns this library's Manager over the sealed cookie store,
// with its defaults, and its handlers.
func newSealed(tb testing.TB, t typical) (*session.Manager, cookieLib) {
	store, err := cookiesession.New(cookiesession.GenerateKey())
	if err != nil {
		tb.Fatal(err)
	}
	m := session.New(store)
	return m, cookieLib{
		save: m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			putSealed(m.Get(r), t)
		})),
		load: m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			if s.IsNew() || !readSealed(s).plausible() {
				http.Error(w, "session did not load", http.StatusInternalServerError)
			}
		})),
	}
}

// BenchmarkCookie measures the typical session kept wholly in the cookie,
// as full requests through each library's handler (issue: foundation §6).
// cookie-B is the total length of the Set-Cookie header values the
// typical session takes, attributes included; value-B is the cookie's
// value alone.
func BenchmarkCookie(b *testing.B) {
	t := typicalSession()
	b.Run("gorilla", func(b *testing.B) {
		st, lib := newGorilla(t)
		cookies := benchCookieLib(b, lib)
		b.Run("readonly", func(b *testing.B) {
			// For comparison with sealed/readonly: gorilla decodes the
			// whole cookie, whatever the handler reads.
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, err := st.Get(r, cookieName)
				if name, _ := s.Values[kName].(string); err != nil || name != t.Name {
					http.Error(w, "session did not load", http.StatusInternalServerError)
				}
			})
			benchReadOnly(b, h, cookies)
		})
	})
	b.Run("sealed", func(b *testing.B) {
		m, lib := newSealed(b, t)
		cookies := benchCookieLib(b, lib)
		b.Run("untouched", func(b *testing.B) {
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			benchReadOnly(b, h, cookies)
		})
		b.Run("readonly", func(b *testing.B) {
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if m.Get(r).GetString(kName) != t.Name {
					http.Error(w, "session did not load", http.StatusInternalServerError)
				}
			}))
			benchReadOnly(b, h, cookies)
		})
	})
	b.Run("minimal", func(b *testing.B) {
		_, lib := newMinimalLib(b, t)
		benchCookieLib(b, lib)
	})
	b.Run("harness", func(b *testing.B) { benchCookieLib(b, newHarness()) })
	b.Run("floor", func(b *testing.B) { benchFloor(b, t) })
	b.Run("floor-open", func(b *testing.B) { benchFloorOpen(b, t) })
}

// newHarness returns handlers that do what the benchmarks' requests
// cannot avoid and nothing else: save adds a ready-made Set-Cookie
// header the size of the sealed one, load reads the cookie back with
// r.Cookie. harness/roundtrip is the share of every roundtrip that is
// httptest, net/http and this file's plumbing rather than a session
// library.
func newHarness() cookieLib {
	value := make([]byte, 282) // 376 characters of base64url, as a sealed typical session
	_, _ = rand.Read(value)
	c := &http.Cookie{
		Name: cookieName, Value: base64.RawURLEncoding.EncodeToString(value),
		Path: "/", MaxAge: 86400, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	}
	setCookie := c.String()
	return cookieLib{
		save: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Set-Cookie", setCookie)
		}),
		load: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c, err := r.Cookie(cookieName); err != nil || len(c.Value) != 376 {
				http.Error(w, "no cookie", http.StatusInternalServerError)
			}
		}),
	}
}

// benchSessions is how many sessions the benchmarks that send a cookie
// take turns with. A server sees a different cookie on nearly every
// request; one cookie sent over and over lets the CPU's branch predictors
// learn its characters, and caches keep its session, which no server
// enjoys. (Checking a sealed token character by character costs several
// times more on distinct tokens than on one repeated: see
// docs/performance.md.)
const benchSessions = 256

// requests returns a request built once for each cookie, for the
// benchmarks to serve in turn.
func requests(method, target string, cookies []string) []*http.Request {
	reqs := make([]*http.Request, len(cookies))
	for i, c := range cookies {
		reqs[i] = withCookie(method, target, c)
	}
	return reqs
}

// benchReadOnly serves h requests carrying cookies in turn, which must
// answer 200 and set no cookie.
func benchReadOnly(b *testing.B, h http.Handler, cookies []string) {
	serveInTurn(b, h, requests("GET", "/", cookies), readOnly)
}

// serveInTurn serves h the requests reqs in turn, for as long as b
// measures, and fails b on a response that check rejects. It reports
// allocations and CPU time per request.
func serveInTurn(b *testing.B, h http.Handler, reqs []*http.Request, check func(*httptest.ResponseRecorder) error) {
	b.ReportAllocs()
	i := 0
	cpu := startCPU()
	for b.Loop() {
		w := serve(h, reqs[i%len(reqs)])
		i++
		if err := check(w); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// answered200 is a check of serveInTurn: the request succeeded.
func answered200(w *httptest.ResponseRecorder) error {
	if w.Code != http.StatusOK {
		return fmt.Errorf("status %d: %s", w.Code, w.Body.String())
	}
	return nil
}

// readOnly is a check of serveInTurn: the request succeeded and set no
// cookie.
func readOnly(w *httptest.ResponseRecorder) error {
	if w.Code != http.StatusOK || len(w.Header()["Set-Cookie"]) != 0 {
		return fmt.Errorf("status %d, Set-Cookie %q", w.Code, w.Header()["Set-Cookie"])
	}
	return nil
}

// savedCookie serves save once and returns the Cookie header that
// carries its session back, and the Set-Cookie bytes it took.
func savedCookie(tb testing.TB, save http.Handler) (cookie string, setBytes int) {
	tb.Helper()
	w := serve(save, withCookie("GET", "/login", ""))
	mustOK(tb, w)
	cookie = cookieHeader(w.Header())
	if cookie == "" {
		tb.Fatal("save set no cookie")
	}
	return cookie, setCookieBytes(w.Header())
}

// savedCookies is savedCookie n times over: n sessions, and the
// Set-Cookie bytes of the first.
func savedCookies(tb testing.TB, save http.Handler, n int) (cookies []string, setBytes int) {
	tb.Helper()
	cookies = make([]string, n)
	for i := range cookies {
		c, sb := savedCookie(tb, save)
		cookies[i] = c
		if i == 0 {
			setBytes = sb
		}
	}
	return cookies, setBytes
}

func reportCookie(b *testing.B, cookie string, setBytes int) {
	b.ReportMetric(float64(setBytes), "cookie-B")
	b.ReportMetric(float64(len(cookie)-len(cookieName)-1), "value-B")
}

// benchCookieLib runs save, load and roundtrip for lib, and returns the
// cookies of the sessions it made for load, for more benchmarks to use.
func benchCookieLib(b *testing.B, lib cookieLib) []string {
	cookies, setBytes := savedCookies(b, lib.save, benchSessions)
	b.Run("save", func(b *testing.B) {
		req := withCookie("GET", "/login", "")
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			if w := serve(lib.save, req); len(w.Header()["Set-Cookie"]) == 0 {
				b.Fatal("save set no cookie")
			}
		}
		cpu.report(b)
		reportCookie(b, cookies[0], setBytes)
	})
	b.Run("load", func(b *testing.B) {
		serveInTurn(b, lib.load, requests("GET", "/", cookies), answered200)
		reportCookie(b, cookies[0], setBytes)
	})
	b.Run("roundtrip", func(b *testing.B) {
		// One save and one load per iteration, the load carrying what the
		// save set: the whole life of a cookie session in two requests.
		saveReq := withCookie("GET", "/login", "")
		loadReq := withCookie("GET", "/", "")
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			w := serve(lib.save, saveReq)
			r := fresh(loadReq)
			r.Header = http.Header{"Cookie": {cookieHeader(w.Header())}}
			lw := httptest.NewRecorder()
			lib.load.ServeHTTP(lw, r)
			if lw.Code != http.StatusOK {
				b.Fatalf("status %d", lw.Code)
			}
		}
		cpu.report(b)
		reportCookie(b, cookies[0], setBytes)
	})
	return cookies
}

// benchFloor is the least any sealed cookie session can cost: the values
// encoded with the library's codec, sealed with XChaCha20-Poly1305 under a
// random nonce and base64url encoded; then decoded, opened and decoded
// back. No HTTP, no cookie parsing, no session metadata.
func benchFloor(b *testing.B, t typical) {
	aead, err := chacha20poly1305.NewX(cookiesession.GenerateKey())
	if err != nil {
		b.Fatal(err)
	}
	values := t.values()
	var tokenLen int
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		token := floorSeal(b, aead, values)
		tokenLen = len(token)
		floorOpen(b, aead, token, len(values))
	}
	cpu.report(b)
	b.ReportMetric(float64(tokenLen), "value-B")
}

// floorAD is the additional data of the floor's seals: the cookie name,
// as the sealed store binds it.
var floorAD = []byte(cookieName)

// floorSeal is the floor's way out: values encoded, sealed with a random
// nonce, base64url.
func floorSeal(b *testing.B, aead cipher.AEAD, values map[string]any) string {
	data, err := session.CBOR.Encode(values)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(data)+chacha20poly1305.Overhead)
	_, _ = rand.Read(buf)
	buf = aead.Seal(buf, buf[:chacha20poly1305.NonceSizeX], data, floorAD)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// floorOpen is the floor's way back: base64url, open, decode, which must
// give n values.
func floorOpen(b *testing.B, aead cipher.AEAD, token string, n int) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		b.Fatal(err)
	}
	nonce, ct := raw[:chacha20poly1305.NonceSizeX], raw[chacha20poly1305.NonceSizeX:]
	plain, err := aead.Open(ct[:0], nonce, ct, floorAD)
	if err != nil {
		b.Fatal(err)
	}
	if got, err := session.CBOR.Decode(plain); err != nil || len(got) != n {
		b.Fatal("floor round trip lost values", err)
	}
}

// benchFloorOpen is the floor's way back alone, base64url, open and
// decode, over benchSessions tokens in turn: what a read-only request
// cannot do without, to set Cookie/sealed/readonly against.
func benchFloorOpen(b *testing.B, t typical) {
	aead, err := chacha20poly1305.NewX(cookiesession.GenerateKey())
	if err != nil {
		b.Fatal(err)
	}
	values := t.values()
	tokens := make([]string, benchSessions)
	for i := range tokens {
		tokens[i] = floorSeal(b, aead, values)
	}
	b.ReportAllocs()
	i := 0
	cpu := startCPU()
	for b.Loop() {
		floorOpen(b, aead, tokens[i%len(tokens)], len(values))
		i++
	}
	cpu.report(b)
}
