// Package compare measures the trade-offs between ways of keeping a web
// session: a server-side session (serverstore, in memory and on Redis), a
// sealed cookie (cookiesession), JWTs (HS256 and EdDSA, with
// github.com/golang-jwt/jwt/v5), a signed but readable cookie (gorilla
// securecookie with a hash key only) and a plain base64 JSON cookie.
//
// Every mechanism implements Mechanism: issue a token for a user and a set
// of values, verify a token back to them, log out, and, where the mechanism
// can, log a user out everywhere, rotate its keys, and run as a second
// instance that shares only configuration. All of them run behind
// net/http handlers driven by httptest, so the bytes measured are the bytes
// of the real Set-Cookie and Cookie headers; the library's own mechanisms
// run through a real session.Manager.
//
// Run executes the experiments (wire size, largest session that fits one
// cookie, CPU, server-side state, tampering, confidentiality, revocation,
// scale, key rotation and expiry) and returns a Report, whose Markdown
// method writes the document users read and whose charts are hand-written
// SVG. The command
//
//	go run ./compare/cmd/compare
//
// prints the report and rewrites docs/comparison.md and its charts.
//
// Nothing in the report is written by hand: every cell is the outcome of
// an experiment run against the real implementation, and the package's
// tests check that the experiments observe what the mechanisms really do.
package compare
