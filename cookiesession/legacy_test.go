package cookiesession

import (
	"bytes"
	"encoding/gob"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-sealed/session"
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

func legacyManager(t *testing.T, keyPairs [][]byte, g Gorilla) (*session.Manager, *Store) {
	t.Helper()
	store, err := New(GenerateKey())
	require.NoError(t, err)
	if g.Logger == nil {
		g.Logger = slog.New(slog.DiscardHandler)
	}
	if keyPairs != nil {
		g.Codecs = securecookie.CodecsFromPairs(keyPairs...)
		store.AcceptGorilla(g)
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
			m, store := legacyManager(t, pairs, Gorilla{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
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
			require.Contains(t, logs.String(), "keyType=cookiesession.legacyKey")
			require.Contains(t, logs.String(), "reserved key")

			// Re-sealed on that response, though the handler changed
			// nothing: the client now holds the new format.
			cookies := w.Result().Cookies()
			require.Len(t, cookies, 1)
			sealed := cookies[0]
			require.Equal(t, "app", sealed.Name)
			require.NotEqual(t, legacy.Value, sealed.Value)
			require.NotNil(t, decodeToken(sealed.Value), "a token in this library's format")
			rec := load(t, store.BindName("app").(*Store), sealed.Value)
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
	store, err := New(GenerateKey())
	require.NoError(t, err)
	store.AcceptGorilla(Gorilla{Codecs: securecookie.CodecsFromPairs(pairs...), MaxAge: 3600})

	now := time.Now()
	rec := load(t, store, legacy.Value)
	require.NotNil(t, rec)
	require.True(t, rec.Reissue)
	require.True(t, rec.Persistent)
	require.WithinDuration(t, now, rec.Created, 2*time.Second)
	require.Equal(t, rec.Created, rec.Touched)
	require.Equal(t, rec.Created.Add(time.Hour), rec.Expires)
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
		m, _ := legacyManager(t, nil, Gorilla{})
		newSession(t, m, legacy)
	})
	t.Run("turned off again", func(t *testing.T) {
		m, store := legacyManager(t, pairs, Gorilla{})
		store.AcceptGorilla(Gorilla{})
		newSession(t, m, legacy)
	})
	t.Run("tampered", func(t *testing.T) {
		m, _ := legacyManager(t, pairs, Gorilla{})
		v := []byte(legacy.Value)
		v[len(v)/2] ^= 0x01
		newSession(t, m, &http.Cookie{Name: "app", Value: string(v)})
	})
	t.Run("other keys", func(t *testing.T) {
		m, _ := legacyManager(t, gorillaKeys["hash only"], Gorilla{})
		newSession(t, m, legacy)
	})
	t.Run("other cookie name", func(t *testing.T) {
		m, _ := legacyManager(t, pairs, Gorilla{})
		other := gorillaCookie(t, "other", pairs, map[any]any{"user": "alice"})
		newSession(t, m, &http.Cookie{Name: "app", Value: other.Value})
	})
	t.Run("garbage", func(t *testing.T) {
		m, _ := legacyManager(t, pairs, Gorilla{})
		for _, v := range []string{"x", "MTIz", "fHx8", "MXx8", "bm90LWEtbnVtYmVyfHx8"} {
			newSession(t, m, &http.Cookie{Name: "app", Value: v})
		}
	})
	t.Run("codec mismatch", func(t *testing.T) {
		// The values of an authentic cookie that does not decode are
		// never half-served.
		m, _ := legacyManager(t, pairs, Gorilla{Codec: failingCodec{}})
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
	m, _ := legacyManager(t, pairs, Gorilla{Key: func(k any) (string, bool) {
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
	m, _ := legacyManager(t, pairs, Gorilla{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
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
