package bench

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	sealedmem "github.com/go-sealed/session/serverstore/memstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// serverLib is one library's handlers for the typical session kept on the
// server: save creates it, read loads it and reads every value, write
// changes one key.
type serverLib struct {
	save, read, write http.Handler
}

// counter counts what a library asks of its backend, for the benchmarks
// to report per request.
type counter interface {
	reset()
	report(b *testing.B)
}

// newSealedServer returns m's handlers for the typical session.
func newSealedServer(t typical, m *session.Manager) serverLib {
	var writes atomic.Int64
	return serverLib{
		save: m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			putSealed(m.Get(r), t)
		})),
		read: m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			if s.IsNew() || !readSealed(s).plausible() {
				http.Error(w, "session did not load", http.StatusInternalServerError)
			}
		})),
		write: m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.Get(r).Put(kTheme, nextTheme(&writes))
		})),
	}
}

// newSCS returns sm's handlers for the typical session.
func newSCS(t typical, sm *scs.SessionManager) serverLib {
	var writes atomic.Int64
	return serverLib{
		save: sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			putSCS(r.Context(), sm, t)
		})),
		read: sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !readSCS(r.Context(), sm).plausible() {
				http.Error(w, "session did not load", http.StatusInternalServerError)
			}
		})),
		write: sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sm.Put(r.Context(), kTheme, nextTheme(&writes))
		})),
	}
}

// nextTheme is the theme the next write request sets. The benchmarks
// visit their sessions in turn, so flipping the theme once per round
// changes every session's value on every visit.
func nextTheme(writes *atomic.Int64) string {
	if (writes.Add(1)/benchSessions)%2 == 1 {
		return "light"
	}
	return "dark"
}

// backendCounts reports the calls a counted backend received: finds
// (reads) and writes.
type backendCounts struct {
	reads, writes func() int64
	resetAll      func()
}

func (c backendCounts) reset() { c.resetAll() }

func (c backendCounts) report(b *testing.B) {
	b.ReportMetric(float64(c.reads())/float64(b.N), "finds/op")
	b.ReportMetric(float64(c.writes())/float64(b.N), "writes/op")
}

func storetestCounts(c *storetest.Counts) backendCounts {
	return backendCounts{reads: c.Reads.Load, writes: c.Writes.Load, resetAll: c.Reset}
}

// countedSCS counts the calls scs makes to its Store.
type countedSCS struct {
	scs.Store
	finds, writes atomic.Int64
}

func (c *countedSCS) Find(token string) ([]byte, bool, error) {
	c.finds.Add(1)
	return c.Store.Find(token)
}

func (c *countedSCS) Commit(token string, data []byte, expiry time.Time) error {
	c.writes.Add(1)
	return c.Store.Commit(token, data, expiry)
}

func (c *countedSCS) Delete(token string) error {
	c.writes.Add(1)
	return c.Store.Delete(token)
}

func (c *countedSCS) counts() backendCounts {
	return backendCounts{reads: c.finds.Load, writes: c.writes.Load, resetAll: func() {
		c.finds.Store(0)
		c.writes.Store(0)
	}}
}

// BenchmarkServer measures the typical session kept server side (issue:
// server-side store §5): readonly loads it and reads every value, write
// loads it and changes one key. Each backend's calls are counted and
// reported per request.
func BenchmarkServer(b *testing.B) {
	t := typicalSession()
	b.Run("memstore", func(b *testing.B) {
		b.Run("sealed", func(b *testing.B) {
			mem := sealedmem.New()
			b.Cleanup(func() { _ = mem.Close() })
			backend, counts := storetest.Count(mem)
			m := session.New(serverstore.New(backend)) // defaults: 24 h lifetime, no idle timeout, CBOR
			benchServerLib(b, newSealedServer(t, m), storetestCounts(counts))
		})
		b.Run("scs", func(b *testing.B) {
			sm := scs.New() // defaults: 24 h lifetime, no idle timeout, gob, its memstore
			store := &countedSCS{Store: sm.Store}
			sm.Store = store
			benchServerLib(b, newSCS(t, sm), store.counts())
		})
	})
	b.Run("redis", benchRedis)
}

// benchServerLib makes benchSessions sessions with lib, then measures
// its read-only and write requests on them in turn, reporting what c
// counted per request.
func benchServerLib(b *testing.B, lib serverLib, c counter) {
	cookies, _ := savedCookies(b, lib.save, benchSessions)
	b.Run("readonly", func(b *testing.B) {
		reqs := requests("GET", "/", cookies)
		c.reset()
		serveInTurn(b, lib.read, reqs, readOnly)
		c.report(b)
	})
	b.Run("write", func(b *testing.B) {
		reqs := requests("POST", "/theme", cookies)
		c.reset()
		serveInTurn(b, lib.write, reqs, answered200)
		c.report(b)
	})
}
