package redisstore

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// BenchmarkAll runs serverstore.Store.All over every session of a
// Backend holding 10,000, 100,000 and 1,000,000 of them, and reports the
// heap it needs: heap-inuse-B is the highest runtime.MemStats.HeapInuse
// after a garbage collection, sampled twenty times in each pass, and
// heap-growth-B how far that is above the heap in use before the pass.
// All streams, so both stay flat from one size to the next; a list of
// every session would grow with the count. Run it alone, without -race:
//
//	go test -run '^$' -bench BenchmarkAll -benchtime 1x ./serverstore/redisstore/
//
// (-short leaves out the million.)
func BenchmarkAll(b *testing.B) {
	c := singleClient(b)
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			if n > 100_000 && testing.Short() {
				b.Skip("-short: no million sessions")
			}
			backend, _ := newTestStore(b, c)
			// Cleanups run last first: this one, which streams, leaves
			// nothing for newTestStore's, which lists every key.
			b.Cleanup(func() {
				if _, err := backend.DeleteAll(context.Background()); err != nil {
					b.Errorf("deleting the sessions: %v", err)
				}
			})
			store := serverstore.New(backend)
			fillSessions(b, c, backend, store, n)

			every := n / 20
			var before, peak uint64
			for b.Loop() {
				b.StopTimer()
				before = heapInuse()
				b.StartTimer()
				seen := 0
				for _, err := range store.All(b.Context()) {
					if err != nil {
						b.Fatal(err)
					}
					if seen++; seen%every == 0 {
						b.StopTimer()
						peak = max(peak, heapInuse())
						b.StartTimer()
					}
				}
				if seen != n {
					b.Fatalf("All yielded %d sessions of %d", seen, n)
				}
			}
			b.ReportMetric(float64(peak), "heap-inuse-B")
			b.ReportMetric(float64(peak)-float64(before), "heap-growth-B")
		})
	}
}

// heapInuse is runtime.MemStats.HeapInuse after a garbage collection.
func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// fillSessions writes n anonymous sessions, each about 200 bytes of
// record, to backend: one through store, and copies of it under fresh
// keys, written straight in the Backend's layout a thousand to a
// pipeline (a Commit apiece would take minutes for a million).
func fillSessions(b *testing.B, c redis.UniversalClient, backend *Backend, store *serverstore.Store, n int) {
	ctx := b.Context()
	now := time.Now()
	rec := &session.Record{ID: "bench", Created: now, Touched: now, Expires: now.Add(time.Hour), Data: make([]byte, 200)}
	token, err := store.Save(ctx, "", rec)
	require.NoError(b, err)
	data, found, err := backend.Find(ctx, storetest.KeyOf(b, token))
	require.NoError(b, err)
	require.True(b, found)
	ms := expiryMillis(rec.Expires)
	version := versionOf(data, "", ms)
	for done := 1; done < n; {
		batch := min(1000, n-done)
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for range batch {
				sk := backend.sessionKey(storetest.NewKey())
				p.HSet(ctx, sk, fieldData, data, fieldUser, "", fieldExpires, ms, fieldVersion, version)
				p.Do(ctx, "pexpireat", sk, ms)
			}
			return nil
		})
		require.NoError(b, err)
		done += batch
	}
}
