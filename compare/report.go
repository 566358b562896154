package compare

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Chart file names, relative to the document, as Markdown links them.
const (
	WireChartFile = "comparison-wire.svg"
	CPUChartFile  = "comparison-cpu.svg"
)

// Charts returns the report's charts by file name.
func (rep *Report) Charts() map[string]*Chart {
	names := rep.names()
	wire := &Chart{
		Title:      "Bytes of the Cookie header on every request",
		Desc:       "Cookie header bytes per request for a small, a typical and a large session, per mechanism; the dashed line is the 4096-byte size of one cookie.",
		Unit:       "bytes",
		Categories: names,
		Series: []Series{
			{Name: "small", Color: "#9ecae1", Values: rep.each(func(r *Row) float64 { return float64(r.Small.CookieBytes) })},
			{Name: "typical", Color: "#4292c6", Values: rep.each(func(r *Row) float64 { return float64(r.Typical.CookieBytes) })},
			{Name: "large", Color: "#08519c", Values: rep.each(func(r *Row) float64 { return float64(r.Large.CookieBytes) })},
		},
		Ref:      MaxCookie,
		RefLabel: "one cookie: 4096 bytes",
	}
	cats := append(slices.Clone(names), rep.Floor.Name)
	rows := append(slices.Clone(rep.Rows), rep.Floor)
	us := func(f func(*Row) Bench) []float64 {
		out := make([]float64, len(rows))
		for i := range rows {
			out[i] = f(&rows[i]).NsPerOp / 1e3
		}
		return out
	}
	cpu := &Chart{
		Title:      "Time per login (issue) and per request (verify), typical session",
		Desc:       "Microseconds per operation, one goroutine, through net/http handlers under httptest; the last row is the harness alone. Redis includes the network round trips.",
		Unit:       "µs per operation",
		Categories: cats,
		Series: []Series{
			{Name: "issue", Color: "#f28e2b", Values: us(func(r *Row) Bench { return r.Issue })},
			{Name: "verify", Color: "#4e79a7", Values: us(func(r *Row) Bench { return r.Verify })},
		},
		Format: func(v float64) string { return fmt.Sprintf("%.1f", v) },
	}
	cpu.Clip = outlierClip(cpu.Series)
	return map[string]*Chart{WireChartFile: wire, CPUChartFile: cpu}
}

func (rep *Report) names() []string {
	n := make([]string, len(rep.Rows))
	for i := range rep.Rows {
		n[i] = rep.Rows[i].Name
	}
	return n
}

func (rep *Report) each(f func(*Row) float64) []float64 {
	out := make([]float64, len(rep.Rows))
	for i := range rep.Rows {
		out[i] = f(&rep.Rows[i])
	}
	return out
}

// which returns the names of the mechanisms for which f holds, as a
// Markdown list in a sentence, or "none".
// allCookies says whether every cookie mechanism was accepted by a second
// instance: "every cookie mechanism was", or how many of how many.
func (rep *Report) allCookies() string {
	var cookies, accepted int
	for i := range rep.Rows {
		if r := &rep.Rows[i]; strings.Contains(r.Name, "cookie") {
			cookies++
			if r.ReplicaAccepts {
				accepted++
			}
		}
	}
	if accepted == cookies {
		return "every cookie mechanism was"
	}
	return fmt.Sprintf("only %d of the %d cookie mechanisms were", accepted, cookies)
}

func (rep *Report) which(f func(*Row) bool) string {
	var n []string
	for i := range rep.Rows {
		if f(&rep.Rows[i]) {
			n = append(n, "*"+rep.Rows[i].Name+"*")
		}
	}
	switch len(n) {
	case 0:
		return "none"
	case 1:
		return n[0]
	}
	return strings.Join(n[:len(n)-1], ", ") + " and " + n[len(n)-1]
}

// row returns the row named name, nil if that mechanism did not run.
func (rep *Report) row(name string) *Row {
	for i := range rep.Rows {
		if rep.Rows[i].Name == name {
			return &rep.Rows[i]
		}
	}
	return nil
}

// Cell formatters.

func yesNo(accepted bool) string {
	if accepted {
		return "**accepted**"
	}
	return "rejected"
}

func (w Wire) cell() string {
	if w.Err != "" {
		return "not issued"
	}
	s := fmt.Sprintf("%d", w.CookieBytes)
	if w.Cookies > 1 {
		s += fmt.Sprintf(" (%d cookies)", w.Cookies)
	}
	if w.Dropped() {
		s += " **over 4096: dropped**"
	}
	return s
}

func (f Fit) cell() string {
	if f.Unbounded {
		return fmt.Sprintf("no limit (cookie stays %d B up to %d KiB)", f.Cookie, f.Payload>>10)
	}
	return fmt.Sprintf("%d B (cookie %d B)", f.Payload, f.Cookie)
}

func (b Bench) cell() string {
	return fmt.Sprintf("%.1f µs, %d allocs", b.NsPerOp/1e3, b.AllocsPerOp)
}

func (s State) storedCell() string {
	if !s.Backend {
		return "0"
	}
	c := fmt.Sprintf("%d B entry", s.EntryBytes)
	if s.ResidentBytes >= 0 {
		c += fmt.Sprintf(", %d B in Redis", s.ResidentBytes)
	}
	return c
}

func (s State) tripsCell() string {
	if !s.Backend {
		return "none"
	}
	return fmt.Sprintf("%d call, %d network round trip(s) (login: %d, %d)", s.VerifyCalls, s.VerifyRTTs, s.IssueCalls, s.IssueRTTs)
}

func (t Tamper) flipCell() string {
	c := fmt.Sprintf("%d of %d", t.FlipsAccepted, t.FlipsTried)
	if t.FlipsAccepted > 0 {
		c = "**" + c + " accepted**"
	} else {
		c += " accepted"
	}
	return c
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

func (r *Row) readableCell() string {
	if len(r.Readable) == 0 {
		return fmt.Sprintf("0 of %d", r.Secrets)
	}
	return fmt.Sprintf("**%d of %d**", len(r.Readable), r.Secrets)
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
	during := "accepted"
	if !r.DuringAccepted {
		during = "rejected"
	}
	switch {
	case r.Reissued && r.ReissuedAccepted:
		during += ", re-issued under the new key"
	case r.Reissued:
		during += ", re-issued, but **not** accepted once the old key is gone"
	default:
		during += ", not re-issued"
	}
	after := "rejected"
	if r.RetiredAccepted {
		after = "**accepted**"
	}
	return fmt.Sprintf("old key kept: %s; old key dropped: %s", during, after)
}

// Markdown writes the document.
func (rep *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	p("# Session mechanisms, measured")
	p("")
	p("<!-- Generated by `go run ./compare/cmd/compare`. Do not edit: run it again. -->")
	p("")
	p("The guides this library grew from end with a table of adjectives. This page replaces it with measurements: every cell below is the outcome of an experiment that package `compare` ran against the real implementations. Rerun it with `go run ./compare/cmd/compare`.")
	p("")
	m := rep.Machine
	mode := "full run"
	if rep.Quick {
		mode = "quick run (fewer benchmark iterations)"
	}
	p("Measured on %s with %s %s/%s, %s, %d logical cores; %s, %s.", m.Date.Format("2006-01-02 15:04 MST"), m.GoVersion, m.OS, m.Arch, m.CPU, m.Cores, mode, rep.Elapsed.Round(100*time.Millisecond))
	p("")
	rep.guide(p)
	rep.mechanisms(p)
	rep.table(p)
	rep.explain(p)
	p("## Pictures")
	p("")
	p("![%s](%s)", rep.Charts()[WireChartFile].Title, WireChartFile)
	p("")
	p("![%s](%s)", rep.Charts()[CPUChartFile].Title, CPUChartFile)
	p("")
	p("The charts are hand-written SVG, made by the same command from the same measurements: a plotting library would have become a dependency of the library's module for the sake of two bar charts. Each has a title and a description with its data in words, for screen readers.")
	p("")
	rep.seed(p)
	_, err := io.WriteString(w, b.String())
	return err
}

func (rep *Report) guide(p func(string, ...any)) {
	p("## Which should I use?")
	p("")
	revocable := func(r *Row) bool {
		return !r.Revoke.AfterLogout && r.Revoke.EverywhereAccepted == 0 && r.Revoke.StaleRole == ""
	}
	p("- **A logout, a ban or a role change must take effect now** (a copied cookie must die with the session): a server session. Only %s rejected a token replayed after logout, after \"log out everywhere\" and after a demotion; %s accepted the replayed copy after logout.",
		rep.which(revocable), rep.which(func(r *Row) bool { return r.Revoke.AfterLogout }))
	if sc := rep.row("sealed cookie"); sc != nil {
		p("- **Small sessions, several servers, nothing to run but the app, and a deadline is revocation enough**: the sealed cookie. It kept %s of the typical session's values readable, accepted %d of %d bit flips, its deadline is enforced by the server (a token kept past it: %s), a second instance with the same keys %s it, and it costs %d bytes per request for the typical session. Keep `Lifetime` and `IdleTimeout` short: a copy taken before logout was %s.",
			fmt.Sprint(len(sc.Readable)), sc.Tamper.FlipsAccepted, sc.Tamper.FlipsTried, yesNo(sc.ExpiredAccepted), acceptsWord(sc.ReplicaAccepts), sc.Typical.CookieBytes, yesNo(sc.Revoke.AfterLogout))
	}
	p("- **Sessions that grow** (carts, history, anything over a couple of KB): a server session. The largest payload that fits one 4096-byte cookie was %s; a server session's cookie stays the same size whatever it holds (%s bytes per request for the large session).%s",
		rep.fitSummary(), rep.largeCookie(func(r *Row) bool { return r.State.Backend }), rep.sealedLarge())
	p("- **Several servers with a server session**: the backend must be shared. A second instance accepted the token on %s, and rejected it on %s.",
		rep.which(func(r *Row) bool { return r.State.Backend && r.ReplicaAccepts }), rep.which(func(r *Row) bool { return r.State.Backend && !r.ReplicaAccepts }))
	p("- **A token another service must verify without your secret**: a JWT signed with EdDSA, knowing what it costs: its claims are readable (%s), and it cannot be revoked before it expires (replay after logout %s).",
		rep.readSummary("JWT EdDSA"), rep.acceptSummary("JWT EdDSA", func(r *Row) bool { return r.Revoke.AfterLogout }))
	p("- **Never** a plain cookie for anything the server trusts: an edited role was %s, %s bit flips were accepted, and its deadline was enforced only by the browser (token kept past it: %s). A signed cookie stops the forgery but not the reading (%s).",
		rep.acceptSummary("plain cookie", func(r *Row) bool { return r.Tamper.EditAccepted }), rep.flipSummary("plain cookie"), rep.acceptSummary("plain cookie", func(r *Row) bool { return r.ExpiredAccepted }), rep.readSummary("signed cookie"))
	p("")
}

func acceptsWord(ok bool) string {
	if ok {
		return "accepted"
	}
	return "rejected"
}

func (rep *Report) acceptSummary(name string, f func(*Row) bool) string {
	if r := rep.row(name); r != nil {
		return yesNo(f(r))
	}
	return "not measured"
}

func (rep *Report) readSummary(name string) string {
	if r := rep.row(name); r != nil {
		return fmt.Sprintf("%d of %d values read back", len(r.Readable), r.Secrets)
	}
	return "not measured"
}

func (rep *Report) flipSummary(name string) string {
	if r := rep.row(name); r != nil {
		return fmt.Sprintf("%d of %d", r.Tamper.FlipsAccepted, r.Tamper.FlipsTried)
	}
	return "not measured"
}

func (rep *Report) fitSummary() string {
	var parts []string
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if !r.Fit.Unbounded {
			parts = append(parts, fmt.Sprintf("%d B for the %s", r.Fit.Payload, r.Name))
		}
	}
	return strings.Join(parts, ", ")
}

func (rep *Report) mechanisms(p func(string, ...any)) {
	p("## The mechanisms")
	p("")
	p("| mechanism | what it is | driven through |")
	p("|---|---|---|")
	for _, s := range rep.Specs {
		p("| %s | %s | %s |", s.Name, s.Title, s.Driven)
	}
	for _, s := range rep.Skipped {
		p("| %s | **not measured**: %s | — |", s.Name, s.Reason)
	}
	p("")
	p("Every mechanism carries its token in a cookie named `%s` with the attributes `session.New` sets (`Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age`), so the bytes differ only by the token. The library's mechanisms run through a real `session.Manager` (values CBOR-encoded, large tokens split into chunks), because what the Manager writes is what users send. The others are net/http handlers written as their documentation shows. Each experiment uses a fresh instance with new keys and an empty backend.", CookieName)
	p("")
	if len(rep.Skipped) > 0 {
		p("**TODO**: the skipped mechanisms above need their server; set `SESSION_TEST_REDIS_URL` (default `%s`) and run the command again.", DefaultRedisURL)
		p("")
	}
}

func (rep *Report) table(p func(string, ...any)) {
	p("## Measured")
	p("")
	head := "| experiment |"
	sep := "|---|"
	for i := range rep.Rows {
		head += " " + rep.Rows[i].Name + " |"
		sep += "---|"
	}
	p("%s", head)
	p("%s", sep)
	line := func(label string, f func(*Row) string) {
		s := "| " + label + " |"
		for i := range rep.Rows {
			s += " " + f(&rep.Rows[i]) + " |"
		}
		p("%s", s)
	}
	line("1. Cookie bytes per request, small session", func(r *Row) string { return r.Small.cell() })
	line("2. … typical session", func(r *Row) string { return r.Typical.cell() })
	line("3. … large session", func(r *Row) string { return r.Large.cell() })
	line("4. Set-Cookie bytes at login, typical", func(r *Row) string { return fmt.Sprint(r.Typical.SetCookieBytes) })
	line("5. Set-Cookie bytes on a read-only request", func(r *Row) string { return fmt.Sprint(r.ReadSetCookie) })
	line("6. Largest payload in one 4096-byte cookie", func(r *Row) string { return r.Fit.cell() })
	line("7. Time per login (issue)", func(r *Row) string { return r.Issue.cell() })
	line("8. Time per request (verify)", func(r *Row) string { return r.Verify.cell() })
	line("9. Server-side bytes per session", func(r *Row) string { return r.State.storedCell() })
	line("10. Backend calls / round trips per request", func(r *Row) string { return r.State.tripsCell() })
	line("11. Single-bit flips accepted", func(r *Row) string { return r.Tamper.flipCell() })
	line("12. Role edited to \"admin\"", func(r *Row) string { return r.Tamper.editCell() })
	line("13. Typical values the client can read", func(r *Row) string { return r.readableCell() })
	line("14. Replay after logout", func(r *Row) string { return yesNo(r.Revoke.AfterLogout) })
	line("15. Replay after \"log out everywhere\"", func(r *Row) string { return r.Revoke.everywhereCell() })
	line("16. Demoted admin's old token", func(r *Row) string { return r.Revoke.staleCell() })
	line("17. Second instance, same configuration", func(r *Row) string {
		if r.ReplicaAccepts {
			return "accepted"
		}
		return "**rejected** (nothing shared)"
	})
	line("18. Key rotation", func(r *Row) string { return r.Rotation.cell() })
	line(fmt.Sprintf("19. Token kept %s past a %s lifetime", ExpiryWait-ExpiryLifetime, ExpiryLifetime), func(r *Row) string { return yesNo(r.ExpiredAccepted) })
	p("")
	p("Harness floor (an issue and a verify through the same httptest round trip doing no session work): %s per issue, %s per verify.", rep.Floor.Issue.cell(), rep.Floor.Verify.cell())
	p("")
}

func (rep *Report) explain(p func(string, ...any)) {
	bench := "about 1 s"
	if rep.Quick {
		bench = "about 20 ms (quick run: expect noise)"
	}
	p("## What each row measures")
	p("")
	for _, e := range []string{
		"1–3. The `Cookie` request header value the client sends with **every** request after login: `session=` and the token (and its chunks). Small: the user ID. Typical: user ID, name, role, CSRF token, login time, a 5-item cart, a theme. Large: the typical session plus 60 viewed products and a 30-item list, about 3.5 KB of values. *over 4096: dropped* marks a cookie a browser would refuse to store: that mechanism cannot carry that session at all.",
		"4. The `Set-Cookie` header values of the login response, attributes included.",
		"5. What the server sends back when a request only reads the session: 0 means the token is not rewritten on every response.",
		"6. Found by bisection on the size of an incompressible payload: the largest payload whose `Set-Cookie` is a single header of at most 4096 bytes; one byte more does not fit (the Manager then splits the sealed cookie into two cookies). The sealed cookie stops at 4094 because the Manager reserves room for a chunk suffix. *no limit* means the search's upper bound still fit.",
		"7–8. `testing.Benchmark`, " + bench + " each, of a login and of an authenticated request for the typical session, each a full `httptest` round trip through the mechanism's handler, so the harness floor below the table is included in every number. Wall-clock time of one goroutine: for Redis it is mostly network round trips, not CPU. On a shared machine these times move by tens of percent from run to run: compare mechanisms within one run, not across runs.",
		"9. For a server session, the backend entry written for the typical session (its 64-character key, the encoded record and the user tag), and for Redis what `MEMORY USAGE` reports for the keys it added (the session hash and the user index). Stateless mechanisms keep nothing.",
		"10. Backend operations and network round trips (go-redis commands or pipelines, counted by a hook) of a request that reads the session, and of a login.",
		"11. The token with one bit of its decoded bytes flipped, at evenly spaced positions: accepted means the server took the altered token as a session.",
		"12. An attacker's tool that knows no mechanism peels base64 layers and separators, finds `\"member\"`, writes `\"admin\"` and re-encodes, leaving any signature as it was. *claim not found* means the token gave nothing to edit.",
		"13. The same tool looks for the typical session's user ID, name, role, CSRF token, theme and a cart item in the token.",
		"14. A copy of the token taken before logout, sent after it.",
		"15. Two logins of one user (two devices), then the mechanism's \"log out everywhere\" (`serverstore.Store.DestroyUser`), then both tokens sent again. *not possible* means the mechanism keeps nothing to find a user's sessions by.",
		"16. An admin's token; the user is demoted, and the application does what the mechanism allows (ends the user's sessions where it can); the old token is sent again. A stateless token keeps the role it was issued with until it expires. Storing only the user ID and looking the role up on each request avoids this for any mechanism, at the price of a lookup per request: a store again.",
		"17. A second server instance built from the same configuration (keys, backend address) but sharing no memory verifies a token the first issued.",
		"18. A token issued under key A; the key list becomes (B, A): is the old token accepted, and does the server answer with a token under B? Then A is dropped: is the old token still accepted? A server session has no key: its tokens are random IDs.",
		fmt.Sprintf("19. A session issued with a %s lifetime; the client keeps the token, ignoring the cookie's `Max-Age`, and sends it back after %s. *accepted* means the deadline was the browser's business only.", ExpiryLifetime, ExpiryWait),
	} {
		p("- %s", e)
	}
	p("")
}

func (rep *Report) seed(p func(string, ...any)) {
	p("## The old table, revisited")
	p("")
	p("| method | security | scalability |")
	p("|---|---|---|")
	p("| Sessions | High | Needs store |")
	p("| JWT | Medium | Stateless |")
	p("| Cookies | Low-Medium | Limited |")
	p("")
	server := func(r *Row) bool { return r.State.Backend }
	p("**Sessions: \"High\" security.** Holds for a server session: nothing readable (%s), no forgery accepted (%s), and it is the only mechanism whose logout kills a copied token (%s rejected the replay). It holds for a sealed cookie on integrity and confidentiality too, but not on revocation.",
		rep.which(func(r *Row) bool { return server(r) && len(r.Readable) == 0 }), rep.which(func(r *Row) bool { return server(r) && r.Tamper.FlipsAccepted == 0 && !r.Tamper.EditAccepted }), rep.which(func(r *Row) bool { return !r.Revoke.AfterLogout }))
	p("")
	p("**Sessions: \"Needs store\".** True of server sessions: %s. Misleading as a property of sessions: the sealed cookie is a session with no store at all, and a second instance with the same keys accepted its token with no backend call.",
		rep.storeSummary())
	p("")
	p("**JWT: \"Medium\" security.** An average of a strong property and a missing one. Integrity is as strong as the sealed cookie's (%s rejected every forgery); confidentiality is absent (%s); revocation is absent (%s accepted the replay after logout and kept a demoted admin's role).",
		rep.which(func(r *Row) bool {
			return strings.HasPrefix(r.Name, "JWT") && r.Tamper.FlipsAccepted == 0 && !r.Tamper.EditAccepted
		}), rep.readSummary("JWT HS256"), rep.which(func(r *Row) bool {
			return strings.HasPrefix(r.Name, "JWT") && r.Revoke.AfterLogout && r.Revoke.StaleRole == "admin"
		}))
	p("")
	p("**JWT: \"Stateless\".** Holds (no backend call, a second instance accepted it), and is paid for: no logout, no \"log out everywhere\", stale privileges until expiry. A denylist to fix that is a store read on every request, the thing statelessness was meant to avoid. It is also no more stateless than the sealed cookie, which encrypts what a JWT only signs.")
	p("")
	p("**Cookies: \"Low-Medium\" security.** One adjective for three different things. A plain cookie is low: %s. A signed cookie resists tampering exactly like a JWT (%s) and is just as readable. A sealed cookie resists both (%s).",
		rep.plainSummary(), rep.acceptSummary("signed cookie", func(r *Row) bool { return r.Tamper.EditAccepted }), rep.sealedSummary())
	p("")
	p("**Cookies: \"Limited\".** In size, yes: %s. In scaling, no: %s accepted by a second instance (%s), exactly as the JWTs were, since a JWT in a cookie is a cookie. And the limit applies to JWTs just as much: the large session's JWT took a Set-Cookie header of %s bytes, which a browser drops.",
		rep.fitSummary(), rep.allCookies(), rep.which(func(r *Row) bool { return strings.Contains(r.Name, "cookie") && r.ReplicaAccepts }), rep.largeSummary("JWT HS256"))
	p("")
}

func (rep *Report) storeSummary() string {
	var parts []string
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if r.State.Backend {
			parts = append(parts, fmt.Sprintf("the %s made %d backend call per request and a second instance %s its token", r.Name, r.State.VerifyCalls, acceptsWord(r.ReplicaAccepts)))
		}
	}
	return strings.Join(parts, "; ")
}

func (rep *Report) plainSummary() string {
	r := rep.row("plain cookie")
	if r == nil {
		return "not measured"
	}
	return fmt.Sprintf("an edited role was %s, %d of %d bit flips were accepted, %d of %d values were readable, and a token kept past its deadline was %s",
		yesNo(r.Tamper.EditAccepted), r.Tamper.FlipsAccepted, r.Tamper.FlipsTried, len(r.Readable), r.Secrets, yesNo(r.ExpiredAccepted))
}

func (rep *Report) sealedSummary() string {
	r := rep.row("sealed cookie")
	if r == nil {
		return "not measured"
	}
	return fmt.Sprintf("%d of %d bit flips accepted, %d of %d values readable", r.Tamper.FlipsAccepted, r.Tamper.FlipsTried, len(r.Readable), r.Secrets)
}

// largeCookie lists the large session's Cookie bytes of the mechanisms
// for which f holds.
func (rep *Report) largeCookie(f func(*Row) bool) string {
	var parts []string
	for i := range rep.Rows {
		if r := &rep.Rows[i]; f(r) {
			parts = append(parts, fmt.Sprint(r.Large.CookieBytes))
		}
	}
	return strings.Join(parts, " and ")
}

func (rep *Report) sealedLarge() string {
	r := rep.row("sealed cookie")
	if r == nil || r.Large.Err != "" {
		return ""
	}
	return fmt.Sprintf(" The sealed cookie does carry the large session, split into %d cookies, at %d bytes on every request; past `MaxChunks` cookies its save fails with `ErrTooLarge`.", r.Large.Cookies, r.Large.CookieBytes)
}

func (rep *Report) largeSummary(name string) string {
	if r := rep.row(name); r != nil {
		return fmt.Sprint(r.Large.Largest)
	}
	return "not measured"
}
