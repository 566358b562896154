package gorillastore

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/gorilla/securecookie"
	"github.com/stretchr/testify/require"
)

// adapterAt serves, at now, a gorilla-API request carrying cookie that
// reads "user" and, if save, saves the session; it returns the user and
// the cookie the response set, if any.
func adapterAt(t *testing.T, store *Store, clk *time.Time, now time.Time, cookie *http.Cookie, save bool) (any, *http.Cookie) {
	t.Helper()
	*clk = now
	r := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	r.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	w := httptest.NewRecorder()
	gs, err := store.Get(r, cookie.Name)
	require.NoError(t, err)
	if save {
		require.NoError(t, gs.Save(r, w))
	}
	cookies := w.Result().Cookies()
	if len(cookies) == 0 {
		return gs.Values["user"], nil
	}
	require.Len(t, cookies, 1)
	return gs.Values["user"], cookies[0]
}

// newLegacyAdapter is a gorillastore.Store over a sealed store that
// accepts the legacy cookies of pairs, with its clocks on *clk.
func newLegacyAdapter(t *testing.T, pairs [][]byte, maxAge int, clk *time.Time) *Store {
	t.Helper()
	sealed, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	AcceptGorilla(sealed, Legacy{Codecs: securecookie.CodecsFromPairs(pairs...), MaxAge: maxAge})
	now := func() time.Time { return *clk }
	sealed.Now = now
	store := New(sealed, WithManager(func(_ string, m *session.Manager) { m.Now = now }))
	store.Options.MaxAge = maxAge
	return store
}

// TestLegacyDeadlineRollsOnGorillaSave: a converted session keeps its
// legacy deadline under the native API, but a Save through the gorilla API
// sets it afresh, MaxAge from that save, as gorilla's re-signing did: an
// active user is not logged out MaxAge after the switch.
func TestLegacyDeadlineRollsOnGorillaSave(t *testing.T) {
	pairs := gorillaKeys["hash+block"]
	legacy := gorillaCookie(t, "app", pairs, map[any]any{"user": "alice"})
	saved := gorillaSaved(t, legacy)
	var clk time.Time
	store := newLegacyAdapter(t, pairs, 3600, &clk)

	user, sealed := adapterAt(t, store, &clk, saved.Add(50*time.Minute), legacy, true)
	require.Equal(t, "alice", user)
	require.NotNil(t, sealed, "the save replaced the legacy cookie")
	require.InDelta(t, 3600, sealed.MaxAge, 1, "MaxAge from this save, as gorilla's")
	user, _ = adapterAt(t, store, &clk, saved.Add(90*time.Minute), sealed, false)
	require.Equal(t, "alice", user, "alive past the legacy deadline")
	user, _ = adapterAt(t, store, &clk, saved.Add(111*time.Minute), sealed, false)
	require.Nil(t, user, "MaxAge after its last save, it ends")
}

// TestLegacyBrowserSessionMigration: a gorilla application configured for
// browser-session cookies (MaxAge 0) keeps its users logged in across the
// switch, however long ago gorilla last saved their cookies within
// gorilla's limit (DefaultMaxAge), where a one-day Lifetime logged out
// everyone saved more than a day before.
func TestLegacyBrowserSessionMigration(t *testing.T) {
	pairs := gorillaKeys["hash only"]
	legacy := gorillaCookie(t, "app", pairs, map[any]any{"user": "alice"})
	saved := gorillaSaved(t, legacy)
	var clk time.Time
	store := newLegacyAdapter(t, pairs, 0, &clk)

	user, sealed := adapterAt(t, store, &clk, saved.Add(3*24*time.Hour), legacy, true)
	require.Equal(t, "alice", user)
	require.NotNil(t, sealed)
	require.Equal(t, 0, sealed.MaxAge, "still a browser-session cookie")
	user, _ = adapterAt(t, store, &clk, saved.Add(20*24*time.Hour), sealed, false)
	require.Equal(t, "alice", user)
}
