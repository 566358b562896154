package main

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

type shopper struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newShopper(t *testing.T, base string) *shopper {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &shopper{t: t, base: base, c: &http.Client{Jar: jar}}
}

// do sends a request and returns its status and the cart it answered with.
func (s *shopper) do(method, path string, form url.Values) (int, []Item) {
	s.t.Helper()
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.base+path, strings.NewReader(form.Encode()))
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := s.c.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, nil
	}
	var cart []Item
	require.NoError(s.t, json.NewDecoder(res.Body).Decode(&cart))
	return res.StatusCode, cart
}

func TestCart(t *testing.T) {
	sealed, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	backend := memstore.New()
	t.Cleanup(func() { _ = backend.Close() })
	for name, store := range map[string]session.Store{"cookie": sealed, "memory": serverstore.New(backend)} {
		t.Run(name, func(t *testing.T) {
			m := session.New(store)
			m.Cookie.Secure = false // httptest serves plain HTTP
			srv := httptest.NewServer(newApp(m))
			t.Cleanup(srv.Close)
			alice, bob := newShopper(t, srv.URL), newShopper(t, srv.URL)

			code, cart := alice.do(http.MethodGet, "/cart", nil)
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, []Item{}, cart, "an empty cart is []")

			alice.do(http.MethodPost, "/cart", url.Values{"sku": {"book"}, "qty": {"2"}})
			alice.do(http.MethodPost, "/cart", url.Values{"sku": {"pen"}})
			_, cart = alice.do(http.MethodPost, "/cart", url.Values{"sku": {"book"}})
			want := []Item{{SKU: "book", Qty: 3}, {SKU: "pen", Qty: 1}}
			assert.Equal(t, want, cart, "a second add of a SKU raises its quantity")
			_, cart = alice.do(http.MethodGet, "/cart", nil)
			assert.Equal(t, want, cart, "read back from the session, typed")

			code, _ = alice.do(http.MethodPost, "/cart", url.Values{"sku": {"book"}, "qty": {"lots"}})
			assert.Equal(t, http.StatusBadRequest, code)
			code, _ = alice.do(http.MethodPost, "/cart", url.Values{})
			assert.Equal(t, http.StatusBadRequest, code)

			bob.do(http.MethodPost, "/cart", url.Values{"sku": {"mug"}})
			_, cart = bob.do(http.MethodGet, "/cart", nil)
			assert.Equal(t, []Item{{SKU: "mug", Qty: 1}}, cart, "each client has its own cart")

			_, cart = alice.do(http.MethodDelete, "/cart/book", nil)
			assert.Equal(t, []Item{{SKU: "pen", Qty: 1}}, cart)
			_, cart = alice.do(http.MethodDelete, "/cart", nil)
			assert.Equal(t, []Item{}, cart)
			_, cart = alice.do(http.MethodGet, "/cart", nil)
			assert.Equal(t, []Item{}, cart, "cleared for good")
			_, cart = bob.do(http.MethodGet, "/cart", nil)
			assert.Equal(t, []Item{{SKU: "mug", Qty: 1}}, cart, "another client's cart is untouched")
		})
	}
}
