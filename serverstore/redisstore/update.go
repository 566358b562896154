package redisstore

import (
	"context"
	"encoding/base64"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/optimistic"
)

// Update implements serverstore.Backend with optimistic concurrency: it
// reads the session with its version, calls fn, and writes fn's entry
// with a script that first checks, atomically on the session's node, that
// the version is still the one read. If another client wrote the session
// in between, the script returns the session as it is now and fn runs
// again on that (after a few attempts, after a random pause and a fresh
// read), up to WithMaxRetries times before Update gives up with
// serverstore.ErrConflict. fn's error is returned as it is. fn runs on
// the caller's goroutine, never after Update has returned.
//
// With a hint, Update skips the first read: a session's version is a
// digest of what it stores, so the version of hint is known without
// asking Redis. fn runs on hint.Data and the write is checked against
// that version; a session that is no longer hint fails the check, which
// returns it as it is, and the loop goes on from there. A request that
// changes its session thus costs one round trip for the write, and a
// stale hint no more than a read would have.
func (b *Backend) Update(ctx context.Context, key string, hint *serverstore.Entry, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	err := b.update(ctx, key, hint, fn)
	var fe optimistic.FnError
	switch {
	case errors.As(err, &fe):
		return fe.Err
	case err != nil:
		return b.fail("update", err)
	}
	return nil
}

type updateFunc = func(data []byte, found bool) (serverstore.Entry, bool, error)

// compareAndSet writes the session hash KEYS[1] if its version field is
// still ARGV[1] ("" for no session), and returns 1; otherwise it changes
// nothing and returns the session as it is now: its d, u, e and v fields
// (see stateOf). With ARGV[2] "del" it deletes the session; with "set" it
// stores data ARGV[3], user ARGV[4], expiry ARGV[5] (Unix ms, also set as
// the key's PEXPIREAT) and version ARGV[6].
var compareAndSet = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '') ~= ARGV[1] then
	return redis.call('HMGET', KEYS[1], 'd', 'u', 'e', 'v')
end
if ARGV[2] == 'del' then
	redis.call('DEL', KEYS[1])
else
	redis.call('HSET', KEYS[1], 'd', ARGV[3], 'u', ARGV[4], 'e', ARGV[5], 'v', ARGV[6])
	redis.call('PEXPIREAT', KEYS[1], ARGV[5])
end
return 1
`)

// state is a session as Update last saw it: read, returned by a failed
// compareAndSet, or taken from a hint.
type state struct {
	data    []byte // nil if there is no session
	owner   string // its user field
	expires int64  // its expiry field, Unix ms; 0 if none
	version string // its version field, "" if none
	hinted  bool   // taken from a hint, not seen in Redis
}

// stateOf parses an HMGET of a session's d, u, e and v fields. data is a
// copy, which fn may keep.
func stateOf(v []any) state {
	var st state
	if d, ok := v[0].(string); ok {
		st.data = []byte(d)
	}
	st.owner, _ = v[1].(string)
	st.expires, _ = millis(v[2])
	st.version, _ = v[3].(string)
	return st
}

// hintState is the state a session written with e has.
func hintState(e serverstore.Entry) state {
	ms := expiryMillis(e.Expires)
	data := e.Data
	if data == nil {
		data = []byte{} // stored as "": a session, with no bytes
	}
	return state{
		data:    data,
		owner:   e.UserID,
		expires: ms,
		version: versionOf(e.Data, e.UserID, ms),
		hinted:  true,
	}
}

// live reports whether the session is there and has not expired by the
// application's clock (Redis drops it by its own).
func (st *state) live() bool {
	return st.data != nil && st.expires > nowMillis()
}

// covers reports whether a session in this state, if it is still stored,
// is already in user's index with a score of at least ms, so that a write
// of user's session expiring at ms need not index it again. Every write
// indexes a session under its owner with a score no lower than its
// expiry before it stores it, and reconcile and unindex keep it there
// while the owner stays the same.
func (st *state) covers(user string, ms int64) bool {
	return st.data != nil && st.owner == user && ms <= st.expires
}

// indexSlack is added to the scores Update gives index members, so that
// its retries, which recompute the expiry a few milliseconds later, find
// the member already covering it and need not index it again.
const indexSlack = time.Minute

func (b *Backend) update(ctx context.Context, key string, hint *serverstore.Entry, fn updateFunc) error {
	sk := b.sessionKey(key)
	var (
		cur          *state // the session as last seen; nil: read it
		indexedUser  string // the member Update added, if any,
		indexedScore int64  // and its score
	)
	if hint != nil {
		st := hintState(*hint)
		cur = &st
	}
	for attempt := 0; ; attempt++ {
		if cur == nil {
			v, err := b.c.HMGet(ctx, sk, fieldData, fieldUser, fieldExpires, fieldVersion).Result()
			if err != nil {
				return err
			}
			st := stateOf(v)
			cur = &st
		}
		var data []byte
		found := cur.live()
		if found {
			data = cur.data
		}
		e, write, err := fn(data, found)
		if err != nil {
			return optimistic.FnError{Err: err}
		}
		if !write {
			if cur.hinted {
				cur = nil // a decline counts only on what Redis holds
				continue
			}
			return nil
		}
		ms := expiryMillis(e.Expires)
		expired := ms <= nowMillis()
		args := []any{cur.version, "del"}
		if !expired {
			args = []any{cur.version, "set", e.Data, e.UserID, ms, versionOf(e.Data, e.UserID, ms)}
			// A member an earlier attempt added covers this one only if
			// reconcile indexes the key again after the write (the owner
			// changes): meanwhile another client may have dropped it (a
			// FindUser, while the session was not the user's) and put it
			// back with a lower score.
			covered := cur.covers(e.UserID, ms) ||
				(e.UserID == indexedUser && ms <= indexedScore && cur.owner != e.UserID)
			if e.UserID != "" && !covered {
				// Index first, as Commit does. Should the write not
				// happen, the member is harmless: it names a session
				// that is not the user's.
				score := min(ms+indexSlack.Milliseconds(), maxMillis)
				if err := b.index(ctx, e.UserID, map[string]int64{key: score}); err != nil {
					return err
				}
				indexedUser, indexedScore = e.UserID, score
			}
		}
		res, err := compareAndSet.Run(ctx, b.c, []string{sk}, args...).Result()
		if err != nil {
			return err
		}
		if now, ok := res.([]any); ok && len(now) == 4 {
			// Another write came first: fn again, on what it wrote.
			if attempt >= b.maxRetries {
				return serverstore.ErrConflict
			}
			st := stateOf(now)
			cur = &st
			// Under heavy contention: spread out, and read afresh.
			paused, err := optimistic.Backoff(ctx, attempt)
			if err != nil {
				return err
			}
			if paused {
				cur = nil
			}
			continue
		}
		if expired {
			if cur.owner != "" {
				return b.unindex(ctx, map[string][]string{cur.owner: {key}})
			}
			return nil
		}
		return b.reconcile(ctx, key, cur.owner, e.UserID, ms)
	}
}

// versionOf is the version of a session, as optimistic.Version gives it,
// in base64url as the version field holds it.
func versionOf(data []byte, user string, ms int64) string {
	v := optimistic.Version(data, user, ms)
	return base64.RawURLEncoding.EncodeToString(v[:])
}
