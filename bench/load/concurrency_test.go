package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sealed/session"
)

// concurrentWriters is how many requests change one session at once.
const concurrentWriters = 50

// TestConcurrentWritesOneSession sends 50 requests at once, all carrying
// the same server-side session and each putting a key of its own, over
// real TCP to each backend: afterwards every one of the 50 keys is in the
// session, since the Manager merges each request's changes into the record
// as stored rather than overwriting it with what the request loaded.
func TestConcurrentWritesOneSession(t *testing.T) {
	cfg := config{clients: concurrentWriters,
		redisURL:    envOr("SESSION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
		postgresURL: envOr("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"),
		mysqlDSN:    envOr("SESSION_TEST_MYSQL_DSN", "root@tcp(127.0.0.1:3306)/test?interpolateParams=true"),
		boltDir:     t.TempDir(),
		sqliteDir:   t.TempDir(),
		mongoURL:    envOr("SESSION_TEST_MONGO_URL", "mongodb://127.0.0.1:27017"),
	}
	for _, name := range []string{"memory", "redis", "postgres", "mysql", "bolt", "sqlite", "mongo"} {
		t.Run(name, func(t *testing.T) {
			tg, err := openTarget(context.Background(), cfg, name, targetOptions{})
			skipUnreachable(t, err)
			defer tg.close()
			m := session.New(tg.store)
			m.Cookie.Secure = false
			mux := http.NewServeMux()
			mux.HandleFunc("GET /put", func(w http.ResponseWriter, r *http.Request) {
				m.Get(r).Put(r.FormValue("k"), r.FormValue("k"))
			})
			mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
				keys := m.Get(r).Keys()
				slices.Sort(keys)
				_, _ = io.WriteString(w, strings.Join(keys, ","))
			})
			srv, err := serve(m.Handler(mux))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.close()

			get := func(c *http.Client, path, cookie string) (*http.Response, string) {
				req, _ := http.NewRequest("GET", srv.url+path, nil)
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				res, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return nil, ""
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res, string(b)
			}
			res, _ := get(http.DefaultClient, "/put?k=seed", "")
			if res == nil || len(res.Cookies()) != 1 {
				t.Fatal("no session cookie")
			}
			cookie := res.Cookies()[0].Name + "=" + res.Cookies()[0].Value

			want := []string{"seed"}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range concurrentWriters {
				k := fmt.Sprintf("k%02d", i)
				want = append(want, k)
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
					defer c.CloseIdleConnections()
					<-start
					if res, body := get(c, "/put?k="+k, cookie); res != nil && res.StatusCode != http.StatusOK {
						t.Errorf("put %s: %d %q", k, res.StatusCode, body)
					}
				}()
			}
			close(start)
			wg.Wait()

			slices.Sort(want)
			_, got := get(http.DefaultClient, "/keys", cookie)
			if got != strings.Join(want, ",") {
				t.Errorf("after %d concurrent writers the session holds\n%s\nwant\n%s", concurrentWriters, got, strings.Join(want, ","))
			}
		})
	}
}
