// Package redisstore keeps server-side sessions in Redis: a single node,
// a primary managed by Sentinel, or a Redis Cluster, unchanged, through
// whichever redis.UniversalClient (github.com/redis/go-redis/v9) it is
// given.
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
//	// or redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "mymaster", SentinelAddrs: ...})
//	// or redis.NewClusterClient(&redis.ClusterOptions{Addrs: ...})
//	m := session.New(serverstore.New(redisstore.New(client)))
//	http.ListenAndServe(addr, m.Handler(mux))
//
// A Backend implements serverstore.Backend, serverstore.UserIndex (list a
// user's sessions, log them out everywhere) and serverstore.Scanner
// (Store.All, Count and DestroyAll). It needs Redis 7.0 or newer.
//
// # Keys
//
// With the default prefix "session:", a session and a user's index are
//
//	session:s:{<key>}     a hash: the record, its user ID, expiry and version
//	session:u:{<userID>}  a sorted set: the keys of the user's sessions
//
// where <key> is what serverstore hands a backend: the hex SHA-256 of the
// session token. No key or value holds a token, so a dump, a replica or a
// KEYS * gives nobody a session. User IDs are stored as they are, in key
// names and values: choose IDs you are content to see there (an internal
// number rather than an e-mail address, say). Several applications can
// share one Redis under different prefixes (WithPrefix); keep '{' and '}'
// out of a prefix, as a Redis Cluster would take a hash tag from it.
//
// Every command, transaction and script touches exactly one key, so
// nothing fails with CROSSSLOT on a cluster, "log out everywhere" and
// renewal included.
//
// # Expiry
//
// A session is written with its Entry.Expires, to the millisecond
// (rounded down), as the key's native PEXPIREAT: Redis deletes it then, no
// sweeper needed. An entry whose Expires has already passed is not stored;
// its key is deleted. The expiry is kept in the hash as well, and Find,
// Update and Scan check it by the application's clock, so a session is
// never served after its Expires even if Redis's clock runs behind.
//
// # Concurrency
//
// Update is an optimistic compare-and-set on a version of the session,
// retried on conflict up to WithMaxRetries times (then it returns
// serverstore.ErrConflict); with the hint serverstore.Store passes, a
// request that changes its session costs two round trips in all, its
// load included. Rename commits the new key, then ends the old one if it
// is still live, undoing the first step if it was not: one of the two is
// live at every moment, so a DestroyUser racing a renewal finds it. After
// any mix of concurrent writes, every live session of a user is in that
// user's index.
//
// Scan, Count and DeleteAll go over the keys under the Backend's prefix
// with SCAN, in batches of about a hundred, on every primary of a
// cluster: memory stays flat however many sessions there are, and keys
// of other prefixes are never touched. Scan may yield a key twice in the
// rare cases where Redis's SCAN returns one twice (see Backend.Scan).
//
// # Timeouts and contexts
//
// The Backend sets no timer of its own: each call is bounded by the
// client's timeouts, DialTimeout, ReadTimeout, WriteTimeout and
// PoolTimeout (in go-redis 9.22, 5 s, 5 s, ReadTimeout, and ReadTimeout +
// 1 s by default), for each of its attempts (MaxRetries), so a call to a
// server that stalls fails after those rather than hangs. Set them to
// what a request can afford to wait.
//
// Set ContextTimeoutEnabled as well (the examples and the tests do): then
// go-redis also honours the context of each call at the socket, so a
// request's deadline, or its cancellation when the client hangs up, ends
// a call at once. Without it, go-redis checks the context only between
// commands (before taking a connection, between retries), and a call on
// a silent connection runs for the full ReadTimeout whatever the
// context's deadline.
//
// Errors name the operation and carry go-redis's error; they never quote
// a key, a user ID or data. On a cluster client, an error that may mean
// the topology changed (an unreachable node, CLUSTERDOWN) also makes the
// client reload its slot map, so that requests reach a promoted replica
// within a second or two rather than at go-redis's next periodic reload.
//
// Redis replicates asynchronously: if a primary fails over, writes it
// acknowledged just before may be lost, a deletion (a logout) included;
// under Sentinel, even a planned failover loses about a second of writes
// (docs/scaling.md has the measurements). That is Redis's trade-off, not
// the Backend's; see WAIT, min-replicas-to-write and the Redis
// persistence documentation if it matters to you.
//
// How the index is kept without cross-slot transactions, the scripts, and
// the round trips of each operation are in docs/design.md.
package redisstore
