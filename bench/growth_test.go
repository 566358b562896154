package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	sealedmem "github.com/go-sealed/session/serverstore/memstore"
	"github.com/go-sealed/session/serverstore/pgstore"
	"github.com/go-sealed/session/serverstore/redisstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// BenchmarkGrowthCookie measures sealing (a request that puts the value and
// gets its Set-Cookie headers) and opening (a request that carries the
// cookies and reads the value) as the session grows from 100 B to 16 KiB
// of incompressible data, past the default cookie budget (DefaultMaxBytes)
// from 8 KiB on. cookie-B is the Set-Cookie bytes, attributes
// included; cookies the number of cookies the session spans.
func BenchmarkGrowthCookie(b *testing.B) {
	for _, size := range []int{100, 1 << 10, 4 << 10, 8 << 10, 16 << 10} {
		raw := make([]byte, size/2)
		_, _ = rand.Read(raw)
		value := hex.EncodeToString(raw)
		m, _ := newSealed(b, typicalSession())
		// Past the default cookie budget, knowingly: this measures how
		// the cost grows, up to sessions proxies would refuse.
		m.Cookie.MaxChunks, m.Cookie.MaxBytes = 8, 64<<10
		save := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.Get(r).Put("blob", value)
		}))
		load := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if m.Get(r).GetString("blob") != value {
				http.Error(w, "session did not load", http.StatusInternalServerError)
			}
		}))
		name := sizeName(size)
		b.Run(name+"/seal", func(b *testing.B) {
			req := withCookie("GET", "/", "")
			var w *httptest.ResponseRecorder
			b.ReportAllocs()
			for b.Loop() {
				w = serve(save, req)
			}
			mustOK(b, w)
			b.ReportMetric(float64(setCookieBytes(w.Header())), "cookie-B")
			b.ReportMetric(float64(len(w.Header()["Set-Cookie"])), "cookies")
		})
		b.Run(name+"/open", func(b *testing.B) {
			cookie, _ := savedCookie(b, save)
			req := withCookie("GET", "/", cookie)
			b.ReportAllocs()
			for b.Loop() {
				if w := serve(load, req); w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
			b.ReportMetric(float64(len(cookie)), "cookie-header-B")
		})
	}
}

func sizeName(n int) string {
	if n >= 1<<10 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

// memorySessions is how many sessions BenchmarkMemoryPerSession keeps.
const memorySessions = 100_000

// BenchmarkMemoryPerSession fills an in-memory store with 100k typical
// sessions through each library's own save path and reports the live heap
// they take, per session, after a GC (B/session). Run it with -benchtime 1x.
func BenchmarkMemoryPerSession(b *testing.B) {
	want := typicalSession()
	measure := func(b *testing.B, fill func() any) {
		var perSession float64
		for b.Loop() {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			keep := fill()
			runtime.GC()
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(keep)
			perSession = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / memorySessions
		}
		b.ReportMetric(perSession, "B/session")
	}
	b.Run("memstore", func(b *testing.B) {
		measure(b, func() any {
			mem := sealedmem.New()
			lib := newSealedServer(want, session.New(serverstore.New(mem)))
			for range memorySessions {
				mustOK(b, serve(lib.save, withCookie("GET", "/", "")))
			}
			if mem.Len() != memorySessions {
				b.Fatalf("%d sessions stored", mem.Len())
			}
			return mem
		})
	})
	b.Run("scs", func(b *testing.B) {
		measure(b, func() any {
			sm := scs.New()
			st := scsmem.New()
			sm.Store = st
			lib := newSCS(want, sm)
			for range memorySessions {
				mustOK(b, serve(lib.save, withCookie("GET", "/", "")))
			}
			return st
		})
	})
}

// storedSessions are the store sizes BenchmarkBackendSize compares:
// SESSION_BENCH_SIZES, comma-separated, or 10k and 1M (only 10k under
// -benchtime 1x, the smoke run CI makes).
func storedSessions() []int {
	sizes := []int{10_000, 1_000_000}
	if f := flag.Lookup("test.benchtime"); f != nil && f.Value.String() == "1x" {
		sizes = sizes[:1]
	}
	if env := os.Getenv("SESSION_BENCH_SIZES"); env != "" {
		sizes = nil
		for _, s := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err == nil && n > 0 {
				sizes = append(sizes, n)
			}
		}
	}
	return sizes
}

// BenchmarkBackendSize measures a read-only and a writing request of the
// typical session on Redis and PostgreSQL holding N other sessions,
// written in bulk (a Redis pipeline of RESTOREs of a real record, one
// INSERT … SELECT generate_series in PostgreSQL) under a prefix or table of
// their own that is dropped afterwards. For PostgreSQL it logs the plan of
// the find query at each size. With -benchtime 1x (as CI runs it) it fills
// only the smallest size.
func BenchmarkBackendSize(b *testing.B) {
	want := typicalSession()
	sizes := storedSessions()
	b.Run("redis", func(b *testing.B) {
		opt := redisOptions(b)
		for _, n := range sizes {
			b.Run(strconv.Itoa(n), func(b *testing.B) {
				c, counter := countedClient(b, opt)
				prefix := benchPrefix("size")
				cleanRedis(b, c, prefix)
				lib := newSealedServer(want, session.New(serverstore.New(redisstore.New(c, redisstore.WithPrefix(prefix)))))
				cookies, _ := savedCookies(b, lib.save, benchSessions)
				start := time.Now()
				fillRedis(b, c, prefix, n)
				b.Logf("filled %d sessions in %v", n, time.Since(start).Round(time.Millisecond))
				benchRequests(b, lib, cookies, counter)
			})
		}
	})
	b.Run("postgres", func(b *testing.B) {
		url := os.Getenv("SESSION_TEST_POSTGRES_URL")
		if url == "" {
			url = "postgres://postgres@127.0.0.1:5432/test"
		}
		ctx := context.Background()
		pool, err := pgxpool.New(ctx, url)
		if err == nil {
			err = pool.Ping(ctx)
		}
		storetest.Require(b, "PostgreSQL", err)
		defer pool.Close()
		for _, n := range sizes {
			b.Run(strconv.Itoa(n), func(b *testing.B) {
				table := "bench_size_" + strings.ReplaceAll(benchPrefix("")[len("go-sealed-bench::"):], ":", "")
				backend, err := pgstore.New(ctx, pool, pgstore.WithTable(table), pgstore.WithSweepInterval(0))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() {
					_ = backend.Close()
					_, _ = pool.Exec(ctx, `DROP TABLE IF EXISTS "`+table+`"`)
				})
				lib := newSealedServer(want, session.New(serverstore.New(backend)))
				cookies, _ := savedCookies(b, lib.save, benchSessions)
				start := time.Now()
				if _, err := pool.Exec(ctx, `INSERT INTO "`+table+`" (key, data, expires, user_id)
SELECT md5(random()::text) || md5(random()::text), t.data, t.expires, t.user_id
FROM (SELECT * FROM "`+table+`" LIMIT 1) t CROSS JOIN generate_series(1, $1)`, n); err != nil {
					b.Fatal(err)
				}
				if _, err := pool.Exec(ctx, `ANALYZE "`+table+`"`); err != nil {
					b.Fatal(err)
				}
				b.Logf("filled %d sessions in %v", n, time.Since(start).Round(time.Millisecond))
				var key string
				if err := pool.QueryRow(ctx, `SELECT key FROM "`+table+`" LIMIT 1`).Scan(&key); err != nil {
					b.Fatal(err)
				}
				rows, err := pool.Query(ctx, `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT data FROM "`+table+`" WHERE key = $1 AND expires > $2`, key, time.Now())
				if err != nil {
					b.Fatal(err)
				}
				var plan []string
				for rows.Next() {
					var line string
					_ = rows.Scan(&line)
					plan = append(plan, line)
				}
				rows.Close()
				b.Logf("plan of the find query at %d sessions:\n%s", n, strings.Join(plan, "\n"))
				if !strings.Contains(strings.Join(plan, "\n"), "Index Scan") {
					b.Errorf("the find query does not use the primary key's index")
				}
				benchRequests(b, lib, cookies, nil)
			})
		}
	})
}

// fillRedis writes n copies of a session already under prefix, under keys
// of their own, in pipelines of 10k.
func fillRedis(b *testing.B, c *redis.Client, prefix string, n int) {
	ctx := context.Background()
	keys, _, err := c.Scan(ctx, 0, prefix+"s:*", 10).Result()
	if err != nil || len(keys) == 0 {
		b.Fatalf("no session under %s to copy: %v", prefix, err)
	}
	dump, err := c.Dump(ctx, keys[0]).Result()
	if err != nil {
		b.Fatal(err)
	}
	ttl := c.PTTL(ctx, keys[0]).Val()
	for done := 0; done < n; {
		p := c.Pipeline()
		for range min(10_000, n-done) {
			var k [32]byte
			_, _ = rand.Read(k[:])
			p.Restore(ctx, prefix+"s:{"+hex.EncodeToString(k[:])+"}", ttl, dump)
			done++
		}
		if _, err := p.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if got := c.DBSize(ctx).Val(); got < int64(n) {
		b.Fatalf("DBSIZE %d after filling %d", got, n)
	}
}

// benchRequests measures lib's read-only and write requests over cookies.
func benchRequests(b *testing.B, lib serverLib, cookies []string, c counter) {
	for _, kind := range []struct {
		name string
		h    http.Handler
	}{{"readonly", lib.read}, {"write", lib.write}} {
		b.Run(kind.name, func(b *testing.B) {
			reqs := requests("GET", "/", cookies)
			if c != nil {
				c.reset()
			}
			serveInTurn(b, kind.h, reqs, answered200)
			if c != nil {
				c.report(b)
			}
		})
	}
}
