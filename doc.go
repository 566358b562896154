// Package session gives net/http handlers a per-user session, kept either
// sealed in the cookie itself or on the server, behind one API.
//
// A Manager is middleware: wrap your handlers with Manager.Handler, and get
// the request's Session with Manager.Get (or FromContext, from code that has
// only the context). The session is loaded only when a handler touches it,
// and saved, if it changed, just before the response's first byte goes out.
//
// Where the data lives is the Store's business:
//
//   - cookiesession.Store seals the whole session into the cookie with
//     XChaCha20-Poly1305. No server state at all, so any number of servers
//     sharing the keys can serve any request; but a cookie cannot be revoked
//     before it expires, and sessions must stay small (a few KB).
//   - serverstore.Store keeps the data on the server (in memory, Redis,
//     PostgreSQL, MySQL/MariaDB or a bolt file) and puts only a random ID in
//     the cookie: instant revocation, "log out everywhere", no size limit.
//
// # Quick start
//
//	keys, err := cookiesession.ParseKeys(os.Getenv("SESSION_KEYS")) // "base64key1,base64key2"
//	if err != nil {
//		log.Fatal(err) // SESSION_KEYS unset or not valid
//	}
//	store, err := cookiesession.New(keys...)
//	if err != nil {
//		log.Fatal(err)
//	}
//	m := session.New(store)
//	m.IdleTimeout = 30 * time.Minute
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
//		s := m.Get(r)
//		s.Put("visits", s.GetInt("visits")+1)
//		fmt.Fprintf(w, "visit %d", s.GetInt("visits"))
//	})
//	log.Fatal(http.ListenAndServe(":8080", m.Handler(mux)))
//
// # Security defaults
//
// New sets a cookie that is HttpOnly, Secure and SameSite=Lax, a 24-hour
// absolute Lifetime, and enforces every deadline on the server side, from
// inside the seal or the stored record, whatever the browser does with the
// cookie. Call Session.Renew at login, so that a session ID planted before
// it is worthless after it.
//
// # Values
//
// Values keep their Go types with the default codec (CBOR): string, bool,
// the integer and float types, []byte, time.Time, []string, []any,
// map[string]any and nested combinations come back exactly as they were
// put. A struct of your own comes back into its type through GetAs, or from
// Get once its type is registered with Register.
package session
