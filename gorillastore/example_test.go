package gorillastore_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/gorillastore"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// An application written for gorilla/sessions, on a sealed cookie store.
func Example() {
	sealed, err := cookiesession.New(cookiesession.GenerateKey())
	if err != nil {
		panic(err)
	}
	var store sessions.Store = gorillastore.New(sealed) // was sessions.NewCookieStore(...)

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "session-name")
		if err != nil {
			http.Error(w, "session unavailable", http.StatusInternalServerError)
			return
		}
		n, _ := s.Values["visits"].(int)
		s.Values["visits"] = n + 1
		if err := s.Save(r, w); err != nil {
			http.Error(w, "session unavailable", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "visit %d, new session: %v", n+1, s.IsNew)
	})

	var cookies []*http.Cookie
	for range 3 {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		cookies = w.Result().Cookies()
		fmt.Println(w.Body.String())
	}
	// Output:
	// visit 1, new session: true
	// visit 2, new session: false
	// visit 3, new session: false
}

// A gorilla CookieStore application switched to a sealed store: a user
// logged in before the switch stays logged in, and gets a sealed cookie.
func ExampleAcceptGorilla() {
	hashKey := []byte("the gorilla application's 32-byte hash key")
	old := sessions.NewCookieStore(hashKey) // before the switch

	sealed, err := cookiesession.New(cookiesession.GenerateKey())
	if err != nil {
		panic(err)
	}
	gorillastore.AcceptGorilla(sealed, gorillastore.Legacy{
		Codecs: securecookie.CodecsFromPairs(hashKey),
	})
	store := gorillastore.New(sealed) // after the switch

	// A cookie the old store set at login.
	r := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	w := httptest.NewRecorder()
	s, _ := old.Get(r, "app")
	s.Values["user"] = "alice"
	_ = s.Save(r, w)
	legacy := w.Result().Cookies()[0]

	// The next request, served by the new store.
	r = httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	r.AddCookie(legacy)
	w = httptest.NewRecorder()
	s, err = store.Get(r, "app")
	if err != nil {
		panic(err)
	}
	fmt.Println("user:", s.Values["user"], "new:", s.IsNew)
	_ = s.Save(r, w)
	fmt.Println("sealed cookie replaces the legacy one:", w.Result().Cookies()[0].Value != legacy.Value)
	// Output:
	// user: alice new: false
	// sealed cookie replaces the legacy one: true
}
