package redisstore

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The user index: one sorted set per user, in a slot of its own, kept a
// superset of the user's live sessions without any transaction that spans
// a session and its index. docs/design.md (the redisstore section) gives
// the protocol and why it holds under any interleaving.

// reconcile brings the index in step after the session under key, owned
// by old, was written for user to expire at ms.
//
// If the owner changed, key is indexed under user a second time: the
// first time, before the write, may have been undone by a concurrent
// unindex that saw the session as not (or not yet) user's and whose
// re-check ran before the write (see unindex). Then key leaves old's
// index.
func (b *Backend) reconcile(ctx context.Context, key, old, user string, ms int64) error {
	if old == user {
		return nil
	}
	if user != "" {
		if err := b.index(ctx, user, map[string]int64{key: ms}); err != nil {
			return err
		}
	}
	if old != "" {
		return b.unindex(ctx, map[string][]string{old: {key}})
	}
	return nil
}

// index adds keys, with their expiries, to userID's index in one
// transaction on the index's slot: it drops the members whose expiry has
// passed, adds keys or raises their scores (ZADD GT: a score is never
// lowered, so it never falls below the expiry of the session it stands
// for), and extends the set's own expiry to the latest member's, never
// shortening it. An index thus disappears by itself once all its sessions
// have expired.
func (b *Backend) index(ctx context.Context, userID string, keys map[string]int64) error {
	uk := b.userKey(userID)
	members := make([]redis.Z, 0, len(keys))
	var latest int64
	for k, ms := range keys {
		members = append(members, redis.Z{Score: float64(ms), Member: k})
		latest = max(latest, ms)
	}
	_, err := b.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, uk, "-inf", strconv.FormatInt(nowMillis(), 10))
		p.ZAddGT(ctx, uk, members...)
		// NX sets the expiry of a set that has none, which is one the
		// ZADD just created; GT extends an existing one. (GT alone would
		// leave a new set without expiry: Redis counts none as infinite.)
		p.Do(ctx, "pexpireat", uk, latest, "nx")
		p.Do(ctx, "pexpireat", uk, latest, "gt")
		return nil
	})
	return err
}

// unindex removes keys from their users' indexes (keys by user), then
// re-reads their sessions and puts back those that are that user's after
// all: two round trips, whatever the number of users (a cluster client
// runs each pipeline on all the nodes concerned in parallel).
//
// The re-check is what lets the index be repaired without a cross-slot
// transaction. A session write for a user that the removal raced with is
// either seen by the re-check, which restores the member, or comes after
// it, and then finds the session not that user's before the write, so
// the writer indexes the key again after the write (reconcile). Either
// way the last change to the member is an addition.
func (b *Backend) unindex(ctx context.Context, keys map[string][]string) error {
	if len(keys) == 0 {
		return nil
	}
	type check struct {
		user, key string
		cmd       *redis.SliceCmd
	}
	var checks []check
	_, err := b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for user, ks := range keys {
			if len(ks) == 0 {
				continue
			}
			members := make([]any, len(ks))
			for i, k := range ks {
				members[i] = k
				checks = append(checks, check{user: user, key: k})
			}
			p.ZRem(ctx, b.userKey(user), members...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range checks {
			checks[i].cmd = p.HMGet(ctx, b.sessionKey(checks[i].key), fieldUser, fieldExpires)
		}
		return nil
	})
	if err != nil {
		return err
	}
	back := map[string]map[string]int64{}
	now := nowMillis()
	for _, c := range checks {
		v := c.cmd.Val()
		if u, _ := v[0].(string); u != c.user {
			continue
		}
		if ms, ok := millis(v[1]); ok && ms > now {
			if back[c.user] == nil {
				back[c.user] = map[string]int64{}
			}
			back[c.user][c.key] = ms
		}
	}
	for user, ks := range back { // rare: only after a race
		if err := b.index(ctx, user, ks); err != nil {
			return err
		}
	}
	return nil
}

// FindUser implements serverstore.UserIndex. It reads userID's index,
// then every session it names in one pipeline (which a cluster client
// splits by node and runs in parallel), and serves only those that exist,
// are live and belong to userID. Members that fail the check are removed
// from the index on the way, on a best-effort basis.
func (b *Backend) FindUser(ctx context.Context, userID string) (map[string][]byte, error) {
	out, err := b.findUser(ctx, userID)
	if err != nil {
		return nil, b.fail("find user sessions", err)
	}
	return out, nil
}

func (b *Backend) findUser(ctx context.Context, userID string) (map[string][]byte, error) {
	keys, err := b.prunedMembers(ctx, userID)
	if err != nil || len(keys) == 0 {
		return map[string][]byte{}, err
	}
	cmds := make([]*redis.SliceCmd, len(keys))
	_, err = b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HMGet(ctx, b.sessionKey(k), fieldData, fieldUser, fieldExpires)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	var stale []string
	now := nowMillis()
	for i, cmd := range cmds {
		v := cmd.Val()
		data, ok := v[0].(string)
		if u, _ := v[1].(string); ok && u == userID && live(v[2], now) {
			out[keys[i]] = []byte(data)
		} else {
			stale = append(stale, keys[i])
		}
	}
	if len(stale) > 0 && ctx.Err() == nil {
		// A repair, not part of the answer: the answer stands if it fails.
		_ = b.unindex(ctx, map[string][]string{userID: stale})
	}
	return out, nil
}

// prunedMembers drops the members of userID's index whose expiry has
// passed (they name sessions that are gone), and returns the others.
func (b *Backend) prunedMembers(ctx context.Context, userID string) ([]string, error) {
	uk := b.userKey(userID)
	var keys *redis.StringSliceCmd
	_, err := b.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, uk, "-inf", strconv.FormatInt(nowMillis(), 10))
		keys = p.ZRange(ctx, uk, 0, -1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return keys.Val(), nil
}

// deleteIfOwner deletes the session hash KEYS[1] if its owner is ARGV[1],
// and then returns its expiry field (or "" if it had none); otherwise it
// deletes nothing and returns nil. It touches one key, so it runs on any
// topology.
var deleteIfOwner = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'u', 'e')
if v[1] ~= ARGV[1] then
	return false
end
redis.call('DEL', KEYS[1])
return v[2] or ''
`)

// DeleteUser implements serverstore.UserIndex. It deletes each session in
// userID's index that still belongs to userID (a check and a delete in
// one script per session, all in one pipeline), counts those that were
// live, then removes the members from the index. Entries tagged with
// userID while it runs may survive it, and stay indexed.
func (b *Backend) DeleteUser(ctx context.Context, userID string) (int, error) {
	n, err := b.deleteUsers(ctx, []string{userID})
	if err != nil {
		return n, b.fail("delete user sessions", err)
	}
	return n, nil
}

// deleteUsers is DeleteUser for several users at once, in as many round
// trips as for one: the indexes are read in one pipeline, the sessions
// deleted in another, and the members removed by one unindex.
func (b *Backend) deleteUsers(ctx context.Context, users []string) (int, error) {
	indexes := make([]*redis.StringSliceCmd, len(users))
	_, err := b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, u := range users {
			indexes[i] = p.ZRange(ctx, b.userKey(u), 0, -1)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var calls []scriptCall
	members := map[string][]string{}
	for i, u := range users {
		for _, k := range indexes[i].Val() {
			calls = append(calls, scriptCall{key: b.sessionKey(k), args: []any{u}})
			members[u] = append(members[u], k)
		}
	}
	if len(calls) == 0 {
		return 0, nil
	}
	cmds, err := b.evalEach(ctx, deleteIfOwner, calls)
	if err != nil {
		return 0, err
	}
	n := 0
	now := nowMillis()
	for _, cmd := range cmds {
		if ms, ok := millis(cmd.Val()); ok && ms > now {
			n++
		}
	}
	return n, b.unindex(ctx, members)
}

// scriptCall is one run of a script: on one Redis key, with its
// arguments.
type scriptCall struct {
	key  string
	args []any
}

// evalEach runs script once for each of calls, in one pipeline of
// EVALSHA; the few that find the script missing from their node's cache
// (a new node, a failover, SCRIPT FLUSH) run again with EVAL. The
// returned commands, one for each call, have no error but redis.Nil.
func (b *Backend) evalEach(ctx context.Context, script *redis.Script, calls []scriptCall) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(calls))
	run := func(idx []int, eval bool) error {
		_, err := b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range idx {
				k := []string{calls[i].key}
				if eval {
					cmds[i] = script.Eval(ctx, p, k, calls[i].args...)
				} else {
					cmds[i] = script.EvalSha(ctx, p, k, calls[i].args...)
				}
			}
			return nil
		})
		return err
	}
	all := make([]int, len(calls))
	for i := range all {
		all[i] = i
	}
	_ = run(all, false) // errors are per command, checked below
	var missing []int
	for i, cmd := range cmds {
		switch err := cmd.Err(); {
		case err == nil, err == redis.Nil:
		case redis.HasErrorPrefix(err, "NOSCRIPT"):
			missing = append(missing, i)
		default:
			return nil, err
		}
	}
	if len(missing) > 0 {
		_ = run(missing, true)
		for _, i := range missing {
			if err := cmds[i].Err(); err != nil && err != redis.Nil {
				return nil, err
			}
		}
	}
	return cmds, nil
}
