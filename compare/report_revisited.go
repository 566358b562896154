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

// serverName is the server session the revisited table cites: on Redis,
// shared by every instance, if it ran.
func (rep *Report) serverName() string {
	if rep.cookieRow(NameServerRedis) != nil {
		return NameServerRedis
	}
	return NameServerMemory
}

// holds says whether a claim of the guides' table held for a mechanism.
func holds(ok bool) string {
	if ok {
		return "holds"
	}
	return "does not hold"
}

// props are the security properties the experiments measure.
type props struct{ integrity, secrecy, revocation bool }

func propsOf(r *Row) props {
	return props{
		integrity:  r.Tamper.FlipsAccepted == 0 && !r.Tamper.EditAccepted,
		secrecy:    len(r.Readable.Secrets) == 0,
		revocation: revocable(r),
	}
}

// text says which properties held: "kept integrity and secrecy, not
// revocation".
func (p props) text() string {
	var kept, lost []string
	for _, x := range []struct {
		ok   bool
		name string
	}{{p.integrity, "integrity"}, {p.secrecy, "secrecy"}, {p.revocation, "revocation"}} {
		if x.ok {
			kept = append(kept, x.name)
		} else {
			lost = append(lost, x.name)
		}
	}
	join := func(xs []string, and string) string {
		if len(xs) < 2 {
			return strings.Join(xs, "")
		}
		return strings.Join(xs[:len(xs)-1], ", ") + " " + and + " " + xs[len(xs)-1]
	}
	switch {
	case len(lost) == 0:
		return "kept " + join(kept, "and")
	case len(kept) == 0:
		return "kept none of " + join(lost, "and")
	}
	return "kept " + join(kept, "and") + ", not " + join(lost, "or")
}

// evidence is the numbers behind props.
func evidence(r *Row) string {
	return fmt.Sprintf("%d of %d bit flips and %s edited role accepted; CSRF token %s, %d of %d other values readable; a copy stayed valid after logout %s",
		r.Tamper.FlipsAccepted, r.Tamper.FlipsTried, map[bool]string{true: "the", false: "no"}[r.Tamper.EditAccepted],
		r.Readable.secretCell(), len(r.Readable.Open), r.Readable.OpenOf, r.Revoke.AfterLogout.forText())
}

func (rep *Report) storageCells() [3]string {
	size := func(r *Row) string {
		return fmt.Sprintf("a %d-byte token on every request, %.0f more bytes per KB of session; on the server: %s", r.Typical.RequestBytes, r.perKB(), r.State.storedCell())
	}
	server := func(r *Row) string { return holds(r.State.Backend && r.perKB() == 0) + " (" + size(r) + ")" }
	client := func(r *Row) string { return holds(!r.State.Backend) + " (" + size(r) + ")" }
	jr := rep.with(NameJWTRefresh, func(r *Row) string {
		return fmt.Sprintf("%s: only %s travel in its token, the rest of the session is on the server (%s)", holds(!r.State.Backend), strings.Join(r.Readable.Open, " and "), size(r))
	})
	return [3]string{
		fmt.Sprintf("\"server\" %s for the *%s* session; %s for the sealed cookie, a session kept in its token.",
			rep.with(rep.serverName(), server), rep.serverName(), rep.with(NameSealed, server)),
		fmt.Sprintf("\"client\" %s for the long-lived JWT; for the JWT deployment that revokes it %s.", rep.with(NameJWTHS256, client), jr),
		fmt.Sprintf("\"client\" %s for the signed cookie and %s for the plain cookie.", rep.with(NameSigned, client), rep.with(NamePlain, client)),
	}
}

func (rep *Report) securityCells() [3]string {
	sec := func(r *Row) string { return fmt.Sprintf("%s (%s)", propsOf(r).text(), evidence(r)) }
	return [3]string{
		fmt.Sprintf("\"High\": the *%s* session %s; the sealed cookie %s.", rep.serverName(), rep.with(rep.serverName(), sec), rep.with(NameSealed, sec)),
		fmt.Sprintf("\"Medium\": the long-lived JWT %s; the JWT deployment %s, and a stolen access token alone stayed valid %s, one with its refresh token (the user idle) %s.",
			rep.with(NameJWTHS256, sec), rep.with(NameJWTRefresh, sec),
			rep.with(NameJWTRefresh, func(r *Row) string { return r.Revoke.Stolen.forText() }),
			rep.with(NameJWTRefresh, func(r *Row) string { return r.thiefText() })),
		fmt.Sprintf("\"Low-Medium\": the signed cookie %s; the plain cookie %s, and a token kept past its deadline was %s.",
			rep.with(NameSigned, sec), rep.with(NamePlain, sec), rep.with(NamePlain, func(r *Row) string { return yesNo(r.ExpiredAccepted) })),
	}
}

// storeText says what a mechanism asked of a store per request, and
// whether a second instance accepted its token.
func storeText(r *Row) string {
	var s string
	switch st := r.State; {
	case !st.Backend:
		s = "no store"
	case !st.Network:
		s = "a store in the process"
	default:
		s = fmt.Sprintf("%d store round trip(s) per request, %s to the store at %s req/s", st.Verify.RoundTrips, mb(r.storeBandwidth()), thousands(Rate))
	}
	return s + "; a second instance " + acceptsWord(r.ReplicaAccepts) + " its token"
}

func (rep *Report) scalabilityCells() [3]string {
	needs := func(r *Row) string { return holds(r.State.Backend) + " (" + storeText(r) + ")" }
	stateless := func(r *Row) string { return holds(!r.State.Backend) + " (" + storeText(r) + ")" }
	limited := func(r *Row) string {
		return fmt.Sprintf("%s for size (one cookie held at most %d bytes of payload) and %s for scaling out (%s)",
			holds(!r.Fit.Unbounded), r.Fit.Payload, holds(!r.ReplicaAccepts), storeText(r))
	}
	return [3]string{
		fmt.Sprintf("\"Needs store\" %s for the server session on Redis, %s in memory, and %s for the sealed cookie.",
			rep.with(NameServerRedis, needs), rep.with(NameServerMemory, needs), rep.with(NameSealed, needs)),
		fmt.Sprintf("\"Stateless\" %s for the long-lived JWT and %s for the JWT deployment that revokes, which also refreshes every %s per active client.",
			rep.with(NameJWTHS256, stateless), rep.with(NameJWTRefresh, stateless), rep.with(NameJWTRefresh, func(r *Row) string { return human(r.Revoke.Stolen.Seconds + 1) })),
		fmt.Sprintf("\"Limited\" %s for the signed cookie, and %s for the plain cookie.", rep.with(NameSigned, limited), rep.with(NamePlain, limited)),
	}
}

func (rep *Report) useCells() [3]string {
	use := func(r *Row) string {
		s := "cookie only"
		if h := rep.row(r.Name, TransportHeader); h != nil {
			s = fmt.Sprintf("also over the header transport, %d bytes per request", h.Typical.RequestBytes)
		}
		if c := rep.browserOf(r); c != nil {
			s += fmt.Sprintf("; in Chromium an injected script read its cookie: %s", yesIf(c.ScriptRead, "**yes**"))
		}
		if hr := rep.row(r.Name, TransportHeader); hr != nil {
			if h := rep.browserOf(hr); h != nil {
				s += fmt.Sprintf(", its header token kept in localStorage: %s", yesIf(h.ScriptRead, "**yes**"))
			}
		}
		return s
	}
	return [3]string{
		fmt.Sprintf("web applications: the *%s* session (%s); the sealed cookie (%s).", rep.serverName(), rep.with(rep.serverName(), use), rep.with(NameSealed, use)),
		fmt.Sprintf("APIs and SPAs: the long-lived JWT (%s); the JWT deployment (%s).", rep.with(NameJWTHS256, use), rep.with(NameJWTRefresh, use)),
		fmt.Sprintf("small data: the signed cookie (%s); the plain cookie (%s, and it accepted an edited role: %s).",
			rep.with(NameSigned, use), rep.with(NamePlain, use), rep.with(NamePlain, func(r *Row) string { return yesIf(r.Tamper.EditAccepted, "**yes**") })),
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
	return r.Refresh.Thief.forText()
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
	s = append(s, fmt.Sprintf("Measured against JWTs and signed and plain cookies ([comparison](docs/comparison.md), regenerated by `go run ./compare/cmd/compare`): %s refused a copied token as soon as its session was logged out; for the others it stayed valid after logout: %s.",
		list(now), rep.each(late, func(r *Row) string { return r.Revoke.AfterLogout.forText() })))
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
