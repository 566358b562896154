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
// A Store implements serverstore.Backend, serverstore.UserIndex (list a
// user's sessions, log them out everywhere), serverstore.Transactor
// (atomic read-modify-write of one session) and
// serverstore.HintedTransactor (the same, without the read, when the
// caller knows what the session holds). It needs Redis 7.0 or newer.
//
// # Keys
//
// With the default prefix "session:", a session and a user's index are
//
//	session:s:{<key>}     hash: d = record, u = user ID ("" if none),
//	                            e = expiry (Unix ms), v = version
//	session:u:{<userID>}  sorted set: members = keys of the user's sessions,
//	                            scores = their expiries (Unix ms)
//
// where <key> is what serverstore hands a backend: the hex SHA-256 of the
// session token. No key or value holds a token, so a dump, a replica or a
// KEYS * gives nobody a session. User IDs are stored as they are, in key
// names and in u: choose IDs you are content to see there (an internal
// number rather than an e-mail address, say).
//
// The braces are Redis Cluster hash tags: a session's slot depends only on
// its key, an index's only on its user. Every command, transaction and
// script the Store sends touches exactly one key, so none can fail with
// CROSSSLOT on a cluster, "log out everywhere" included; that is also why
// the Store does not implement serverstore.Renamer (the old and the new
// key of a renewed session lie in different slots, so serverstore commits
// the new one and then deletes the old). Keep '{' and '}' out of the
// prefix: a hash tag in it would put every key of the Store in one slot.
//
// # Expiry
//
// A session is written with its Entry.Expires, to the millisecond
// (rounded down), as the key's native PEXPIREAT: Redis deletes it then, no
// sweeper needed. An entry whose Expires has already passed is not stored;
// its key is deleted. The expiry is kept in the hash as well, and Find
// checks it by the application's clock, so a session is never served
// after its Expires even if Redis's clock runs behind.
//
// # The user index
//
// A session and its user's index live in different slots, so no
// transaction can change both. The index is kept a superset of the live
// sessions instead, and readers check what it lists:
//
//   - A write tagging a session with a user adds it to the user's index
//     first, and only then writes the session. The member's score is the
//     session's expiry and is only ever raised (ZADD GT); the index's own
//     expiry is extended to its latest member's and never shortened
//     (PEXPIREAT NX, then GT). Each such update first drops the members
//     whose score has passed (they name sessions Redis has expired), so
//     an index holds little more than the user's live sessions and
//     disappears by itself after the last one.
//   - A write that changes a session's owner reads the old owner in the
//     same transaction, then removes the key from the old owner's index.
//   - FindUser and DeleteUser verify every member: they serve or delete a
//     session only if it exists, is live, and its u is the user
//     (DeleteUser checks and deletes in one script on the session's
//     slot). Members that fail are removed on the way.
//   - A removal can race with a write that is about to give the session
//     back to that user. So every removal is followed by a re-check of
//     the sessions, and puts back those that are the user's after all;
//     and a write that finds the session had another owner (or none)
//     adds it to the user's index a second time, after writing it.
//     Whichever way the two interleave, the last change to the member is
//     an addition.
//
// After any mix of concurrent writes, deletes, FindUser and DeleteUser
// calls, every live session is listed in its user's index (the tests
// check this on a single node and on a cluster). A DeleteUser racing with
// a login on another device may leave that new session alive, as the
// serverstore documentation allows, but never unlisted.
//
// # Round trips
//
// Pipelines and MULTI/EXEC blocks are one round trip; on a cluster, the
// per-session reads of FindUser and the deletes of DeleteUser go to all
// the nodes concerned in parallel.
//
//	Find                                   1 (one HMGET)
//	Commit, no user                        1
//	Commit, same user as before            2 (index, session)
//	Commit, new user (a login)             3 (index, session, index again)
//	Commit, user changed or removed        +2 (old index, re-check)
//	Delete, or Commit of an expired entry  1, or 3 if the session had a user
//	Update                                 2 (read, compare-and-set), +1 to
//	                                       index a user's session whose expiry
//	                                       grows, then as Commit if the user
//	                                       changed; +1 or 2 per conflict
//	UpdateHinted                           as Update, less the read: 1 for a
//	                                       request that changes its session
//	FindUser                               2 (+2 when members are stale)
//	DeleteUser                             4
//
// # Update
//
// Update is optimistic: it reads the session with its version, calls fn,
// and writes with a script that checks the version is unchanged; if
// another write came in between, the script returns the session as it now
// is, and fn runs again on that (after the first few conflicts, following
// a random pause of up to 128 ms and a fresh read), up to WithMaxRetries
// times; then Update returns serverstore.ErrConflict. It does not use
// WATCH: the user-index write between the read and the write goes to
// another slot, and so would need a second connection while the watching
// one is held, which deadlocks once concurrent Updates hold the whole
// connection pool.
//
// A version is a digest of the session's data, user and expiry, not a
// counter, so that it can be computed as well as read. UpdateHinted, which
// serverstore calls with the record the request loaded, computes the
// version of that record and goes straight to the compare-and-set: a
// request that changes its session costs two round trips in all (the
// load's HMGET and the script), the same as a plain GET and SET, and a
// stale hint costs nothing more than a read would have. The index write
// is skipped when the session already belongs to the user with an expiry
// no earlier than the new one, which is every write of a session without
// an idle timeout.
//
// # Contexts and failures
//
// Every method returns by its context's deadline. go-redis itself stops
// at the deadline only when the client has ContextTimeoutEnabled;
// otherwise a silent server would hold a call for the client's
// ReadTimeout. So, unless the client has ContextTimeoutEnabled and the
// context has a deadline, the Store runs each call on a goroutine of its
// own, returns ctx's error as soon as ctx is done, and leaves the call to
// end in the background, within that ReadTimeout. Every step of every
// operation leaves the index a superset of the live sessions, so an
// operation cut short does no harm beyond not finishing.
//
// Set ContextTimeoutEnabled: the Manager gives every store call a
// deadline (its StoreTimeout), and the Store then calls go-redis on the
// request's goroutine, which saves a goroutine and two wake-ups per call.
// A context cancelled before its deadline (a client that hung up) is then
// noticed between commands rather than during one.
//
// Errors name the operation and carry go-redis's error; they never quote
// a key, a user ID or data.
//
// Redis replicates asynchronously: if a primary fails over, writes it
// acknowledged just before may be lost, a deletion (a logout) included;
// under Sentinel, even a planned failover loses about a second of writes
// (docs/scaling.md has the measurements). That is Redis's trade-off, not
// the Store's; see WAIT, min-replicas-to-write and the Redis persistence
// documentation if it matters to you.
//
// The tests run on a real single node, a real Cluster and a real Sentinel
// setup, and fail a primary over on the Cluster and under Sentinel.
package redisstore
