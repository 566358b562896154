package bench

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"golang.org/x/crypto/chacha20poly1305"
)

// minimal is a yardstick, not a session library: the least a sealed
// cookie middleware with this library's API can do for the typical
// session, written for this benchmark alone. It keeps what foundation §2
// and §3 ask of every request: the session travels in the request's
// context and loads lazily, its methods take a lock, it is saved before
// the response's first byte, and the values are sealed with a random ID,
// the creation and expiry times, under XChaCha20-Poly1305 with the cookie
// name bound. It leaves out everything else: chunking, key rotation, idle
// timeouts, flashes, merging, remember-me, the header transport, error
// replies, the checks of what it is given. Cookie/minimal/roundtrip is how
// close any library can come to the floor in this harness (see
// docs/performance.md).
type minimal struct {
	aead cipher.AEAD
	ad   []byte // the additional data: the cookie name
}

func newMinimal(tb testing.TB) *minimal {
	aead, err := chacha20poly1305.NewX(cookiesession.GenerateKey())
	if err != nil {
		tb.Fatal(err)
	}
	return &minimal{aead: aead, ad: []byte(cookieName)}
}

// minimalSession is one request's session, its context and its writer,
// made in one allocation.
type minimalSession struct {
	m       *minimal
	r       *http.Request
	ctx     minimalContext
	w       minimalWriter
	mu      sync.Mutex
	loaded  bool
	dirty   bool
	values  map[string]any
	id      string
	created int64 // Unix milliseconds
}

type minimalKey struct{}

// minimalContext carries the session, as sessionContext does in the
// library: context.WithValue would cost one more allocation.
type minimalContext struct {
	context.Context
	s *minimalSession
}

func (c *minimalContext) Value(key any) any {
	if key == (minimalKey{}) {
		return c.s
	}
	return c.Context.Value(key)
}

// minimalWriter saves the session before the response's first byte.
type minimalWriter struct {
	http.ResponseWriter
	s         *minimalSession
	committed bool
}

func (w *minimalWriter) commit() {
	if !w.committed {
		w.committed = true
		if w.s.dirty {
			w.s.m.save(w.ResponseWriter.Header(), w.s)
		}
	}
}

func (w *minimalWriter) WriteHeader(code int) {
	w.commit()
	w.ResponseWriter.WriteHeader(code)
}

func (w *minimalWriter) Write(b []byte) (int, error) {
	w.commit()
	return w.ResponseWriter.Write(b)
}

func (m *minimal) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := &minimalSession{m: m, r: r}
		s.ctx = minimalContext{Context: r.Context(), s: s}
		s.w = minimalWriter{ResponseWriter: w, s: s}
		next.ServeHTTP(&s.w, r.WithContext(&s.ctx))
		s.w.commit()
	})
}

func minimalGet(r *http.Request) *minimalSession {
	return r.Context().Value(minimalKey{}).(*minimalSession)
}

func (s *minimalSession) Put(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.values[key] = v
	s.dirty = true
}

func (s *minimalSession) Get(key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.values[key]
}

// load opens the session cookie; anything wrong with it gives a new,
// empty session.
func (s *minimalSession) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	if token, ok := minimalToken(s.r); ok {
		if values, id, created, ok := s.m.open(token); ok {
			s.values, s.id, s.created = values, id, created
			return
		}
	}
	s.values = make(map[string]any, 8)
}

func minimalToken(r *http.Request) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), cookieName+"="); ok {
				return v, true
			}
		}
	}
	return "", false
}

// The sealed layout: nonce || seal(created || expires || len(id) || id || values).
func (m *minimal) open(token string) (values map[string]any, id string, created int64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return nil, "", 0, false
	}
	nonce, ct := b[:chacha20poly1305.NonceSizeX], b[chacha20poly1305.NonceSizeX:]
	p, err := m.aead.Open(ct[:0], nonce, ct, m.ad)
	if err != nil {
		return nil, "", 0, false
	}
	created, n := binary.Varint(p)
	p = p[max(n, 0):]
	expires, n := binary.Varint(p)
	p = p[max(n, 0):]
	idLen, n := binary.Uvarint(p)
	if n <= 0 || idLen > uint64(len(p)-n) || time.Now().UnixMilli() >= expires {
		return nil, "", 0, false
	}
	id, p = string(p[n:n+int(idLen)]), p[n+int(idLen):]
	if values, err = session.CBOR.Decode(p); err != nil {
		return nil, "", 0, false
	}
	return values, id, created, true
}

var minimalBuffers = sync.Pool{New: func() any { return new([]byte) }}

const minimalAttributes = "; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=Lax"

func (m *minimal) save(h http.Header, s *minimalSession) {
	now := time.Now().UnixMilli()
	if s.id == "" {
		var raw [16]byte
		_, _ = rand.Read(raw[:])
		s.id, s.created = base64.RawURLEncoding.EncodeToString(raw[:]), now
	}
	data, err := session.CBOR.Encode(s.values)
	if err != nil {
		panic(err) // the benchmark's values always encode
	}
	pooled := minimalBuffers.Get().(*[]byte)
	defer minimalBuffers.Put(pooled)
	buf := append((*pooled)[:0], make([]byte, chacha20poly1305.NonceSizeX)...)
	_, _ = rand.Read(buf)
	buf = binary.AppendVarint(buf, s.created)
	buf = binary.AppendVarint(buf, now+(24*time.Hour).Milliseconds())
	buf = binary.AppendUvarint(buf, uint64(len(s.id)))
	buf = append(buf, s.id...)
	buf = append(buf, data...)
	nonce := buf[:chacha20poly1305.NonceSizeX]
	buf = m.aead.Seal(nonce, nonce, buf[len(nonce):], m.ad)
	*pooled = buf
	// The Set-Cookie line in one allocation, the token encoded into it.
	var line strings.Builder
	n := base64.RawURLEncoding.EncodedLen(len(buf))
	line.Grow(len(cookieName) + len("=") + n + len(minimalAttributes))
	line.WriteString(cookieName)
	line.WriteByte('=')
	var token [1024]byte // enough for the typical session
	base64.RawURLEncoding.Encode(token[:n], buf)
	line.Write(token[:n])
	line.WriteString(minimalAttributes)
	h["Set-Cookie"] = append(h["Set-Cookie"], line.String())
}

func readMinimal(s *minimalSession) typical { return readValues(s.Get) }

// newMinimalLib returns the yardstick and its handlers for the typical
// session.
func newMinimalLib(tb testing.TB, t typical) (*minimal, cookieLib) {
	m := newMinimal(tb)
	return m, cookieLib{
		save: m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			putSealed(minimalGet(r), t)
		})),
		load: m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !readMinimal(minimalGet(r)).plausible() {
				http.Error(w, "session did not load", http.StatusInternalServerError)
			}
		})),
	}
}
