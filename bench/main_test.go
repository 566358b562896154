package bench

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	sealedmem "github.com/go-sealed/session/serverstore/memstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// roundTrip saves the typical session with save, carries the cookie back
// to a request served by the handler read returns, and checks that what
// it read is the typical session, value for value.
func roundTrip(t *testing.T, want typical, save http.Handler, read func(got *typical) http.Handler) {
	t.Helper()
	cookie, _ := savedCookie(t, save)
	var got typical
	w := serve(read(&got), withCookie("GET", "/", cookie))
	mustOK(t, w)
	if !want.equal(got) {
		t.Errorf("read back %+v\nwant %+v", got, want)
	}
}

// TestTypicalRoundTrip checks that the typical session every benchmark
// measures comes back whole through each library, so that no benchmark
// measures a session that silently lost values.
func TestTypicalRoundTrip(t *testing.T) {
	want := typicalSession()
	t.Run("sealed", func(t *testing.T) {
		m, lib := newSealed(t, want)
		roundTrip(t, want, lib.save, func(got *typical) http.Handler {
			return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := m.Get(r)
				*got = readSealed(s)
				// The typed getters convert; the values must not need it.
				for _, k := range []string{kUserID, kLastLogin, kCart} {
					if v, w := s.Get(k), want.values()[k]; reflect.TypeOf(v) != reflect.TypeOf(w) {
						t.Errorf("%s came back as a %T, want %T", k, v, w)
					}
				}
			}))
		})
	})
	t.Run("gorilla", func(t *testing.T) {
		st, lib := newGorilla(want)
		roundTrip(t, want, lib.save, func(got *typical) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, err := st.Get(r, cookieName)
				if err != nil || s.IsNew {
					t.Errorf("gorilla did not load the session: %v", err)
				}
				*got = readGorilla(s)
			})
		})
	})
	t.Run("minimal", func(t *testing.T) {
		m, lib := newMinimalLib(t, want)
		roundTrip(t, want, lib.save, func(got *typical) http.Handler {
			return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				*got = readMinimal(minimalGet(r))
			}))
		})
	})
	t.Run("serverstore", func(t *testing.T) {
		mem := sealedmem.New()
		defer mem.Close()
		m := session.New(serverstore.New(mem))
		roundTrip(t, want, newSealedServer(want, m).save, func(got *typical) http.Handler {
			return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				*got = readSealed(m.Get(r))
			}))
		})
	})
	t.Run("scs", func(t *testing.T) {
		sm := scs.New()
		sm.Store = memstore.New()
		roundTrip(t, want, newSCS(want, sm).save, func(got *typical) http.Handler {
			return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				*got = readSCS(r.Context(), sm)
			}))
		})
	})
}

// TestServerReadOnlyCost checks what BenchmarkServer reports as a target:
// a request that only reads its server-side session costs one backend
// read and no write, and one that changes a key one read and one write.
func TestServerReadOnlyCost(t *testing.T) {
	want := typicalSession()
	mem := sealedmem.New()
	defer mem.Close()
	backend, counts := storetest.Count(mem)
	lib := newSealedServer(want, session.New(serverstore.New(backend)))
	cookie, _ := savedCookie(t, lib.save)
	for _, c := range []struct {
		name          string
		h             http.Handler
		reads, writes int64
	}{
		{"readonly", lib.read, 1, 0},
		{"write", lib.write, 1, 1},
	} {
		counts.Reset()
		w := serve(c.h, withCookie("GET", "/", cookie))
		mustOK(t, w)
		if r, wr := counts.Reads.Load(), counts.Writes.Load(); r != c.reads || wr != c.writes {
			t.Errorf("%s request: %d backend reads and %d writes, want %d and %d", c.name, r, wr, c.reads, c.writes)
		}
	}
}
