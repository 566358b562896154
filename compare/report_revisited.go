package compare

import (
	"fmt"
	"strings"
	"time"
)

// The guides' table, revisited row by row, and the browser table.

// with returns f of the cookie-transport row of name, "not measured" if
// it did not run.
func (rep *Report) with(name string, f func(*Row) string) string {
	if r := rep.cookieRow(name); r != nil {
		return f(r)
	}
	return "not measured"
}

func (rep *Report) revisited(p func(string, ...any)) {
	p("## The guides' table, revisited")
	p("")
	p("The guides' table, as they put it (the wording of the storage and use-case rows paraphrased):")
	p("")
	p("| | Sessions | JWT | Cookies |")
	p("|---|---|---|---|")
	p("| Storage | server | client | client (browser) |")
	p("| Security | High | Medium | Low-Medium |")
	p("| Scalability | Needs store | Stateless | Limited |")
	p("| Use case | web applications | APIs, SPAs | small data, preferences |")
	p("")
	p("What this run measured for each cell. \"Sessions\" are the library's server sessions and its sealed cookie (a session with no store), \"JWT\" the long-lived JWT and the deployment with short-lived access tokens, \"Cookies\" the signed and the plain cookie; figures are for the typical session over the cookie transport unless said otherwise.")
	p("")
	for _, row := range []struct {
		name  string
		cells [3]string
	}{
		{"Storage", rep.storageCells()},
		{"Security", rep.securityCells()},
		{"Scalability", rep.scalabilityCells()},
		{"Use case", rep.useCells()},
	} {
		p("**%s.**", row.name)
		p("")
		for i, col := range []string{"Sessions", "JWT", "Cookies"} {
			p("- *%s*: %s", col, row.cells[i])
		}
		p("")
	}
}

func (rep *Report) storageCells() [3]string {
	stored := func(r *Row) string { return r.State.storedCell() }
	inToken := func(r *Row) string {
		return fmt.Sprintf("a %d-byte token on every request, %.0f more bytes per KB of session", r.Typical.RequestBytes, r.perKB())
	}
	return [3]string{
		fmt.Sprintf("server-side holds for a server session: %s, and the client holds only an ID (%s). Not for the sealed cookie, a session kept on the client: %s, server-side %s.",
			rep.with(NameServerRedis, stored), rep.with(NameServerRedis, inToken), rep.with(NameSealed, inToken), rep.with(NameSealed, stored)),
		fmt.Sprintf("client-side holds for the long-lived JWT (%s, nothing on the server). The JWT deployment that revokes keeps state on the server like a session: only %s travel in the token (%s), the rest of the session and the denylist live in Redis (%s).",
			rep.with(NameJWTHS256, inToken), rep.with(NameJWTRefresh, func(r *Row) string { return strings.Join(r.Readable.Open, " and ") }),
			rep.with(NameJWTRefresh, inToken), rep.with(NameJWTRefresh, stored)),
		fmt.Sprintf("client-side: the signed cookie carried %s, the plain cookie %s.", rep.with(NameSigned, inToken), rep.with(NamePlain, inToken)),
	}
}

func (rep *Report) securityCells() [3]string {
	integrity := func(r *Row) string {
		return fmt.Sprintf("%d of %d bit flips and %s edited role accepted", r.Tamper.FlipsAccepted, r.Tamper.FlipsTried, map[bool]string{true: "the", false: "no"}[r.Tamper.EditAccepted])
	}
	reads := func(r *Row) string {
		return fmt.Sprintf("%d of %d values readable, CSRF token %s", len(r.Readable.Open), r.Readable.OpenOf, r.Readable.secretCell())
	}
	logout := func(r *Row) string { return "a copy outlived logout by " + r.Revoke.AfterLogout.text() }
	all := func(r *Row) string { return integrity(r) + "; " + reads(r) + "; " + logout(r) }
	return [3]string{
		fmt.Sprintf("\"High\" holds for the server session (%s) and, but for revocation, for the sealed cookie (%s).", rep.with(NameServerRedis, all), rep.with(NameSealed, all)),
		fmt.Sprintf("\"Medium\" averages a strong property and missing ones. Long-lived: %s. With 15-minute access tokens and a denylist: %s; a stolen access token alone lasted %s, and one with its refresh token %s.",
			rep.with(NameJWTHS256, all), rep.with(NameJWTRefresh, all), rep.with(NameJWTRefresh, func(r *Row) string { return r.Revoke.Stolen.text() }),
			rep.with(NameJWTRefresh, func(r *Row) string { return r.thiefText() })),
		fmt.Sprintf("\"Low-Medium\" is one adjective for different things. Signed: %s. Plain: %s; a token kept past its deadline was %s.",
			rep.with(NameSigned, all), rep.with(NamePlain, all), rep.with(NamePlain, func(r *Row) string { return yesNo(r.ExpiredAccepted) })),
	}
}

func (rep *Report) scalabilityCells() [3]string {
	store := func(r *Row) string {
		return fmt.Sprintf("%s per request, %s to the store at %s req/s, a second instance %s it",
			r.State.costCell(r.State.Verify), r.storeBandwidthCell(), thousands(Rate), acceptsWord(r.ReplicaAccepts))
	}
	return [3]string{
		fmt.Sprintf("\"Needs store\" holds for server sessions: Redis %s; in memory, %s. The sealed cookie needs none: %s.",
			rep.with(NameServerRedis, store), rep.with(NameServerMemory, store), rep.with(NameSealed, store)),
		fmt.Sprintf("\"Stateless\" holds only for the long-lived JWT: %s. The JWT deployment that can revoke is not: %s, plus a refresh every %s per active client.",
			rep.with(NameJWTHS256, store), rep.with(NameJWTRefresh, store), rep.with(NameJWTRefresh, func(r *Row) string { return human(r.Revoke.Stolen.Seconds + 1) })),
		fmt.Sprintf("\"Limited\" holds for size, not for scaling out: one cookie held at most %s of payload; with no store, %s.",
			rep.each([]string{NameSigned, NamePlain}, func(r *Row) string { return fmt.Sprintf("%d bytes", r.Fit.Payload) }),
			rep.each([]string{NameSigned, NamePlain}, func(r *Row) string { return "a second instance " + acceptsWord(r.ReplicaAccepts) + " it" })),
	}
}

func (rep *Report) useCells() [3]string {
	header := func(r *Row) string {
		h := rep.row(r.Name, TransportHeader)
		if h == nil {
			return "cookie only"
		}
		return fmt.Sprintf("%d bytes per request over the header transport", h.Typical.RequestBytes)
	}
	inBrowser := func(r *Row) string {
		c, h := rep.browserOf(r), (*BrowserResult)(nil)
		if hr := rep.row(r.Name, TransportHeader); hr != nil {
			h = rep.browserOf(hr)
		}
		if c == nil {
			return "browser not run"
		}
		s := fmt.Sprintf("in Chromium an injected script read the cookie: %s", yesIf(c.ScriptRead, "yes"))
		if h != nil {
			s += fmt.Sprintf(", the header token kept in localStorage: %s", yesIf(h.ScriptRead, "yes"))
		}
		return s
	}
	both := func(r *Row) string { return header(r) + "; " + inBrowser(r) }
	return [3]string{
		fmt.Sprintf("web applications, and APIs too: the server session (%s) and the sealed cookie (%s) ran over both transports.",
			rep.with(NameServerRedis, both), rep.with(NameSealed, both)),
		fmt.Sprintf("APIs and SPAs: the long-lived JWT (%s), the JWT deployment (%s). Nothing in the measurements ties the header to JWTs: the library's sessions ran over it too.",
			rep.with(NameJWTHS256, both), rep.with(NameJWTRefresh, both)),
		fmt.Sprintf("small data: the signed cookie (%s), the plain cookie (%s); preferences the server need not trust.",
			rep.with(NameSigned, both), rep.with(NamePlain, both)),
	}
}

func (rep *Report) browserTable(p func(string, ...any)) {
	p("## In a real browser")
	p("")
	if len(rep.Browser) == 0 {
		p("**Not run**: %s.", rep.BrowserSkipped)
		p("")
		return
	}
	p("Each flow is one run of the system Chromium, headless, with a fresh profile, against the mechanism's own handlers behind HTTPS on loopback (`httptest.NewTLSServer`, the browser told to accept its certificate, so that `Secure` cookies behave as in production). The app's own script logs in with `fetch` and keeps any token it is handed in `localStorage`, as single-page apps do; an inline script in the page stands for an injected one; then an attacker's page on another site (another loopback address) and one on the same site but another origin (another port) each post a form to the app. The server records what arrived; the `Sec-Fetch-Site` the browser sent confirms which post was which.")
	p("")
	p("| flow | app logged in | injected script ran | it read the credential | it used the session | cross-site form post | same-site, cross-origin post | what it then needs |")
	p("|---|---|---|---|---|---|---|---|")
	for i := range rep.Browser {
		b := &rep.Browser[i]
		p("| %s | %s | %s | %s | %s | %s | %s | %s |", b.Flow.Label, yesIf(b.LoggedIn, "yes"), yesIf(b.InjectedRan, "yes"),
			yesIf(b.ScriptRead, "**yes**"), yesIf(b.ScriptUsed, "**yes**"), b.CrossSite.cell(), b.SameSite.cell(), b.needs())
	}
	p("")
	if !haveCrossOriginProtection {
		p("The flows with `http.CrossOriginProtection` need Go 1.25 or later; this run was built with an older Go and did not run them.")
		p("")
	}
}

// thiefText says how long a thief holding both tokens stayed in.
func (r *Row) thiefText() string {
	if r.Refresh == nil {
		return "not measured"
	}
	return r.Refresh.Thief.text()
}

// needs says what a flow's findings leave to the application.
func (b *BrowserResult) needs() string {
	var n []string
	switch {
	case b.CrossSite.Accepted:
		n = append(n, "a CSRF token or `http.CrossOriginProtection`: a cross-site post was accepted")
	case b.SameSite.Accepted:
		n = append(n, "a CSRF token or `http.CrossOriginProtection` against sibling origins: the same-site post was accepted")
	case b.CrossSite.Blocked && b.SameSite.Blocked:
		n = append(n, "nothing more against CSRF: both posts were refused")
	case !b.CrossSite.Carried && !b.SameSite.Carried:
		n = append(n, "nothing against CSRF: no post carried the credential")
	}
	switch {
	case !b.InjectedRan:
		n = append(n, "the CSP kept the injected script out")
	case b.ScriptRead:
		n = append(n, "a CSP against injected scripts, and short-lived tokens: a script read the token")
	case b.ScriptUsed:
		n = append(n, "a CSP still: a script could not read the credential but used the session")
	}
	return strings.Join(n, "; ")
}

// Summary is the comparison's summary for the README: a few sentences,
// each computed from this run.
func (rep *Report) Summary() string {
	var s []string
	now := rep.specsWhere(revocable)
	late := rep.specsWhere(func(r *Row) bool { return !r.Revoke.AfterLogout.Immediate })
	s = append(s, fmt.Sprintf("Measured against JWTs and signed and plain cookies ([comparison](docs/comparison.md), regenerated by `go run ./compare/cmd/compare`): %s refused a copied token as soon as its session was logged out, where it stayed valid after logout for %s.",
		list(now), rep.each(late, func(r *Row) string { return r.Revoke.AfterLogout.text() })))
	if sr, jr := rep.cookieRow(NameServerRedis), rep.cookieRow(NameJWTRefresh); sr != nil && jr != nil {
		trips := fmt.Sprintf("as many store round trips per request as the server session on Redis (%d)", sr.State.Verify.RoundTrips)
		if jr.State.Verify.RoundTrips != sr.State.Verify.RoundTrips {
			trips = fmt.Sprintf("%d store round trip(s) per request against the server session's %d", jr.State.Verify.RoundTrips, sr.State.Verify.RoundTrips)
		}
		s = append(s, fmt.Sprintf("The JWT deployment that revokes (%s access tokens, rotating refresh tokens, a denylist in Redis) made %s, with a %d-byte token against %d.",
			human(int(DefaultAccessTTL/time.Second)), trips, jr.Typical.RequestBytes, sr.Typical.RequestBytes))
	}
	if sc := rep.cookieRow(NameSealed); sc != nil {
		s = append(s, fmt.Sprintf("The sealed cookie needed no store, showed none of its values (%d of %d readable), cost %d bytes per request for a typical session, and with the defaults saved up to %d bytes of payload before refusing with `ErrTooLarge`.",
			len(sc.Readable.Open), sc.Readable.OpenOf, sc.Typical.RequestBytes, sc.Pass.Payload))
	}
	if len(rep.Browser) > 0 {
		hdr := rep.browserWhere(func(b *BrowserResult) bool { return b.Flow.Transport == TransportHeader && !b.Flow.CSP })
		ck := rep.browserWhere(func(b *BrowserResult) bool { return b.Flow.Transport == TransportCookie })
		s = append(s, fmt.Sprintf("In Chromium, an injected script read a token kept in `localStorage` in %d of %d flows and an HttpOnly session cookie in %d of %d.",
			count(hdr, func(b *BrowserResult) bool { return b.ScriptRead }), len(hdr), count(ck, func(b *BrowserResult) bool { return b.ScriptRead }), len(ck)))
	}
	return strings.Join(s, " ")
}

// The markers around the comparison summary in the README.
const (
	SummaryStart = "<!-- compare:summary -->"
	SummaryEnd   = "<!-- /compare:summary -->"
)

// ReplaceSummary returns doc with the text between SummaryStart and
// SummaryEnd replaced by summary, or an error if doc lacks the markers.
func ReplaceSummary(doc []byte, summary string) ([]byte, error) {
	s := string(doc)
	i := strings.Index(s, SummaryStart)
	j := strings.Index(s, SummaryEnd)
	if i < 0 || j < i {
		return nil, fmt.Errorf("compare: no %s ... %s block to put the summary in", SummaryStart, SummaryEnd)
	}
	return []byte(s[:i+len(SummaryStart)] + "\n" + summary + "\n" + s[j:]), nil
}
