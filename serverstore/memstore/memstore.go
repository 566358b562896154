package memstore

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sweep"
)

// shardCount is a power of two, so a hash picks a shard with a mask. 64
// keeps lock contention negligible up to many more cores than a session
// store needs, for about 8 KB of empty shards.
const shardCount = 64

// DefaultSweepInterval is how often expired entries are removed unless
// WithSweepInterval says otherwise.
const DefaultSweepInterval = time.Minute

// DefaultMaxBytes is the memory bound of a Backend made without
// WithMaxBytes: 64 MiB of entries as the Backend estimates them (see the
// package documentation), about 110,000 anonymous sessions of 300 bytes.
const DefaultMaxBytes = 64 << 20

// ErrFull is returned (wrapped by serverstore) by a write of an entry
// that alone takes more than the Backend's byte bound (WithMaxBytes), which
// no eviction could make room for. Nothing is written, and the entry
// previously under the key, if any, is kept. A Backend that is merely full
// does not refuse writes: it evicts (see the package documentation).
var ErrFull = errors.New("memstore: entry larger than the MaxBytes bound")

// Backend is an in-memory serverstore.Backend. It implements
// serverstore.UserIndex and serverstore.Scanner too. Make one with New; it
// is safe for concurrent use.
type Backend struct {
	*core
}

var (
	_ serverstore.Backend   = (*Backend)(nil)
	_ serverstore.UserIndex = (*Backend)(nil)
	_ serverstore.Scanner   = (*Backend)(nil)
)

// core is the state of a Backend. The sweeper refers to it, not to the
// Backend, so that a Backend dropped without Close can be collected and its
// sweeper stopped (see package sweep).
type core struct {
	seed maphash.Seed
	// tracking is set once the Backend has held a quarter of a bound (see
	// fit): from then on Find records uses for eviction. Every Find reads
	// it, so it shares its cache line with seed only, never with a
	// counter that writes change.
	tracking atomic.Bool
	_        [64]byte

	shards [shardCount]shard
	users  [shardCount]userShard

	maxEntries int64 // 0: no bound on the number of entries
	maxBytes   int64 // 0: no bound on their size

	// Entries held, expired ones not yet swept included; their size as
	// entrySize estimates it; the anonymous ones among them.
	count, bytes, anon atomic.Int64

	evictions // what eviction removed, and its warnings

	// earliest is a lower bound on the Expires (Unix nanoseconds) of every
	// entry held. While it lies in the future nothing has expired, and a
	// sweep can be skipped at no cost.
	earliest atomic.Int64

	sweepMu sync.Mutex // serializes sweeps, so earliest is reset by one at a time
	sweeper *sweep.Sweeper
}

// shard holds the entries whose key hashes to it. Each entry also has a
// slot in rings[class(user)], so that eviction can sample a class in
// constant time, and at the same index in uses[class(user)] the tick of
// its last use. The ticks are kept apart from the slots, 4 bytes each, so
// that the one a Find updates is more often in a cache line already
// loaded: kept in the slots, they cost a Find 4 to 5 % rather than 2 to 3.
type shard struct {
	mu    sync.RWMutex
	m     map[string]entry
	rings [2][]slot
	// uses are ticks (see tick) of the entries' last writes, and of
	// their reads while the Backend tracks them. Find sets them under the
	// read lock, so they are accessed atomically wherever that lock alone
	// is held.
	uses [2][]uint32
}

type entry struct {
	// data is a string, two words where a slice takes three: an entry of
	// 48 bytes keeps the map's slots as small as before eviction needed
	// idx, and a lookup as fast. It is never changed in place.
	data    string
	expires int64 // Unix nanoseconds
	user    string
	idx     int // the entry's slot in its shard's rings[class(user)]
}

func (e *entry) live(now int64) bool {
	return now < e.expires
}

// slot is an entry's place in its class's ring. It repeats the entry's
// expiry so that eviction can sample slots without looking their entries
// up, which took a third of its time.
type slot struct {
	key     string
	expires int64
}

// userShard maps user IDs to the set of their keys. Lock order: an entry
// shard first, then a user shard; a user shard is never held while
// waiting for another lock.
type userShard struct {
	mu sync.Mutex
	m  map[string]map[string]struct{}
}

// Option configures a Backend made by New.
type Option func(*config)

type config struct {
	interval   time.Duration
	maxEntries int
	maxBytes   int64
}

// WithSweepInterval sets how often the sweeper removes expired entries. A
// sweep that finds nothing expired costs nothing: the Backend keeps a bound
// on the earliest expiry. d <= 0 means DefaultSweepInterval.
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) { c.interval = d }
}

// WithMaxBytes bounds the memory the Backend's entries take to about n
// bytes, as the package documentation describes: a write that would pass
// it evicts other entries, anonymous ones first. The default is
// DefaultMaxBytes. n <= 0 removes the bound: the Backend then grows with
// every new session, which anyone who can reach a handler that writes to
// its session can make happen, so do it only with another bound in place
// (WithMaxEntries, or a limit on session creation in front of the Backend).
func WithMaxBytes(n int64) Option {
	return func(c *config) { c.maxBytes = n }
}

// WithMaxEntries bounds how many entries the Backend holds, in addition to
// the byte bound (WithMaxBytes; pass WithMaxBytes(0) as well to bound by
// count alone). A write that would take the Backend past n entries evicts
// others, anonymous ones first, as the package documentation describes;
// it no longer fails with ErrFull as it did before eviction existed. n <= 0
// means no bound on the count, the default.
func WithMaxEntries(n int) Option {
	return func(c *config) { c.maxEntries = n }
}

// New returns an empty Backend and starts its sweeper. Call Close to stop
// the sweeper when the Backend is no longer needed.
func New(opts ...Option) *Backend {
	cfg := config{interval: DefaultSweepInterval, maxBytes: DefaultMaxBytes}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.interval <= 0 {
		cfg.interval = DefaultSweepInterval
	}
	c := &core{
		seed:       maphash.MakeSeed(),
		maxEntries: int64(max(cfg.maxEntries, 0)),
		maxBytes:   max(cfg.maxBytes, 0),
	}
	c.earliest.Store(math.MaxInt64)
	for i := range c.shards {
		c.shards[i].m = map[string]entry{}
		c.users[i].m = map[string]map[string]struct{}{}
	}
	c.sweeper = sweep.Start(cfg.interval, func(context.Context) bool {
		c.sweep()
		c.flushWarning(nowNano())
		return true
	})
	s := &Backend{c}
	sweep.StopWith(s, c.sweeper)
	return s
}

// Close stops the sweeper and waits for it to return. It is safe to call
// more than once and always returns nil. The Backend keeps working after
// Close; expired entries are then still never returned, but stay in
// memory until overwritten, deleted or evicted.
func (s *Backend) Close() error {
	s.sweeper.Stop()
	return nil
}

// Len returns how many entries the Backend holds, including expired ones
// not yet swept: the number WithMaxEntries bounds.
func (s *Backend) Len() int {
	return int(s.count.Load())
}

// Bytes returns the size of the Backend's entries as it estimates them
// (see the package documentation): the number WithMaxBytes bounds.
func (s *Backend) Bytes() int64 {
	return s.bytes.Load()
}

// Find implements serverstore.Backend. It returns a copy of the data, and
// records the use for eviction once the Backend tracks reads (see the
// package documentation).
func (s *Backend) Find(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	sh := s.shard(key)
	sh.mu.RLock()
	e, ok := sh.m[key]
	if !ok {
		sh.mu.RUnlock()
		return nil, false, nil
	}
	now := nowNano()
	if !e.live(now) {
		sh.mu.RUnlock()
		return nil, false, nil
	}
	if s.tracking.Load() {
		touch(sh.useOf(e), now)
	}
	data := []byte(e.data)
	sh.mu.RUnlock()
	return data, true, nil
}

// touch records a use at now in u; the caller holds at least the read
// lock of u's shard. It writes only when the tick has changed, so that
// many readers of one session do not fight over its cache line for a
// precision eviction does not need.
func touch(u *uint32, now int64) {
	if t := tick(now); atomic.LoadUint32(u) != t {
		atomic.StoreUint32(u, t)
	}
}

// tickNanos is how finely uses are told apart: 10 ms. A tick is a
// uint32, so it wraps every 497 days; uses are compared by their age
// (see candidate), which is right for any entry used in the last 497
// days, longer than sessions live.
const tickNanos = int64(10 * time.Millisecond)

// tick returns the tick of the Unix time now (nanoseconds).
func tick(now int64) uint32 {
	return uint32(now / tickNanos)
}

// Commit implements serverstore.Backend. It stores a copy of e.Data. An
// entry already expired is not stored: key is deleted instead. A Backend
// past its bound evicts other entries before Commit returns; an entry
// larger than the byte bound fails with ErrFull.
func (s *Backend) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(key)
	sh.mu.Lock()
	err := s.putLocked(sh, key, e, nowNano())
	sh.mu.Unlock()
	return s.fit(key, err)
}

// Delete implements serverstore.Backend.
func (s *Backend) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s.removeLocked(sh, key)
	return nil
}

// Update implements serverstore.Backend. fn runs with key's shard locked,
// so it must be quick and must not call the Backend; it receives a copy of
// the data. The hint is not used: a read costs nothing here. A write
// evicts and fails as Commit's does.
func (s *Backend) Update(ctx context.Context, key string, _ *serverstore.Entry, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(key)
	err := func() error {
		sh.mu.Lock()
		defer sh.mu.Unlock()
		var data []byte
		now := nowNano()
		cur, found := sh.m[key]
		if found = found && cur.live(now); found {
			data = []byte(cur.data)
			touch(sh.useOf(cur), now)
		}
		e, write, err := fn(data, found)
		if err != nil || !write {
			return err
		}
		return s.putLocked(sh, key, e, now)
	}()
	return s.fit(key, err)
}

// Rename implements serverstore.Backend: with both keys' shards locked,
// oldKey is removed and e stored under newKey, if oldKey holds a live
// entry; otherwise it returns serverstore.ErrNotFound. A write evicts and
// fails as Commit's does; on ErrFull oldKey is kept.
func (s *Backend) Rename(ctx context.Context, oldKey, newKey string, e serverstore.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := func() error {
		a, b := s.shardIndex(oldKey), s.shardIndex(newKey)
		// Lock in index order, so that two renames cannot deadlock.
		first, second := &s.shards[min(a, b)], &s.shards[max(a, b)]
		first.mu.Lock()
		defer first.mu.Unlock()
		if second != first {
			second.mu.Lock()
			defer second.mu.Unlock()
		}
		now := nowNano()
		old, ok := s.shards[a].m[oldKey]
		if !ok || !old.live(now) {
			return serverstore.ErrNotFound
		}
		if s.tooLarge(newKey, e) {
			return ErrFull
		}
		if oldKey != newKey {
			s.removeLocked(&s.shards[a], oldKey)
		}
		return s.putLocked(&s.shards[b], newKey, e, now)
	}()
	return s.fit(newKey, err)
}

// FindUser implements serverstore.UserIndex. It returns copies of the data
// of userID's live entries. Listing sessions does not count as using them.
func (s *Backend) FindUser(ctx context.Context, userID string) (map[string][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	found := map[string][]byte{}
	now := nowNano()
	for _, key := range s.userKeys(userID) {
		sh := s.shard(key)
		sh.mu.RLock()
		// The index was read without the entry's lock: check the entry
		// still belongs to userID.
		if e, ok := sh.m[key]; ok && e.user == userID && e.live(now) {
			found[key] = []byte(e.data)
		}
		sh.mu.RUnlock()
	}
	return found, nil
}

// DeleteUser implements serverstore.UserIndex. Entries tagged with userID
// while it runs may survive it.
func (s *Backend) DeleteUser(ctx context.Context, userID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	now := nowNano()
	for _, key := range s.userKeys(userID) {
		sh := s.shard(key)
		sh.mu.Lock()
		if e, ok := sh.m[key]; ok && e.user == userID {
			if e.live(now) {
				n++
			}
			s.removeLocked(sh, key)
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// userKeys returns a snapshot of the keys indexed under userID.
func (c *core) userKeys(userID string) []string {
	if userID == "" {
		return nil
	}
	us := c.userShard(userID)
	us.mu.Lock()
	defer us.mu.Unlock()
	keys := make([]string, 0, len(us.m[userID]))
	for k := range us.m[userID] {
		keys = append(keys, k)
	}
	return keys
}

// putLocked stores e under key, used at now; the caller holds sh's lock.
// It returns ErrFull, having changed nothing, if e alone is larger than
// the byte bound. It does not evict: the caller calls fit once the lock
// is released.
func (c *core) putLocked(sh *shard, key string, e serverstore.Entry, now int64) error {
	exp := unixNano(e.Expires)
	if exp <= now {
		c.removeLocked(sh, key)
		return nil
	}
	if c.tooLarge(key, e) {
		return ErrFull
	}
	old, exists := sh.m[key]
	if exists && class(old.user) != class(e.UserID) {
		// Signing in or out moves the entry to the other class's ring.
		c.removeLocked(sh, key)
		exists = false
	}
	size := entrySize(key, len(e.Data), e.UserID)
	ne := entry{data: string(e.Data), expires: exp, user: e.UserID}
	if exists {
		if d := size - entrySize(key, len(old.data), old.user); d != 0 {
			c.bytes.Add(d)
		}
		ne.idx = old.idx
		// The map keeps the key it is given now: so must the slot, or
		// the two would hold a copy each. The write lock keeps Find out,
		// so used needs no atomic store here.
		*sh.slotOf(old) = slot{key: key, expires: exp}
		*sh.useOf(old) = tick(now)
		if old.user != ne.user {
			c.unindex(old.user, key)
			c.index(ne.user, key)
		}
	} else {
		c.count.Add(1)
		c.bytes.Add(size)
		if ne.user == "" {
			c.anon.Add(1)
		}
		ne.idx = sh.link(key, ne.user, exp, now)
		c.index(ne.user, key)
	}
	sh.m[key] = ne
	c.noteExpiry(exp)
	return nil
}

// removeLocked deletes key, if present, with its slot and index entry;
// the caller holds sh's lock. It reports whether key was there.
func (c *core) removeLocked(sh *shard, key string) bool {
	e, ok := sh.m[key]
	if !ok {
		return false
	}
	sh.unlink(e)
	delete(sh.m, key)
	c.unindex(e.user, key)
	c.count.Add(-1)
	c.bytes.Add(-entrySize(key, len(e.data), e.user))
	if e.user == "" {
		c.anon.Add(-1)
	}
	return true
}

func (c *core) index(user, key string) {
	if user == "" {
		return
	}
	us := c.userShard(user)
	us.mu.Lock()
	keys := us.m[user]
	if keys == nil {
		keys = map[string]struct{}{}
		us.m[user] = keys
		c.bytes.Add(userSetOverhead)
	}
	keys[key] = struct{}{}
	us.mu.Unlock()
}

func (c *core) unindex(user, key string) {
	if user == "" {
		return
	}
	us := c.userShard(user)
	us.mu.Lock()
	if keys := us.m[user]; keys != nil {
		delete(keys, key)
		if len(keys) == 0 {
			delete(us.m, user)
			c.bytes.Add(-userSetOverhead)
		}
	}
	us.mu.Unlock()
}

// noteExpiry lowers earliest to exp if exp is earlier.
func (c *core) noteExpiry(exp int64) {
	for {
		cur := c.earliest.Load()
		if exp >= cur || c.earliest.CompareAndSwap(cur, exp) {
			return
		}
	}
}

// sweep removes expired entries. It holds one shard's lock at a time, so
// requests wait at most for the sweep of one shard.
func (c *core) sweep() {
	c.sweepMu.Lock()
	defer c.sweepMu.Unlock()
	now := nowNano()
	if c.earliest.Load() > now {
		return
	}
	// Recompute earliest from scratch: every entry present now is seen by
	// the scan below, and every entry written after this reset lowers it
	// again through noteExpiry, so it stays a lower bound throughout.
	c.earliest.Store(math.MaxInt64)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for key, e := range sh.m {
			if e.live(now) {
				c.noteExpiry(e.expires)
			} else {
				c.removeLocked(sh, key)
			}
		}
		sh.mu.Unlock()
	}
}

func (c *core) shardIndex(key string) int {
	return int(maphash.String(c.seed, key) & (shardCount - 1))
}

func (c *core) shard(key string) *shard {
	return &c.shards[c.shardIndex(key)]
}

func (c *core) userShard(user string) *userShard {
	return &c.users[maphash.String(c.seed, user)&(shardCount-1)]
}

func nowNano() int64 {
	return time.Now().UnixNano()
}

// unixNano is t.UnixNano, clamped to the int64 range that UnixNano leaves
// undefined outside (years before 1678 or after 2261): the zero time is
// long past, not some arbitrary instant.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)
