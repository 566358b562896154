// Package serverstore keeps sessions on the server: the cookie carries only
// a random token, and the session itself lives in a Backend (memory,
// Redis, PostgreSQL, MySQL, a bolt file).
//
//	store := serverstore.New(memstore.New())
//	m := session.New(store)
//	http.ListenAndServe(addr, m.Handler(mux))
//
// Compared with the sealed cookies of package cookiesession, a server-side
// session can be revoked (Destroy, DestroyUser), can hold more than a
// cookie, and never leaves the server; it costs one backend read per
// request that uses its session, and a write only when the session changed
// (or when a rolling IdleTimeout deadline needs extending).
//
// # Tokens and keys
//
// A token is 32 bytes from crypto/rand in base64url without padding: 43
// characters, 256 bits of entropy. The backend never sees it: it stores
// the record under the token's key, the lowercase hex SHA-256 of the 32
// raw bytes, so a dump of the backend lists sessions without giving anyone
// a token to resume them with. A malformed token loads nothing and costs no
// backend call. Errors never quote a token or a key.
//
// # Concurrent requests
//
// Two requests of one session (a page and its XHRs, two tabs) may run at
// once and each change it. The Manager merges each request's changes key by
// key into the record as stored (Store.Update, one atomic step of the
// backend), so changes to different keys both survive; for the same key
// the request that saves last wins. A session destroyed by one request is
// not brought back by another that saves after it.
//
// # Logging a user out everywhere
//
// Tag a session with its user at login with Session.SetUser (which renews
// it, against session fixation). Then, with a backend that keeps a
// UserIndex (every backend of this module does):
//
//   - Store.ListUser lists the user's live sessions ("your devices"),
//   - Store.DestroyHandle ends one of them ("sign out that device"),
//   - Store.DestroyUser ends them all ("log out everywhere").
//
// And with a backend that is a Scanner (every backend of this module):
// Store.All lists every session, streaming, Store.Count counts them, and
// Store.DestroyAll ends them all. A request of a destroyed session that is
// in flight does not revive it.
//
// How the pieces fit, and why, is in docs/design.md.
package serverstore
