package session_test

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/internal/browsertest"
)

// requests runs each handler in turn on one client, one request each, so
// that every handler sees the session as the one before it saved it.
func requests(t *testing.T, m *session.Manager, handlers ...func(*session.Session)) {
	t.Helper()
	c := browsertest.InProcess(t, nil) // each request sets its own handler
	for i, h := range handlers {
		c.SetHandler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			require.NoError(t, s.Err())
			if i > 0 {
				require.False(t, s.IsNew(), "request %d lost the session", i+1)
			}
			h(s)
		})))
		res, _ := c.Get("/")
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

func TestFlashesQueueAcrossRequestsWithEveryCodec(t *testing.T) {
	for name, codec := range map[string]session.Codec{"cbor": session.CBOR, "json": session.JSON, "gob": session.Gob} {
		t.Run(name, func(t *testing.T) {
			m, _ := newManager(newRecordStore())
			m.Codec = codec
			requests(t, m,
				func(s *session.Session) { s.AddFlash("first") },
				func(s *session.Session) { s.AddFlash("second") },
				func(s *session.Session) {
					assert.Equal(t, []any{"first", "second"}, s.Flashes())
					s.AddFlash("third")
				},
				func(s *session.Session) { assert.Equal(t, []any{"third"}, s.Flashes()) },
			)
		})
	}
}

// flashNotice is never registered: CBOR decodes it as a Raw.
type flashNotice struct {
	Text  string
	Level int
}

// registeredNotice is registered: CBOR decodes it as itself.
type registeredNotice struct{ Text string }

func init() { session.Register(registeredNotice{}) }

// TestUnregisteredStructInsideContainersIsGeneric: a struct whose type was
// not registered, inside an []any or a map[string]any, comes back in its
// generic form, as it does at the top level, never as a value of the
// codec's internal Raw type.
func TestUnregisteredStructInsideContainersIsGeneric(t *testing.T) {
	m, _ := newManager(newRecordStore())
	notice := flashNotice{Text: "Saved", Level: 2}
	generic := map[string]any{"Text": "Saved", "Level": int64(2)}
	requests(t, m,
		func(s *session.Session) {
			s.AddFlash(notice)
			s.AddFlash(registeredNotice{Text: "kept"})
			s.Put("list", []any{"a", notice})
			s.Put("map", map[string]any{"n": notice, "deeper": []any{map[string]any{"n": notice}}})
			s.Put("popped", []any{notice})
			s.Put("top", notice)
		},
		func(s *session.Session) {
			assert.Equal(t, []any{generic, registeredNotice{Text: "kept"}}, s.Flashes())
			assert.Equal(t, []any{"a", generic}, s.Get("list"))
			l, ok := session.GetAs[[]any](s, "list")
			require.True(t, ok)
			assert.Equal(t, []any{"a", generic}, l)
			wantMap := map[string]any{"n": generic, "deeper": []any{map[string]any{"n": generic}}}
			assert.Equal(t, wantMap, s.Get("map"))
			mm, ok := session.GetAs[map[string]any](s, "map")
			require.True(t, ok)
			assert.Equal(t, wantMap, mm)
			assert.Equal(t, []any{generic}, s.Pop("popped"))
			// A top-level one still decodes into its own type.
			n, ok := session.GetAs[flashNotice](s, "top")
			require.True(t, ok)
			assert.Equal(t, notice, n)
			assert.Equal(t, generic, s.Get("top"))

			// Changing what Get returned changes nothing saved.
			require.IsType(t, map[string]any{}, l[1])
			l[1].(map[string]any)["Text"] = "changed"
			s.AddFlash(notice) // a change, so that the session is saved
		},
		func(s *session.Session) {
			assert.Equal(t, []any{"a", generic}, s.Get("list"), "read, not put: saved as it was")
			assert.Equal(t, []any{generic}, s.Flashes())
			assert.False(t, s.Has("popped"))
			n, ok := session.PopAs[flashNotice](s, "top")
			require.True(t, ok)
			assert.Equal(t, notice, n)
			pl, ok := session.PopAs[[]any](s, "list")
			require.True(t, ok)
			assert.Equal(t, []any{"a", generic}, pl)
		},
	)
}

func TestGetIntGivesZeroWhenTheValueDoesNotFit(t *testing.T) {
	is64 := math.MaxInt == math.MaxInt64
	// on64 is want where int has 64 bits, 0 where it has 32.
	on64 := func(want int64) int {
		if is64 {
			return int(want)
		}
		return 0
	}
	cases := []struct {
		name string
		v    any
		want int
	}{
		{"int", -7, -7},
		{"int8", int8(-8), -8},
		{"int32 min", int32(math.MinInt32), math.MinInt32},
		{"int64 small", int64(-64), -64},
		{"int64 max", int64(math.MaxInt64), on64(math.MaxInt64)},
		{"int64 min", int64(math.MinInt64), on64(math.MinInt64)},
		{"int64 2^40", int64(1 << 40), on64(1 << 40)},
		{"uint", uint(5), 5},
		{"uint max", uint(math.MaxUint), 0},
		{"uint max int", uint(math.MaxInt), math.MaxInt},
		{"uint max int + 1", uint(math.MaxInt) + 1, 0},
		{"uint8", uint8(255), 255},
		{"uint16", uint16(65535), 65535},
		{"uint32 max", uint32(math.MaxUint32), on64(math.MaxUint32)},
		{"uint64 small", uint64(9), 9},
		{"uint64 2^63", uint64(1 << 63), 0},
		{"uint64 max", uint64(math.MaxUint64), 0},
		{"uint64 max int", uint64(math.MaxInt), math.MaxInt},
		{"float64 whole", 42.0, 42},
		{"float64 negative", -42.0, -42},
		{"float64 fraction", 1.5, 0},
		{"float64 2^53", float64(1 << 53), on64(1 << 53)},
		{"float64 2^63", float64(1 << 63), 0},
		{"float64 -2^63", -float64(1 << 63), on64(math.MinInt64)},
		{"float64 1e19", 1e19, 0},
		{"float64 -1e19", -1e19, 0},
		{"float64 2^31", float64(1 << 31), on64(1 << 31)},
		{"float64 -2^31", -float64(1 << 31), math.MinInt32},
		{"float64 +Inf", math.Inf(1), 0},
		{"float64 -Inf", math.Inf(-1), 0},
		{"float64 NaN", math.NaN(), 0},
		{"string", "1", 0},
	}
	m, _ := newManager(newRecordStore())
	requests(t, m, func(s *session.Session) {
		for _, c := range cases {
			s.Put("n", c.v)
			assert.Equal(t, c.want, s.GetInt("n"), c.name)
		}
	})
}
