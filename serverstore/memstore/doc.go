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
// every minute (WithSweepInterval). Backend.Close stops it; a Backend that is
// dropped without Close stops its sweeper when it is garbage collected.
//
// # Bounded memory
//
// A client without a cookie that reaches a handler writing to its session
// makes a new entry per request, so a Backend bounds the memory its entries
// take: DefaultMaxBytes (64 MiB) unless WithMaxBytes sets another bound,
// or removes it with 0. The bound is in bytes rather than entries because
// bytes are what runs out, and sessions range from a hundred bytes to tens
// of kilobytes: a count that suits small ones lets large ones take a
// hundred times the memory. Counting bytes costs at most one atomic add
// per write.
// The bound counts an estimate of each entry (its data, key and user ID,
// plus about 240 bytes of maps, rings and allocation slack; a signed-in
// entry and each signed-in user add some more for the user index), not
// the heap itself: measured on Go 1.26 with sessions of 100 bytes to
// 16 KB, anonymous and signed-in, the live heap of a Backend filled to its
// bound came to 0.79 to 1.02 times the bound. The process's resident
// memory can reach about twice its live heap with the default GOGC.
// WithMaxEntries adds a bound on the number of entries.
//
// A write that takes the Backend past a bound evicts other entries before it
// returns: anonymous ones (no user ID) first, and signed-in ones only when
// no anonymous one is left; within each, expired entries first, then the
// least recently used. A flood of new sessions thus displaces other
// anonymous sessions, never a signed-in one while any anonymous one is
// left, and new sessions and logins keep working; no write is refused
// except one that alone passes the byte bound (ErrFull). Evicting a live
// signed-in session logs its user out: the Backend then logs a warning
// through slog.Default (at most one a minute, counting the evictions since
// the last; never a key or a user ID), and Evicted counts it. Either means
// the bound is too small for the sessions the application keeps: raise
// it, or use a shared store.
//
// Writes (Commit, Update, Rename) count as uses, and so do reads (Find)
// once the Backend has held a quarter of a bound: before that nothing is
// near eviction, and Find skips the bookkeeping, which would cost it
// about 3 %. Least recently used is approximate, as in Redis's
// allkeys-lru: each entry carries the time of its last use, to 10 ms,
// which Find updates with an atomic store under the shard's read lock;
// eviction removes the least recently used of 16 entries sampled from at
// least 4 shards. That is the least recently used entry of its class
// exactly when the class has 16 entries or fewer, and among its oldest
// 6 % on average otherwise. While writes are in flight the bounds may be
// passed by the entries they are adding; they hold again once those
// writes have returned.
package memstore
