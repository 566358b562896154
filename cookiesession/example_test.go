package cookiesession_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
)

// A Manager over a cookie store: the session lives entirely in the cookie.
// In production, read the keys with ParseKeys(os.Getenv("SESSION_KEYS"))
// instead of generating one at start, which would log everyone out on
// every restart.
func Example() {
	store, err := cookiesession.New(cookiesession.GenerateKey())
	if err != nil {
		log.Fatal(err)
	}
	m := session.New(store)

	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Put("user", "gopher")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello, %s\n", m.Get(r).GetString("user"))
	})
	h := m.Handler(mux)

	// First request: the handler puts a value, the response seals it into
	// a cookie.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))

	// Second request: the browser sends the cookie back.
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Print(rec.Body.String())
	// Output: hello, gopher
}

// Keys kept in an environment variable, newest first.
func ExampleParseKeys() {
	// os.Getenv("SESSION_KEYS") in a real program.
	env := "3ZNjzIXnhbGLwRvUE2lVPgMwY8WVIf1wcM8ntAzhayY=, AZypmkQ5u4gpuNm5w_bfJ6sLZo-TCF7X4nnoVZQn5Ac"
	keys, err := cookiesession.ParseKeys(env)
	if err != nil {
		log.Fatal(err)
	}
	store, err := cookiesession.New(keys...)
	if err != nil {
		log.Fatal(err)
	}
	_ = session.New(store)
	fmt.Println(len(keys), "keys")

	_, err = cookiesession.ParseKeys("3ZNjzIXnhbGLwRvUE2lVPgMwY8WVIf1wcM8ntAzhayY=,c2hvcnQ=")
	fmt.Println(err)
	// Output:
	// 2 keys
	// cookiesession: invalid key: key 2 of 2 decodes to 5 bytes, want 32
}
