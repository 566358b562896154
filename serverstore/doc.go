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
// characters, 256 bits of entropy. The backend never sees it. It stores
// the record under the token's key: the lowercase hex SHA-256 of the 32
// raw bytes (not of the 43 characters), 64 characters. So a dump of the
// backend, a replica or a KEYS * lists sessions without giving anyone a
// token to resume them with. No salt or slow hash is needed: there is
// nothing to guess in 256 random bits.
//
// A token that is not well formed (not 43 characters of the base64url
// alphabet decoding to exactly 32 bytes) is rejected before the backend is
// asked: it loads nothing, and costs nothing. Errors never quote a token or
// a key.
//
// # Records
//
// The record is stored in a compact, versioned binary layout (see
// record.go), with the expiry and user tag also handed to the backend
// beside it, for native TTLs and the user index. A record that does not
// parse is treated as absent, never served in part; one past its Expires
// is never served, whatever the backend's own clock says.
//
// # Concurrent requests
//
// Two requests of one session (a page and its XHRs, two tabs) may run at
// once and each change it. The Manager does not save a request's whole
// copy over the other's: it calls Store.Update, which reads the record as
// stored now and applies this request's changes to it key by key. Changes
// to different keys both survive. For the same key the request that saves
// last wins. With a backend that implements Transactor the read and write
// are one atomic step; with one that does not, a write landing between
// them can still be lost. A backend that implements HintedTransactor
// (redisstore) skips that read: it is handed the record the request
// loaded, and writes only if the stored record is still that one, which
// is the usual case; otherwise it reads and applies the changes again. A
// session destroyed by one request is not brought back by another that
// saves after it.
//
// # Logging a user out everywhere
//
// Tag a session with its user when they log in, with Session.SetUser (and
// Renew, against session fixation). Then, with a backend that implements
// UserIndex:
//
//   - Store.ListUser lists the user's live sessions ("your devices"),
//   - Store.DestroyHandle ends one of them ("sign out that device"),
//   - Store.DestroyUser ends them all ("log out everywhere", after a
//     password change, say).
//
// A request of a destroyed session that is in flight at that moment does
// not revive it, whatever it does (a Put, a Clear, a Renew): its save
// finds the record gone and expires its cookie, and a Renew moves only a
// record that is still there (see Renamer and Store.DestroyUser).
//
// A Renew is not merged: the session moves to its new token as the
// renewing request has it, and a change that another request of the same
// session saved in the meantime is lost. Renew at login, when no other
// request of the session is changing it.
package serverstore
