// Command cart keeps a shopping cart in the session as a slice of your own
// struct type, []Item, read back with session.GetAs: no type assertions on
// maps, no registration, and the same code works in both storage modes.
//
// Run it and use the cart:
//
//	go run ./examples/cart
//
//	curl -si -c jar -b jar -d sku=book -d qty=2 http://127.0.0.1:8080/cart   # add
//	curl -s  -c jar -b jar -d sku=pen http://127.0.0.1:8080/cart            # qty 1
//	curl -s  -c jar -b jar http://127.0.0.1:8080/cart                       # list
//	curl -s  -c jar -b jar -X DELETE http://127.0.0.1:8080/cart/book        # remove
//	curl -s  -c jar -b jar -X DELETE http://127.0.0.1:8080/cart             # clear
//
// Every route answers with the cart as JSON. It runs on the in-memory server
// store; with sealed cookies (cookiesession) a cart must stay small, a few KB.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"slices"
	"strconv"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/examples/internal/serve"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

// Item is one line of the cart.
type Item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

const cartKey = "cart"

func main() { serve.Main("cart", run) }

// run is the command.
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cart", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m := session.New(serverstore.New(memstore.New()))
	m.Cookie.Secure = false // plain HTTP on loopback; keep it on behind HTTPS
	return serve.Serve(ctx, *addr, "/", newApp(m))
}

// newApp returns the cart's routes, served through m.
func newApp(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		cart, _ := session.GetAs[[]Item](m.Get(r), cartKey)
		writeCart(w, cart)
	})
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		sku := r.PostFormValue("sku")
		qty := 1
		if q := r.PostFormValue("qty"); q != "" {
			n, err := strconv.Atoi(q)
			if err != nil || n < 1 || n > 99 {
				http.Error(w, "qty: a number from 1 to 99", http.StatusBadRequest)
				return
			}
			qty = n
		}
		if sku == "" {
			http.Error(w, "sku: required", http.StatusBadRequest)
			return
		}
		s := m.Get(r)
		cart, _ := session.GetAs[[]Item](s, cartKey)
		if i := slices.IndexFunc(cart, func(it Item) bool { return it.SKU == sku }); i >= 0 {
			cart[i].Qty += qty
		} else {
			cart = append(cart, Item{SKU: sku, Qty: qty})
		}
		s.Put(cartKey, cart)
		writeCart(w, cart)
	})
	mux.HandleFunc("DELETE /cart/{sku}", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		cart, _ := session.GetAs[[]Item](s, cartKey)
		cart = slices.DeleteFunc(cart, func(it Item) bool { return it.SKU == r.PathValue("sku") })
		s.Put(cartKey, cart)
		writeCart(w, cart)
	})
	mux.HandleFunc("DELETE /cart", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Delete(cartKey)
		writeCart(w, nil)
	})
	return m.Handler(mux)
}

func writeCart(w http.ResponseWriter, cart []Item) {
	if cart == nil {
		cart = []Item{} // [] rather than null
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(cart)
}
