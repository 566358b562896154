package memstore

import (
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sealed/session/serverstore"
)

// The byte bound counts, for each entry, its data, key and user ID plus
// entryOverhead: its map and ring slots, the rounding of its allocations,
// and the slack of maps and rings that grow by doubling. A signed-in entry
// adds userKeyOverhead for its place in the user index, and each user with
// sessions userSetOverhead for its set of keys there. Measured on Go 1.26
// (heap after GC, per entry, of Stores filled to their bound);
// TestBoundMatchesHeap checks them.
const (
	entryOverhead   = 240
	userKeyOverhead = 100
	userSetOverhead = 320
)

// entrySize is what the byte bound counts for an entry, its user's key
// set aside.
func entrySize(key string, dataLen int, user string) int64 {
	n := len(key) + dataLen + entryOverhead
	if user != "" {
		n += len(user) + userKeyOverhead
	}
	return int64(n)
}

// tooLarge reports whether e, stored under key, alone passes the byte
// bound.
func (c *core) tooLarge(key string, e serverstore.Entry) bool {
	return c.maxBytes > 0 && entrySize(key, len(e.Data), e.UserID) > c.maxBytes
}

// The classes of entries, in the order eviction takes them.
const (
	anonymous = 0
	signedIn  = 1
)

func class(user string) int {
	if user == "" {
		return anonymous
	}
	return signedIn
}

// slotOf returns e's slot; the caller holds sh's lock (read or write).
func (sh *shard) slotOf(e entry) *slot {
	return &sh.rings[class(e.user)][e.idx]
}

// useOf returns where e's last use is kept; the caller holds sh's lock
// (read or write).
func (sh *shard) useOf(e entry) *uint32 {
	return &sh.uses[class(e.user)][e.idx]
}

// link adds key's slot to its class's ring and returns its index; the
// caller holds sh's lock.
func (sh *shard) link(key, user string, expires, now int64) int {
	cls := class(user)
	sh.rings[cls] = append(sh.rings[cls], slot{key: key, expires: expires})
	sh.uses[cls] = append(sh.uses[cls], tick(now))
	return len(sh.rings[cls]) - 1
}

// unlink removes e's slot from its ring, moving the last slot into its
// place; the caller holds sh's lock.
func (sh *shard) unlink(e entry) {
	cls := class(e.user)
	r, u := sh.rings[cls], sh.uses[cls]
	last := len(r) - 1
	if e.idx != last {
		r[e.idx], u[e.idx] = r[last], u[last]
		me := sh.m[r[last].key]
		me.idx = e.idx
		sh.m[r[last].key] = me
	}
	r[last] = slot{} // let the key be collected
	sh.rings[cls], sh.uses[cls] = r[:last], u[:last]
}

// past reports whether the Backend holds more than 1/d of one of its
// bounds: past(1) means it must evict.
func (c *core) past(d int64) bool {
	return c.maxBytes > 0 && c.bytes.Load() > c.maxBytes/d ||
		c.maxEntries > 0 && c.count.Load() > c.maxEntries/d
}

// fit ends a write of key that returned err: if it succeeded, it evicts
// entries other than key until the Backend is within its bounds. Every
// writer does so after its own write, so the bounds hold again once the
// writes in flight have returned. Evictions take turns, each checking
// the bounds afresh, so that writers who find the Backend past its bound at
// once evict for the entries they added, not once each for all of them.
func (c *core) fit(key string, err error) error {
	if err != nil {
		return err
	}
	if !c.tracking.Load() && c.past(4) {
		c.tracking.Store(true)
	}
	if !c.past(1) {
		return nil
	}
	c.evictMu.Lock()
	defer c.evictMu.Unlock()
	for c.past(1) && c.evictOne(key) {
	}
	return nil
}

// Sampling: eviction picks the least recently used of sampleSize
// entries, taken perShard at a time from shards in turn from a random
// one. 16 samples put the victim, on average, among the oldest 6 % of its
// class, for four read locks per eviction.
const (
	sampleSize = 16
	perShard   = 4
)

// candidate is a sampled entry.
type candidate struct {
	key     string
	shard   int
	age     uint32 // ticks since its last use
	expired bool
}

// before reports whether a should be evicted before b: expired entries
// first, then the least recently used.
func (a candidate) before(b candidate) bool {
	if a.expired != b.expired {
		return a.expired
	}
	return a.age > b.age
}

// evictOne removes one entry other than own, anonymous if any is left,
// and reports whether it found one.
func (c *core) evictOne(own string) bool {
	now := nowNano()
	for _, cls := range [...]int{anonymous, signedIn} {
		if cls == anonymous && c.anon.Load() == 0 {
			continue
		}
		if v, ok := c.sample(cls, own, now); ok {
			c.evict(v, cls, now)
			return true
		}
	}
	return false
}

// sample returns the entry of class cls, other than own, to evict first
// among up to sampleSize of them; ok is false if there is none. A shard
// whose whole ring fits in what is left of the sample is taken whole, so
// a class of sampleSize entries or fewer is seen entirely.
func (c *core) sample(cls int, own string, now int64) (candidate, bool) {
	// The two first to evict, so that own can be skipped at the end
	// rather than compared with every sample: a third of the time went
	// to comparing keys.
	var best, next candidate
	n := 0
	nowTick := tick(now)
	start := rand.IntN(shardCount)
	seen := 0
	for j := 0; j < shardCount && seen < sampleSize; j++ {
		i := (start + j) & (shardCount - 1)
		sh := &c.shards[i]
		sh.mu.RLock()
		r, u := sh.rings[cls], sh.uses[cls]
		take, whole := len(r), true
		if left := sampleSize - seen; take > left {
			take, whole = min(perShard, left), false
		}
		for t := range take {
			if !whole {
				t = rand.IntN(len(r))
			}
			cand := candidate{key: r[t].key, shard: i, age: nowTick - atomic.LoadUint32(&u[t]), expired: r[t].expires <= now}
			seen++
			switch {
			case n == 0:
				best, n = cand, 1
			case cand.before(best):
				best, next, n = cand, best, 2
			case (n == 1 || cand.before(next)) && cand.key != best.key:
				next, n = cand, 2
			}
		}
		sh.mu.RUnlock()
	}
	switch {
	case n > 0 && best.key != own:
		return best, true
	case n > 1:
		return next, true
	}
	return candidate{}, false
}

// evict removes v, unless it was removed or changed class since it was
// sampled; the caller then simply evicts again if still needed.
func (c *core) evict(v candidate, cls int, now int64) {
	sh := &c.shards[v.shard]
	sh.mu.Lock()
	e, ok := sh.m[v.key]
	live := ok && e.live(now)
	if ok && class(e.user) == cls {
		c.removeLocked(sh, v.key)
	} else {
		live = false
	}
	sh.mu.Unlock()
	switch {
	case !live:
	case cls == anonymous:
		c.evictedAnon.Add(1)
	default:
		c.evictedSignedIn.Add(1)
		c.unreported.Add(1)
		c.flushWarning(now)
	}
}

// evictions counts the live entries eviction removed, and reports the
// signed-in ones.
type evictions struct {
	evictMu                      sync.Mutex // held by the writer evicting
	evictedAnon, evictedSignedIn atomic.Int64
	unreported                   atomic.Int64 // signed-in evictions not yet logged
	lastWarn                     atomic.Int64 // when the last warning was logged, Unix ns
}

// warnInterval is the least time between two warnings.
const warnInterval = int64(time.Minute)

// flushWarning logs the signed-in evictions not yet reported, unless a
// warning was logged less than warnInterval before now. The sweeper calls
// it too, so that the last evictions of a burst are reported.
func (c *core) flushWarning(now int64) {
	if c.unreported.Load() == 0 {
		return
	}
	last := c.lastWarn.Load()
	if now-last < warnInterval || !c.lastWarn.CompareAndSwap(last, now) {
		return
	}
	slog.Default().Warn("memstore: evicted signed-in sessions to stay within the store's bound; their users are logged out. Raise memstore.WithMaxBytes (or WithMaxEntries), or use a shared store",
		"sessions", c.unreported.Swap(0),
		"max_bytes", c.maxBytes, "max_entries", c.maxEntries)
}

// Evicted returns how many live sessions eviction has removed since New
// to keep the Backend within its bounds: anonymous ones, and signed-in ones
// (each of which logged a user out; see the package documentation).
// Expired entries it removed are not counted.
func (s *Backend) Evicted() (anon, signed int64) {
	return s.evictedAnon.Load(), s.evictedSignedIn.Load()
}
