// Package cookiesession is a stateless session.Store: the whole session
// travels in the cookie, sealed with XChaCha20-Poly1305, and the server
// keeps nothing.
//
// # Use
//
// Make a Store from one or more 32-byte keys and give it to session.New:
//
//	keys, err := cookiesession.ParseKeys(os.Getenv("SESSION_KEYS"))
//	if err != nil {
//		log.Fatal(err)
//	}
//	store, err := cookiesession.New(keys...)
//	if err != nil {
//		log.Fatal(err)
//	}
//	m := session.New(store)
//	http.ListenAndServe(addr, m.Handler(mux))
//
// The Manager's cookie name is sealed into every token (the Manager passes
// it with each call, see session.CookieName), so that a token issued for
// one cookie does not open as another.
//
// # What is sealed
//
// A token holds the session's ID, its creation, last-touched and expiry
// times (to the millisecond), the remember-me flag, the user ID and the
// encoded values. Nothing of it is readable or changeable by the client.
// Load enforces the expiry itself, whatever the browser does with the
// cookie's Max-Age, and rejects tokens created in the future (beyond
// Store.ClockSkew). A token that is tampered with, truncated, sealed for
// another cookie name, under an unknown key, or expired loads as a new,
// empty session: never an error, never a panic, never part of a record.
//
// The exact byte layout, the checks on load and their order, and a test
// vector are in docs/format.md.
//
// # Trade-offs
//
// A sealed cookie cannot be revoked: Delete is a no-op, and a token copied
// before the user logged out stays valid until it expires. Keep Lifetime
// and IdleTimeout short, or use the server-side store (package
// serverstore) when revocation matters.
//
// A token is base64 of 66 bytes plus the session ID, the user ID and the
// encoded values: about 120 characters for a session with no values and
// no user, and 4 more characters for every 3 bytes of values. The Manager
// splits a token longer than one cookie into several, up to its MaxChunks
// limit; Save refuses one longer than MaxTokenLen.
//
// # Migrating from another format
//
// Store.Fallback reads tokens of another format while an application
// moves to this one: a token that does not open as a seal is passed to
// it, and the record it returns is served, and replaced by a seal on that
// response. gorillastore.AcceptGorilla sets it to read the cookies of a
// gorilla/sessions CookieStore, so that nobody is logged out by the
// switch; the reader lives there, so this package builds on
// golang.org/x/crypto and this module's codecs alone.
//
// # Keys
//
// Generate a key with either of
//
//	go run github.com/go-sealed/session/cmd/sessionkey@latest
//	head -c 32 /dev/urandom | base64
//
// and keep it, base64-encoded, in an environment variable such as
// SESSION_KEYS, which ParseKeys reads. Anyone with a key can forge
// sessions for every user: keep keys out of source control and logs.
//
// The first key seals; every key opens. That is how keys rotate without
// logging anyone out. With SESSION_KEYS="old" in production:
//
//  1. Deploy SESSION_KEYS="old,new" on every server. Tokens are still
//     sealed with old, but every server can already open new ones.
//  2. Once all servers run step 1, deploy SESSION_KEYS="new,old". Tokens
//     are now sealed with new; a token sealed with old still opens and is
//     re-sealed with new on that response.
//  3. After the Manager's Lifetime has passed, every token sealed with old
//     has expired: deploy SESSION_KEYS="new".
//
// Skipping step 1 is safe only with a single server: otherwise a server
// still on "old" would reject tokens a server on "new,old" issued. To drop
// a key that has leaked, remove it at once instead: its sessions end.
package cookiesession
