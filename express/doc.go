// Package express shares sessions with an Express app: a Go service and
// an app on express-session 1.19 serve one site with the same sessions,
// in both directions, so that a site can move from Express to Go route by
// route with no one logged out (docs/migrating-from-express.md).
//
// A Store reads and writes what express-session does: its signed cookie
// (connect.sid by default; "s:" + session ID + "." + an HMAC-SHA256 of
// the ID, URL-encoded, signed with the first of the app's secrets and
// verified against all of them) and the records of the app's Node
// session store, through a Backend for each of the stores the guides
// name:
//
//   - NewRedis: connect-redis 10, a JSON string under "sess:" + ID with a
//     TTL (go-redis v9);
//   - NewPostgres: connect-pg-simple 10, a row of the table "session"
//     (sid, sess json, expire) (pgx v5);
//   - NewMongo: connect-mongo 6, a document of the collection "sessions"
//     (_id, session as a JSON string, expires) (the official driver v2).
//
// Set the Store up with the same secrets, cookie settings and store
// options as the Express app, and a Manager to match (Store.Configure
// does it; the Manager's Handler panics, naming each difference, if it
// does not match):
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
//	backend, err := express.NewRedis(client) // connect-redis's defaults: prefix "sess:", ttl one day
//	if err != nil { ... }
//	store, err := express.New(backend, strings.Split(os.Getenv("SESSION_SECRET"), ","),
//		express.WithCookie(session.CookieOptions{Name: "connect.sid", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}),
//		express.WithMaxAge(24*time.Hour)) // express-session's cookie.maxAge
//	if err != nil { ... }
//	m := session.New(store)
//	store.Configure(m) // session.JSON, the cookie, the idle limits
//	http.ListenAndServe(addr, m.Handler(mux))
//
// The values are express-session's: the members of the session object but
// "cookie", as JSON (the Manager's Codec is session.JSON): GetAs decodes
// them into Go types (a number into an int, an ISO string into a
// time.Time), and a value the Go side does not change is written back
// byte for byte, in its place. express-session's cookie object is kept as
// Express wrote it, its expiry kept up to date.
//
// What holds for both apps:
//
//   - Renew on the Go side and regenerate on the Express side both end
//     the old session ID, for both apps; Destroy and destroy both end the
//     session for both.
//   - A session ends when the Node store lets it expire, which
//     express-session pushes back on every use by its cookie.maxAge (or
//     the store's TTL): the Manager's IdleTimeout. express-session has no
//     absolute lifetime, so in this mode Manager.Lifetime bounds only how
//     far one save extends a session (see Store.Check).
//   - A secret rotation, done on both sides (the new secret first), logs
//     no one out.
//
// The trade-offs of this mode, which the library's native server-side
// stores (serverstore) do not have:
//
//   - The session ID is stored as Express stores it, not hashed: a copy
//     of the store's keys (a dump, a replica, KEYS *) holds IDs that,
//     signed with the secret, resume their sessions. The values are not
//     sealed either.
//   - The values' types are JSON's.
//   - Concurrent writes of one session are last-write-wins on the
//     Express side, as in connect-redis: express-session saves the whole
//     session it loaded. The Go side writes with a compare-and-set on the
//     stored JSON and merges its changes key by key into what is stored,
//     so that concurrent Go requests lose nothing (on MongoDB; on
//     FerretDB 1.x, whose compare-and-set is not atomic, they may).
//   - Session.SetUser's tag and Session.SetDeadline's deadline, which
//     express-session has no place for, are kept under MetaKey in the
//     session object; the Express side keeps them but does not enforce
//     the deadline.
//   - Session.ID is a hash of the session ID, stable for one session ID
//     and new with each (a session the Go side creates has it from its
//     first save on; before, the Manager's provisional one); the session
//     ID itself is a bearer secret and never shown.
//   - There is no user index: serverstore's ListUser and DestroyUser have
//     no counterpart.
//
// The end of a migration, once Express is retired, moves the sessions to
// the library's native format, still with no one logged out: see
// docs/migrating-from-express.md.
package express
