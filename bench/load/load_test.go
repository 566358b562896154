package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-sealed/session/serverstore/storetest"
)

// skipUnreachable skips t (or fails it under SESSION_TEST_SERVICES=require)
// when err says a service does not answer, and fails it on any other error.
func skipUnreachable(t *testing.T, err error) {
	t.Helper()
	var u *unreachableError
	if errors.As(err, &u) {
		storetest.Require(t, u.service, u.err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestLoadShort is a short run of the load harness: 10 clients, 3 items,
// 3 loops each, on the stores CI has (sqlite in a temporary directory). Every cart must be exactly what its
// client added, with no 5xx and nothing mixed up between clients.
func TestLoadShort(t *testing.T) {
	cfg := config{clients: 10, items: 3, iterations: 3, duration: 5 * time.Second,
		redisURL: envOr("SESSION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), postgresURL: envOr("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")}
	cfg.mongoURL = envOr("SESSION_TEST_MONGO_URL", "mongodb://127.0.0.1:27017")
	for _, name := range []string{"cookie", "memory", "redis", "postgres", "sqlite", "mongo", "scs", "gorilla"} {
		t.Run(name, func(t *testing.T) { runClean(t, cfg, name) })
	}
}

// TestTwoInstancesShort is TestLoadShort through two instances of the
// demo behind a round-robin proxy, for the stores instances can share.
func TestTwoInstancesShort(t *testing.T) {
	cfg := config{clients: 10, items: 3, iterations: 3, duration: 5 * time.Second, instances: 2,
		redisURL: envOr("SESSION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), postgresURL: envOr("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")}
	cfg.mongoURL = envOr("SESSION_TEST_MONGO_URL", "mongodb://127.0.0.1:27017")
	for _, name := range []string{"cookie", "redis", "postgres", "mongo"} {
		t.Run(name, func(t *testing.T) { runClean(t, cfg, name) })
	}
	_, err := runStore(context.Background(), cfg, "memory")
	if err == nil || !strings.Contains(err.Error(), "keeps its sessions in one process") {
		t.Errorf("memory with -instances 2: %v, want a refusal", err)
	}
}

// runClean runs the load on name and requires every loop done, every cart
// right, no 5xx and nothing mixed up.
func runClean(t *testing.T, cfg config, name string) {
	res, err := runStore(context.Background(), cfg, name)
	skipUnreachable(t, err)
	if p := res.problems(); len(p) > 0 {
		t.Fatalf("%v", p)
	}
	if got, want := res.iterations.Load(), int64(cfg.clients*cfg.iterations); got != want {
		t.Errorf("%d loops completed, want %d", got, want)
	}
	lat := res.latencies(time.Time{}, time.Time{})
	t.Logf("%d requests, %.0f/s, p50 %v, p99 %v", len(res.samples), float64(len(res.samples))/res.elapsed.Seconds(), percentile(lat, 50), percentile(lat, 99))
}

// TestRedisCutShort cuts the connection to Redis for a second during a
// short load: failing requests get the bare 500 within the store timeout,
// the server recovers by itself, and every cart, including those written
// before the cut, is exactly what its client added.
func TestRedisCutShort(t *testing.T) {
	cfg := config{clients: 10, items: 3, duration: 4 * time.Second, cut: time.Second,
		redisURL: envOr("SESSION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")}
	r, err := cutDuring(context.Background(), cfg, "redis")
	skipUnreachable(t, err)
	if p := r.problems(); len(p) > 0 {
		t.Fatalf("%v", p)
	}
	cut := r.latencies(r.cutAt, r.restoredAt)
	t.Logf("%d requests, %d 5xx, max latency during the cut %v, recovered %v after restore, %d adds saved despite a 500",
		len(r.samples), r.server5xx.Load(), percentile(cut, 100), r.recovery, r.ambiguous.Load())
}

// TestBoltReadOnly serves a bolt file opened read-only: reads work, writes
// get the bare 500, and the file reopened read-write is intact.
func TestBoltReadOnly(t *testing.T) {
	r, err := boltReadOnly(context.Background(), config{boltDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if p := r.problems(); len(p) > 0 {
		t.Fatalf("%v", p)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags(nil, nil)
	if err != nil || cfg.clients != 50 || cfg.items != 10 || cfg.duration != 30*time.Second || len(cfg.stores) != len(allStores) {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	if _, err := parseFlags([]string{"-stores", "cookie,nope"}, nil); err == nil {
		t.Error("an unknown store was accepted")
	}
}
