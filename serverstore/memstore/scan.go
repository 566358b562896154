package memstore

import (
	"context"
	"iter"

	"github.com/go-sealed/session/serverstore"
)

// scanBatch is how many entries Scan copies under one shard lock.
const scanBatch = 100

// Scan implements serverstore.Scanner. It goes over the shards in turn,
// copying a batch of entries at a time under the shard's read lock, so
// that writers wait no longer than a batch takes. Scanning does not count
// as using the sessions.
func (s *Backend) Scan(ctx context.Context) iter.Seq2[serverstore.KeyData, error] {
	return func(yield func(serverstore.KeyData, error) bool) {
		for i := range s.shards {
			sh := &s.shards[i]
			// The keys are strings the map already holds: listing them
			// copies no data.
			sh.mu.RLock()
			keys := make([]string, 0, len(sh.m))
			for k := range sh.m {
				keys = append(keys, k)
			}
			sh.mu.RUnlock()
			for len(keys) > 0 {
				if err := ctx.Err(); err != nil {
					yield(serverstore.KeyData{}, err)
					return
				}
				batch := keys[:min(scanBatch, len(keys))]
				keys = keys[len(batch):]
				out := make([]serverstore.KeyData, 0, len(batch))
				now := nowNano()
				sh.mu.RLock()
				for _, k := range batch {
					if e, ok := sh.m[k]; ok && e.live(now) {
						out = append(out, serverstore.KeyData{Key: k, Data: []byte(e.data)})
					}
				}
				sh.mu.RUnlock()
				for _, kd := range out {
					if !yield(kd, nil) {
						return
					}
				}
			}
		}
	}
}

// Count implements serverstore.Scanner: the live entries, counted shard
// by shard.
func (s *Backend) Count(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	now := nowNano()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, e := range sh.m {
			if e.live(now) {
				n++
			}
		}
		sh.mu.RUnlock()
	}
	return n, nil
}

// DeleteAll implements serverstore.Scanner, shard by shard.
func (s *Backend) DeleteAll(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	now := nowNano()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if e.live(now) {
				n++
			}
			s.removeLocked(sh, k)
		}
		sh.mu.Unlock()
	}
	return n, nil
}
