package express

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/internal/nodetest"
)

// cookieExpires matches the expiry in a stored session's cookie object.
var cookieExpires = regexp.MustCompile(`"expires":"[^"]*"`)

// runNode checks the records against the real Node packages: the Express
// app of examples/express (express-session with the Node store tg's
// environment names) writes records that the Store reads, and reads those
// the Store writes, on the same service.
func runNode(t *testing.T, tg target) {
	app := nodetest.Start(t, append(tg.env, "SESSION_SECRET=test secret", "MONGO_AUTO_REMOVE=interval")...)
	st := newStore(t, tg.b)
	srv := goApp(t, st)
	ctx := context.Background()
	c := nodetest.NewBrowser(t)
	item := func(v string) url.Values { return url.Values{"item": {v}} }

	// Written by Express, read by Go. The user first, so that Express's
	// order of the values is not the Manager's (sorted).
	resp, _ := c.Do("POST", app.URL+"/login", url.Values{"username": {"admin"}, "password": {"123"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	c.Do("POST", app.URL+"/add-to-cart", item("x"))
	token := c.Cookie(app.URL, "connect.sid")
	written := stored(t, st, token)
	rec, err := st.Load(ctx, token)
	require.NoError(t, err)
	require.NotNil(t, rec)
	assert.Regexp(t, `^\{"cookie":\{[^}]*\},"user":"admin","cart":\["x"\]\}$`, string(written))
	assert.JSONEq(t, `{"cart":["x"],"user":"admin"}`, string(rec.Data))
	assert.Equal(t, string(written), string(rec.Stored))
	assert.True(t, rec.Persistent, "a session of a cookie with maxAge is not persistent")
	assert.WithinDuration(t, time.Now().Add(appMaxAge), rec.Expires, 5*time.Second)
	assert.WithinDuration(t, time.Now(), rec.Touched, 5*time.Second)
	assert.False(t, rec.Reissue)

	// Changed by Go: the cart and the cookie's expiry change, and nothing
	// else, byte for byte, in Express's order.
	c.Do("POST", srv.URL+"/add-to-cart", item("y"))
	require.Equal(t, token, c.Cookie(app.URL, "connect.sid"), "a change under the same session ID gave a new cookie value")
	changed := stored(t, st, token)
	want := regexp.MustCompile(`"cart":\["x"\]`).ReplaceAll(written, []byte(`"cart":["x","y"]`))
	want = cookieExpires.ReplaceAll(want, cookieExpires.Find(changed))
	assert.Equal(t, string(want), string(changed))

	// Read by Express, which writes on it.
	assert.Equal(t, []string{"x", "y"}, c.Cart(app.URL))
	_, body := c.Do("GET", app.URL+"/dashboard", nil)
	assert.Equal(t, "Welcome admin", body)
	c.Do("POST", app.URL+"/add-to-cart", item("z"))
	assert.Equal(t, []string{"x", "y", "z"}, c.Cart(srv.URL))

	// Express's touch, on a request that changes nothing, extends the
	// record's expiry without rewriting it: the Go side reads the new
	// expiry, and its next change applies to the record as it is.
	_, before, err := tg.b.Get(ctx, sidOf(t, st, token))
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond) // connect-pg-simple writes whole seconds
	notTouched := stored(t, st, token)
	c.Do("GET", app.URL+"/dashboard", nil)
	data, after, err := tg.b.Get(ctx, sidOf(t, st, token))
	require.NoError(t, err)
	assert.Equal(t, string(notTouched), string(data), "Express's touch rewrote the record")
	assert.True(t, after.After(before), "Express's touch did not extend the expiry")
	c.Do("POST", srv.URL+"/add-to-cart", item("w"))
	assert.Equal(t, []string{"x", "y", "z", "w"}, c.Cart(app.URL))

	// A session the Go side makes: Express reads it, its cookie object is
	// the one express-session writes for a new session, and Express keeps
	// the user tag (MetaKey) when it writes.
	c2 := nodetest.NewBrowser(t)
	c2.Do("POST", srv.URL+"/add-to-cart", item("g"))
	c2.Do("POST", srv.URL+"/user", url.Values{"id": {"alice"}})
	fromGo := stored(t, st, c2.Cookie(srv.URL, "connect.sid"))
	assert.Equal(t, string(cookieObject(t, written)), string(cookieObject(t, fromGo)),
		"the cookie object differs from express-session's for the same settings")
	assert.Equal(t, []string{"g"}, c2.Cart(app.URL))
	c2.Do("POST", app.URL+"/add-to-cart", item("h"))
	assert.Equal(t, []string{"g", "h"}, c2.Cart(srv.URL))
	_, user := c2.Do("GET", srv.URL+"/user", nil)
	assert.Equal(t, "alice", user, "the user tag did not survive a write by Express")
}

// sidOf returns the session ID a cookie value carries.
func sidOf(t *testing.T, st *Store, token string) string {
	sid, _, ok := parseToken(st.secrets, token)
	require.True(t, ok)
	return sid
}

// cookieObject returns the cookie object of a stored session, its expiry
// blanked out.
func cookieObject(t *testing.T, data []byte) []byte {
	var s struct{ Cookie json.RawMessage }
	require.NoError(t, json.Unmarshal(data, &s), string(data))
	return cookieExpires.ReplaceAll(s.Cookie, []byte(`"expires":""`))
}
