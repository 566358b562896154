package session_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
)

// updaterStore is a recordStore that is also an Updater, as server-side
// stores are, so that saves of loaded sessions go through the Manager's
// merge; it can claim to be a LocalStore, and remembers whether its calls
// came with a deadline.
type updaterStore struct {
	*recordStore
	local bool

	ctxMu      sync.Mutex
	deadlines  []bool // per call: did its context have a deadline
	updates    int
	hinted     int // Updates given the loaded record
	staleHints int // … which was no longer what the store held
}

func (s *updaterStore) note(ctx context.Context) {
	_, ok := ctx.Deadline()
	s.ctxMu.Lock()
	s.deadlines = append(s.deadlines, ok)
	s.ctxMu.Unlock()
}

func (s *updaterStore) Load(ctx context.Context, token string) (*session.Record, error) {
	s.note(ctx)
	return s.recordStore.Load(ctx, token)
}

func (s *updaterStore) Save(ctx context.Context, token string, rec *session.Record) (string, error) {
	s.note(ctx)
	return s.recordStore.Save(ctx, token, rec)
}

func (s *updaterStore) Delete(ctx context.Context, token string) error {
	s.note(ctx)
	return s.recordStore.Delete(ctx, token)
}

// Update takes the loaded record as a hint, as an optimistic store does:
// it calls fn with it first, and keeps the result only if the stored
// record is still the one the hint describes.
func (s *updaterStore) Update(ctx context.Context, token string, loaded *session.Record, fn func(*session.Record) (*session.Record, error)) (string, error) {
	s.note(ctx)
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

func (s *updaterStore) Local() bool { return s.local }

func (s *updaterStore) callDeadlines() []bool {
	s.ctxMu.Lock()
	defer s.ctxMu.Unlock()
	d := s.deadlines
	s.deadlines = nil
	return d
}

func TestLocalStoreCallsHaveNoTimeout(t *testing.T) {
	for _, local := range []bool{false, true} {
		t.Run(fmt.Sprintf("local=%v", local), func(t *testing.T) {
			store := &updaterStore{recordStore: newRecordStore(), local: local}
			m, _ := newManager(store)
			c := newClient(t, testApp(m))
			c.get("/put?a=1") // Save
			c.get("/get?k=a") // Load only
			c.get("/put?a=2") // Load, Update
			c.get("/destroy") // Load, Delete
			assert.Equal(t, []bool{!local, !local, !local, !local, !local, !local}, store.callDeadlines(),
				"StoreTimeout bounds every call to a store that is not local, and none to a local one")
		})
	}
}

func TestMergeKeepsConcurrentChanges(t *testing.T) {
	store := &updaterStore{recordStore: newRecordStore()}
	m, _ := newManager(store)
	var inner http.Handler
	mux := http.NewServeMux()
	var c *client
	mux.HandleFunc("/outer", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		_ = s.Keys() // load
		if r.URL.Query().Has("concurrent") {
			// Another request of the session saves between this one's
			// load and its save.
			c.get("/put?b=from-inner")
		}
		s.Put("a", "from-outer")
		if r.URL.Query().Has("twice") {
			require.NoError(t, m.Save(w, s))
			c.get("/put?c=from-inner")
			s.Put("d", "from-outer")
		}
	})
	inner = testApp(m)
	mux.Handle("/put", inner)
	mux.Handle("/get", inner)
	c = newClient(t, m.Handler(mux))

	values := func() map[string]string {
		got := map[string]string{}
		for _, k := range []string{"a", "b", "c", "d", "z"} {
			if v := body(t, c.get("/get?k="+k)); v != "" {
				got[k] = v
			}
		}
		return got
	}

	c.get("/put?z=start")
	c.get("/outer")
	assert.Equal(t, map[string]string{"a": "from-outer", "z": "start"}, values(), "no concurrent save")

	c.get("/put?a=&b=")
	c.get("/outer?concurrent")
	assert.Equal(t, map[string]string{"a": "from-outer", "b": "from-inner", "z": "start"}, values(), "a concurrent save to another key survives")

	c.get("/put?a=&b=")
	c.get("/outer?twice")
	assert.Equal(t, map[string]string{"a": "from-outer", "c": "from-inner", "d": "from-outer", "z": "start"}, values(),
		"a save after the request's first save merges too")

	c.get("/put?a=&b=&c=&d=")
	c.get("/outer?concurrent&twice")
	assert.Equal(t, map[string]string{"a": "from-outer", "b": "from-inner", "c": "from-inner", "d": "from-outer", "z": "start"}, values())
	assert.Positive(t, store.updates)
	// Each first save of a loaded session passes what it loaded; the
	// concurrent saves above made some of those stale.
	assert.Positive(t, store.hinted)
	assert.Positive(t, store.staleHints)
	assert.Less(t, store.hinted, store.updates, "a save after the request's first save passes no loaded record")
}
