package compare

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

var (
	quickOnce   sync.Once
	quickReport *Report
	quickErr    error
)

// quick runs the experiments once, quickly, for all the tests.
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

func mustRow(t *testing.T, rep *Report, name string) *Row {
	t.Helper()
	r := rep.row(name)
	if r == nil {
		t.Fatalf("no row for %s", name)
	}
	return r
}

// The experiments must observe what each mechanism really does. These are
// checks of the experiment code against known behaviour, not the report's
// numbers written down.

func TestTamperingObserved(t *testing.T) {
	rep := quick(t)
	plain := mustRow(t, rep, "plain cookie")
	if !plain.Tamper.EditAccepted || plain.Tamper.FlipsAccepted == 0 {
		t.Errorf("plain cookie: forgery not observed: %+v", plain.Tamper)
	}
	for _, name := range []string{"sealed cookie", "server (memory)", "JWT HS256", "JWT EdDSA", "signed cookie"} {
		r := mustRow(t, rep, name)
		if r.Tamper.EditAccepted || r.Tamper.FlipsAccepted != 0 || r.Tamper.FlipsTried == 0 {
			t.Errorf("%s: a forgery was accepted or none tried: %+v", name, r.Tamper)
		}
	}
	for _, name := range []string{"JWT HS256", "JWT EdDSA", "signed cookie"} {
		if !mustRow(t, rep, name).Tamper.EditFound {
			t.Errorf("%s: the role claim was not found in a readable token", name)
		}
	}
}

func TestConfidentialityObserved(t *testing.T) {
	rep := quick(t)
	for _, name := range []string{"sealed cookie", "server (memory)"} {
		if r := mustRow(t, rep, name); len(r.Readable) != 0 {
			t.Errorf("%s: values readable: %v", name, r.Readable)
		}
	}
	for _, name := range []string{"JWT HS256", "JWT EdDSA", "signed cookie", "plain cookie"} {
		if r := mustRow(t, rep, name); len(r.Readable) != r.Secrets {
			t.Errorf("%s: read %v of %d values", name, r.Readable, r.Secrets)
		}
	}
}

func TestRevocationObserved(t *testing.T) {
	rep := quick(t)
	for i := range rep.Rows {
		r := &rep.Rows[i]
		server := r.State.Backend
		if r.Revoke.AfterLogout == server {
			t.Errorf("%s: replay after logout accepted=%v", r.Name, r.Revoke.AfterLogout)
		}
		if r.Revoke.Everywhere != server || (r.Revoke.EverywhereAccepted == 0) != server {
			t.Errorf("%s: log out everywhere: %+v", r.Name, r.Revoke)
		}
		if (r.Revoke.StaleRole == "") != server || !server && r.Revoke.StaleRole != "admin" {
			t.Errorf("%s: stale role %q", r.Name, r.Revoke.StaleRole)
		}
	}
}

func TestScaleRotationExpiryObserved(t *testing.T) {
	rep := quick(t)
	mem := mustRow(t, rep, "server (memory)")
	if mem.ReplicaAccepts || mem.State.VerifyCalls != 1 || mem.State.EntryBytes == 0 {
		t.Errorf("server (memory): replica=%v state=%+v", mem.ReplicaAccepts, mem.State)
	}
	if r := rep.row("server (Redis)"); r != nil && (!r.ReplicaAccepts || r.State.VerifyRTTs != 1) {
		t.Errorf("server (Redis): replica=%v state=%+v", r.ReplicaAccepts, r.State)
	}
	sealed := mustRow(t, rep, "sealed cookie")
	if rot := sealed.Rotation; !rot.Keyed || !rot.DuringAccepted || !rot.Reissued || rot.RetiredAccepted || !rot.ReissuedAccepted {
		t.Errorf("sealed cookie rotation: %+v", rot)
	}
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if r.Rotation.Keyed && r.Rotation.RetiredAccepted {
			t.Errorf("%s: a token under a dropped key was accepted", r.Name)
		}
		if !r.State.Backend && !r.ReplicaAccepts {
			t.Errorf("%s: a stateless token was rejected by a replica with the same keys", r.Name)
		}
		if want := r.Name == "plain cookie"; r.ExpiredAccepted != want {
			t.Errorf("%s: expired token accepted=%v", r.Name, r.ExpiredAccepted)
		}
	}
}

func TestLargestFit(t *testing.T) {
	rep := quick(t)
	for i, s := range rep.Specs {
		r := &rep.Rows[i]
		if r.Fit.Unbounded {
			if !r.State.Backend {
				t.Errorf("%s: unbounded fit without a backend", r.Name)
			}
			continue
		}
		if r.Fit.Cookie > MaxCookie || (r.Fit.Next <= MaxCookie && r.Fit.NextNote == "") {
			t.Errorf("%s: fit %+v", r.Name, r.Fit)
		}
		// Check the boundary again on a fresh instance.
		m, done, err := fresh(s)
		if err != nil {
			t.Fatal(err)
		}
		ok, c, _ := fits(context.Background(), m, r.Fit.Payload)
		next, _, _ := fits(context.Background(), m, r.Fit.Payload+1)
		done()
		if !ok || c > MaxCookie || next {
			t.Errorf("%s: payload %d fits=%v (%d B), +1 fits=%v", r.Name, r.Fit.Payload, ok, c, next)
		}
	}
}

func TestSVGWellFormed(t *testing.T) {
	rep := quick(t)
	for name, c := range rep.Charts() {
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
	for _, want := range []string{"## Which should I use?", "## Measured", "## The old table, revisited", "(" + WireChartFile + ")", "(" + CPUChartFile + ")", rep.Machine.GoVersion} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
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
