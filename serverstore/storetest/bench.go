package storetest

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sealed/session/serverstore"
)

// Benchmark runs sub-benchmarks of backend over keys, which the caller
// has committed, with about 200 bytes of data each: Find reads them in
// turn, Commit rewrites them in turn (with a rolling expiry, which moves
// any expiry index), and Parallel is a session workload on every core,
// nine reads to one write.
func Benchmark(b *testing.B, backend serverstore.Backend, keys []string) {
	ctx := context.Background()
	e := serverstore.Entry{Data: bytes.Repeat([]byte("y"), 200), Expires: time.Now().Add(time.Hour), UserID: "alice"}
	b.Run("Find", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, _, err := backend.Find(ctx, keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Commit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			e.Expires = time.Now().Add(time.Hour)
			if err := backend.Commit(ctx, keys[i%len(keys)], e); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		e := serverstore.Entry{Data: e.Data, Expires: time.Now().Add(time.Hour)}
		var seq atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seq.Add(1)) * 7919
			for pb.Next() {
				key := keys[i%len(keys)]
				var err error
				if i%10 == 0 {
					err = backend.Commit(ctx, key, e)
				} else {
					_, _, err = backend.Find(ctx, key)
				}
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}
