package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/internal/browsertest"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

// shop sends b's request, its form in the body, and returns the status
// and the cart the response answered with.
func shop(t *testing.T, b *browsertest.Browser, method, path string, form url.Values) (int, []Item) {
	t.Helper()
	req := b.NewRequest(method, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, body := b.Do(req)
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, nil
	}
	var cart []Item
	require.NoError(t, json.Unmarshal([]byte(body), &cart))
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
			alice, bob := browsertest.Open(t, srv.URL), browsertest.Open(t, srv.URL)

			code, cart := shop(t, alice, http.MethodGet, "/cart", nil)
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, []Item{}, cart, "an empty cart is []")

			shop(t, alice, http.MethodPost, "/cart", url.Values{"sku": {"book"}, "qty": {"2"}})
			shop(t, alice, http.MethodPost, "/cart", url.Values{"sku": {"pen"}})
			_, cart = shop(t, alice, http.MethodPost, "/cart", url.Values{"sku": {"book"}})
			want := []Item{{SKU: "book", Qty: 3}, {SKU: "pen", Qty: 1}}
			assert.Equal(t, want, cart, "a second add of a SKU raises its quantity")
			_, cart = shop(t, alice, http.MethodGet, "/cart", nil)
			assert.Equal(t, want, cart, "read back from the session, typed")

			code, _ = shop(t, alice, http.MethodPost, "/cart", url.Values{"sku": {"book"}, "qty": {"lots"}})
			assert.Equal(t, http.StatusBadRequest, code)
			code, _ = shop(t, alice, http.MethodPost, "/cart", url.Values{})
			assert.Equal(t, http.StatusBadRequest, code)

			shop(t, bob, http.MethodPost, "/cart", url.Values{"sku": {"mug"}})
			_, cart = shop(t, bob, http.MethodGet, "/cart", nil)
			assert.Equal(t, []Item{{SKU: "mug", Qty: 1}}, cart, "each client has its own cart")

			_, cart = shop(t, alice, http.MethodDelete, "/cart/book", nil)
			assert.Equal(t, []Item{{SKU: "pen", Qty: 1}}, cart)
			_, cart = shop(t, alice, http.MethodDelete, "/cart", nil)
			assert.Equal(t, []Item{}, cart)
			_, cart = shop(t, alice, http.MethodGet, "/cart", nil)
			assert.Equal(t, []Item{}, cart, "cleared for good")
			_, cart = shop(t, bob, http.MethodGet, "/cart", nil)
			assert.Equal(t, []Item{{SKU: "mug", Qty: 1}}, cart, "another client's cart is untouched")
		})
	}
}
