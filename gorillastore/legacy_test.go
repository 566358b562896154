package gorillastore

import (
	"bytes"
	"context"
	"encoding/gob"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/internal/gobcheck/gobchecktest"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/stretchr/testify/require"
)

// gorillaKeys are the key pairs of the legacy gorilla stores in these
// tests: hash and block key, and hash key only.
var gorillaKeys = map[string][][]byte{
	"hash+block": {bytes.Repeat([]byte("h"), 32), bytes.Repeat([]byte("b"), 32)},
	"hash only":  {bytes.Repeat([]byte("k"), 64)},
}

type legacyKey int

var ctx = context.Background()

// load opens tok as store.Load does for a request that carries it: a
// record, or nil for a token that names none (never another error).
func load(t testing.TB, store *cookiesession.Store, tok string) *session.Record {
	t.Helper()
	rec, err := store.Load(ctx, tok)
	if err != nil {
		require.ErrorIs(t, err, session.ErrInvalidToken, "Load fails only on the token")
		require.Nil(t, rec, "and then with no record")
	}
	return rec
}

// loadNamed loads tok as a Manager whose cookie is named name would.
func loadNamed(t testing.TB, store *cookiesession.Store, name, tok string) *session.Record {
	t.Helper()
	was := store.Name
	store.Name = name
	defer func() { store.Name = was }()
	return load(t, store, tok)
}

// sealedOnly loads tok with the store's Fallback off: only a seal opens.
func sealedOnly(t testing.TB, store *cookiesession.Store, name, tok string) *session.Record {
	t.Helper()
	f := store.Fallback
	store.Fallback = nil
	defer func() { store.Fallback = f }()
	return loadNamed(t, store, name, tok)
}

// gorillaCookie runs a handler on a real gorilla CookieStore, as the
// application did before the switch, and returns the cookie it set.
func gorillaCookie(t *testing.T, name string, keyPairs [][]byte, values map[any]any) *http.Cookie {
	t.Helper()
	gs := sessions.NewCookieStore(keyPairs...)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
	s, err := gs.Get(r, name)
	require.NoError(t, err)
	for k, v := range values {
		s.Values[k] = v
	}
	s.AddFlash("welcome back")
	require.NoError(t, s.Save(r, w))
	cookies := w.Result().Cookies()
	require.Len(t, cookies, 1)
	return cookies[0]
}

// serve runs h behind m with the given cookies and returns the response.
func serve(m *session.Manager, h func(s *session.Session), cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { h(m.Get(r)) })).ServeHTTP(w, r)
	return w
}

func legacyManager(t *testing.T, keyPairs [][]byte, g Legacy) (*session.Manager, *cookiesession.Store) {
	t.Helper()
	store, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	if g.Logger == nil {
		g.Logger = slog.New(slog.DiscardHandler)
	}
	if keyPairs != nil {
		g.Codecs = securecookie.CodecsFromPairs(keyPairs...)
		AcceptGorilla(store, g)
	}
	m := session.New(store)
	m.Cookie.Name = "app"
	m.Lifetime = 30 * 24 * time.Hour
	return m, store
}

func TestGorillaCookieIsConvertedAndResealed(t *testing.T) {
	for label, pairs := range gorillaKeys {
		t.Run(label, func(t *testing.T) {
			var logs bytes.Buffer
			m, store := legacyManager(t, pairs, Legacy{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			legacy := gorillaCookie(t, "app", pairs, map[any]any{
				"user":         "alice",
				"visits":       3,
				"roles":        []string{"admin"},
				legacyKey(1):   "dropped",
				"\x00reserved": "dropped too",
			})

			w := serve(m, func(s *session.Session) {
				require.NoError(t, s.Err())
				require.False(t, s.IsNew())
				require.NotEmpty(t, s.ID())
				require.Equal(t, "alice", s.GetString("user"))
				require.Equal(t, 3, s.GetInt("visits"))
				require.Equal(t, []string{"admin"}, s.Get("roles"))
				// Gorilla's flashes are a value under its own key.
				require.Equal(t, []any{"welcome back"}, s.Get("_flash"))
				require.Equal(t, []string{"_flash", "roles", "user", "visits"}, s.Keys())
			}, legacy)
			require.Contains(t, logs.String(), "keyType=gorillastore.legacyKey")
			require.Contains(t, logs.String(), "reserved key")

			// Re-sealed on that response, though the handler changed
			// nothing: the client now holds the new format.
			cookies := w.Result().Cookies()
			require.Len(t, cookies, 1)
			sealed := cookies[0]
			require.Equal(t, "app", sealed.Name)
			require.NotEqual(t, legacy.Value, sealed.Value)
			rec := sealedOnly(t, store, "app", sealed.Value)
			require.NotNil(t, rec)
			require.False(t, rec.Reissue)

			// The next request runs on the new cookie, and writes nothing.
			w = serve(m, func(s *session.Session) {
				require.False(t, s.IsNew())
				require.Equal(t, "alice", s.GetString("user"))
			}, sealed)
			require.Empty(t, w.Result().Cookies())
		})
	}
}

func TestGorillaRecordTimes(t *testing.T) {
	pairs := gorillaKeys["hash+block"]
	legacy := gorillaCookie(t, "session", pairs, map[any]any{"user": "alice"})
	store, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	AcceptGorilla(store, Legacy{Codecs: securecookie.CodecsFromPairs(pairs...), MaxAge: 3600})

	now := time.Now()
	rec := load(t, store, legacy.Value)
	require.NotNil(t, rec)
	require.True(t, rec.Reissue)
	require.True(t, rec.Persistent)
	require.WithinDuration(t, now, rec.Created, 2*time.Second)
	require.Equal(t, rec.Created, rec.Touched)
	require.Equal(t, rec.Created.Add(time.Hour), rec.Expires)
	require.Equal(t, rec.Expires, rec.Deadline, "the legacy deadline is the session's own")
	values, err := session.CBOR.Decode(rec.Data)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"user": "alice", "_flash": []any{"welcome back"}}, values)

	// Past MaxAge after gorilla's last save, the cookie is dead.
	store.Now = func() time.Time { return now.Add(time.Hour + time.Minute) }
	require.Nil(t, load(t, store, legacy.Value))
	// So is one from the future.
	store.Now = func() time.Time { return now.Add(-time.Hour) }
	require.Nil(t, load(t, store, legacy.Value))
}

// TestGorillaMaxAgeNotLostOnReseal: the seal that replaces a gorilla
// cookie does not take the Manager's longer Lifetime when the handler
// changes nothing; it ends when the gorilla cookie would have.
func TestGorillaMaxAgeNotLostOnReseal(t *testing.T) {
	pairs := gorillaKeys["hash+block"]
	m, store := legacyManager(t, pairs, Legacy{MaxAge: 3600})
	m.Lifetime = 24 * time.Hour
	legacy := gorillaCookie(t, "app", pairs, map[any]any{"user": "alice"})
	start := time.Now()
	clock := start.Add(50 * time.Minute)
	m.Now = func() time.Time { return clock }
	store.Now = m.Now
	w := serve(m, func(s *session.Session) { require.Equal(t, "alice", s.GetString("user")) }, legacy)
	cookies := w.Result().Cookies()
	require.Len(t, cookies, 1)
	resealed := cookies[0]
	clock = start.Add(2 * time.Hour)
	serve(m, func(s *session.Session) { require.True(t, s.IsNew()) }, legacy)
	var user string
	serve(m, func(s *session.Session) { user = s.GetString("user") }, resealed)
	require.Empty(t, user, "converted session outlived the legacy MaxAge deadline (saved+1h)")
}

// clocked is a legacyManager and its Store on a clock the test sets.
type clocked struct {
	m     *session.Manager
	store *cookiesession.Store
	now   time.Time
}

func clockedLegacyManager(t *testing.T, keyPairs [][]byte, g Legacy) *clocked {
	t.Helper()
	c := new(clocked)
	c.m, c.store = legacyManager(t, keyPairs, g)
	// One function for good: the Manager binds a copy of the Store, Now
	// included, on its first request.
	c.m.Now = func() time.Time { return c.now }
	c.store.Now = c.m.Now
	return c
}

// serveAt serves, at now, a request carrying cookie (a legacy cookie or a
// seal) that runs h, and returns the seal the response set, with the
// record it holds, or nils if it set none (or expired the client's).
func (c *clocked) serveAt(t *testing.T, now time.Time, cookie *http.Cookie, h func(s *session.Session)) (*http.Cookie, *session.Record) {
	t.Helper()
	c.now = now
	cookies := serve(c.m, h, cookie).Result().Cookies()
	if len(cookies) == 0 || cookies[0].MaxAge < 0 {
		return nil, nil
	}
	require.Len(t, cookies, 1)
	rec := loadNamed(t, c.store, cookie.Name, cookies[0].Value)
	require.NotNil(t, rec)
	return cookies[0], rec
}

// gorillaSaved returns when gorilla saved the legacy cookie: its
// securecookie timestamp.
func gorillaSaved(t *testing.T, legacy *http.Cookie) time.Time {
	t.Helper()
	ts, ok := gorillaTimestamp(legacy.Value)
	require.True(t, ok)
	return time.Unix(ts, 0).UTC()
}

// TestGorillaConversionKeepsLegacyDeadline: the seal that replaces a
// gorilla cookie expires when that cookie would have, Gorilla.MaxAge after
// gorilla last saved it, even though the Manager's Lifetime, counted from
// that save too, is longer; a shorter Lifetime or IdleTimeout still wins.
func TestGorillaConversionKeepsLegacyDeadline(t *testing.T) {
	pairs := gorillaKeys["hash+block"]
	legacy := gorillaCookie(t, "app", pairs, map[any]any{"user": "alice"})
	saved := gorillaSaved(t, legacy)

	for _, tc := range []struct {
		name                  string
		lifetime, idleTimeout time.Duration
		converted, deadline   time.Time
	}{
		{"MaxAge", 24 * time.Hour, 0, saved.Add(50 * time.Minute), saved.Add(time.Hour)},
		{"shorter Lifetime", 55 * time.Minute, 0, saved.Add(50 * time.Minute), saved.Add(55 * time.Minute)},
		// IdleTimeout counts from gorilla's save on the converting
		// request, and from the conversion after it.
		{"shorter IdleTimeout", 24 * time.Hour, 10 * time.Minute, saved.Add(5 * time.Minute), saved.Add(15 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clockedLegacyManager(t, pairs, Legacy{MaxAge: 3600})
			c.m.Lifetime, c.m.IdleTimeout = tc.lifetime, tc.idleTimeout
			resealed, rec := c.serveAt(t, tc.converted, legacy, func(s *session.Session) {
				require.Equal(t, "alice", s.GetString("user"))
			})
			require.NotNil(t, resealed, "the legacy cookie is replaced on the converting response")
			require.Equal(t, tc.deadline, rec.Expires)
			require.Equal(t, saved, rec.Created)
			require.Equal(t, int(tc.deadline.Sub(tc.converted)/time.Second), resealed.MaxAge,
				"the cookie's Max-Age is the seal's deadline")

			var user string
			set, _ := c.serveAt(t, tc.deadline.Add(-time.Second), resealed, func(s *session.Session) {
				user = s.GetString("user")
			})
			require.Equal(t, "alice", user, "alive until its deadline")
			if tc.idleTimeout == 0 {
				require.Nil(t, set, "a read writes nothing, so the deadline stays")
			}
			for _, at := range []time.Duration{0, time.Hour} {
				user = "unset"
				c.serveAt(t, tc.deadline.Add(at), resealed, func(s *session.Session) {
					require.True(t, s.IsNew())
					user = s.GetString("user")
				})
				require.Empty(t, user, "the seal outlived its deadline")
			}
			// Nor does the legacy cookie itself come back to life.
			c.serveAt(t, saved.Add(2*time.Hour), legacy, func(s *session.Session) {
				require.True(t, s.IsNew())
			})
		})
	}
}

// TestGorillaConvertedSessionLaterSaves: the legacy deadline is the
// session's own (Record.Deadline), sealed with it, so that no save through
// the native API lengthens a converted session past it: not a change on
// the converting response, not one on a later request, not Renew, not the
// Manager's idle touch. (A Save through the gorilla API sets it afresh, as
// gorilla's save re-signed the cookie: TestLegacyDeadlineRollsOnGorillaSave.)
func TestGorillaConvertedSessionLaterSaves(t *testing.T) {
	pairs := gorillaKeys["hash only"]
	legacy := gorillaCookie(t, "app", pairs, map[any]any{"user": "alice"})
	saved := gorillaSaved(t, legacy)
	deadline := saved.Add(time.Hour)
	converted, later := saved.Add(50*time.Minute), saved.Add(55*time.Minute)
	setter := func(n int) func(*session.Session) {
		return func(s *session.Session) {
			require.Equal(t, "alice", s.GetString("user"))
			s.Put("n", n)
		}
	}

	t.Run("application save", func(t *testing.T) {
		c := clockedLegacyManager(t, pairs, Legacy{MaxAge: 3600})
		c.m.Lifetime = 24 * time.Hour
		// A change on the converting response does not extend it...
		resealed, rec := c.serveAt(t, converted, legacy, setter(1))
		require.Equal(t, deadline, rec.Expires)
		require.Equal(t, deadline, rec.Deadline)
		// ... nor does one on a later request: the deadline is sealed in.
		again, rec := c.serveAt(t, later, resealed, setter(2))
		require.NotNil(t, again)
		require.Equal(t, saved, rec.Created)
		require.Equal(t, deadline, rec.Expires)
		require.Equal(t, int(deadline.Sub(later)/time.Second), again.MaxAge)

		var n int
		c.serveAt(t, deadline.Add(-time.Second), again, func(s *session.Session) { n = s.GetInt("n") })
		require.Equal(t, 2, n)
		c.serveAt(t, deadline, again, func(s *session.Session) { require.True(t, s.IsNew()) })
		c.serveAt(t, deadline, resealed, func(s *session.Session) { require.True(t, s.IsNew()) })
	})

	t.Run("renew while converting", func(t *testing.T) {
		c := clockedLegacyManager(t, pairs, Legacy{MaxAge: 3600})
		c.m.Lifetime = 24 * time.Hour
		_, rec := c.serveAt(t, converted, legacy, func(s *session.Session) {
			require.Equal(t, "alice", s.GetString("user"))
			require.NoError(t, s.Renew())
		})
		require.Equal(t, deadline, rec.Expires)
	})

	t.Run("idle touch", func(t *testing.T) {
		c := clockedLegacyManager(t, pairs, Legacy{MaxAge: 3600})
		c.m.Lifetime, c.m.IdleTimeout = 24*time.Hour, 45*time.Minute
		resealed, rec := c.serveAt(t, saved.Add(40*time.Minute), legacy, func(s *session.Session) {
			require.Equal(t, "alice", s.GetString("user"))
		})
		require.Equal(t, deadline, rec.Expires)
		// A read past TouchInterval (4.5 minutes) re-seals to extend the
		// idle deadline, which the legacy one still caps.
		touched, rec := c.serveAt(t, later, resealed, func(s *session.Session) {
			require.Equal(t, "alice", s.GetString("user"))
		})
		require.NotNil(t, touched)
		require.Equal(t, later, rec.Touched)
		require.Equal(t, deadline, rec.Expires)
	})
}

// TestGorillaSaveLeavesRecordsAlone: the legacy deadline travels in the
// record the reader returns; the store's Save seals every record as it is,
// whatever the token it replaces, a legacy cookie included.
func TestGorillaSaveLeavesRecordsAlone(t *testing.T) {
	pairs := gorillaKeys["hash only"]
	legacy := gorillaCookie(t, cookiesession.DefaultName, pairs, map[any]any{"user": "alice"})
	legacyDeadline := gorillaSaved(t, legacy).Add(time.Hour)

	store, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	store.Now = func() time.Time { return legacyDeadline.Add(-time.Minute) }
	far := legacyDeadline.Add(24 * time.Hour)
	record := func(expires time.Time) *session.Record {
		return &session.Record{ID: "id", Created: legacyDeadline.Add(-time.Hour), Touched: legacyDeadline.Add(-time.Hour), Expires: expires}
	}
	seal := func(token string, rec *session.Record) *session.Record {
		t.Helper()
		want := *rec
		tok, err := store.Save(ctx, token, rec)
		require.NoError(t, err)
		require.Equal(t, want, *rec, "Save does not change the record")
		got := load(t, store, tok)
		require.NotNil(t, got)
		require.Equal(t, rec.Expires, got.Expires, "the seal holds the deadline the caller sees")
		return got
	}

	AcceptGorilla(store, Legacy{Codecs: securecookie.CodecsFromPairs(pairs...), MaxAge: 3600})
	loaded := load(t, store, legacy.Value)
	require.NotNil(t, loaded)
	require.Equal(t, legacyDeadline, loaded.Deadline)
	require.Equal(t, legacyDeadline, loaded.Expires)
	sealed, err := store.Save(ctx, "", record(far))
	require.NoError(t, err)
	for _, token := range []string{legacy.Value, "", sealed, "garbage"} {
		require.Equal(t, far, seal(token, record(far)).Expires, "token %q", token)
	}
	_, err = store.Save(ctx, legacy.Value, record(time.Time{}))
	require.ErrorContains(t, err, "no Expires", "a record without a deadline is still refused")
}

func TestGorillaRejected(t *testing.T) {
	pairs := gorillaKeys["hash+block"]
	legacy := gorillaCookie(t, "app", pairs, map[any]any{"user": "alice"})
	newSession := func(t *testing.T, m *session.Manager, c *http.Cookie) {
		t.Helper()
		serve(m, func(s *session.Session) {
			require.NoError(t, s.Err())
			require.True(t, s.IsNew())
			require.Empty(t, s.Keys())
		}, c)
	}

	t.Run("off unless configured", func(t *testing.T) {
		m, _ := legacyManager(t, nil, Legacy{})
		newSession(t, m, legacy)
	})
	t.Run("turned off again", func(t *testing.T) {
		m, store := legacyManager(t, pairs, Legacy{})
		AcceptGorilla(store, Legacy{})
		newSession(t, m, legacy)
	})
	t.Run("tampered", func(t *testing.T) {
		m, _ := legacyManager(t, pairs, Legacy{})
		v := []byte(legacy.Value)
		v[len(v)/2] ^= 0x01
		newSession(t, m, &http.Cookie{Name: "app", Value: string(v)})
	})
	t.Run("other keys", func(t *testing.T) {
		m, _ := legacyManager(t, gorillaKeys["hash only"], Legacy{})
		newSession(t, m, legacy)
	})
	t.Run("other cookie name", func(t *testing.T) {
		m, _ := legacyManager(t, pairs, Legacy{})
		other := gorillaCookie(t, "other", pairs, map[any]any{"user": "alice"})
		newSession(t, m, &http.Cookie{Name: "app", Value: other.Value})
	})
	t.Run("garbage", func(t *testing.T) {
		m, _ := legacyManager(t, pairs, Legacy{})
		for _, v := range []string{"x", "MTIz", "fHx8", "MXx8", "bm90LWEtbnVtYmVyfHx8"} {
			newSession(t, m, &http.Cookie{Name: "app", Value: v})
		}
	})
	t.Run("codec mismatch", func(t *testing.T) {
		// The values of an authentic cookie that does not decode are
		// never half-served.
		m, _ := legacyManager(t, pairs, Legacy{Codec: failingCodec{}})
		newSession(t, m, legacy)
	})
}

type failingCodec struct{}

func (failingCodec) Encode(map[string]any) ([]byte, error) { return nil, errFailingCodec }
func (failingCodec) Decode([]byte) (map[string]any, error) { return nil, errFailingCodec }

var errFailingCodec = &codecError{}

type codecError struct{}

func (*codecError) Error() string { return "codec fails" }

func TestGorillaKeyMapping(t *testing.T) {
	pairs := gorillaKeys["hash only"]
	m, _ := legacyManager(t, pairs, Legacy{Key: func(k any) (string, bool) {
		if k == legacyKey(1) {
			return "user", true
		}
		return "", false
	}})
	legacy := gorillaCookie(t, "app", pairs, map[any]any{legacyKey(1): "alice", legacyKey(2): "dropped"})
	serve(m, func(s *session.Session) {
		require.False(t, s.IsNew())
		require.Equal(t, "alice", s.GetString("user"))
		require.Equal(t, []string{"_flash", "user"}, s.Keys())
	}, legacy)
}

// TestGorillaUnregisteredType: an authentic cookie holding a value whose
// type this program did not register with gob is a new session, and a
// warning says what to do.
func TestGorillaUnregisteredType(t *testing.T) {
	pairs := gorillaKeys["hash only"]
	sc := securecookie.New(pairs[0], nil)
	sc.SetSerializer(renamingSerializer{})
	value, err := sc.Encode("app", map[any]any{"user": legacyValue{"alice"}})
	require.NoError(t, err)

	var logs bytes.Buffer
	m, _ := legacyManager(t, pairs, Legacy{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	serve(m, func(s *session.Session) {
		require.True(t, s.IsNew())
	}, &http.Cookie{Name: "app", Value: value})
	require.Contains(t, logs.String(), "session.Register")
	require.Contains(t, logs.String(), "legacytest.Unknowm")
}

type legacyValue struct{ Name string }

func init() {
	gob.RegisterName("legacytest.Unknown", legacyValue{})
	gob.Register(legacyKey(0)) // as the gorilla application did, to use it as a key
}

// renamingSerializer is gob with the registered type name changed in the
// output, so the cookie carries a type name this program never registered,
// as it would after the type was renamed or its registration removed.
type renamingSerializer struct{}

func (renamingSerializer) Serialize(v any) ([]byte, error) {
	b, err := securecookie.GobEncoder{}.Serialize(v)
	return bytes.Replace(b, []byte("legacytest.Unknown"), []byte("legacytest.Unknowm"), 1), err
}

func (renamingSerializer) Deserialize(b []byte, v any) error {
	return securecookie.GobEncoder{}.Deserialize(b, v)
}

// TestGorillaCookieCannotDeclareHugeSizes: whoever holds the gorilla keys
// can sign any payload, and gob allocates what a map in it declares before
// reading a single entry. A legacy cookie claiming a map of 2^22 entries
// (a few hundred MB; 2^40 would kill the process) in its ~250 characters
// must be refused before gob sees it.
func TestGorillaCookieCannotDeclareHugeSizes(t *testing.T) {
	pairs := gorillaKeys["hash+block"]
	payload, err := gobchecktest.Declare(map[any]any{"cart": map[string]any{gobchecktest.Marker: 1}}, 1<<22)
	require.NoError(t, err)
	forger := securecookie.New(pairs[0], pairs[1])
	forger.SetSerializer(securecookie.NopEncoder{})
	value, err := forger.Encode("app", payload)
	require.NoError(t, err)
	t.Logf("forged cookie: %d characters", len(value))

	var logs bytes.Buffer
	_, store := legacyManager(t, pairs, Legacy{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	store.Name = "app" // as the Manager binds it
	var rec *session.Record
	allocated := gobchecktest.Allocated(func() {
		rec, err = store.Load(ctx, value)
	})
	require.ErrorIs(t, err, session.ErrInvalidToken)
	require.Nil(t, rec, "a forged legacy cookie is a new session")
	require.Less(t, allocated, uint64(1<<20), "bytes allocated by loading the forged cookie")
	require.Contains(t, logs.String(), "map declares 4194304 elements")
}

// otherCodec is a securecookie.Codec that is not a SecureCookie.
type otherCodec struct{ securecookie.Codec }

func TestAcceptGorillaNeedsSecureCookies(t *testing.T) {
	store, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	codecs := securecookie.CodecsFromPairs(gorillaKeys["hash only"]...)
	require.PanicsWithValue(t,
		"gorillastore: AcceptGorilla: Legacy.Codecs[1] is a gorillastore.otherCodec, not a *securecookie.SecureCookie, so its gob payload could not be checked before it is decoded",
		func() { AcceptGorilla(store, Legacy{Codecs: []securecookie.Codec{codecs[0], otherCodec{codecs[0]}}}) })
}

// TestAcceptGorillaLeavesCodecsAlone: the Store reads the payload through
// a copy of each codec; the application's own codecs still serialize
// with gob.
func TestAcceptGorillaLeavesCodecsAlone(t *testing.T) {
	pairs := gorillaKeys["hash+block"]
	codecs := securecookie.CodecsFromPairs(pairs...)
	store, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	AcceptGorilla(store, Legacy{Codecs: codecs})
	value, err := codecs[0].Encode("app", map[any]any{"user": "alice"})
	require.NoError(t, err)
	var got map[any]any
	require.NoError(t, codecs[0].Decode("app", value, &got))
	require.Equal(t, map[any]any{"user": "alice"}, got)
}
