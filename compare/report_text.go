package compare

import (
	"fmt"
	"strings"
)

// The sentences of the report. Every one that states a result is made
// from this run's measurements; the fixed words only explain.

// say is f of the mechanism's rows in a sentence: one value if every
// transport gave the same, else one per transport; "not measured" if it
// did not run.
func (rep *Report) say(name string, f func(*Row) string) string {
	return perTransport(rep.rowsOf(name), f, "%s over the %s", ", ")
}

// perTransport is f of rows: one value if every transport gave the same,
// else each value with its transport, put by format (the value, then the
// transport) and joined by sep; "not measured" if there are no rows.
func perTransport(rows []*Row, f func(*Row) string, format, sep string) string {
	if len(rows) == 0 {
		return "not measured"
	}
	vals := make([]string, len(rows))
	same := true
	for i, r := range rows {
		vals[i] = f(r)
		same = same && vals[i] == vals[0]
	}
	if same {
		return vals[0]
	}
	parts := make([]string, len(rows))
	for i, r := range rows {
		parts[i] = fmt.Sprintf(format, vals[i], r.Transport)
	}
	return strings.Join(parts, sep)
}

// each says f for every mechanism in names: "*a* X, *b* Y".
func (rep *Report) each(names []string, f func(*Row) string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("*%s* %s", n, rep.say(n, f))
	}
	return strings.Join(parts, "; ")
}

// cookieRow returns the cookie-transport row of name, nil if it did not
// run.
func (rep *Report) cookieRow(name string) *Row { return rep.row(name, TransportCookie) }

// revocable: the mechanism refused a copy after logout, after "log out
// everywhere" and after a demotion.
func revocable(r *Row) bool {
	v := r.Revoke
	return v.AfterLogout.Immediate && v.Everywhere && v.EverywhereAccepted == 0 && v.StaleRole == ""
}

func (c Cost) text() string {
	return fmt.Sprintf("%d store command(s) in %d round trip(s), %d bytes", c.Commands, c.RoundTrips, c.Bytes)
}

func (rep *Report) guide(p func(string, ...any)) {
	p("## Which should I use?")
	p("")
	rep.guideRevocation(p)
	rep.guideSealed(p)
	rep.guideGrowth(p)
	rep.guideHeaders(p)
	rep.guideForms(p)
	if r := rep.cookieRow(NameJWTEdDSA); r != nil {
		p("- **A token another service must verify without your secret**: *%s*, whose signature verifies with the public key alone (HMAC tokens and sealed cookies need the shared secret). Measured, at its price: the tools read %d of %d of its values and its CSRF token was %s, and a copy stayed valid after logout %s.",
			NameJWTEdDSA, len(r.Readable.Open), r.Readable.OpenOf, r.Readable.secretCell(), r.Revoke.AfterLogout.forText())
	}
	if r := rep.cookieRow(NamePlain); r != nil {
		s := rep.cookieRow(NameSigned)
		signed := "not measured"
		if s != nil {
			signed = fmt.Sprintf("a signed cookie %s the edited role; the tools read %d of %d of its values, and its CSRF token was %s", acceptsWord(s.Tamper.EditAccepted), len(s.Readable.Open), s.Readable.OpenOf, s.Readable.secretCell())
		}
		p("- **Never** a plain cookie for anything the server trusts: an edited role was %s, %d of %d bit flips were accepted, and a copy stayed valid %s. %s.",
			r.Tamper.editCell(), r.Tamper.FlipsAccepted, r.Tamper.FlipsTried, r.Revoke.Stolen.forText(), upper(signed))
	}
	p("")
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (rep *Report) guideRevocation(p func(string, ...any)) {
	now := rep.specsWhere(revocable)
	late := rep.specsWhere(func(r *Row) bool { return !r.Revoke.AfterLogout.Immediate })
	p("- **A logout, a ban or a role change must take effect now** (a copied token must die with the session): %s. Only they refused a copy replayed after logout, after \"log out everywhere\" and after a demotion, on the first request. A copy taken before logout stayed valid after it: %s.",
		list(now), rep.each(late, func(r *Row) string { return r.Revoke.AfterLogout.forText() }))
	sr, jr := rep.cookieRow(NameServerRedis), rep.cookieRow(NameJWTRefresh)
	if sr == nil || jr == nil || jr.Refresh == nil {
		return
	}
	verdict := fmt.Sprintf("Measured, the JWT deployment keeps Redis on every request's path as the server session does, with a token %.1f times as large: the denylist takes back the round trip statelessness was to save.", float64(jr.Typical.RequestBytes)/float64(sr.Typical.RequestBytes))
	if jr.State.Identify.RoundTrips < sr.State.Identify.RoundTrips {
		verdict = "Measured, the JWT deployment saves store round trips on requests that need only the user's identity, at the price of its larger token and its refreshes."
	}
	p("  Of these, the two whose instances share a store differ in cost. A request reading the session cost the *%s* %s, the *%s* %s; a request needing only the user's ID and role cost them %s and %s. Every request carried %d bytes of token (cookie transport) for the JWT deployment against %d for the server session's ID, and the JWT deployment adds a refresh every %s per active client (%d bytes on the wire, %s). %s",
		sr.Name, sr.State.Verify.text(), jr.Name, jr.State.Verify.text(), sr.State.Identify.text(), jr.State.Identify.text(),
		jr.Typical.RequestBytes, sr.Typical.RequestBytes, human(jr.Revoke.Stolen.Seconds+1), jr.Refresh.RequestBytes+jr.Refresh.ResponseBytes, jr.Refresh.Store.text(), verdict)
}

func (rep *Report) guideSealed(p func(string, ...any)) {
	sc := rep.cookieRow(NameSealed)
	if sc == nil {
		return
	}
	store := "made no store call"
	if sc.State.Backend {
		store = "used a store (" + sc.State.costCell(sc.State.Verify) + " per request)"
	}
	p("- **Nothing to run but the app, small sessions, and a deadline is revocation enough**: the sealed cookie. It %s, a second instance with the same keys %s its token, the tools read %d of %d of its values and its CSRF token was %s, %d of %d bit flips were accepted, and its deadline held in real time (a token kept past it: %s). It costs %d bytes per request for the typical session. A copy taken before logout stayed valid %s: keep `Lifetime` and `IdleTimeout` short.",
		store, acceptsWord(sc.ReplicaAccepts), len(sc.Readable.Open), sc.Readable.OpenOf, sc.Readable.secretCell(),
		sc.Tamper.FlipsAccepted, sc.Tamper.FlipsTried, yesNo(sc.ExpiredAccepted), sc.Typical.RequestBytes, sc.Revoke.AfterLogout.forText())
}

func (rep *Report) guideGrowth(p func(string, ...any)) {
	unbounded := rep.specsWhere(func(r *Row) bool { return r.Pass.Unbounded })
	dropped := rep.specsWhere(func(r *Row) bool { return r.Transport != TransportCookie || r.Large.Dropped() })
	s := fmt.Sprintf("- **Sessions that grow** (carts, history): %s, whose token did not grow with the session (no limit up to %d KiB; the session lives in the store).", list(unbounded), searchLimit>>10)
	if sc := rep.cookieRow(NameSealed); sc != nil && !sc.Pass.Unbounded {
		refusal := "a larger one was not saved"
		if sc.Pass.NextTooLarge {
			refusal = "refused to save a larger one, with `ErrTooLarge`, rather than send cookies a browser or a proxy drops"
		}
		s += fmt.Sprintf(" With the library's defaults the sealed cookie saved payloads up to %d bytes (then %d bytes of `Cookie` header on every request; the large session took %d cookies) and %s.",
			sc.Pass.Payload, sc.Pass.Size, sc.Large.Cookies, refusal)
	}
	if len(dropped) > 0 {
		s += fmt.Sprintf(" For %s the large session's cookie was over 4096 bytes, which browsers do not store.", list(dropped))
	}
	p("%s", s)
}

func (rep *Report) guideHeaders(p func(string, ...any)) {
	var both []string
	for _, sp := range rep.Specs {
		if sp.Has(TransportHeader) && sp.Has(TransportCookie) && len(rep.rowsOf(sp.Name)) == 2 {
			both = append(both, sp.Name)
		}
	}
	same := rep.specsWhere(func(r *Row) bool {
		c := rep.row(r.Name, TransportCookie)
		return c != nil && c.Tamper.EditAccepted == r.Tamper.EditAccepted && c.Revoke.AfterLogout == r.Revoke.AfterLogout &&
			c.Revoke.EverywhereAccepted == r.Revoke.EverywhereAccepted && c.ExpiredAccepted == r.ExpiredAccepted
	})
	var lib []string
	for _, sp := range rep.Specs {
		if sp.Library && sp.Has(TransportHeader) {
			lib = append(lib, sp.Name)
		}
	}
	s := fmt.Sprintf("- **API and mobile clients, tokens in headers**: the library's `TransportHeader` carried %s in `Authorization: Bearer` (%s bytes per request for the typical session). Of the %d mechanisms that ran over both transports, %s gave the same forgery, revocation and deadline results over both.",
		list(lib), rep.each(lib, func(r *Row) string {
			if h := rep.row(r.Name, TransportHeader); h != nil {
				return fmt.Sprint(h.Typical.RequestBytes)
			}
			return "—"
		}), len(both), list(intersect(both, same)))
	if len(rep.Browser) == 0 {
		p("%s In a browser: not measured (%s).", s, rep.BrowserSkipped)
		return
	}
	header := rep.browserWhere(func(b *BrowserResult) bool { return b.Flow.Transport == TransportHeader && !b.Flow.CSP })
	cookie := rep.browserWhere(func(b *BrowserResult) bool { return b.Flow.Transport == TransportCookie })
	read := func(bs []*BrowserResult) int { return count(bs, func(b *BrowserResult) bool { return b.ScriptRead }) }
	used := count(append(header, cookie...), func(b *BrowserResult) bool { return b.ScriptUsed })
	s += fmt.Sprintf(" In Chromium, an injected script read the token a page kept in `localStorage` in %d of %d header flows, and the HttpOnly cookie in %d of %d cookie flows; it used the session in %d of those %d flows either way.",
		read(header), len(header), read(cookie), len(cookie), used, len(header)+len(cookie))
	if read(header) > 0 && read(cookie) == 0 {
		s += " So in a browser app on your own site keep the token in the cookie; the header transport is for clients that are not browsers."
	}
	p("%s", s)
}

func (rep *Report) guideForms(p func(string, ...any)) {
	if len(rep.Browser) == 0 {
		return
	}
	lax := rep.browserWhere(func(b *BrowserResult) bool {
		return b.Flow.Transport == TransportCookie && b.Flow.SameSite == 0 && !b.Flow.CrossOriginProtection
	})
	crossCarried := count(lax, func(b *BrowserResult) bool { return b.CrossSite.Carried })
	sameAccepted := count(lax, func(b *BrowserResult) bool { return b.SameSite.Accepted })
	s := fmt.Sprintf("- **Cookies and forms (CSRF)**: with `SameSite=Lax`, the library's default, a form posted from another site reached the server %s in %d of %d cookie flows; a form posted from another origin of the same site (another port, as a sibling subdomain would be) carried it and was accepted in %d of %d.",
		withWithout(crossCarried == 0), len(lax)-crossCarried, len(lax), sameAccepted, len(lax))
	for _, b := range rep.browserWhere(func(b *BrowserResult) bool { return b.Flow.Variant && b.Flow.Transport == TransportCookie }) {
		if c, s2 := b.CrossSite.verdict(), b.SameSite.verdict(); c == s2 {
			s += fmt.Sprintf(" %s: both posts: %s.", upper(b.Flow.Label), c)
		} else {
			s += fmt.Sprintf(" %s: the cross-site post: %s; the same-site one: %s.", upper(b.Flow.Label), c, s2)
		}
	}
	hdr := rep.browserWhere(func(b *BrowserResult) bool { return b.Flow.Transport == TransportHeader })
	s += fmt.Sprintf(" A header token was carried by neither post in %d of %d header flows.", count(hdr, func(b *BrowserResult) bool { return !b.CrossSite.Carried && !b.SameSite.Carried }), len(hdr))
	p("%s", s)
}

func withWithout(without bool) string {
	if without {
		return "without the cookie"
	}
	return "with the cookie"
}

// verdict says what became of a forged post, after "the post: ".
func (p Post) verdict() string {
	switch {
	case !p.Arrived:
		return "did not arrive"
	case p.Blocked:
		return "refused by `http.CrossOriginProtection`"
	case !p.Carried:
		return "arrived without the credential"
	case p.Accepted:
		return "carried the credential, **accepted**"
	}
	return "carried the credential, rejected"
}

func (rep *Report) browserWhere(f func(*BrowserResult) bool) []*BrowserResult {
	var out []*BrowserResult
	for i := range rep.Browser {
		if f(&rep.Browser[i]) {
			out = append(out, &rep.Browser[i])
		}
	}
	return out
}

func count[T any](xs []T, f func(T) bool) int {
	n := 0
	for _, x := range xs {
		if f(x) {
			n++
		}
	}
	return n
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
			}
		}
	}
	return out
}
