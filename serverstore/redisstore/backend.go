package redisstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-sealed/session/serverstore"
)

// DefaultPrefix begins every key a Store writes unless WithPrefix says
// otherwise.
const DefaultPrefix = "session:"

// DefaultMaxRetries is how many times Update retries after a concurrent
// write to its key unless WithMaxRetries says otherwise. It is generous:
// a hundred goroutines hammering one key need a few dozen at worst, and
// the context bounds the total wait anyway.
const DefaultMaxRetries = 100

// Fields of a session hash.
const (
	fieldData    = "d" // the record, opaque bytes
	fieldUser    = "u" // the owner's user ID, "" if none
	fieldExpires = "e" // Entry.Expires in Unix milliseconds, decimal
	fieldVersion = "v" // a digest of d, u and e, for Update's check (see versionOf)
)

// Store is a serverstore.Backend on Redis: a single node, a Sentinel-managed
// primary or a Cluster, whichever the redis.UniversalClient it is given
// talks to. It implements serverstore.UserIndex and serverstore.Transactor
// (not serverstore.Renamer: see the package documentation). Make one with
// New; it is safe for concurrent use.
type Store struct {
	c          redis.UniversalClient
	prefix     string
	maxRetries int
	deadlines  bool // c stops at a context's deadline itself (ContextTimeoutEnabled)
}

var (
	_ serverstore.Backend    = (*Store)(nil)
	_ serverstore.UserIndex  = (*Store)(nil)
	_ serverstore.Transactor = (*Store)(nil)

	_ serverstore.HintedTransactor = (*Store)(nil)
)

// Option configures a Store made by New.
type Option func(*Store)

// WithPrefix sets the string every key of the Store begins with (default
// DefaultPrefix), so that several applications, or several stores, can
// share one Redis. It should not contain '{' or '}': Redis Cluster would
// take a hash tag from it and put every key of the Store in one slot.
func WithPrefix(prefix string) Option {
	return func(s *Store) { s.prefix = prefix }
}

// WithMaxRetries sets how many times Update retries when another client
// wrote its key between its read and its write (default
// DefaultMaxRetries): the first few times at once, then after random
// pauses of up to 128 ms. After that Update gives up with
// serverstore.ErrConflict. n < 0 counts as 0: one attempt, no retry.
func WithMaxRetries(n int) Option {
	return func(s *Store) { s.maxRetries = max(n, 0) }
}

// New returns a Store keeping its sessions in the Redis that client talks
// to: a *redis.Client, a Sentinel *redis.Client from
// redis.NewFailoverClient, or a *redis.ClusterClient. The client stays the
// caller's: the Store never closes it. New panics if client is nil.
func New(client redis.UniversalClient, opts ...Option) *Store {
	if client == nil {
		panic("redisstore: New called with a nil client")
	}
	s := &Store{c: client, prefix: DefaultPrefix, maxRetries: DefaultMaxRetries}
	switch c := client.(type) {
	case *redis.Client: // a single node or a Sentinel failover client
		s.deadlines = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		s.deadlines = c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		s.deadlines = c.Options().ContextTimeoutEnabled
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// inline reports whether a call with ctx may run on the caller's
// goroutine: ctx is never done, or it has a deadline and the client stops
// there by itself. Otherwise guard and guardUpdate run it on a goroutine
// of its own, to return at ctx's end whatever go-redis does.
func (s *Store) inline(ctx context.Context) bool {
	if ctx.Done() == nil {
		return true
	}
	_, ok := ctx.Deadline()
	return ok && s.deadlines
}

// fail wraps err for the caller. When the client is a cluster client and
// err says a node is unreachable or the cluster is failing over, it also
// asks the client to reload its map of which node serves which slot.
// go-redis reloads that map by itself only on MOVED and ASK replies, or
// every ClusterStateReloadInterval (a minute by default): after a primary
// dies, its replica takes over within seconds, but the client would keep
// dialling the dead node until the next periodic reload. The reload is
// lazy and coalesced by go-redis, so a burst of failures costs one.
func (s *Store) fail(op string, err error) error {
	if c, ok := s.c.(*redis.ClusterClient); ok && needsReload(err) {
		c.ReloadState(context.Background())
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// needsReload reports whether err may mean the cluster's topology changed:
// a network failure, or a node saying the cluster is down or reconfiguring.
func needsReload(err error) bool {
	var netErr net.Error // a refused dial, a timeout, a reset connection
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var redisErr redis.Error
	if errors.As(err, &redisErr) {
		msg := redisErr.Error()
		return strings.HasPrefix(msg, "CLUSTERDOWN") || strings.HasPrefix(msg, "TRYAGAIN")
	}
	return false
}

// sessionKey is the Redis key of the session under key; the hash tag
// makes its cluster slot depend on key alone.
func (s *Store) sessionKey(key string) string {
	return s.prefix + "s:{" + key + "}"
}

// userKey is the Redis key of userID's index, a sorted set whose members
// are keys and whose scores are their expiries (Unix milliseconds).
func (s *Store) userKey(userID string) string {
	return s.prefix + "u:{" + userID + "}"
}

// Find implements serverstore.Backend with one command, HMGET.
func (s *Store) Find(ctx context.Context, key string) ([]byte, bool, error) {
	type found struct {
		data []byte
		ok   bool
	}
	r, err := guard(ctx, s.inline(ctx), func(ctx context.Context) (found, error) {
		v, err := s.c.HMGet(ctx, s.sessionKey(key), fieldData, fieldExpires).Result()
		if err != nil {
			return found{}, err
		}
		data, ok := v[0].(string)
		if !ok || !live(v[1], nowMillis()) {
			return found{}, nil
		}
		return found{[]byte(data), true}, nil
	})
	if err != nil {
		return nil, false, s.fail("find", err)
	}
	return r.data, r.ok, nil
}

// Commit implements serverstore.Backend. A live entry is written with its
// expiry as the key's native PEXPIREAT; one already past is deleted.
func (s *Store) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	inline := s.inline(ctx)
	if !inline {
		// The write may outlive this call (see guard), and must not read
		// the caller's buffer after it returns.
		e.Data = bytes.Clone(e.Data)
	}
	_, err := guard(ctx, inline, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.commit(ctx, key, e)
	})
	if err != nil {
		return s.fail("commit", err)
	}
	return nil
}

func (s *Store) commit(ctx context.Context, key string, e serverstore.Entry) error {
	ms := expiryMillis(e.Expires)
	if ms <= nowMillis() {
		return s.remove(ctx, key)
	}
	// Index first: the index is to list every live session of its user,
	// so it must hold the key before the session names the user.
	if e.UserID != "" {
		if err := s.index(ctx, e.UserID, map[string]int64{key: ms}); err != nil {
			return err
		}
	}
	sk := s.sessionKey(key)
	var prev *redis.SliceCmd
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		prev = p.HMGet(ctx, sk, fieldUser)
		p.HSet(ctx, sk, fieldData, e.Data, fieldUser, e.UserID, fieldExpires, ms, fieldVersion, versionOf(e.Data, e.UserID, ms))
		// Not PExpireAt, which goes through UnixNano and so breaks
		// after the year 2262.
		p.Do(ctx, "pexpireat", sk, ms)
		return nil
	})
	if err != nil {
		return err
	}
	return s.reconcile(ctx, key, owner(prev), e.UserID, ms)
}

// Delete implements serverstore.Backend.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := guard(ctx, s.inline(ctx), func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.remove(ctx, key)
	})
	if err != nil {
		return s.fail("delete", err)
	}
	return nil
}

// remove deletes the session under key and takes it out of its owner's
// index.
func (s *Store) remove(ctx context.Context, key string) error {
	sk := s.sessionKey(key)
	var prev *redis.SliceCmd
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		prev = p.HMGet(ctx, sk, fieldUser)
		p.Del(ctx, sk)
		return nil
	})
	if err != nil {
		return err
	}
	if old := owner(prev); old != "" {
		return s.unindex(ctx, old, []string{key})
	}
	return nil
}

// reconcile brings the index in step after the session under key, owned
// by old, was written for user to expire at ms.
//
// If the owner changed, key is indexed under user a second time: the
// first time, before the write, may have been undone by a concurrent
// unindex that saw the session as not (or not yet) user's and whose
// re-check ran before the write (see unindex). Then key leaves old's
// index.
func (s *Store) reconcile(ctx context.Context, key, old, user string, ms int64) error {
	if old == user {
		return nil
	}
	if user != "" {
		if err := s.index(ctx, user, map[string]int64{key: ms}); err != nil {
			return err
		}
	}
	if old != "" {
		return s.unindex(ctx, old, []string{key})
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
func (s *Store) index(ctx context.Context, userID string, keys map[string]int64) error {
	uk := s.userKey(userID)
	members := make([]redis.Z, 0, len(keys))
	var latest int64
	for k, ms := range keys {
		members = append(members, redis.Z{Score: float64(ms), Member: k})
		latest = max(latest, ms)
	}
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
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

// unindex removes keys from userID's index, then re-reads their sessions
// and puts back those that are userID's after all.
//
// The re-check is what lets the index be repaired without a cross-slot
// transaction. A session write for userID that the removal raced with is
// either seen by the re-check, which restores the member, or comes after
// it, and then finds the session not userID's before the write, so the
// writer indexes the key again after the write (reconcile). Either way
// the last change to the member is an addition.
func (s *Store) unindex(ctx context.Context, userID string, keys []string) error {
	members := make([]any, len(keys))
	for i, k := range keys {
		members[i] = k
	}
	if err := s.c.ZRem(ctx, s.userKey(userID), members...).Err(); err != nil {
		return err
	}
	cmds := make([]*redis.SliceCmd, len(keys))
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HMGet(ctx, s.sessionKey(k), fieldUser, fieldExpires)
		}
		return nil
	})
	if err != nil {
		return err
	}
	back := map[string]int64{}
	now := nowMillis()
	for i, cmd := range cmds {
		v := cmd.Val()
		if u, _ := v[0].(string); u == userID {
			if ms, ok := millis(v[1]); ok && ms > now {
				back[keys[i]] = ms
			}
		}
	}
	if len(back) == 0 {
		return nil
	}
	return s.index(ctx, userID, back)
}

// FindUser implements serverstore.UserIndex. It reads userID's index,
// then every session it names in one pipeline (which a cluster client
// splits by node and runs in parallel), and serves only those that exist,
// are live and belong to userID. Members that fail the check are removed
// from the index on the way, on a best-effort basis.
func (s *Store) FindUser(ctx context.Context, userID string) (map[string][]byte, error) {
	out, err := guard(ctx, s.inline(ctx), func(ctx context.Context) (map[string][]byte, error) {
		return s.findUser(ctx, userID)
	})
	if err != nil {
		return nil, s.fail("find user sessions", err)
	}
	return out, nil
}

func (s *Store) findUser(ctx context.Context, userID string) (map[string][]byte, error) {
	keys, err := s.members(ctx, userID, true)
	if err != nil || len(keys) == 0 {
		return map[string][]byte{}, err
	}
	cmds := make([]*redis.SliceCmd, len(keys))
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HMGet(ctx, s.sessionKey(k), fieldData, fieldUser, fieldExpires)
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
		_ = s.unindex(ctx, userID, stale)
	}
	return out, nil
}

// members returns the keys in userID's index. With prune, it first drops
// those whose expiry has passed: they name sessions that are gone.
func (s *Store) members(ctx context.Context, userID string, prune bool) ([]string, error) {
	uk := s.userKey(userID)
	if !prune {
		return s.c.ZRange(ctx, uk, 0, -1).Result()
	}
	var keys *redis.StringSliceCmd
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
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
func (s *Store) DeleteUser(ctx context.Context, userID string) (int, error) {
	n, err := guard(ctx, s.inline(ctx), func(ctx context.Context) (int, error) {
		return s.deleteUser(ctx, userID)
	})
	if err != nil {
		return n, s.fail("delete user sessions", err)
	}
	return n, nil
}

func (s *Store) deleteUser(ctx context.Context, userID string) (int, error) {
	keys, err := s.members(ctx, userID, false)
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	cmds, err := s.evalEach(ctx, deleteIfOwner, keys, userID)
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
	return n, s.unindex(ctx, userID, keys)
}

// evalEach runs script once for each of keys, with args, in one pipeline
// of EVALSHA; the few that find the script missing from their node's
// cache (a new node, a failover, SCRIPT FLUSH) run again with EVAL. The
// returned commands have no error but redis.Nil.
func (s *Store) evalEach(ctx context.Context, script *redis.Script, keys []string, args ...any) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(keys))
	run := func(idx []int, eval bool) error {
		_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range idx {
				k := []string{s.sessionKey(keys[i])}
				if eval {
					cmds[i] = script.Eval(ctx, p, k, args...)
				} else {
					cmds[i] = script.EvalSha(ctx, p, k, args...)
				}
			}
			return nil
		})
		return err
	}
	all := make([]int, len(keys))
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

// Update implements serverstore.Transactor with optimistic concurrency:
// it reads the session with its version, calls fn, and writes fn's entry
// with a script that first checks, atomically on the session's node, that
// the version is still the one read. If another client wrote the session
// in between, the script returns the session as it is now and fn runs
// again on that (after a few attempts, after a random pause and a fresh
// read), up to WithMaxRetries times before Update gives up with
// serverstore.ErrConflict. fn's error is returned as it is.
//
// fn runs on the caller's goroutine and never after Update has returned.
//
// (WATCH/MULTI/EXEC would hold a connection from the read to the write,
// and the user-index write that must come in between goes to another
// slot, so needs a second connection: under load, Updates holding the
// whole pool would each wait for a second connection forever. The
// version check holds no connection between round trips.)
func (s *Store) Update(ctx context.Context, key string, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	return s.updateGuarded(ctx, key, nil, fn)
}

// UpdateHinted implements serverstore.HintedTransactor: it is Update
// without the first read. A session's version is a digest of what it
// stores, so the version of hint is known without asking Redis; fn runs
// on hint.Data, and the write is checked against that version. A session
// that is no longer hint fails the check, which returns it as it is, and
// Update's loop goes on from there. A request that changes its session
// thus costs one round trip for the write, where Update costs two, and
// no more round trips than Update when the hint is stale.
func (s *Store) UpdateHinted(ctx context.Context, key string, hint serverstore.Entry, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	return s.updateGuarded(ctx, key, &hint, fn)
}

func (s *Store) updateGuarded(ctx context.Context, key string, hint *serverstore.Entry, fn updateFunc) error {
	err := guardUpdate(ctx, s.inline(ctx), fn, func(fn updateFunc) error { return s.update(ctx, key, hint, fn) })
	var fe fnError
	switch {
	case errors.As(err, &fe):
		return fe.err
	case err != nil:
		return s.fail("update", err)
	}
	return nil
}

type updateFunc = func(data []byte, found bool) (serverstore.Entry, bool, error)

// fnError carries an error of Update's fn through to Update's caller
// unwrapped.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

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
	return state{
		data:    e.Data,
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

// eagerRetries is how many times Update retries at once, on the state the
// failed write returned, before it pauses between attempts.
const eagerRetries = 3

func (s *Store) update(ctx context.Context, key string, hint *serverstore.Entry, fn updateFunc) error {
	sk := s.sessionKey(key)
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
			v, err := s.c.HMGet(ctx, sk, fieldData, fieldUser, fieldExpires, fieldVersion).Result()
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
			return fnError{err}
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
				if err := s.index(ctx, e.UserID, map[string]int64{key: score}); err != nil {
					return err
				}
				indexedUser, indexedScore = e.UserID, score
			}
		}
		res, err := compareAndSet.Run(ctx, s.c, []string{sk}, args...).Result()
		if err != nil {
			return err
		}
		if now, ok := res.([]any); ok && len(now) == 4 {
			// Another write came first: fn again, on what it wrote.
			if attempt >= s.maxRetries {
				return serverstore.ErrConflict
			}
			st := stateOf(now)
			cur = &st
			if attempt >= eagerRetries {
				// Heavy contention: spread out, and read afresh.
				if err := pause(ctx, attempt-eagerRetries); err != nil {
					return err
				}
				cur = nil
			}
			continue
		}
		if expired {
			if cur.owner != "" {
				return s.unindex(ctx, cur.owner, []string{key})
			}
			return nil
		}
		return s.reconcile(ctx, key, cur.owner, e.UserID, ms)
	}
}

// versionOf is the version of a session storing data, user and expiry
// ms: a digest of all three. Any write that changes the session changes
// its version, and a caller that knows what a session holds (a hint)
// knows its version without reading it. Two writes of exactly the same
// entry give the same version, which is harmless: an Update that read
// the first is as right on top of the second.
func versionOf(data []byte, user string, ms int64) string {
	h := sha256.New()
	var n [16]byte
	binary.BigEndian.PutUint64(n[:8], uint64(ms))
	binary.BigEndian.PutUint64(n[8:], uint64(len(user)))
	h.Write(n[:])
	h.Write([]byte(user))
	h.Write(data)
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:16])
}

// pause sleeps between attempts of an optimistic transaction, the
// attempt-th time: a random time below a bound that doubles every time,
// from 1 ms up to 128 ms, so that contending writers spread out (waiting
// longer proved to need fewer attempts, and less time, than retrying hot).
func pause(ctx context.Context, attempt int) error {
	d := rand.N(time.Millisecond << min(attempt, 7))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// guard runs op and returns its result, or ctx's error as soon as ctx is
// done, whichever comes first.
//
// go-redis bounds socket reads and writes by its ReadTimeout and
// WriteTimeout, and by ctx's deadline only when the client has
// ContextTimeoutEnabled; a server that accepts a connection and then says
// nothing would hold a call for the whole ReadTimeout. guard keeps every
// method within its context whatever the client's options: op goes on in
// the background until go-redis gives up, its result discarded. Every
// step of an operation leaves the index correct (see unindex), so one cut
// short does no harm beyond not finishing.
//
// With inline (see Store.inline), op runs on the caller's goroutine
// instead, which saves a goroutine, its stack growth and two wake-ups per
// call; an error it returns once ctx is done is reported as ctx's.
func guard[T any](ctx context.Context, inline bool, op func(context.Context) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if inline {
		v, err := op(ctx)
		if err != nil && ctx.Err() != nil {
			return zero, ctx.Err()
		}
		return v, err
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := op(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// errAbandoned ends an Update whose caller has already returned.
var errAbandoned = errors.New("redisstore: update abandoned")

// guardUpdate is guard for Update, whose fn must run on the caller's
// goroutine: the background op sends every call of fn there, and once
// the caller has returned, fn is no longer called at all.
func guardUpdate(ctx context.Context, inline bool, fn updateFunc, op func(updateFunc) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if inline {
		err := op(fn)
		var fe fnError
		if err != nil && !errors.As(err, &fe) && ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	type result struct {
		e     serverstore.Entry
		write bool
		err   error
	}
	type call struct {
		data  []byte
		found bool
		reply chan result
	}
	calls := make(chan call)
	gone := make(chan struct{})
	defer close(gone)
	relay := func(data []byte, found bool) (serverstore.Entry, bool, error) {
		c := call{data, found, make(chan result, 1)}
		select {
		case calls <- c:
		case <-gone:
			return serverstore.Entry{}, false, errAbandoned
		}
		r := <-c.reply // sent as soon as fn returns: the caller took the call
		return r.e, r.write, r.err
	}
	done := make(chan error, 1)
	go func() { done <- op(relay) }()
	for {
		select {
		case err := <-done:
			return err
		case c := <-calls:
			e, write, err := fn(c.data, c.found)
			e.Data = bytes.Clone(e.Data) // op may outlive this call: see Commit
			c.reply <- result{e, write, err}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// owner is the user field read by an HMGET of that field alone: "" for
// a session without one, or none at all.
func owner(cmd *redis.SliceCmd) string {
	if v := cmd.Val(); len(v) > 0 {
		u, _ := v[0].(string)
		return u
	}
	return ""
}

// live reports whether the expiry field v (as HMGET returns it) is after
// now. Redis drops a key at its expiry by its own clock; this check holds
// Entry.Expires by the application's clock too, which Store promises.
func live(v any, now int64) bool {
	ms, ok := millis(v)
	return ok && ms > now
}

// millis parses an expiry as stored: decimal Unix milliseconds.
func millis(v any) (int64, bool) {
	str, ok := v.(string)
	if !ok {
		return 0, false
	}
	ms, err := strconv.ParseInt(str, 10, 64)
	return ms, err == nil
}

// maxMillis bounds stored expiries to where a float64 sorted-set score is
// still exact (some 140,000 years from now).
const maxMillis = 1 << 52

// expiryMillis is t in Unix milliseconds, rounded down (an entry may end
// up to a millisecond early, never late), at most maxMillis.
func expiryMillis(t time.Time) int64 {
	if t.After(time.UnixMilli(maxMillis)) {
		return maxMillis
	}
	ms := t.UnixMilli()
	if t.Before(time.UnixMilli(ms)) { // UnixMilli rounds toward zero
		ms--
	}
	return ms
}

func nowMillis() int64 {
	return time.Now().UnixMilli()
}
