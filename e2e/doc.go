// Package e2e drives the demo server with a real browser: headless
// Chromium, through the DevTools protocol (chromedp). It is a module of its
// own so that the library does not depend on chromedp.
//
// It needs the system Chromium (Debian: apt-get install chromium); it never
// downloads a browser. Without one the test skips, unless
// SESSION_TEST_SERVICES=require, as in CI, where it fails. Run it with
//
//	cd e2e && go test -race ./...
//
// Set SESSION_E2E_SCREENSHOTS to a directory to keep the dashboard's
// screenshots there too (they are written to the test's temporary
// directory, which is removed).
package e2e
