package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// The browser experiments run each mechanism's endpoint behind a real
// HTTPS server on loopback and drive the system Chromium, headless, at it:
// the browser's own cookie rules, SameSite and Sec-Fetch-Site decide what
// is sent, not a model of them. One flow is one Chromium run with a fresh
// profile, started with --dump-dom on the app's start page:
//
//  1. The app's own script (app.js) logs in with fetch, keeps a token it
//     is handed in localStorage as single-page applications do, and makes
//     an authenticated request.
//  2. An inline script in the page, standing for an injected one (XSS),
//     reads what any page script can (document.cookie, localStorage),
//     reports it, and makes a request of its own with what it found.
//  3. The page navigates to an attacker's page on another site, which
//     posts a form to the app (CSRF, cross-site).
//  4. The app's answer navigates to an attacker's page on the same site
//     but another origin (another port of 127.0.0.1), which posts the
//     same form (same-site, cross-origin).
//  5. The app's answer navigates to its last page, whose mark in the
//     dumped DOM shows the flow ran to the end.
//
// The server records what arrived: the findings come from the requests
// the browser really made, and each forged post's Sec-Fetch-Site header
// shows the browser saw it as cross-site or same-site.

// BrowserFlow is one run of the browser experiment.
type BrowserFlow struct {
	// Label names the flow in the report.
	Label string
	// Spec and Transport are the mechanism whose endpoint the app uses.
	Spec      Spec
	Transport Transport
	// SameSite overrides the cookie's SameSite attribute; 0 keeps it.
	SameSite http.SameSite
	// CrossOriginProtection wraps the app's form handler in
	// http.CrossOriginProtection.
	CrossOriginProtection bool
	// CSP serves the page with "Content-Security-Policy: script-src
	// 'self'", which lets app.js run and blocks inline scripts.
	CSP bool
	// Variant marks a flow that is not one of the report's rows.
	Variant bool
}

// Post is what the app saw of a forged form post.
type Post struct {
	// Arrived: the post reached the server; Site is its Sec-Fetch-Site.
	Arrived bool
	Site    string
	// Carried: it carried the credential (the session cookie, or an
	// Authorization header); Accepted: the app took it as the user's.
	Carried, Accepted bool
	// Blocked: http.CrossOriginProtection refused it before the app's
	// handler.
	Blocked bool
}

// BrowserResult is what one flow found.
type BrowserResult struct {
	Flow BrowserFlow
	// LoggedIn: the app's own script logged in, and its authenticated
	// request was accepted.
	LoggedIn bool
	// InjectedRan: the injected script ran; ScriptRead: it found the
	// credential in what a page script can read; ScriptUsed: its own
	// request was accepted as the user's.
	InjectedRan, ScriptRead, ScriptUsed bool
	// CrossSite and SameSite are the forged posts from another site and
	// from another origin of the same site.
	CrossSite, SameSite Post
	// Completed: the flow reached its last page.
	Completed bool
}

// Chromium returns the path of the system Chromium, or "" and why there
// is none.
func Chromium() (path, why string) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, ""
		}
	}
	return "", "no Chromium on PATH: install the system package (Debian: apt-get install chromium) and run the command again"
}

// BrowserFlows returns the flows of the report: one per mechanism and
// transport, then variants of the sealed cookie that show what SameSite
// None, http.CrossOriginProtection and a Content-Security-Policy change.
func BrowserFlows(specs []Spec) []BrowserFlow {
	var flows []BrowserFlow
	var sealed *Spec
	for i, s := range specs {
		if s.Name == NameSealed {
			sealed = &specs[i]
		}
		for _, t := range Transports {
			if s.Has(t) {
				flows = append(flows, BrowserFlow{Label: fmt.Sprintf("%s (%s)", s.Name, t), Spec: s, Transport: t})
			}
		}
	}
	if sealed == nil {
		return flows
	}
	flows = append(flows,
		BrowserFlow{Label: "sealed cookie (cookie), SameSite=None", Spec: *sealed, Transport: TransportCookie, SameSite: http.SameSiteNoneMode, Variant: true},
		BrowserFlow{Label: "sealed cookie (header), page with CSP script-src 'self'", Spec: *sealed, Transport: TransportHeader, CSP: true, Variant: true},
	)
	if haveCrossOriginProtection {
		flows = append(flows,
			BrowserFlow{Label: "sealed cookie (cookie), form handler in http.CrossOriginProtection", Spec: *sealed, Transport: TransportCookie, CrossOriginProtection: true, Variant: true},
			BrowserFlow{Label: "sealed cookie (cookie), SameSite=None, form handler in http.CrossOriginProtection", Spec: *sealed, Transport: TransportCookie, SameSite: http.SameSiteNoneMode, CrossOriginProtection: true, Variant: true},
		)
	}
	return flows
}

// browserParallel is how many Chromium runs go at once, and flowTries
// how many times a flow that did not run to its end is tried.
const (
	browserParallel = 3
	flowTries       = 2
)

// RunBrowser runs flows in the Chromium at path, a few at a time.
func RunBrowser(ctx context.Context, path string, flows []BrowserFlow) ([]BrowserResult, error) {
	out := make([]BrowserResult, len(flows))
	errs := make([]error, len(flows))
	sem := make(chan struct{}, browserParallel)
	var wg sync.WaitGroup
	for i, f := range flows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			// A browser starved of CPU on a busy machine may give up on
			// a flow half-way: such a flow runs once more, from scratch.
			for try := 0; try < flowTries; try++ {
				out[i], errs[i] = runFlow(ctx, path, f)
				if errs[i] == nil || ctx.Err() != nil {
					break
				}
			}
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", f.Label, errs[i])
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// flowTimeout bounds one Chromium run.
const flowTimeout = 90 * time.Second

// startTLS serves h over HTTPS on l.
func startTLS(l net.Listener, h http.Handler) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	s.Listener = l
	s.StartTLS()
	return s
}

// listeners listens on 127.0.0.1 twice (the app and the same-site
// attacker) and on another site for the cross-site attacker: another
// loopback address where there is one, else the name localhost; and
// returns the cross-site attacker's host.
func listeners() (app, same, cross net.Listener, crossHost string, err error) {
	lo := func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
	if app, err = lo(); err != nil {
		return
	}
	if same, err = lo(); err != nil {
		app.Close()
		return
	}
	crossHost = "127.0.0.2"
	if cross, err = net.Listen("tcp", crossHost+":0"); err != nil {
		crossHost = "localhost"
		cross, err = lo()
	}
	if err != nil {
		app.Close()
		same.Close()
	}
	return
}

// origin is the https origin of l, named host.
func origin(l net.Listener, host string) string {
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return "https://" + net.JoinHostPort(host, port)
}

func runFlow(ctx context.Context, path string, f BrowserFlow) (BrowserResult, error) {
	res := BrowserResult{Flow: f}
	if f.CrossOriginProtection && !haveCrossOriginProtection {
		return res, errors.New("http.CrossOriginProtection needs Go 1.25")
	}
	m, err := f.Spec.New(Config{Lifetime: 24 * time.Hour, Transport: f.Transport, SameSite: f.SameSite})
	if err != nil {
		return res, err
	}
	defer m.Close()
	h, ok := m.(*harness)
	if !ok {
		return res, fmt.Errorf("%s is not driven through an endpoint", f.Spec.Name)
	}
	la, ls, lc, crossHost, err := listeners()
	if err != nil {
		return res, err
	}
	// The app knows every URL before it serves its first request.
	app := &browserApp{flow: f, ep: h.b.endpoint(), res: &res,
		base: origin(la, "127.0.0.1"), sameURL: origin(ls, "127.0.0.1"), crossURL: origin(lc, crossHost)}
	attack := http.HandlerFunc(serveAttack)
	for _, srv := range []*httptest.Server{startTLS(lc, attack), startTLS(ls, attack), startTLS(la, app.handler())} {
		defer srv.Close()
	}

	dir, err := os.MkdirTemp("", "compare-chromium-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(ctx, flowTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage",     // containers' /dev/shm is small
		"--ignore-certificate-errors", // httptest's own certificate
		"--user-data-dir="+dir, "--virtual-time-budget=20000", "--dump-dom", app.base+"/start")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	dom, err := cmd.Output()
	app.mu.Lock()
	defer app.mu.Unlock()
	res.Completed = bytes.Contains(dom, []byte(`id="`+doneMark+`"`))
	if err != nil || !res.Completed {
		return res, fmt.Errorf("chromium did not run the flow to its end (%v); the page it stopped at: %s; what the app saw: %+v; Chromium's last words: %s",
			err, lastLines(string(dom), 3), res, lastLines(stderr.String(), 3))
	}
	return res, nil
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// browserApp is the app of one flow: the mechanism's endpoint behind
// the routes the pages use, recording what arrives.
type browserApp struct {
	flow                    BrowserFlow
	ep                      endpoint
	base, crossURL, sameURL string

	mu          sync.Mutex
	res         *BrowserResult
	credentials []string // the credentials the app's own requests carried
}

// credential returns the credential r carries: its Authorization token,
// or its session cookie's value; "" if none.
func credential(r *http.Request) string {
	if t := bearer(r); t != "" {
		return t
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value
	}
	return ""
}

func (a *browserApp) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", a.start)
	mux.HandleFunc("GET /app.js", a.script)
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := a.ep.issue(w, r, User, TypicalSession()); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /whoami", a.whoami)
	mux.HandleFunc("POST /report", a.report)
	var form http.Handler = http.HandlerFunc(a.transfer)
	if a.flow.CrossOriginProtection {
		form, _ = crossOriginProtection(form, http.HandlerFunc(a.refused))
	}
	mux.Handle("POST /transfer", a.arrival(form))
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, _ *http.Request) {
		page(w, http.StatusOK, doneMark, "")
	})
	return mux
}

// post returns the record of the forged post of r's step.
func (a *browserApp) post(r *http.Request) *Post {
	if r.URL.Query().Get("step") == "same" {
		return &a.res.SameSite
	}
	return &a.res.CrossSite
}

// arrival records a forged post as it reaches the server, before any
// protection.
func (a *browserApp) arrival(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		p := a.post(r)
		p.Arrived, p.Site, p.Carried = true, r.Header.Get("Sec-Fetch-Site"), credential(r) != ""
		a.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// transfer is the state-changing handler the attacker targets.
func (a *browserApp) transfer(w http.ResponseWriter, r *http.Request) {
	_, ok, err := a.ep.verify(w, r, scopeIdentity)
	a.mu.Lock()
	a.post(r).Accepted = ok && err == nil
	a.mu.Unlock()
	a.next(w, r, http.StatusOK)
}

// refused answers a post http.CrossOriginProtection refused.
func (a *browserApp) refused(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.post(r).Blocked = true
	a.mu.Unlock()
	a.next(w, r, http.StatusForbidden)
}

// next answers a forged post with a page that goes on with the flow.
func (a *browserApp) next(w http.ResponseWriter, r *http.Request, code int) {
	to := a.base + "/done"
	if r.URL.Query().Get("step") != "same" {
		to = a.sameURL + "/attack?to=" + a.base + "/transfer%3Fstep%3Dsame"
	}
	page(w, code, "posted", fmt.Sprintf("location.href = %q;", to))
}

func (a *browserApp) whoami(w http.ResponseWriter, r *http.Request) {
	_, ok, err := a.ep.verify(w, r, scopeIdentity)
	ok = ok && err == nil
	a.mu.Lock()
	if r.URL.Query().Get("by") == "injected" {
		a.res.ScriptUsed = ok
	} else {
		a.res.LoggedIn = ok
		if c := credential(r); c != "" {
			a.credentials = append(a.credentials, c)
		}
	}
	a.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
	}
}

// report receives what the injected script read.
func (a *browserApp) report(w http.ResponseWriter, r *http.Request) {
	var loot struct {
		Cookie  string            `json:"cookie"`
		Storage map[string]string `json:"storage"`
	}
	if err := json.NewDecoder(r.Body).Decode(&loot); err != nil {
		http.Error(w, "bad report", http.StatusBadRequest)
		return
	}
	read := loot.Cookie
	for _, v := range loot.Storage {
		read += "\n" + v
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.res.InjectedRan = true
	for _, c := range a.credentials {
		a.res.ScriptRead = a.res.ScriptRead || strings.Contains(read, c)
	}
}

func (a *browserApp) start(w http.ResponseWriter, _ *http.Request) {
	if a.flow.CSP {
		w.Header().Set("Content-Security-Policy", "script-src 'self'")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, startPage)
}

func (a *browserApp) script(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	fmt.Fprintf(w, appScript, a.crossURL+"/attack?to="+a.base+"/transfer%3Fstep%3Dcross")
}

// serveAttack is the attacker's page: a form that posts itself to the
// URL in its "to" parameter.
func serveAttack(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, attackPage, html.EscapeString(r.URL.Query().Get("to")))
}
