package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
)

// ownedEntry is an entry whose data names its owner and its expiry, so
// that whoever finds it can tell whose it is and rebuild it whole: the
// hint a request would hand to UpdateHinted. The expiry is whole
// milliseconds, which every backend keeps exactly.
func ownedEntry(user string, ttl time.Duration) serverstore.Entry {
	expires := time.UnixMilli(time.Now().Add(ttl).UnixMilli())
	return serverstore.Entry{
		Data:    fmt.Appendf(nil, "%s|%d", user, expires.UnixMilli()),
		Expires: expires,
		UserID:  user,
	}
}

// parseOwned is ownedEntry backwards.
func parseOwned(t *testing.T, data []byte) serverstore.Entry {
	user, ms, ok := strings.Cut(string(data), "|")
	n, err := strconv.ParseInt(ms, 10, 64)
	require.True(t, ok && err == nil, "data %q was not written by this test", data)
	return serverstore.Entry{Data: data, Expires: time.UnixMilli(n), UserID: user}
}

// testIndexUnderConcurrency runs writers that move a few sessions between
// users and between keys, with every write the backend offers (Commit,
// Delete, Update with no hint and with right and stale hints, Rename, and
// entries that expire while it runs), and readers that list and log out
// those users, all at once. Then the index must agree with the entries:
// a user's list holds only sessions that are theirs, and every live
// session of a user is on it. A backend that checks its own bookkeeping
// in a t.Cleanup of newBackend (as memstore and boltstore do) checks it
// after this too.
func testIndexUnderConcurrency(t *testing.T, b serverstore.Backend, ui serverstore.UserIndex) {
	const writers, readers, rounds = 8, 2, 40
	users := []string{"", "alice", "bob"}
	keys := make([]string, 6)
	for i := range keys {
		keys[i] = NewKey()
	}
	ctx := t.Context()
	next := func() serverstore.Entry {
		ttl := time.Duration(1+rand.IntN(60)) * time.Minute
		if rand.IntN(6) == 0 {
			ttl = time.Duration(20+rand.IntN(30)) * time.Millisecond // gone before the checks
		}
		return ownedEntry(users[rand.IntN(len(users))], ttl)
	}
	write := func(key string) error {
		switch op := rand.IntN(6); {
		case op == 0:
			return b.Delete(ctx, key)
		case op == 1:
			return b.Update(ctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) { return next(), true, nil })
		case op == 2:
			// The hint a request's save sends: what it loaded a moment
			// ago, which another writer may have changed since.
			data, found, err := b.Find(ctx, key)
			if err != nil {
				return err
			}
			var hint *serverstore.Entry
			if found {
				h := parseOwned(t, data)
				hint = &h
			}
			return b.Update(ctx, key, hint, func([]byte, bool) (serverstore.Entry, bool, error) { return next(), true, nil })
		case op == 3:
			if err := b.Rename(ctx, key, keys[rand.IntN(len(keys))], next()); !errors.Is(err, serverstore.ErrNotFound) {
				return err
			}
			return nil
		default:
			return b.Commit(ctx, key, next())
		}
	}
	var wg sync.WaitGroup
	wg.Add(writers + readers)
	for range writers {
		go func() {
			defer wg.Done()
			for range rounds {
				if !assert.NoError(t, write(keys[rand.IntN(len(keys))])) {
					return
				}
			}
		}()
	}
	for range readers {
		go func() {
			defer wg.Done()
			for range rounds {
				user := users[1+rand.IntN(len(users)-1)]
				var err error
				if rand.IntN(4) == 0 {
					_, err = ui.DeleteUser(ctx, user)
				} else {
					_, err = ui.FindUser(ctx, user)
				}
				if !assert.NoError(t, err) {
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	listed := map[string]map[string][]byte{}
	for _, user := range users[1:] {
		got, err := ui.FindUser(ctx, user)
		require.NoError(t, err)
		for _, data := range got {
			require.Equal(t, user, parseOwned(t, data).UserID, "%s's list holds a session that is not theirs", user)
		}
		listed[user] = got
	}
	for _, key := range keys {
		data, found, err := b.Find(ctx, key)
		require.NoError(t, err)
		if !found {
			continue
		}
		e := parseOwned(t, data)
		if e.UserID == "" || time.Until(e.Expires) < time.Second {
			continue // no owner, or may have expired since the lists were read
		}
		require.Equal(t, string(data), string(listed[e.UserID][key]), "a live session of %s is missing from their list, or listed with other data", e.UserID)
	}
}
