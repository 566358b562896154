package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/demo/app"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

const (
	cartItems  = 90 // within the default cookie budget (DefaultMaxBytes), which holds about 100
	itemLength = 40 // long enough that the sealed cart spans several cookies
	stepTime   = 15 * time.Second
)

// item is the i-th cart item, as the page's script makes it too.
func item(i int) string {
	s := fmt.Sprintf("item-%03d-", i)
	return s + strings.Repeat("x", itemLength-len(s))
}

const addItemsJS = `(async () => {
	for (let i = 0; i < %d; i++) {
		const item = 'item-' + String(i).padStart(3, '0') + '-';
		const res = await fetch('/add-to-cart', {
			method: 'POST',
			credentials: 'same-origin',
			body: new URLSearchParams({item: item + 'x'.repeat(%d - item.length)}),
		});
		if (!res.ok) throw new Error('add-to-cart ' + i + ': ' + res.status);
	}
	return true;
})()`

// chromium returns the system browser's path, or skips the test.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := "no Chromium on PATH: install the system package (Debian: apt-get install chromium) to run the browser test"
	if os.Getenv("SESSION_TEST_SERVICES") == "require" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestBrowser logs in, fills a cart, reloads, checks the cookies as the
// browser holds them, and logs out, in a real Chromium, against the demo
// in both storage modes.
//
// The servers speak TLS (httptest.NewTLSServer, the browser told to accept
// its certificate), so the Manager runs with exactly the defaults of
// session.New, Secure included, and the test checks the browser keeps a
// Secure cookie, rather than a plain-HTTP variant production never runs.
func TestBrowser(t *testing.T) {
	path := chromium(t)
	// Both browsers, start to finish, within 50 s.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
	defer cancel()
	sealed, err := cookiesession.New(cookiesession.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	backend := memstore.New()
	t.Cleanup(func() { _ = backend.Close() })

	for _, mode := range []struct {
		name  string
		store session.Store
	}{
		{"cookie", sealed},
		{"memory", serverstore.New(backend)},
	} {
		t.Run(mode.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(app.New(session.New(mode.store)))
			t.Cleanup(srv.Close)
			runFlow(t, newBrowser(t, ctx, path), srv.URL, mode.name == "cookie")
		})
	}
}

// newBrowser starts a headless Chromium with a fresh profile, for one
// subtest, and returns its context, which parent bounds.
func newBrowser(t *testing.T, parent context.Context, path string) context.Context {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // root in containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(900, 600),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),     // containers' /dev/shm is small
		chromedp.Flag("ignore-certificate-errors", true), // httptest's own certificate
	}
	ctx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(ctx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	// Close the browser and wait for it to exit before t.TempDir removes
	// its profile (cleanups run last registered first).
	t.Cleanup(func() { _ = chromedp.Cancel(ctx) })
	// The first Run starts the browser; it must not have a timeout of its
	// own, which would stop the browser with it. ctx bounds it.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// step runs actions within stepTime.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTime)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func runFlow(t *testing.T, ctx context.Context, base string, sealed bool) {
	var location, welcome string
	step(t, ctx, "log in through the form",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible("#username", chromedp.ByQuery),
		chromedp.SendKeys("#username", "admin", chromedp.ByQuery),
		chromedp.SendKeys("#password", "123", chromedp.ByQuery),
		chromedp.Click("#submit", chromedp.ByQuery),
		chromedp.WaitVisible("#welcome", chromedp.ByQuery),
		chromedp.Text("#welcome", &welcome, chromedp.ByQuery),
		chromedp.Location(&location),
	)
	if welcome != "Welcome admin" || location != base+"/dashboard" {
		t.Fatalf("after login: %q at %s, want \"Welcome admin\" at /dashboard", welcome, location)
	}

	var added bool
	step(t, ctx, "add to the cart from the page's script",
		chromedp.Evaluate(fmt.Sprintf(addItemsJS, cartItems, itemLength), &added,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)

	step(t, ctx, "reload the dashboard",
		chromedp.Reload(),
		chromedp.WaitVisible("#welcome", chromedp.ByQuery),
		chromedp.Text("#welcome", &welcome, chromedp.ByQuery),
	)
	if welcome != "Welcome admin" {
		t.Fatalf("after reload: %q", welcome)
	}

	// The cookies as the browser keeps them, and what the page's own
	// script can read of them: nothing.
	var cookies []*network.Cookie
	var readable string
	step(t, ctx, "read the cookie jar",
		chromedp.ActionFunc(func(ctx context.Context) (err error) {
			cookies, err = network.GetCookies().WithURLs([]string{base}).Do(ctx)
			return err
		}),
		chromedp.Evaluate(`document.cookie`, &readable),
	)
	checkCookies(t, cookies, sealed)
	if readable != "" {
		t.Errorf("document.cookie = %q, want \"\": session cookies are HttpOnly", readable)
	}

	var png []byte
	step(t, ctx, "screenshot the dashboard", chromedp.CaptureScreenshot(&png))
	saveScreenshot(t, png)

	var body string
	step(t, ctx, "read the cart",
		chromedp.Navigate(base+"/cart"),
		chromedp.Evaluate(`document.body.innerText`, &body),
	)
	var cart []string
	if err := json.Unmarshal([]byte(body), &cart); err != nil {
		t.Fatalf("GET /cart: %v in %.200q", err, body)
	}
	if len(cart) != cartItems {
		t.Fatalf("the cart holds %d items, want %d", len(cart), cartItems)
	}
	for i, got := range cart {
		if got != item(i) {
			t.Fatalf("cart[%d] = %q, want %q", i, got, item(i))
		}
	}

	step(t, ctx, "open the dashboard",
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible("#logout", chromedp.ByQuery),
	)
	step(t, ctx, "log out with the dashboard's button",
		chromedp.ActionFunc(func(ctx context.Context) error {
			// RunResponse waits for the navigation the click starts.
			res, err := chromedp.RunResponse(ctx, chromedp.Click("#logout", chromedp.ByQuery))
			if err == nil && (res.Status != http.StatusOK || res.URL != base+"/logout") {
				err = fmt.Errorf("the logout button led to %s with status %d", res.URL, res.Status)
			}
			return err
		}),
		chromedp.Evaluate(`document.body.innerText`, &body),
		chromedp.ActionFunc(func(ctx context.Context) (err error) {
			cookies, err = network.GetCookies().WithURLs([]string{base}).Do(ctx)
			return err
		}),
	)
	if !strings.Contains(body, "Logged out") {
		t.Errorf("after logout the page says %q", body)
	}
	for _, c := range cookies {
		if isSession(c.Name) {
			t.Errorf("cookie %s still in the browser after logout", c.Name)
		}
	}

	step(t, ctx, "the dashboard sends a logged-out browser to the login form",
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible("#username", chromedp.ByQuery),
		chromedp.Location(&location),
	)
	if location != base+"/login" {
		t.Errorf("after logout /dashboard ends at %s, want /login", location)
	}
}

func isSession(name string) bool {
	return name == "session" || strings.HasPrefix(name, "session.")
}

// checkCookies checks the session cookies the browser holds.
func checkCookies(t *testing.T, cookies []*network.Cookie, sealed bool) {
	t.Helper()
	var names []string
	for _, c := range cookies {
		if !isSession(c.Name) {
			continue
		}
		names = append(names, c.Name)
		if !c.HTTPOnly {
			t.Errorf("cookie %s: not HttpOnly", c.Name)
		}
		if !c.Secure {
			t.Errorf("cookie %s: not Secure", c.Name)
		}
		if c.SameSite != network.CookieSameSiteLax {
			t.Errorf("cookie %s: SameSite=%q, want Lax", c.Name, c.SameSite)
		}
		if n := len(c.Name) + len(c.Value); n > 4096 {
			t.Errorf("cookie %s: name and value are %d bytes, over the 4096 browsers keep", c.Name, n)
		}
		t.Logf("cookie %s: %d bytes, HttpOnly=%v Secure=%v SameSite=%s", c.Name, len(c.Name)+len(c.Value), c.HTTPOnly, c.Secure, c.SameSite)
	}
	switch {
	case sealed && len(names) < 2:
		t.Errorf("sealed session with %d items in cookies %v, want several chunks", cartItems, names)
	case !sealed && (len(names) != 1 || names[0] != "session"):
		t.Errorf("server-side session in cookies %v, want one: session", names)
	}
	for i := 1; i < len(names); i++ {
		want := fmt.Sprintf("session.%d", i)
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("chunks %v: %s is missing", names, want)
		}
	}
}

// saveScreenshot writes the dashboard's screenshot into the test's
// temporary directory, and into SESSION_E2E_SCREENSHOTS if set.
func saveScreenshot(t *testing.T, png []byte) {
	t.Helper()
	if len(png) == 0 {
		t.Fatal("empty screenshot")
	}
	name := "dashboard-" + strings.ReplaceAll(filepath.Base(t.Name()), "/", "-") + ".png"
	dirs := []string{t.TempDir()}
	if dir := os.Getenv("SESSION_E2E_SCREENSHOTS"); dir != "" {
		dirs = append(dirs, dir)
	}
	for _, dir := range dirs {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
}
