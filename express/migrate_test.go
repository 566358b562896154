package express

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/internal/nodetest"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

// TestMigration checks the last step of a migration: sessions the Express
// app wrote move to serverstore as they are used, with no one logged out.
func TestMigration(t *testing.T) {
	tg := redisTarget(t)
	app := nodetest.Start(t, append(tg.env, "SESSION_SECRET=test secret")...)
	from := newStore(t, tg.b)
	native := memstore.New()
	t.Cleanup(func() { _ = native.Close() })
	to := serverstore.New(native)
	m := session.New(Migrate(from, to))
	m.Codec = session.JSON
	m.Cookie.Name, m.Cookie.Secure = "connect.sid", false // plain HTTP in the test
	m.IdleTimeout = time.Second                           // much shorter than the Express app's day
	srv := serveGo(t, m)
	ctx := context.Background()
	login := url.Values{"username": {"admin"}, "password": {"123"}}
	isExpressCookie := func(v string) bool { return strings.HasPrefix(v, "s%3A") }

	// A session of the Express app moves on its first request, read-only
	// as it is: a new cookie, the values kept, the Express record gone.
	b := nodetest.NewBrowser(t)
	b.Do("POST", app.URL+"/login", login)
	b.Do("POST", app.URL+"/add-to-cart", url.Values{"item": {"x"}})
	old := b.Cookie(app.URL, "connect.sid")
	require.True(t, isExpressCookie(old))
	time.Sleep(1100 * time.Millisecond) // longer than the Go side's idle limit: the session is still live for Express
	_, id := b.Do("GET", srv.URL+"/id", nil)
	moved := b.Cookie(srv.URL, "connect.sid")
	assert.False(t, isExpressCookie(moved), "the session was not moved")
	assert.Nil(t, stored(t, from, old), "the Express record is left after the move")
	assert.Equal(t, []string{"x"}, b.Cart(srv.URL))
	resp, _ := b.Do("GET", srv.URL+"/cart", nil)
	assert.Empty(t, resp.Header.Values("Set-Cookie"), "a moved session moved again")
	_, again := b.Do("GET", srv.URL+"/id", nil)
	assert.Equal(t, id, again, "Session.ID changed with the move")
	rec, err := to.Load(ctx, moved)
	require.NoError(t, err)
	assert.JSONEq(t, `{"user":"admin","cart":["x"]}`, string(rec.Data))
	assert.Empty(t, nodetest.NewBrowser(t).Cart(srv.URL), "a new session is not empty")
	o := nodetest.NewBrowser(t)
	o.SetCookie(srv.URL, "connect.sid", old)
	assert.Empty(t, o.Cart(srv.URL), "the Express cookie still opens the session after the move")

	// Renewed (a login) on its first request: moved under the new token.
	b = nodetest.NewBrowser(t)
	b.Do("POST", app.URL+"/add-to-cart", url.Values{"item": {"y"}})
	old = b.Cookie(app.URL, "connect.sid")
	b.Do("POST", srv.URL+"/renew", nil)
	assert.False(t, isExpressCookie(b.Cookie(srv.URL, "connect.sid")))
	assert.Nil(t, stored(t, from, old))
	assert.Equal(t, []string{"y"}, b.Cart(srv.URL))

	// Destroyed on its first request: gone from the Express format.
	b = nodetest.NewBrowser(t)
	b.Do("POST", app.URL+"/add-to-cart", url.Values{"item": {"z"}})
	old = b.Cookie(app.URL, "connect.sid")
	resp, _ = b.Do("POST", srv.URL+"/destroy", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Nil(t, stored(t, from, old))
	assert.Empty(t, b.Cookie(srv.URL, "connect.sid"))

	// The Manager keeps the JSON codec and the Express app's cookie.
	m = session.New(Migrate(from, to))
	assert.EqualError(t, Migrate(from, to).Check(m), "express: Migration: Codec must stay session.JSON: the sessions moved from the Express format hold their values as JSON; "+
		"the token must travel in the cookie connect.sid, where browsers hold their express-session cookies")
}
