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
// give the cookiesession store the old keys with
// AcceptGorilla: it reads the old cookies and replaces
// each with a sealed one on its first response. docs/migrating-from-gorilla.md
// walks through a migration.
//
// # Differences from gorilla's stores
//
//   - A cookie that is tampered with, forged, expired or undecodable is a
//     new session (IsNew true) and no error. Gorilla's stores return a
//     decoding error with the new session; code that checks the error
//     keeps working, it just no longer sees one for a bad cookie. An error
//     now means the store could not answer (a backend that is down), and
//     Save then refuses to overwrite the real session.
//   - Values keys must be strings: Save fails, saving nothing, on a key of
//     another type, naming it. Gorilla accepts any gob-encodable key.
//   - Values are encoded by the Manager's Codec (CBOR by default), not gob.
//     Register your own types with session.Register instead of
//     gob.Register (it does both): a registered type comes back from
//     Values as it was put, pointer or not; an unregistered struct comes
//     back from Values as a map[string]any, and in its own type through
//     session.GetAs on the native session.
//   - Store.Options.MaxAge is the Manager's Lifetime, an absolute limit
//     counted from the session's creation; gorilla's CookieStore counts
//     its MaxAge again from each save. For an idle limit as well, set
//     IdleTimeout through WithManager. A session's own Options.MaxAge
//     chooses, at Save, between ending the session (< 0), a
//     browser-session cookie (0) and a persistent cookie (> 0, lasting as
//     long as the session); its other per-session Options are not read.
//   - Store.Options default to HttpOnly and SameSite Lax; gorilla's
//     CookieStore defaults to SameSite None and no HttpOnly.
//   - Session.ID is the session's random ID, set for every session, safe to
//     log; it is not the token the cookie carries.
//   - Flashes (AddFlash, Flashes) work as in gorilla, kept among the values
//     under "_flash" or the key given; they are separate from the flashes
//     of this library's own session.Session.AddFlash.
//   - A session's cookie may be split into several (name, name.1, ...)
//     when a sealed session outgrows one cookie.
//   - Renewal against session fixation, which gorilla's API lacks: call
//     Store.Renew at login, or let WithUserKey renew the session whenever
//     the user ID the application keeps in Values changes.
package gorillastore
