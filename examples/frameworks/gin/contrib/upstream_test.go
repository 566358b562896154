package main

import (
	"testing"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/tester"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/gorillastore"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

// gin-contrib/sessions' own test suite (its tester package, which every
// gin-contrib store runs) against Store, over both storage modes: a
// gin-contrib application that switches its store keeps the behaviour the
// suite checks. The suite sends plain-HTTP requests, and sets cookie
// attributes itself (store.Options); with the default Options, which it
// keeps in most cases, the cookies are Secure.
func TestUpstreamGinContribTester(t *testing.T) {
	gin.SetMode(gin.TestMode)
	for mode, backend := range map[string]func(t *testing.T) session.Store{
		"sealed": func(t *testing.T) session.Store {
			sealed, err := cookiesession.New(cookiesession.GenerateKey())
			require.NoError(t, err)
			return sealed
		},
		"server": func(t *testing.T) session.Store {
			mem := memstore.New()
			t.Cleanup(func() { _ = mem.Close() })
			return serverstore.New(mem)
		},
	} {
		newStore := func(t *testing.T) sessions.Store {
			return Store{gorillastore.New(backend(t))}
		}
		for name, run := range map[string]func(*testing.T, func(*testing.T) sessions.Store){
			"GetSet":    func(t *testing.T, f func(*testing.T) sessions.Store) { tester.GetSet(t, f) },
			"DeleteKey": func(t *testing.T, f func(*testing.T) sessions.Store) { tester.DeleteKey(t, f) },
			"Flashes":   func(t *testing.T, f func(*testing.T) sessions.Store) { tester.Flashes(t, f) },
			"Clear":     func(t *testing.T, f func(*testing.T) sessions.Store) { tester.Clear(t, f) },
			"Options":   func(t *testing.T, f func(*testing.T) sessions.Store) { tester.Options(t, f) },
			"Many":      func(t *testing.T, f func(*testing.T) sessions.Store) { tester.Many(t, f) },
		} {
			t.Run(mode+"/"+name, func(t *testing.T) { run(t, newStore) })
		}
	}
}
