package compare

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/go-sealed/session/serverstore/storetest"
)

// TestBrowserObserved runs the flows that show each browser finding, in
// the system Chromium, and checks the browser did what the report says:
// the forged posts arrived with the Sec-Fetch-Site of their kind, an
// HttpOnly cookie stayed out of a script's reach and a localStorage token
// did not, SameSite=Lax kept the cookie off the cross-site post only,
// SameSite=None did not, http.CrossOriginProtection refused both posts,
// and a CSP kept the injected script out.
func TestBrowserObserved(t *testing.T) {
	path, why := Chromium()
	if path == "" {
		storetest.Require(t, "Chromium", errors.New(why))
	}
	specs, _ := Mechanisms()
	var flows []BrowserFlow
	for _, f := range BrowserFlows(specs) {
		// The sealed cookie's flows, but the last variant, which
		// combines two that are checked alone.
		if f.Spec.Name == NameSealed && !(f.CrossOriginProtection && f.SameSite == http.SameSiteNoneMode) {
			flows = append(flows, f)
		}
	}
	res, err := RunBrowser(context.Background(), path, flows)
	if err != nil {
		t.Fatal(err)
	}
	var checked int
	for _, r := range res {
		f := r.Flow
		if !r.Completed || !r.LoggedIn {
			t.Errorf("%s: the flow did not run: %+v", f.Label, r)
			continue
		}
		if r.CrossSite.Site != "cross-site" || r.SameSite.Site != "same-site" || !r.CrossSite.Arrived || !r.SameSite.Arrived {
			t.Errorf("%s: the forged posts were not what they seem: %+v, %+v", f.Label, r.CrossSite, r.SameSite)
		}
		header := f.Transport == TransportHeader
		switch {
		case f.CSP:
			checked++
			if r.InjectedRan || r.ScriptRead || r.ScriptUsed {
				t.Errorf("%s: the injected script ran under the CSP: %+v", f.Label, r)
			}
		case header:
			checked++
			if !r.ScriptRead || !r.ScriptUsed || r.CrossSite.Carried || r.SameSite.Carried {
				t.Errorf("%s: %+v, want a token read from localStorage and carried by no form", f.Label, r)
			}
		case f.CrossOriginProtection:
			checked++
			if !r.CrossSite.Blocked || !r.SameSite.Blocked || r.CrossSite.Accepted || r.SameSite.Accepted {
				t.Errorf("%s: %+v, %+v, want both posts refused", f.Label, r.CrossSite, r.SameSite)
			}
		case f.SameSite == http.SameSiteNoneMode:
			checked++
			if !r.CrossSite.Carried || !r.CrossSite.Accepted {
				t.Errorf("%s: the cross-site post %+v, want the cookie carried", f.Label, r.CrossSite)
			}
		default:
			checked++
			if r.ScriptRead || !r.ScriptUsed || r.CrossSite.Carried || !r.SameSite.Carried || !r.SameSite.Accepted {
				t.Errorf("%s: %+v, want an HttpOnly Lax cookie: unread, used, kept off the cross-site post only", f.Label, r)
			}
		}
	}
	want := 4
	if haveCrossOriginProtection {
		want++
	}
	if checked != want {
		t.Errorf("checked %d flows, want %d", checked, want)
	}
}
