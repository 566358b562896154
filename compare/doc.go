// Package compare measures the trade-offs between ways of keeping a web
// session: a server-side session (serverstore, in memory and on Redis), a
// sealed cookie (cookiesession), JWTs (github.com/golang-jwt/jwt/v5) both
// long-lived and in the deployment their guides teach (a 15-minute access
// token, a rotating refresh token and a denylist in Redis), a signed but
// readable cookie (gorilla securecookie with a hash key only) and a plain
// base64 JSON cookie.
//
// Every mechanism implements Mechanism over each transport it allows: a
// cookie, or an "Authorization: Bearer" header (the library's
// session.TransportHeader for its own mechanisms). A mechanism issues a
// token for a user and a set of values, verifies a token back to them,
// logs out, and, where it can, refreshes, logs a user out everywhere,
// rotates its keys, and runs as a second instance that shares only
// configuration. All of them run behind net/http handlers driven by
// httptest, so the bytes measured are the bytes of the real headers; the
// library's own mechanisms run through a real session.Manager with its
// defaults. A Clock lets the server see a later time, so that windows of
// hours are measured in seconds without waiting for them.
//
// Run executes the experiments (bytes per request and per response,
// largest session, token size against payload, bandwidth at scale, CPU,
// store work per request, tampering, what a token shows, replay windows
// after logout and after a theft, revocation, refresh, scale-out, key
// rotation, expiry) and, with Options.Browser, the browser experiments of
// RunBrowser in the system Chromium (XSS, CSRF). It returns a Report,
// whose Markdown method writes the document users read, whose Summary is
// the README's paragraph, and whose charts are hand-written SVG. The
// command
//
//	go run ./compare/cmd/compare
//
// prints the report and rewrites docs/comparison.md, its charts and the
// README's summary.
//
// Nothing in the report is written by hand: every cell, and every sentence
// that states a result, comes from an experiment of the run against the
// real implementation, and the package's tests check that the experiments
// observe what the mechanisms really do.
package compare
