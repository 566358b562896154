package browsertest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/internal/browsertest"
)

// site sets and expires Secure cookies, redirects, and answers what the
// request looked like to it.
func site() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		for name, v := range r.URL.Query() {
			http.SetCookie(w, &http.Cookie{Name: name, Value: v[0], Path: "/", Secure: true, HttpOnly: true, MaxAge: 60})
		}
	})
	mux.HandleFunc("/expire", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: r.URL.Query().Get("name"), Path: "/", Secure: true, MaxAge: -1})
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/set?after=redirect", http.StatusSeeOther)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		var names []string
		for _, c := range r.Cookies() {
			names = append(names, c.Name+"="+c.Value)
		}
		sort.Strings(names)
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%s %s host=%s tls=%t form=%s cookies=%s", r.Method, r.RequestURI, r.Host, r.TLS != nil, r.PostForm.Encode(), strings.Join(names, ";"))
	})
	return mux
}

// exercise checks what every kind of Browser does alike: it keeps the
// Secure cookies a response sets and sends them, does not follow
// redirects, forgets expired cookies, and lets the test set and delete
// cookies.
func exercise(t *testing.T, b *browsertest.Browser) {
	res, _ := b.Get("/set?a=1&b=2")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, map[string]string{"a": "1", "b": "2"}, b.Cookies())

	res, body := b.Get("/echo?x=y")
	assert.Contains(t, body, "GET /echo?x=y ")
	assert.Contains(t, body, "cookies=a=1;b=2")
	again, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.Equal(t, body, string(again), "res.Body reads the body again")

	res, _ = b.Get("/away")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "a redirect is not followed")
	assert.Equal(t, "/set?after=redirect", res.Header.Get("Location"))
	assert.NotContains(t, b.Cookies(), "after")

	b.Get("/expire?name=a")
	assert.Equal(t, map[string]string{"b": "2"}, b.Cookies(), "Max-Age<0 deletes")

	b.SetCookie("b", "forged")
	b.SetCookie("c", "3")
	_, body = b.Post("/echo", url.Values{"k": {"v w"}})
	assert.Contains(t, body, "POST /echo ")
	assert.Contains(t, body, "form=k=v+w ")
	assert.Contains(t, body, "cookies=b=forged;c=3")

	b.DeleteCookie("b")
	assert.Equal(t, map[string]string{"c": "3"}, b.Cookies())
	req := b.NewRequest(http.MethodDelete, "/echo", nil)
	req.Header.Set("Cookie", "extra=1")
	_, body = b.Do(req)
	assert.Contains(t, body, "DELETE /echo ")
	assert.Contains(t, body, "cookies=c=3;extra=1")
}

func TestNew(t *testing.T) {
	b := browsertest.New(t, site())
	require.True(t, strings.HasPrefix(b.URL(), "https://127.0.0.1:"), b.URL())
	exercise(t, b)
	_, body := b.Get("/echo")
	assert.Contains(t, body, "tls=true")
}

func TestInProcess(t *testing.T) {
	b := browsertest.InProcess(t, site())
	exercise(t, b)
	_, body := b.Get("/echo?q=1")
	assert.Equal(t, "GET /echo?q=1 host=example.com tls=true form= cookies=c=3", body, "the request as a server sees it")

	b.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "redeployed, ", len(r.Cookies()))
	}))
	_, body = b.Get("/echo")
	assert.Equal(t, "redeployed, 1", body, "the next handler, the same jar")
}

// TestRewritingTheJar: a test can put the jar back to a copy, play a
// response back into it, and read the cookies of a path.
func TestRewritingTheJar(t *testing.T) {
	b := browsertest.InProcess(t, site())
	b.Get("/set?a=1&b=2")
	saved := b.Cookies()
	late, _ := b.Get("/expire?name=a")
	b.Get("/set?c=3")

	b.ResetCookies(saved)
	assert.Equal(t, map[string]string{"a": "1", "b": "2"}, b.Cookies())
	b.Receive(late)
	assert.Equal(t, map[string]string{"b": "2"}, b.Cookies(), "the expiry, played back")

	b.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "admin", Value: "x", Path: "/admin"})
	}))
	b.Get("/admin/login")
	assert.NotContains(t, b.Cookies(), "admin", "not sent outside its Path")
	assert.Equal(t, "x", b.CookiesAt("/admin/page")["admin"])
	assert.Equal(t, "2", b.CookiesAt("/admin/page")["b"])
}

// TestPlainHTTP: a Browser for a plain-HTTP server, taken for the HTTPS
// site it stands for, keeps and sends Secure cookies on any toolchain.
// (Recent Go jars, as browsers, treat loopback as secure anyway:
// TestAsHTTPS checks the mapping on a host that is not.)
func TestPlainHTTP(t *testing.T) {
	srv := httptest.NewServer(site())
	t.Cleanup(srv.Close)
	b := browsertest.Open(t, srv.URL).AsHTTPS()
	exercise(t, b)
	_, body := b.Get("/echo")
	assert.Contains(t, body, "tls=false")
	exercise(t, browsertest.ForServer(t, srv).AsHTTPS())
}

// TestCookiesGoByHost: two servers on one host share the jar's cookies,
// reached by absolute URLs, as in browsers, which ignore ports.
func TestCookiesGoByHost(t *testing.T) {
	one := httptest.NewTLSServer(site())
	t.Cleanup(one.Close)
	other := httptest.NewTLSServer(site())
	t.Cleanup(other.Close)
	b := browsertest.ForServer(t, one)
	b.Get("/set?a=1")
	_, body := b.Get(other.URL + "/echo")
	assert.Contains(t, body, "cookies=a=1")
}

// TestWithoutTest: with no testing.TB (an Example function), failures
// panic.
func TestWithoutTest(t *testing.T) {
	srv := httptest.NewServer(site())
	b := browsertest.ForServer(nil, srv)
	_, body := b.Get("/echo")
	assert.Contains(t, body, "GET /echo ")
	srv.Close()
	assert.Panics(t, func() { b.Get("/echo") }, "a transport error")
	assert.PanicsWithValue(t, "browsertest: SetHandler on a Browser that is not InProcess", func() { b.SetHandler(site()) })
	assert.Panics(t, func() { browsertest.InProcess(nil, site()).Get("%zz") }, "a bad target")
	assert.PanicsWithValue(t, `browsertest: GET https://example.com/: Get "https://example.com/": an InProcess Browser without a handler: SetHandler gives it one`,
		func() { browsertest.InProcess(nil, nil).Get("/") })
}
