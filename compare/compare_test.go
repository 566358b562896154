package compare

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sealed/session/serverstore/storetest"
)

var (
	quickOnce   sync.Once
	quickReport *Report
	quickErr    error
)

// quick runs the experiments once, quickly and without the browser, for
// all the tests.
func quick(t *testing.T) *Report {
	t.Helper()
	quickOnce.Do(func() {
		quickReport, quickErr = Run(context.Background(), Options{Quick: true})
	})
	if quickErr != nil {
		t.Fatal(quickErr)
	}
	return quickReport
}

// rows returns the rows of name, skipping (or, under
// SESSION_TEST_SERVICES=require, failing) the test if the mechanism could
// not run here.
func rows(t *testing.T, rep *Report, name string) []*Row {
	t.Helper()
	for _, s := range rep.Skipped {
		if s.Name == name {
			storetest.Require(t, name, errors.New(s.Reason))
		}
	}
	rs := rep.rowsOf(name)
	if len(rs) == 0 {
		t.Fatalf("no row for %s", name)
	}
	return rs
}

// near reports whether a window is within a few seconds of want (the
// clock moves while the experiment runs, and deadlines count whole
// seconds).
func near(w Window, want time.Duration) bool {
	d := time.Duration(w.Seconds)*time.Second - want
	return !w.Immediate && !w.Unbounded && d > -3*time.Second && d <= 0
}

// The experiments must observe what each mechanism really does. These are
// checks of the experiment code against known behaviour, not the report's
// numbers written down.

func TestTamperingObserved(t *testing.T) {
	rep := quick(t)
	for _, r := range rows(t, rep, NamePlain) {
		if !r.Tamper.EditAccepted || r.Tamper.FlipsAccepted == 0 {
			t.Errorf("%s: forgery not observed: %+v", r.Label(), r.Tamper)
		}
	}
	for _, name := range []string{NameSealed, NameServerMemory, NameJWTHS256, NameJWTEdDSA, NameSigned, NameJWTRefresh} {
		for _, r := range rows(t, rep, name) {
			if r.Tamper.EditAccepted || r.Tamper.FlipsAccepted != 0 || r.Tamper.FlipsTried == 0 {
				t.Errorf("%s: a forgery was accepted or none tried: %+v", r.Label(), r.Tamper)
			}
		}
	}
	for _, name := range []string{NameJWTHS256, NameJWTEdDSA, NameSigned, NameJWTRefresh} {
		for _, r := range rows(t, rep, name) {
			if !r.Tamper.EditFound {
				t.Errorf("%s: the role claim was not found in a readable token", r.Label())
			}
		}
	}
}

func TestConfidentialityObserved(t *testing.T) {
	rep := quick(t)
	for _, name := range []string{NameSealed, NameServerMemory} {
		for _, r := range rows(t, rep, name) {
			if len(r.Readable.Secrets)+len(r.Readable.Open) != 0 {
				t.Errorf("%s: values readable: %+v", r.Label(), r.Readable)
			}
		}
	}
	for _, name := range []string{NameJWTHS256, NameJWTEdDSA, NameSigned, NamePlain} {
		for _, r := range rows(t, rep, name) {
			if len(r.Readable.Secrets) != r.Readable.SecretsOf || len(r.Readable.Open) != r.Readable.OpenOf || r.Readable.SecretsOf != 1 {
				t.Errorf("%s: read %+v", r.Label(), r.Readable)
			}
		}
	}
	// The JWT deployment carries IDs and the role only: no secret.
	for _, r := range rows(t, rep, NameJWTRefresh) {
		if len(r.Readable.Secrets) != 0 || strings.Join(r.Readable.Open, ",") != "role,uid" {
			t.Errorf("%s: read %+v, want the role and the user ID only", r.Label(), r.Readable)
		}
	}
}

func TestRevocationObserved(t *testing.T) {
	rep := quick(t)
	day := 24 * time.Hour
	for _, name := range []string{NameServerMemory, NameServerRedis, NameJWTRefresh} {
		for _, r := range rows(t, rep, name) {
			if !revocable(r) {
				t.Errorf("%s: not revoked at once: %+v", r.Label(), r.Revoke)
			}
		}
	}
	for _, name := range []string{NameSealed, NameJWTHS256, NameJWTEdDSA, NameSigned, NamePlain} {
		for _, r := range rows(t, rep, name) {
			v := r.Revoke
			if v.Everywhere || v.EverywhereAccepted != 2 || v.StaleRole != "admin" {
				t.Errorf("%s: revoked: %+v", r.Label(), v)
			}
			if want := name != NamePlain; near(v.AfterLogout, day) != want || near(v.Stolen, day) != want || v.AfterLogout.Unbounded == want {
				t.Errorf("%s: windows after logout %+v, stolen %+v; want the whole day: %v", r.Label(), v.AfterLogout, v.Stolen, want)
			}
		}
	}
	for _, name := range []string{NameServerMemory, NameServerRedis} {
		for _, r := range rows(t, rep, name) {
			if !near(r.Revoke.Stolen, day) {
				t.Errorf("%s: a stolen token lasted %+v, want its lifetime", r.Label(), r.Revoke.Stolen)
			}
		}
	}
	for _, r := range rows(t, rep, NameJWTRefresh) {
		if !near(r.Revoke.Stolen, DefaultAccessTTL) {
			t.Errorf("%s: a stolen access token lasted %+v, want %s", r.Label(), r.Revoke.Stolen, DefaultAccessTTL)
		}
	}
}

func TestPropagationObserved(t *testing.T) {
	rep := quick(t)
	for _, name := range []string{NameServerRedis, NameJWTRefresh} {
		for _, r := range rows(t, rep, name) {
			if v := r.Revoke; !v.PropagationMeasured || !v.Propagated {
				t.Errorf("%s: a second instance did not learn of the logout: %+v", r.Label(), v)
			}
		}
	}
	for _, r := range rows(t, rep, NameServerMemory) {
		if r.Revoke.PropagationMeasured {
			t.Errorf("%s: a second instance in memory accepted the token", r.Label())
		}
	}
	for _, r := range rows(t, rep, NameJWTHS256) {
		if v := r.Revoke; !v.PropagationMeasured || v.Propagated {
			t.Errorf("%s: a logout reached a second stateless instance: %+v", r.Label(), v)
		}
	}
}

func TestScaleRotationExpiryObserved(t *testing.T) {
	rep := quick(t)
	for _, r := range rows(t, rep, NameServerMemory) {
		if r.ReplicaAccepts || !r.State.Backend || r.State.Network || r.State.HeapBytes <= 0 {
			t.Errorf("%s: replica=%v state=%+v", r.Label(), r.ReplicaAccepts, r.State)
		}
	}
	for _, r := range rows(t, rep, NameServerRedis) {
		if st := r.State; !r.ReplicaAccepts || st.Verify.RoundTrips != 1 || st.Verify.Bytes == 0 || st.ResidentBytes <= 0 {
			t.Errorf("%s: replica=%v state=%+v", r.Label(), r.ReplicaAccepts, st)
		}
	}
	for _, r := range rows(t, rep, NameSealed) {
		if rot := r.Rotation; !rot.Keyed || !rot.DuringAccepted || !rot.Reissued || rot.RetiredAccepted || rot.LoggedOut() {
			t.Errorf("%s rotation: %+v", r.Label(), rot)
		}
	}
	for _, name := range []string{NameJWTHS256, NameJWTEdDSA} {
		for _, r := range rows(t, rep, name) {
			if rot := r.Rotation; rot.Reissued || !rot.LoggedOut() {
				t.Errorf("%s rotation without re-issue: %+v", r.Label(), rot)
			}
			if rot := r.RotationReissue; rot == nil || !rot.Reissued || rot.LoggedOut() {
				t.Errorf("%s rotation with re-issue: %+v", r.Label(), rot)
			}
		}
	}
	for _, r := range rows(t, rep, NameJWTRefresh) {
		if rot := r.Rotation; !rot.Refreshed || rot.RetiredAccepted || rot.LoggedOut() {
			t.Errorf("%s rotation: %+v", r.Label(), rot)
		}
	}
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if r.Rotation.Keyed && r.Rotation.RetiredAccepted {
			t.Errorf("%s: a token under a dropped key was accepted", r.Label())
		}
		if !r.State.Backend && !r.ReplicaAccepts {
			t.Errorf("%s: a stateless token was rejected by a replica with the same keys", r.Label())
		}
		if want := r.Name == NamePlain; r.ExpiredAccepted != want {
			t.Errorf("%s: expired token accepted=%v", r.Label(), r.ExpiredAccepted)
		}
	}
}

func TestRefreshObserved(t *testing.T) {
	rep := quick(t)
	for _, r := range rows(t, rep, NameJWTRefresh) {
		f, st := r.Refresh, r.State
		if f == nil || !f.Rotated || !f.ReuseRejected || !f.ReuseRevokes || f.Store.RoundTrips != 1 || f.RequestBytes == 0 || f.ResponseBytes == 0 {
			t.Fatalf("%s: refresh %+v", r.Label(), f)
		}
		// The thief refreshes until the session's lifetime ends, then
		// keeps the last access token until it expires: about a day.
		if d := time.Duration(f.Thief.Seconds) * time.Second; f.Thief.Unbounded || d <= 24*time.Hour-DefaultAccessTTL || d > 24*time.Hour+DefaultAccessTTL {
			t.Errorf("%s: a thief with both tokens stayed %+v over %d refreshes", r.Label(), f.Thief, f.Refreshes)
		}
		// The denylist check on every request, the session's data too
		// when the request needs it, in one round trip.
		if st.Identify.Commands != 1 || st.Identify.RoundTrips != 1 || st.Verify.Commands != 2 || st.Verify.RoundTrips != 1 {
			t.Errorf("%s: store work %+v", r.Label(), st)
		}
		// The cart is in Redis: the token does not grow.
		if !r.Pass.Unbounded || r.Large.RequestBytes != r.Typical.RequestBytes {
			t.Errorf("%s: the token grew with the session: %+v, %+v", r.Label(), r.Typical, r.Large)
		}
	}
	for i := range rep.Rows {
		if r := &rep.Rows[i]; r.Name != NameJWTRefresh && r.Refresh != nil {
			t.Errorf("%s: refresh measured on a mechanism without refresh tokens", r.Label())
		}
	}
}

func TestHeaderTransportObserved(t *testing.T) {
	rep := quick(t)
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if r.Transport != TransportHeader {
			continue
		}
		if r.Typical.Cookies != 0 || r.Typical.Largest != 0 || r.Fit != (Fit{}) {
			t.Errorf("%s: cookies over the header transport: %+v", r.Label(), r.Typical)
		}
		// The same token over the cookie: "Authorization: Bearer " is 6
		// bytes longer than "Cookie: session=", chunks aside.
		if c := rep.row(r.Name, TransportCookie); c != nil && c.Small.Cookies == 1 && r.Small.RequestBytes != c.Small.RequestBytes+6 {
			t.Errorf("%s: %d request bytes, the cookie's %d", r.Label(), r.Small.RequestBytes, c.Small.RequestBytes)
		}
	}
	for _, name := range []string{NameServerMemory, NameSealed} {
		for _, r := range rows(t, rep, name) {
			// The Manager's Vary: Cookie or Vary: Authorization.
			if r.ReadResponse == 0 {
				t.Errorf("%s: nothing added to a read-only response", r.Label())
			}
		}
	}
}

func TestLargestFit(t *testing.T) {
	rep := quick(t)
	for _, s := range rep.Specs {
		for _, r := range rep.rowsOf(s.Name) {
			check := func(what string, f Fit, c criterion, limit int) {
				if f.Unbounded {
					if !r.State.Backend {
						t.Errorf("%s: %s: unbounded without a backend", r.Label(), what)
					}
					return
				}
				if f.Size > limit {
					t.Errorf("%s: %s: %+v", r.Label(), what, f)
				}
				// Check the boundary again on a fresh instance.
				m, _, done, err := newInstance(s, r.Transport)
				if err != nil {
					t.Fatal(err)
				}
				defer done()
				ok, size, _ := meets(context.Background(), m, c, f.Payload)
				next, _, _ := meets(context.Background(), m, c, f.Payload+1)
				if !ok || size > limit || next {
					t.Errorf("%s: %s: payload %d meets=%v (%d B), +1 meets=%v", r.Label(), what, f.Payload, ok, size, next)
				}
			}
			if r.Transport == TransportCookie {
				check("one cookie", r.Fit, oneCookie, MaxCookie)
			}
			check("passes", r.Pass, passes, MaxHeaderLine)
		}
	}
	// The library's defaults cap the sealed cookie's Cookie header below
	// the proxy limit, and refuse a larger session.
	for _, r := range rows(t, rep, NameSealed) {
		if r.Transport == TransportCookie && (!r.Pass.NextTooLarge || r.Pass.Size >= MaxHeaderLine) {
			t.Errorf("%s: %+v, want ErrTooLarge within the default budget", r.Label(), r.Pass)
		}
	}
}

func TestCurveAndBandwidth(t *testing.T) {
	rep := quick(t)
	for i := range rep.Rows {
		r := &rep.Rows[i]
		c := r.Curve
		if len(c) < 2 || c[0].Payload != 0 {
			t.Fatalf("%s: curve %+v", r.Label(), c)
		}
		if end := c[len(c)-1].Payload; !r.Pass.Unbounded && end != r.Pass.Payload {
			t.Errorf("%s: the curve ends at %d, not at the largest payload %d", r.Label(), end, r.Pass.Payload)
		}
		for j := 1; j < len(c); j++ {
			if c[j].Payload <= c[j-1].Payload || c[j].RequestBytes < c[j-1].RequestBytes {
				t.Errorf("%s: curve not increasing at %d: %+v", r.Label(), j, c)
			}
		}
		if want := r.State.Backend; (r.perKB() == 0) != want {
			t.Errorf("%s: %0.f request bytes per KB of payload, with a backend: %v", r.Label(), r.perKB(), want)
		}
		if got, want := r.clientBandwidth(), float64((r.Typical.RequestBytes+r.ReadResponse)*Rate); got != want {
			t.Errorf("%s: bandwidth %v, want %v", r.Label(), got, want)
		}
	}
}

// The signed cookie follows the experiment's clock although
// securecookie reads the wall clock: a cookie is accepted until MaxAge
// has passed on the experiment's clock, and refused after.
func TestSignedCookieClock(t *testing.T) {
	clk := &Clock{}
	c := newSigned(Config{Lifetime: time.Hour, Clock: clk})
	tok, err := c.encode(map[string]any{"sub": User}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{{0, true}, {time.Hour - 2*time.Second, true}, {time.Hour + 2*time.Second, false}, {Horizon, false}} {
		clk.Set(tc.at)
		if _, _, err := c.decode(tok); (err == nil) != tc.want {
			t.Errorf("at +%s: accepted=%v, want %v (%v)", tc.at, err == nil, tc.want, err)
		}
	}
}

func TestSVGWellFormed(t *testing.T) {
	rep := quick(t)
	charts := rep.Charts()
	if len(charts) != len(chartFiles) {
		t.Errorf("%d charts, %d files", len(charts), len(chartFiles))
	}
	for name, c := range charts {
		d := xml.NewDecoder(bytes.NewReader(c.SVG()))
		var root string
		var titles int
		for {
			tok, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				if root == "" {
					root = se.Name.Local
				}
				if se.Name.Local == "title" {
					titles++
				}
			}
		}
		if root != "svg" || titles == 0 {
			t.Errorf("%s: root %q, %d titles", name, root, titles)
		}
	}
}

func TestMarkdown(t *testing.T) {
	rep := quick(t)
	var b bytes.Buffer
	if err := rep.Markdown(&b); err != nil {
		t.Fatal(err)
	}
	want := []string{"## Which should I use?", "## The guides' table, revisited", "**Storage.**", "**Security.**", "**Scalability.**", "**Use case.**",
		"### Storage", "### Security", "### Scalability", "## In a real browser", "The browser experiments did not run", rep.Machine.GoVersion}
	for _, f := range chartFiles {
		want = append(want, "("+f+")")
	}
	for _, w := range want {
		if !strings.Contains(b.String(), w) {
			t.Errorf("report lacks %q", w)
		}
	}
}

// The guide's sentences follow the measurements: a sealed cookie that
// refused the replay after logout would be listed among the mechanisms
// that revoke.
func TestGuideFollowsMeasurements(t *testing.T) {
	rep := *quick(t)
	rep.Rows = append([]Row(nil), rep.Rows...)
	guide := func() string {
		var b strings.Builder
		rep.guide(func(f string, a ...any) { b.WriteString(strings.TrimSpace(fmt.Sprintf(f, a...)) + "\n") })
		return b.String()
	}
	line := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "- **A logout") {
				return l
			}
		}
		t.Fatalf("no revocation advice in %s", s)
		return ""
	}
	before := line(guide())
	if strings.Contains(before[:strings.Index(before, "Only they")], "*"+NameSealed+"*") {
		t.Fatalf("the sealed cookie is listed as revoking: %s", before)
	}
	for _, r := range rep.rowsOf(NameSealed) {
		r.Revoke = Revocation{AfterLogout: Window{Immediate: true}, Everywhere: true}
	}
	after := line(guide())
	if !strings.Contains(after[:strings.Index(after, "Only they")], "*"+NameSealed+"*") {
		t.Errorf("the guide did not follow the measurement: %s", after)
	}
}

func TestReplaceSummary(t *testing.T) {
	doc := []byte("# x\n\n" + SummaryStart + "\nold\n" + SummaryEnd + "\nrest\n")
	got, err := ReplaceSummary(doc, "new text")
	if err != nil || string(got) != "# x\n\n"+SummaryStart+"\nnew text\n"+SummaryEnd+"\nrest\n" {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := ReplaceSummary([]byte("no markers"), "x"); err == nil {
		t.Error("no error without markers")
	}
	if s := quick(t).Summary(); !strings.Contains(s, "docs/comparison.md") || !strings.Contains(s, "*"+NameServerMemory+"*") {
		t.Errorf("summary: %s", s)
	}
}

func TestForge(t *testing.T) {
	tok := base64.URLEncoding.EncodeToString([]byte(`{"role":"member","x":1}`))
	out := forge(tok, `"member"`, `"admin"`)
	if len(out) == 0 {
		t.Fatal("nothing forged")
	}
	got, err := base64.URLEncoding.DecodeString(out[0])
	if err != nil || string(got) != `{"role":"admin","x":1}` {
		t.Errorf("forged %q, %v", got, err)
	}
	if reveals(base64.RawURLEncoding.EncodeToString([]byte{0xde, 0xad}), "member") {
		t.Error("revealed what is not there")
	}
}
