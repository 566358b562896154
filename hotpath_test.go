package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/internal/browsertest"
)

// updaterStore is a recordStore that is also ServerSide, as server-side
// stores are, so that saves of loaded sessions go through the Manager's
// merge.
type updaterStore struct {
	*recordStore
	updates    int
	hinted     int // Updates given the loaded record
	staleHints int // … which was no longer what the store held
}

// Update takes the loaded record as a hint, as an optimistic store does:
// it calls fn with it first, and keeps the result only if the stored
// record is still the one the hint describes.
func (s *updaterStore) Update(ctx context.Context, token string, loaded *session.Record, fn func(*session.Record) (*session.Record, error)) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates++
	cur := s.records[token].Clone()
	if loaded != nil {
		s.hinted++
		before := loaded.Clone()
		rec, err := fn(loaded)
		if !reflect.DeepEqual(before, loaded) {
			return "", errors.New("fn modified the loaded record")
		}
		if err == nil && rec != nil && reflect.DeepEqual(cur, loaded) {
			s.records[token] = rec.Clone()
			return token, nil
		}
		s.staleHints++
	}
	rec, err := fn(cur)
	if err != nil || rec == nil {
		return "", err
	}
	s.records[token] = rec.Clone()
	return token, nil
}

// Renew moves the record, if it is still there, as a server-side store
// does.
func (s *updaterStore) Renew(ctx context.Context, oldToken string, rec *session.Record) (string, error) {
	s.mu.Lock()
	_, ok := s.records[oldToken]
	delete(s.records, oldToken)
	s.mu.Unlock()
	if !ok {
		return "", nil
	}
	return s.recordStore.Save(ctx, "", rec)
}

func TestMergeKeepsConcurrentChanges(t *testing.T) {
	store := &updaterStore{recordStore: newRecordStore()}
	m, _ := newManager(store)
	var inner http.Handler
	mux := http.NewServeMux()
	var c *browsertest.Browser
	mux.HandleFunc("/outer", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		_ = s.Keys() // load
		if r.URL.Query().Has("concurrent") {
			// Another request of the session saves between this one's
			// load and its save.
			c.Get("/put?b=from-inner")
		}
		s.Put("a", "from-outer")
		if r.URL.Query().Has("twice") {
			require.NoError(t, m.Save(w, s))
			c.Get("/put?c=from-inner")
			s.Put("d", "from-outer")
		}
	})
	inner = testApp(m)
	mux.Handle("/put", inner)
	mux.Handle("/get", inner)
	c = browsertest.InProcess(t, m.Handler(mux))

	values := func() map[string]string {
		got := map[string]string{}
		for _, k := range []string{"a", "b", "c", "d", "z"} {
			if v := text(t, c, "/get?k="+k); v != "" {
				got[k] = v
			}
		}
		return got
	}

	c.Get("/put?z=start")
	c.Get("/outer")
	assert.Equal(t, map[string]string{"a": "from-outer", "z": "start"}, values(), "no concurrent save")

	c.Get("/put?a=&b=")
	c.Get("/outer?concurrent")
	assert.Equal(t, map[string]string{"a": "from-outer", "b": "from-inner", "z": "start"}, values(), "a concurrent save to another key survives")

	c.Get("/put?a=&b=")
	c.Get("/outer?twice")
	assert.Equal(t, map[string]string{"a": "from-outer", "c": "from-inner", "d": "from-outer", "z": "start"}, values(),
		"a save after the request's first save merges too")

	c.Get("/put?a=&b=&c=&d=")
	c.Get("/outer?concurrent&twice")
	assert.Equal(t, map[string]string{"a": "from-outer", "b": "from-inner", "c": "from-inner", "d": "from-outer", "z": "start"}, values())
	assert.Positive(t, store.updates)
	// Each first save of a loaded session passes what it loaded; the
	// concurrent saves above made some of those stale.
	assert.Positive(t, store.hinted)
	assert.Positive(t, store.staleHints)
	assert.Less(t, store.hinted, store.updates, "a save after the request's first save passes no loaded record")
}

// headerWriter is a ResponseWriter that keeps only the header, reused
// from one request to the next, so that counting a handler's allocations
// counts none of a recorder's.
type headerWriter struct{ h http.Header }

func (w headerWriter) Header() http.Header         { return w.h }
func (w headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w headerWriter) WriteHeader(int)             {}

// TestSealedRequestAllocations pins the allocations of a save and a load
// of a sealed session through the Manager, which the benchmarks in bench/
// measure among the harness's own: a change that adds one shows here, not
// only as noise in a benchmark.
func TestSealedRequestAllocations(t *testing.T) {
	store, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	m := session.New(store)
	var userID any = 4217 // boxed once here, so that Put's cost is the Manager's alone
	save := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Put("user_id", userID)
		s.Put("theme", "dark")
	}))
	load := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if s.GetInt("user_id") != 4217 || s.GetString("theme") != "dark" {
			t.Error("session did not load")
		}
	}))
	w := headerWriter{http.Header{}}
	saveReq := httptest.NewRequest("GET", "/", nil)
	save.ServeHTTP(w, saveReq)
	loadReq := httptest.NewRequest("GET", "/", nil)
	loadReq.Header.Set("Cookie", strings.SplitN(w.h.Get("Set-Cookie"), ";", 2)[0])

	saves := testing.AllocsPerRun(100, func() {
		delete(w.h, "Set-Cookie")
		save.ServeHTTP(w, saveReq)
	})
	loads := testing.AllocsPerRun(100, func() {
		load.ServeHTTP(w, loadReq)
	})
	// A save: the request's copy and the Handler's state; the values map
	// and its slots; the session ID; the record handed to the store and
	// the save's context; the encoded values, the token, the Set-Cookie
	// line and the header's slice of it.
	saveLimit := 11.0
	if raceEnabled {
		// CI runs the tests under the race detector, which adds two
		// allocations to a save (its sync.Pool drops buffers at random,
		// among others): pinned too, so that CI checks the count.
		saveLimit += 2
	}
	assert.LessOrEqual(t, saves, saveLimit, "allocations of a save")
	// A load: the request's copy and the Handler's state; the decoded
	// token, the record and its ID; the decoded values: one string for
	// all their text, the map and its slots, the boxed int and string.
	assert.LessOrEqual(t, loads, 10.0, "allocations of a load")
}
