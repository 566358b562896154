// Package memstore is the embedded, in-process serverstore.Backend: the
// default for a single server, for development and for tests.
//
//	store := serverstore.New(memstore.New())
//	m := session.New(store)
//
// Sessions live in this process's memory: they are lost on restart and not
// shared between processes; use redisstore, pgstore, mysqlstore or
// boltstore for that.
//
// The entries are spread over 64 shards by a hash of their key, each with
// its own lock, so requests of different sessions rarely wait for each
// other. A second set of 64 shards, by a hash of the user ID, indexes the
// entries tagged with a user (see serverstore.Store.ListUser); it is
// changed only while the entry's own shard is locked, so it never
// disagrees with the entries for longer than one operation.
//
// Expired entries are never returned, and a sweeper goroutine removes them
// every minute (WithSweepInterval). Store.Close stops it; a Store that is
// dropped without Close stops its sweeper when it is garbage collected.
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
// store needs, for about 4 KB of empty shards.
const shardCount = 64

// DefaultSweepInterval is how often expired entries are removed unless
// WithSweepInterval says otherwise.
const DefaultSweepInterval = time.Minute

// ErrFull is returned (wrapped by serverstore) by a write that would add
// an entry to a Store holding WithMaxEntries entries, none of which has
// expired. Nothing is written. Existing sessions keep working; only new
// ones are refused until some expire or are deleted.
var ErrFull = errors.New("memstore: full: the MaxEntries limit is reached and no entry has expired")

// Store is an in-memory serverstore.Backend. It implements
// serverstore.UserIndex, serverstore.Transactor and serverstore.Renamer.
// Make one with New; it is safe for concurrent use.
type Store struct {
	*core
}

var (
	_ serverstore.Backend    = (*Store)(nil)
	_ serverstore.UserIndex  = (*Store)(nil)
	_ serverstore.Transactor = (*Store)(nil)
	_ serverstore.Renamer    = (*Store)(nil)
)

// core is the state of a Store. The sweeper refers to it, not to the
// Store, so that a Store dropped without Close can be collected and its
// sweeper stopped (see package sweep).
type core struct {
	seed   maphash.Seed
	shards [shardCount]shard
	users  [shardCount]userShard

	maxEntries int64        // 0: no limit
	count      atomic.Int64 // entries held, expired ones not yet swept included

	// earliest is a lower bound on the Expires (Unix nanoseconds) of every
	// entry held. While it lies in the future nothing has expired, and a
	// sweep, periodic or forced by a full store, can be skipped at no cost.
	earliest atomic.Int64

	sweepMu sync.Mutex // serializes sweeps, so earliest is reset by one at a time
	sweeper *sweep.Sweeper
}

type shard struct {
	mu sync.RWMutex
	m  map[string]entry
}

type entry struct {
	data    []byte
	expires int64 // Unix nanoseconds
	user    string
}

func (e *entry) live(now int64) bool {
	return now < e.expires
}

// userShard maps user IDs to the set of their keys. Lock order: an entry
// shard first, then a user shard; a user shard is never held while
// waiting for another lock.
type userShard struct {
	mu sync.Mutex
	m  map[string]map[string]struct{}
}

// Option configures a Store made by New.
type Option func(*config)

type config struct {
	interval   time.Duration
	maxEntries int
}

// WithSweepInterval sets how often the sweeper removes expired entries. A
// sweep that finds nothing expired costs nothing: the Store keeps a bound
// on the earliest expiry. d <= 0 means DefaultSweepInterval.
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) { c.interval = d }
}

// WithMaxEntries caps how many entries the Store holds, to bound its
// memory. When it is full, a write that would add an entry first removes
// the expired ones; if none has expired, the write fails with ErrFull.
// Live sessions are never evicted to make room: evicting them would let
// anyone who can create sessions log every other user out, while refusing
// new ones keeps the damage to new sessions and makes it visible. n <= 0
// means no limit, the default.
func WithMaxEntries(n int) Option {
	return func(c *config) { c.maxEntries = n }
}

// New returns an empty Store and starts its sweeper. Call Close to stop
// the sweeper when the Store is no longer needed.
func New(opts ...Option) *Store {
	cfg := config{interval: DefaultSweepInterval}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.interval <= 0 {
		cfg.interval = DefaultSweepInterval
	}
	c := &core{
		seed:       maphash.MakeSeed(),
		maxEntries: int64(max(cfg.maxEntries, 0)),
	}
	c.earliest.Store(math.MaxInt64)
	for i := range c.shards {
		c.shards[i].m = map[string]entry{}
		c.users[i].m = map[string]map[string]struct{}{}
	}
	c.sweeper = sweep.Start(cfg.interval, func(context.Context) bool {
		c.sweep()
		return true
	})
	s := &Store{c}
	sweep.StopWith(s, c.sweeper)
	return s
}

// Close stops the sweeper and waits for it to return. It is safe to call
// more than once and always returns nil. The Store keeps working after
// Close; expired entries are then still never returned, but stay in
// memory until overwritten or deleted.
func (s *Store) Close() error {
	s.sweeper.Stop()
	return nil
}

// Len returns how many entries the Store holds, including expired ones
// not yet swept: the number WithMaxEntries limits.
func (s *Store) Len() int {
	return int(s.count.Load())
}

// Find implements serverstore.Backend. It returns a copy of the data.
func (s *Store) Find(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	sh := s.shard(key)
	sh.mu.RLock()
	e, ok := sh.m[key]
	if !ok || !e.live(nowNano()) {
		sh.mu.RUnlock()
		return nil, false, nil
	}
	data := clone(e.data)
	sh.mu.RUnlock()
	return data, true, nil
}

// Commit implements serverstore.Backend. It stores a copy of e.Data. An
// entry already expired is not stored: key is deleted instead. Adding a
// key to a full Store fails with ErrFull (see WithMaxEntries).
func (s *Store) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.withRoom(func() error {
		sh := s.shard(key)
		sh.mu.Lock()
		defer sh.mu.Unlock()
		return s.putLocked(sh, key, e, false)
	})
}

// Delete implements serverstore.Backend.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s.removeLocked(sh, key)
	return nil
}

// Update implements serverstore.Transactor. fn runs with key's shard
// locked, so it must be quick and must not call the Store; it receives a
// copy of the data. fn may run twice when the Store is full (once before
// and once after expired entries are swept to make room).
func (s *Store) Update(ctx context.Context, key string, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.withRoom(func() error {
		sh := s.shard(key)
		sh.mu.Lock()
		defer sh.mu.Unlock()
		var data []byte
		cur, found := sh.m[key]
		if found = found && cur.live(nowNano()); found {
			data = clone(cur.data)
		}
		e, write, err := fn(data, found)
		if err != nil || !write {
			return err
		}
		return s.putLocked(sh, key, e, false)
	})
}

// Rename implements serverstore.Renamer: with both keys' shards locked,
// oldKey is removed and e stored under newKey, if oldKey holds a live
// entry; otherwise it returns serverstore.ErrNotFound.
func (s *Store) Rename(ctx context.Context, oldKey, newKey string, e serverstore.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.withRoom(func() error {
		a, b := s.shardIndex(oldKey), s.shardIndex(newKey)
		// Lock in index order, so that two renames cannot deadlock.
		first, second := &s.shards[min(a, b)], &s.shards[max(a, b)]
		first.mu.Lock()
		defer first.mu.Unlock()
		if second != first {
			second.mu.Lock()
			defer second.mu.Unlock()
		}
		if old, ok := s.shards[a].m[oldKey]; !ok || !old.live(nowNano()) {
			return serverstore.ErrNotFound
		}
		if oldKey != newKey && s.dropLocked(&s.shards[a], oldKey) {
			// newKey takes oldKey's place in the count, so renewing a
			// session works even in a full Store.
			return s.putLocked(&s.shards[b], newKey, e, true)
		}
		return s.putLocked(&s.shards[b], newKey, e, false)
	})
}

// FindUser implements serverstore.UserIndex. It returns copies of the data
// of userID's live entries.
func (s *Store) FindUser(ctx context.Context, userID string) (map[string][]byte, error) {
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
			found[key] = clone(e.data)
		}
		sh.mu.RUnlock()
	}
	return found, nil
}

// DeleteUser implements serverstore.UserIndex. Entries tagged with userID
// while it runs may survive it.
func (s *Store) DeleteUser(ctx context.Context, userID string) (int, error) {
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

// errNoRoom is putLocked's signal to withRoom that the Store is full.
var errNoRoom = errors.New("memstore: no room")

// withRoom runs op, a write that returns errNoRoom if it needs a new entry
// in a full Store. It then sweeps expired entries, which needs every
// shard's lock and so cannot happen inside op, and runs op once more.
func (c *core) withRoom(op func() error) error {
	err := op()
	if err != errNoRoom {
		return err
	}
	c.makeRoom()
	if err = op(); err == errNoRoom {
		return ErrFull
	}
	return err
}

// putLocked stores e under key; the caller holds sh's lock. held says
// the caller already counted one entry for it (a rename moving an entry
// over); otherwise a new key must reserve its place, and putLocked returns
// errNoRoom, having changed nothing, if there is none.
func (c *core) putLocked(sh *shard, key string, e serverstore.Entry, held bool) error {
	exp := unixNano(e.Expires)
	if exp <= nowNano() {
		c.removeLocked(sh, key)
		if held {
			c.count.Add(-1)
		}
		return nil
	}
	old, exists := sh.m[key]
	switch {
	case exists && held:
		c.count.Add(-1) // two entries became one
	case !exists && !held && !c.reserve():
		return errNoRoom
	}
	sh.m[key] = entry{data: clone(e.Data), expires: exp, user: e.UserID}
	if !exists || old.user != e.UserID {
		if exists {
			c.unindex(old.user, key)
		}
		c.index(e.UserID, key)
	}
	c.noteExpiry(exp)
	return nil
}

// removeLocked deletes key, if present, with its index entry; the caller
// holds sh's lock.
func (c *core) removeLocked(sh *shard, key string) {
	if c.dropLocked(sh, key) {
		c.count.Add(-1)
	}
}

// dropLocked is removeLocked leaving the count to the caller. It reports
// whether key was there.
func (c *core) dropLocked(sh *shard, key string) bool {
	e, ok := sh.m[key]
	if ok {
		delete(sh.m, key)
		c.unindex(e.user, key)
	}
	return ok
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
		}
	}
	us.mu.Unlock()
}

// reserve counts one more entry, unless the Store is full. It is exact
// under concurrency: two writers cannot both take the last place.
func (c *core) reserve() bool {
	for {
		n := c.count.Load()
		if c.maxEntries > 0 && n >= c.maxEntries {
			return false
		}
		if c.count.CompareAndSwap(n, n+1) {
			return true
		}
	}
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

// makeRoom sweeps a full Store, unless a sweep made room meanwhile or
// nothing can have expired. Writers of a full Store thus wait for one
// sweep between them, and when every entry is live they get ErrFull
// without any scan: flooding a full Store costs it nothing.
func (c *core) makeRoom() {
	c.sweepMu.Lock()
	defer c.sweepMu.Unlock()
	if c.count.Load() < c.maxEntries {
		return
	}
	c.sweepLocked()
}

// sweep removes expired entries. It holds one shard's lock at a time, so
// requests wait at most for the sweep of one shard.
func (c *core) sweep() {
	c.sweepMu.Lock()
	defer c.sweepMu.Unlock()
	c.sweepLocked()
}

// sweepLocked is sweep with sweepMu held.
func (c *core) sweepLocked() {
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

func clone(b []byte) []byte {
	return append([]byte{}, b...)
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

// Local implements serverstore.LocalBackend: it reports true, as a Store
// keeps everything in memory and waits only on its own locks, never on I/O.
// A session.Manager then does not bound its calls by StoreTimeout.
func (*Store) Local() bool { return true }

var _ serverstore.LocalBackend = (*Store)(nil)
