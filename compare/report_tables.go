package compare

import (
	"fmt"
	"strings"
	"time"
)

// measure is one row of the measured tables: its label, what it
// measures (for the list under the tables), and its cell for a row of
// the experiments.
type measure struct {
	label, explain string
	cell           func(*Row) string
	// onlyCookie: the row is about the cookie transport only, or the
	// same whatever the transport; its cells show the cookie's rows.
	onlyCookie bool
}

func row(label, explain string, cell func(*Row) string) measure {
	return measure{label: label, explain: explain, cell: cell}
}

// cookieOnly returns m for the cookie transport only.
func (m measure) cookieOnly() measure {
	m.onlyCookie = true
	return m
}

// section is one of the measured tables, after a row of the guides'
// table.
type section struct {
	title, intro string
	measures     []measure
}

func (rep *Report) mechanisms(p func(string, ...any)) {
	p("## The mechanisms")
	p("")
	p("| mechanism | what it is | transports |")
	p("|---|---|---|")
	for _, s := range rep.Specs {
		var ts []string
		for _, t := range s.Transports {
			ts = append(ts, t.String())
		}
		p("| %s | %s | %s |", s.Name, s.Title, strings.Join(ts, ", "))
	}
	for _, s := range rep.Skipped {
		p("| %s | **not measured**: %s | — |", s.Name, s.Reason)
	}
	p("")
	p("Over the cookie transport every mechanism keeps its token in a cookie named `%s` with the attributes `session.New` sets (`Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age`, and `Expires`), so the bytes differ only by the token; the JWT deployment with refresh tokens adds a `%s` cookie sent only to `%s`. Over the header transport the client sends `Authorization: Bearer <token>`: the library's Manager (`Transport = session.TransportHeader`) hands new tokens out in its `%s` response header, the JWT handlers in a JSON body as OAuth token endpoints do. The library's mechanisms run through a real `session.Manager` with its defaults (values CBOR-encoded, large tokens split into chunks, `Vary` and `Cache-Control` set), because what the Manager writes is what users send; the others are `net/http` handlers written as their documentation shows. Every session lives 24 hours, the Manager's default `Lifetime`; the JWT deployment's access tokens live %s and its refresh tokens 24 hours. Each experiment uses a fresh instance with new keys and an empty backend.",
		CookieName, refreshCookie, refreshPath, tokenHeader, human(int(DefaultAccessTTL/time.Second)))
	p("")
	if len(rep.Skipped) > 0 {
		p("**TODO**: the skipped mechanisms above need their server; set `SESSION_TEST_REDIS_URL` (default `%s`) and run the command again.", DefaultRedisURL)
		p("")
	}
}

// line writes a table line: label, then a cell per mechanism.
func (rep *Report) line(p func(string, ...any), label string, m measure) {
	s := "| " + label + " |"
	for _, sp := range rep.Specs {
		s += " " + rep.cell(sp.Name, m) + " |"
	}
	p("%s", s)
}

// cell is m's cell of the mechanism's rows: one value if every transport
// gave the same, else one per transport.
func (rep *Report) cell(name string, m measure) string {
	f := m.cell
	rows := rep.rowsOf(name)
	if m.onlyCookie {
		rows = nil
		if r := rep.cookieRow(name); r != nil {
			rows = []*Row{r}
		}
	}
	return perTransport(rows, f, "%[2]s: %[1]s", "<br>")
}

func (rep *Report) tables(p func(string, ...any)) {
	p("## Measured")
	p("")
	p("One column per mechanism; where a mechanism ran over both transports and they differ, the cell gives the cookie's and the header's results. The rows are grouped by the guides' four rows; what each measures is listed after the tables.")
	p("")
	n := 0
	for _, sec := range rep.sections() {
		p("### %s", sec.title)
		p("")
		if sec.intro != "" {
			p("%s", sec.intro)
			p("")
		}
		head, sep := "| # | experiment |", "|---|---|"
		for _, s := range rep.Specs {
			head += " " + s.Name + " |"
			sep += "---|"
		}
		p("%s", head)
		p("%s", sep)
		for _, m := range sec.measures {
			n++
			rep.line(p, fmt.Sprintf("%d | %s", n, m.label), m)
		}
		p("")
	}
	p("Harness floor (an issue and a verify through the same httptest round trip doing no session work): %s per issue, %s per verify.", rep.Floor.Issue.cell(), rep.Floor.Verify.cell())
	p("")
}

func (rep *Report) explain(p func(string, ...any)) {
	p("## What each row measures")
	p("")
	n := 0
	for _, sec := range rep.sections() {
		for _, m := range sec.measures {
			n++
			p("%d. %s", n, m.explain)
		}
	}
	p("")
}

// sections are the measured tables.
func (rep *Report) sections() []section {
	bench := "about 1 s"
	if rep.Quick {
		bench = "about 20 ms (quick run: expect noise)"
	}
	browser := func(f func(*BrowserResult) string) func(*Row) string {
		return func(r *Row) string {
			if b := rep.browserOf(r); b != nil {
				return f(b)
			}
			return "not run"
		}
	}
	return []section{{
		title: "Storage: where the session lives, and what carrying it costs",
		measures: []measure{
			row("Request header, small session (bytes)", "The header line the client sends with **every** request after login, in HTTP/1.1 bytes: `Cookie: session=…` (and its chunks) or `Authorization: Bearer …`, name and CRLF included. Small: the user ID only.", func(r *Row) string { return r.Small.cell() }),
			row("… typical session", "Typical: user ID, name, role, CSRF token, login time, a 5-item cart, a theme.", func(r *Row) string { return r.Typical.cell() }),
			row("… large session", "Large: the typical session plus 60 viewed products and a 30-item list, about 3.5 KB of values. *over 4096: dropped* marks a cookie browsers do not store; *over 8190* a header line proxies with common limits refuse; *not saved* a session the library refused to save (`ErrTooLarge`).", func(r *Row) string { return r.Large.cell() }),
			row("Response bytes at login, typical", "What the mechanism adds to the login response: `Set-Cookie` lines (attributes included), the `Session-Token` header or a JSON token body, and the `Vary` and `Cache-Control` lines it sets.", func(r *Row) string { return fmt.Sprint(r.Typical.IssuedBytes) }),
			row("Response bytes on a read-only request", "What it adds to the response of a request that only reads the session (0: nothing). The Manager marks every response that read a session `Vary: Cookie` or `Vary: Authorization`, so that no cache serves one user's page to another.", func(r *Row) string { return fmt.Sprint(r.ReadResponse) }),
			row("Largest payload in one 4096-byte cookie", "Found by bisection on the size of an incompressible payload: the largest payload whose session is set in a single cookie of at most 4096 bytes (cookie transport). *no limit*: 64 KiB still fit, the token does not grow.", func(r *Row) string { return r.Fit.cell("cookie") }).cookieOnly(),
			row("Largest payload saved and passed by a proxy", "The largest payload whose session is saved, every cookie of it within 4096 bytes, and whose request header line is within 8190 bytes (Apache's default `LimitRequestFieldSize`, and the `Cookie` budget of the library's defaults, `session.DefaultMaxBytes`); and what one byte more does.", func(r *Row) string { return r.Pass.cell("header") }),
			row("Request bytes per KB of payload", "The slope of the token-size curve (chart below): how many bytes every request carries for each 1024 bytes of session. 0: the session stays on the server.", func(r *Row) string { return fmt.Sprintf("%.0f", r.perKB()) }),
			row("Server-side bytes per session", "For Redis, what `MEMORY USAGE` reports for the keys the typical session added (the session hash and the user index; for the JWT deployment its session hash and user set); for memory, the growth of the Go heap per session over 2000 sessions. Stateless mechanisms keep nothing. The store holds the same for either transport: measured over the cookie.", func(r *Row) string { return r.State.storedCell() }).cookieOnly(),
		},
	}, {
		title: "Security",
		measures: []measure{
			row("Single-bit flips accepted", "The token with one bit of its decoded bytes flipped, at evenly spaced positions: accepted means the server took the altered token as a session.", func(r *Row) string { return r.Tamper.flipCell() }),
			row("Role edited to \"admin\"", "An attacker's tool that knows no mechanism peels base64 layers and separators, finds `\"member\"`, writes `\"admin\"` and re-encodes, leaving any signature as it was. *claim not found*: the token gave nothing to edit.", func(r *Row) string { return r.Tamper.editCell() }),
			row("Secret readable in the token (CSRF token)", "The same tool looks for the session's secret, the CSRF token, in the token. A readable secret is in every log, proxy and tool that sees the cookie or header.", func(r *Row) string { return r.Readable.secretCell() }),
			row("Other values readable", "The user's own data the tool looks for (user ID, name, role, theme, a cart item): no secret from the user, but shown to whatever handles the token.", func(r *Row) string { return r.Readable.openCell() }),
			row("Copy replayed after logout: accepted for", fmt.Sprintf("A copy of the token taken before logout, sent after it, with the server's clock moved forward (bisection, to the second, up to %s; a fresh copy for every probe): the last second it was still accepted. *0 s*: refused on the first request after logout.", human(int(Horizon/time.Second))), func(r *Row) string { return r.Revoke.AfterLogout.cell() }),
			row("Stolen token, nobody logs out: accepted for", "The same for a copy taken at login when nobody logs out: the thief's window is the token's own deadline. For the JWT deployment that is the access token's; the *Refresh traffic* row says what a thief who also holds the refresh token gets.", func(r *Row) string { return r.Revoke.Stolen.cell() }),
			row("Logout reaches a second instance after", fmt.Sprintf("Real time from the end of a logout on one instance to the first refusal of the copy by a second instance that accepted it before (the denylist entry or the deleted record propagating), polling every millisecond; *at once*: the first request after the logout was refused. *never*: still accepted after %s; *—*: the second instance never accepted it (it shares nothing).", PropagationWait), func(r *Row) string { return r.Revoke.propagationCell() }),
			row("Replay after \"log out everywhere\"", "Two logins of one user (two devices), then the mechanism's \"log out everywhere\" (`serverstore.Store.DestroyUser`; for the JWT deployment, denying every session in the user's set), then both tokens sent again. *not possible*: the mechanism keeps nothing to find a user's sessions by.", func(r *Row) string { return r.Revoke.everywhereCell() }),
			row("Demoted admin's old token", "An admin's token; the user is demoted, and the application does what the mechanism allows (ends the user's sessions where it can); the old token is sent again. Storing only the user ID and looking the role up on each request avoids a stale role with any mechanism, at the price of a lookup per request: a store again.", func(r *Row) string { return r.Revoke.staleCell() }),
			row(fmt.Sprintf("Token kept %s past a %s lifetime (real time)", ExpiryWait-ExpiryLifetime, ExpiryLifetime), fmt.Sprintf("A session (and access token) issued with a %s lifetime; the client keeps the token, ignoring the cookie's `Max-Age`, and sends it back after %s of real time. *accepted*: the deadline was the browser's business only.", ExpiryLifetime, ExpiryWait), func(r *Row) string { return yesNo(r.ExpiredAccepted) }),
			row("Browser: an injected page script reads the credential (XSS)", "In Chromium (see *In a real browser*): an inline script in the app's page reads `document.cookie` and `localStorage` and reports them; *yes* if the credential the app's own requests carried was among them.", browser(func(b *BrowserResult) string { return yesIf(b.ScriptRead, "**yes**") })),
			row("Browser: the injected script uses the session", "The same script makes a request of its own, with whatever it could read (`credentials: 'same-origin'`, and the token from `localStorage` if there was one): *yes* if the app took it as the user's.", browser(func(b *BrowserResult) string { return yesIf(b.ScriptUsed, "**yes**") })),
			row("Browser: cross-site form post (CSRF)", "A page on another site (another loopback address) posts a form to the app, as soon as it loads: whether the post arrived (its `Sec-Fetch-Site` was `cross-site`), carried the credential, and was accepted as the user's.", browser(func(b *BrowserResult) string { return b.CrossSite.cell() })),
			row("Browser: same-site, cross-origin form post", "The same from another origin of the same site (another port of 127.0.0.1, as another subdomain would be): `Sec-Fetch-Site: same-site`.", browser(func(b *BrowserResult) string { return b.SameSite.cell() })),
		},
	}, {
		title: "Scalability",
		measures: []measure{
			row("Time per login (issue)", "`testing.Benchmark`, "+bench+" each, of a login and of an authenticated request for the typical session, each a full `httptest` round trip through the mechanism's handler, so the harness floor below the tables is included in every number. Wall-clock time of one goroutine: for Redis it is mostly network round trips, not CPU. On a shared machine these times move by tens of percent from run to run: compare mechanisms within one run, not across runs.", func(r *Row) string { return r.Issue.cell() }),
			row("Time per request (verify)", "As above, for a request that reads every value of the session.", func(r *Row) string { return r.Verify.cell() }),
			row("Store work per login", "Commands, network round trips (a command or a pipeline each, counted by a go-redis hook) and bytes on the connection to Redis (both ways, counted on the socket) of a login. *in process*: memstore, no network.", func(r *Row) string { return r.State.costCell(r.State.Issue) }),
			row("Store work per request reading every value", "The same for a request that reads every value of the typical session (a cart page).", func(r *Row) string { return r.State.costCell(r.State.Verify) }),
			row("Store work per request needing only user ID and role", "The same for a request that needs only who the user is (an API call checking a permission): the JWT deployment's denylist check alone; a server session still loads its record.", func(r *Row) string { return r.State.costCell(r.State.Identify) }),
			row(fmt.Sprintf("Bandwidth at %s req/s, client ↔ server", thousands(Rate)), fmt.Sprintf("The typical session's request header and the read-only response's bytes (the Storage rows) together, times %s requests per second: the typical session's token on every request and what the mechanism adds to every response, in HTTP/1.1 bytes (HTTP/2 and HTTP/3 compress header fields repeated on one connection; that is not measured here).", thousands(Rate)), func(r *Row) string { return mb(r.clientBandwidth()) }),
			row(fmt.Sprintf("Bandwidth at %s req/s, server ↔ store", thousands(Rate)), fmt.Sprintf("The store bytes of a request reading every value, times %s requests per second.", thousands(Rate)), func(r *Row) string { return r.storeBandwidthCell() }),
			row("Refresh traffic", "For the JWT deployment: one refresh on the wire (the refresh cookie or JSON body, and the two new tokens in the answer) and its store work; one refresh per access-token lifetime (the *Stolen token* row) per active client makes the hourly figure. Also: the refresh token rotates, a reused one is refused and revokes its session, and a thief holding a copy of both tokens, refreshing a minute before each access token expires while the user is idle, stays in for the time given.", func(r *Row) string { return r.refreshCell() }),
			row("Second instance, same configuration", "A second server instance built from the same configuration (keys, backend address) but sharing no memory verifies a token the first issued.", func(r *Row) string {
				if r.ReplicaAccepts {
					return "accepted"
				}
				return "**rejected** (nothing shared)"
			}),
			row("Key rotation", "A token issued under key A; the key list becomes (B, A): is the old token accepted, and does the server answer with a token under B (or a refresh give one)? Then A is dropped: is the old token still accepted, and is the user logged out? A server session has no key: its tokens are random IDs.", func(r *Row) string { return r.Rotation.cell() }),
			row("Key rotation, server re-issues old-key tokens", "The same for the variant of a long-lived JWT whose server, seeing a valid token whose `kid` is not the current key, signs the same claims (and expiry) again under the current key and sends the new token back. A JWT library verifies against several keys (golang-jwt: a `Keyfunc` that picks the key by `kid`, or returns a `VerificationKeySet`); issuing the new token is the application's code (here, `reissue` in compare/tokens.go).", func(r *Row) string {
				if r.RotationReissue == nil {
					return "—"
				}
				return r.RotationReissue.cell()
			}),
		},
	}}
}

func yesIf(b bool, yes string) string {
	if b {
		return yes
	}
	return "no"
}

// Cell formatters.

func (w Wire) cell() string {
	if w.Err != "" {
		if w.TooLarge {
			return "**not saved** (`ErrTooLarge`)"
		}
		return "**not issued**"
	}
	s := fmt.Sprint(w.RequestBytes)
	if w.Cookies > 1 {
		s += fmt.Sprintf(" (%d cookies)", w.Cookies)
	}
	if w.Dropped() {
		s += " **over 4096: dropped**"
	}
	if w.Blocked() {
		s += " **over 8190: refused by proxies**"
	}
	return s
}

func (f Fit) cell(what string) string {
	if f.Unbounded {
		return fmt.Sprintf("no limit (%s stays %d B up to %d KiB)", what, f.Size, f.Payload>>10)
	}
	s := fmt.Sprintf("%d B (%s %d B)", f.Payload, what, f.Size)
	if f.NextTooLarge {
		s += "; one byte more: **not saved** (`ErrTooLarge`)"
	}
	return s
}

func (b Bench) cell() string {
	return fmt.Sprintf("%.1f µs, %d allocs", b.NsPerOp/1e3, b.AllocsPerOp)
}

func (s State) storedCell() string {
	switch {
	case !s.Backend:
		return "0"
	case s.Network && s.ResidentBytes >= 0:
		return fmt.Sprintf("%d B in Redis", s.ResidentBytes)
	case !s.Network && s.HeapBytes >= 0:
		return fmt.Sprintf("≈%d B of Go heap", s.HeapBytes)
	}
	return "unknown"
}

func (s State) costCell(c Cost) string {
	switch {
	case !s.Backend:
		return "none"
	case !s.Network:
		return "in process"
	}
	return fmt.Sprintf("%d command(s), %d round trip(s), %d B", c.Commands, c.RoundTrips, c.Bytes)
}

func (r *Row) storeBandwidthCell() string {
	switch {
	case !r.State.Backend:
		return "none"
	case !r.State.Network:
		return "in process"
	}
	return mb(r.storeBandwidth())
}

// refreshesPerHour is how many refreshes an active client makes in an
// hour: one per access-token lifetime.
func (r *Row) refreshesPerHour() float64 {
	return 3600 / float64(r.Revoke.Stolen.Seconds+1)
}

func (r *Row) refreshCell() string {
	f := r.Refresh
	if f == nil {
		return "no refresh token"
	}
	rotation := "rotates"
	if !f.Rotated {
		rotation = "**does not rotate**"
	}
	reuse := "a reuse revokes the session"
	switch {
	case !f.ReuseRejected:
		reuse = "**a reuse is accepted**"
	case !f.ReuseRevokes:
		reuse = "a reuse is refused, the session kept"
	}
	perHour := r.refreshesPerHour() * float64(f.RequestBytes+f.ResponseBytes)
	return fmt.Sprintf("%d + %d B on the wire, %d round trip(s) and %d B to the store per refresh; %.0f B per active client-hour; %s, %s; a thief with both tokens: %s",
		f.RequestBytes, f.ResponseBytes, f.Store.RoundTrips, f.Store.Bytes, perHour, rotation, reuse, f.Thief.cell())
}

func (t Tamper) flipCell() string {
	c := fmt.Sprintf("%d of %d", t.FlipsAccepted, t.FlipsTried)
	if t.FlipsAccepted > 0 {
		return "**" + c + " accepted**"
	}
	return c + " accepted"
}

func (t Tamper) editCell() string {
	switch {
	case !t.EditFound:
		return "claim not found in token"
	case t.EditAccepted:
		return "**accepted as admin**"
	}
	return "rejected"
}

func (r Readable) secretCell() string {
	if len(r.Secrets) > 0 {
		return "**readable**"
	}
	return "not readable"
}

func (r Readable) openCell() string {
	if len(r.Open) == 0 {
		return fmt.Sprintf("0 of %d", r.OpenOf)
	}
	return fmt.Sprintf("%d of %d (%s)", len(r.Open), r.OpenOf, strings.Join(r.Open, ", "))
}

func (v Revocation) propagationCell() string {
	switch {
	case !v.PropagationMeasured:
		return "— (never accepted it)"
	case !v.Propagated:
		return "**never**"
	case v.PropagatedFirst:
		return "at once (the first request)"
	}
	return fmt.Sprintf("%.1f ms", float64(v.Propagation)/float64(time.Millisecond))
}

func (v Revocation) everywhereCell() string {
	if !v.Everywhere {
		return fmt.Sprintf("not possible: **%d of 2 accepted**", v.EverywhereAccepted)
	}
	return fmt.Sprintf("%d of 2 accepted", v.EverywhereAccepted)
}

func (v Revocation) staleCell() string {
	if v.StaleRole == "" {
		return "rejected (log in again)"
	}
	return fmt.Sprintf("**still %q**", v.StaleRole)
}

func (r Rotation) cell() string {
	if !r.Keyed {
		return "no key to rotate"
	}
	during := "old token " + acceptsWord(r.DuringAccepted)
	switch {
	case r.Reissued:
		during += ", re-issued under the new key"
	case r.Refreshed:
		during += ", a refresh signs under the new key"
	default:
		during += ", not re-issued"
	}
	after := "old token " + acceptsWord(r.RetiredAccepted)
	if r.LoggedOut() {
		after += ", user **logged out**"
	} else {
		after += ", user stays logged in"
	}
	return fmt.Sprintf("old key kept: %s; old key dropped: %s", during, after)
}

func (p Post) cell() string {
	site := p.Site
	if site == "" {
		site = "no Sec-Fetch-Site"
	}
	switch {
	case !p.Arrived:
		return "did not arrive"
	case p.Blocked:
		return fmt.Sprintf("%s; blocked (403)", site)
	case !p.Carried:
		return fmt.Sprintf("%s; credential not carried", site)
	case p.Accepted:
		return fmt.Sprintf("%s; **carried, accepted**", site)
	}
	return fmt.Sprintf("%s; carried, rejected", site)
}
