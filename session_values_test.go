package session_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
)

// requests runs each handler in turn on one client, one request each, so
// that every handler sees the session as the one before it saved it.
func requests(t *testing.T, m *session.Manager, handlers ...func(*session.Session)) {
	t.Helper()
	c := newClient(t, nil)
	for i, h := range handlers {
		c.h = m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			require.NoError(t, s.Err())
			if i > 0 {
				require.False(t, s.IsNew(), "request %d lost the session", i+1)
			}
			h(s)
		}))
		res := c.get("/")
		require.Equal(t, http.StatusOK, res.StatusCode, "request %d", i+1)
	}
}

// TestInvalidUTF8SurvivesTheNextRequest: a string that is not valid UTF-8
// used to be saved in a form that Decode refused, which cost the user the
// whole session on the next request.
func TestInvalidUTF8SurvivesTheNextRequest(t *testing.T) {
	store, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	m := session.New(store)
	when := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	values := map[string]any{
		"name":     "caf\xe9",
		"caf\xe9":  "under an invalid key",
		"user_id":  42,
		"when":     when,
		"cart":     []string{"SKU-1", "\xff"},
		"labels":   map[string]string{"\xfe": "\xfd", "k": "v"},
		"list":     []any{"ok", "\xe2\x82", map[string]any{"\xff": []any{"\xfe"}}},
		"nested":   map[string]any{"caf\xe9": "caf\xe9"},
		"greeting": "héllo",
	}
	requests(t, m,
		func(s *session.Session) {
			for k, v := range values {
				s.Put(k, v)
			}
		},
		func(s *session.Session) {
			for k, want := range values {
				assert.Equal(t, want, s.Get(k), k)
			}
			assert.Len(t, s.Keys(), len(values))
			s.Put("visits", 1) // saved again, with the strings as they were read
		},
		func(s *session.Session) {
			for k, want := range values {
				assert.Equal(t, want, s.Get(k), k)
			}
			assert.Equal(t, []byte("caf\xe9"), []byte(s.GetString("name")))
			assert.Equal(t, 1, s.GetInt("visits"))
		},
	)
}
