package redisstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// tripCounter is a go-redis hook that records every round trip a client
// makes: each a single command or a pipeline (a MULTI/EXEC is one).
type tripCounter struct {
	mu    sync.Mutex
	trips [][]string
}

func (h *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.record([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (h *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.record(cmds)
		return next(ctx, cmds)
	}
}

func (h *tripCounter) record(cmds []redis.Cmder) {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.Name()
	}
	h.mu.Lock()
	h.trips = append(h.trips, names)
	h.mu.Unlock()
}

// take returns the round trips recorded since the last take.
func (h *tripCounter) take() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.trips
	h.trips = nil
	return t
}

// TestRoundTrips counts what each operation sends to Redis. Find must be
// one command; the rest are pinned to the figures the design notes
// (docs/design.md, the redisstore section) give.
func TestRoundTrips(t *testing.T) {
	hook := &tripCounter{}
	c := singleClient(t, hook)
	s, _ := newTestStore(t, c)
	ctx := t.Context()
	expires := time.Now().Add(time.Hour)
	live := func(user string) serverstore.Entry {
		return serverstore.Entry{Data: []byte("x"), Expires: expires, UserID: user}
	}
	anon, owned, other := storetest.NewKey(), storetest.NewKey(), storetest.NewKey()
	require.NoError(t, s.Commit(ctx, other, live("alice")))
	hook.take()

	check := func(name string, want int, op func() error) [][]string {
		t.Helper()
		require.NoError(t, op(), name)
		trips := hook.take()
		t.Logf("%-28s %d: %v", name, len(trips), trips)
		assert.Len(t, trips, want, "round trips of %s", name)
		return trips
	}
	find := func(key string) func() error {
		return func() error { _, _, err := s.Find(ctx, key); return err }
	}
	trips := check("Find", 1, find(owned))
	require.Equal(t, [][]string{{"hmget"}}, trips, "Find must be a single command")
	check("Commit (anonymous)", 1, func() error { return s.Commit(ctx, anon, live("")) })
	check("Commit (new owner)", 3, func() error { return s.Commit(ctx, owned, live("alice")) })
	check("Commit (same owner)", 2, func() error { return s.Commit(ctx, owned, live("alice")) })
	trips = check("Find", 1, find(owned))
	require.Equal(t, [][]string{{"hmget"}}, trips, "Find must be a single command")
	write := func(e serverstore.Entry) func([]byte, bool) (serverstore.Entry, bool, error) {
		return func([]byte, bool) (serverstore.Entry, bool, error) { return e, true, nil }
	}
	update := func() error { return s.Update(ctx, owned, nil, write(live("alice"))) }
	require.NoError(t, update()) // loads the script, if need be
	hook.take()
	check("Update (same owner)", 2, update)
	later := live("alice")
	later.Expires = expires.Add(time.Hour)
	check("Update (later expiry)", 3, func() error { return s.Update(ctx, owned, nil, write(later)) })
	check("Update (no write)", 1, func() error {
		return s.Update(ctx, owned, nil, func(d []byte, _ bool) (serverstore.Entry, bool, error) { return live("alice"), false, nil })
	})
	trips = check("UpdateHinted (same owner)", 1, func() error { return s.Update(ctx, owned, &later, write(later)) })
	require.Equal(t, [][]string{{"evalsha"}}, trips, "a right hint spares the read")
	stale := later
	stale.Data = []byte("stale")
	check("UpdateHinted (stale hint)", 2, func() error { return s.Update(ctx, owned, &stale, write(later)) })
	check("UpdateHinted (new owner)", 5, func() error { return s.Update(ctx, owned, &later, write(live("bob"))) })
	check("FindUser (2 sessions)", 2, func() error { _, err := s.FindUser(ctx, "alice"); return err })
	check("Delete (anonymous)", 1, func() error { return s.Delete(ctx, anon) })
	check("Delete (owned)", 3, func() error { return s.Delete(ctx, owned) })
	check("DeleteUser (1 session)", 4, func() error { _, err := s.DeleteUser(ctx, "alice"); return err })
	rename := func() error {
		oldKey := storetest.NewKey()
		if err := s.Commit(ctx, oldKey, live("alice")); err != nil {
			return err
		}
		hook.take()
		return s.Rename(ctx, oldKey, storetest.NewKey(), live("alice"))
	}
	require.NoError(t, rename()) // loads the script, if need be
	hook.take()
	check("Rename (same owner)", 6, rename)
}
