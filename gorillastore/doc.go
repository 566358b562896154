// Package gorillastore lets an application written against
// github.com/gorilla/sessions run on this library by changing one line,
// the store constructor:
//
//	store := sessions.NewCookieStore(hashKey, blockKey) // before
//
//	sealed, err := cookiesession.New(keys...)           // after
//	if err != nil {
//		log.Fatal(err)
//	}
//	store := gorillastore.New(sealed)
//
// The handlers keep calling store.Get(r, name), reading and writing
// session.Values, and calling session.Save(r, w) or sessions.Save(r, w).
// Any session.Store works underneath: the sealed cookie of cookiesession,
// or a serverstore backend (memory, Redis, PostgreSQL, MySQL, bolt) in place
// of gorilla's FilesystemStore or a third-party gorilla store.
//
// Each gorilla session name is a cookie name, served by its own
// session.Manager (see Store.Manager), made on first use from
// Store.Options and the WithManager options. Several named sessions in one
// request work as in gorilla.
//
// To keep users logged in across the switch from a gorilla CookieStore,
// give the cookiesession store the old keys with AcceptGorilla: it reads
// the old cookies and replaces each with a sealed one on its first
// response. docs/migrating-from-gorilla.md walks through a migration.
//
// # As in gorilla
//
// gin-contrib/sessions' own test suite (its tester package) and
// echo-contrib/session's tests run against this package in the project's
// CI, over a sealed and a server-side store, and pass unchanged; so does
// the session example of Echo's documentation.
//
//   - MaxAge counts from each Save, as gorilla's stores count it: a
//     session ends Options.MaxAge after it was last saved
//     (DefaultMaxAge for a MaxAge of 0 or less, gorilla's browser-session
//     cookies). Under the native API that is the Manager's IdleTimeout,
//     which New sets from Options.MaxAge.
//   - A session's own Options are honoured at Save: its cookie carries its
//     Path, Domain, Secure, HttpOnly, SameSite and Partitioned, and its
//     MaxAge, negative to end it, 0 for a browser-session cookie.
//   - Values come back in the types gob gave back: a T or a *T stored by
//     code that registered the other with gob comes back as the one
//     registered (see Store.Save).
//   - An explicit Save of a new session sets its cookie, even with no
//     values.
//   - Flashes (AddFlash, Flashes) work as in gorilla, kept among the values
//     under "_flash" or the key given; they are separate from the flashes
//     of this library's own session.Session.AddFlash.
//
// # Differences from gorilla's stores
//
//   - Sessions have an absolute limit as well, which gorilla lacks:
//     DefaultLifetime (90 days, or MaxAge if longer) after they began,
//     however active. Set the Manager's Lifetime through WithManager to
//     change it. And a save renews MaxAge only once a tenth of it has
//     passed since the session was last written (the Manager's
//     TouchInterval), so that reads do not cost a write each: a session
//     may end up to MaxAge/10 sooner than under gorilla.
//   - A session's MaxAge never makes it outlive the store's: a longer one
//     keeps the store's limit. A shorter one is the session's own
//     deadline (session.Session.SetDeadline), set afresh at each Save,
//     which also replaces a deadline set through the native API.
//   - Session Options that browsers refuse (SameSite None or Partitioned
//     without Secure, a __Host- or __Secure- name without Secure, a
//     __Host- name with a Domain or a Path other than "/") make Save
//     fail and save nothing; gorilla writes the cookie, which the browser
//     then drops, logging the user out in silence. Store.Options of that
//     kind make the Manager panic when the name is first used, as a
//     misconfigured Manager does.
//   - A cookie that is tampered with, forged, expired or undecodable is a
//     new session (IsNew true) and no error. Gorilla's stores return a
//     decoding error with the new session; code that checks the error
//     keeps working, it just no longer sees one for a bad cookie. An error
//     now means the store could not answer (a backend that is down), and
//     Save then refuses to overwrite the real session.
//   - Values keys must be strings: Save fails, saving nothing, on a key of
//     another type, naming it. Gorilla accepts any gob-encodable key.
//   - Values are encoded by the Manager's Codec (CBOR by default), not gob.
//     Register your types with session.Register in place of gob.Register
//     (it registers them with gob too). Save fails, saving nothing, on a
//     value of a type registered with neither, as gob's encoder does, and
//     also on one registered with gob alone, which would come back from
//     Values as a map.
//   - Store.Options default to HttpOnly and SameSite Lax; gorilla's
//     CookieStore defaults to SameSite None and no HttpOnly.
//   - Session.ID is the session's random ID, set for every session, safe to
//     log; it is not the token the cookie carries.
//   - A session's cookie may be split into several (name, name.1, ...)
//     when a sealed session outgrows one cookie.
//   - Every Set-Cookie with a Max-Age carries Expires too, and a response
//     that sets or clears a session cookie gets Cache-Control private and
//     Vary: Cookie, so that no shared cache stores it.
//   - Renewal against session fixation, which gorilla's API lacks: call
//     Store.Renew at login, or let WithUserKey renew the session whenever
//     the user ID the application keeps in Values changes.
package gorillastore
