package session_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
)

// FuzzChunkedCookies serves requests carrying arbitrary Cookie headers,
// seeded with the real chunked cookies of sessions that span two and four
// cookies and with reorderings, truncations, duplicates and omissions of
// them. It checks that no request panics or gets a 500, and that a session
// is accepted only when the token reassembled from the request's session,
// session.1, … cookies is exactly one the Manager issued, and then with the
// data it was issued with. The exact issued cookies are always accepted.
func FuzzChunkedCookies(f *testing.F) {
	store, err := cookiesession.New(cookiesession.GenerateKey())
	if err != nil {
		f.Fatal(err)
	}
	m := session.New(store)
	m.Cookie.Secure = false
	m.Cookie.MaxChunks, m.Cookie.MaxBytes = 8, 64<<10 // four cookies, past the defaults

	// Sessions of about 3 KB (two cookies) and 10 KB (four) of
	// incompressible data, issued once.
	type issued struct {
		data   string
		header string   // the Cookie header a browser would send back
		chunks []string // the cookie values, in order
	}
	var sessions []issued
	for _, size := range []int{3 << 10, 10 << 10} {
		raw := make([]byte, size/2)
		_, _ = rand.Read(raw)
		data := hex.EncodeToString(raw)
		w := httptest.NewRecorder()
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.Get(r).Put("data", data)
		})).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		cookies := w.Result().Cookies()
		if len(cookies) < 2 {
			f.Fatalf("a session of %d bytes took %d cookie(s); the seeds need chunks", size, len(cookies))
		}
		is := issued{data: data}
		var pairs []string
		for i, c := range cookies {
			if want := chunkName(i); c.Name != want {
				f.Fatalf("cookie %d is named %q, want %q", i, c.Name, want)
			}
			is.chunks = append(is.chunks, c.Value)
			pairs = append(pairs, c.Name+"="+c.Value)
		}
		is.header = strings.Join(pairs, "; ")
		sessions = append(sessions, is)

		// Seeds: the cookies as issued, and broken in the ways a browser,
		// a proxy or an attacker might break them.
		f.Add(is.header)
		n := len(pairs)
		reversed := make([]string, n)
		for i, p := range pairs {
			reversed[n-1-i] = p
		}
		f.Add(strings.Join(reversed, "; "))                                               // any order
		f.Add(strings.Join(pairs[:n-1], "; "))                                            // last chunk missing
		f.Add(strings.Join(append([]string{pairs[0]}, pairs[2:]...), "; "))               // a middle chunk missing
		f.Add(strings.Join(append(pairs[:n:n], chunkName(n)+"=AAAA"), "; "))              // a chunk too many
		f.Add(strings.Join(append([]string{pairs[1]}, pairs...), "; "))                   // a chunk first, twice
		f.Add(strings.Join(append([]string{"session=short"}, pairs[1:]...), "; "))        // a short first chunk
		f.Add(strings.Replace(is.header, "session.1=", "session.1=x", 1))                 // one byte more
		f.Add(strings.Replace(is.header, "session.1="+is.chunks[1][:1], "session.1=", 1)) // one byte less
		f.Add(strings.Join(append(pairs[:n:n], "session.99=AAAA", "other=1"), "; "))      // foreign and out-of-range names
	}
	f.Add("")
	f.Add("session=")
	f.Add("session.1=abc; session=def")

	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		got := s.GetString("data")
		header := r.Header.Get("Cookie")
		exact := -1
		for i, is := range sessions {
			if header == is.header {
				exact = i
			}
		}
		if s.IsNew() {
			if got != "" {
				panic("a new session holds data")
			}
			if exact >= 0 {
				panic("the exact issued cookies were not accepted")
			}
			return
		}
		// Accepted: the cookies must carry an issued token, reassembled
		// from consecutive chunks from the first, with its data.
		for _, is := range sessions {
			if got != is.data {
				continue
			}
			token := strings.Join(is.chunks, "")
			var joined strings.Builder
			for i := 0; ; i++ {
				c, err := r.Cookie(chunkName(i))
				if err != nil {
					break
				}
				joined.WriteString(c.Value)
				if joined.String() == token {
					return
				}
			}
			panic("a session was accepted from cookies that do not reassemble to the token issued for it")
		}
		panic("a session was accepted with data no issued session had")
	}))

	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", header)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("status %d for Cookie: %q", w.Code, header)
		}
	})
}

// chunkName is the name of the i-th cookie of the default session cookie.
func chunkName(i int) string {
	if i == 0 {
		return "session"
	}
	return "session." + strconv.Itoa(i)
}
