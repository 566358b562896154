package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/optimistic"
)

// DefaultPrefix begins every key a Backend writes unless WithPrefix says
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

// Backend is a serverstore.Backend on Redis: a single node, a
// Sentinel-managed primary or a Cluster, whichever the
// redis.UniversalClient it is given talks to. It implements
// serverstore.UserIndex and serverstore.Scanner too. Make one with New; it
// is safe for concurrent use.
type Backend struct {
	c          redis.UniversalClient
	prefix     string
	maxRetries int
}

var (
	_ serverstore.Backend   = (*Backend)(nil)
	_ serverstore.UserIndex = (*Backend)(nil)
	_ serverstore.Scanner   = (*Backend)(nil)
)

// Option configures a Backend made by New.
type Option func(*Backend)

// WithPrefix sets the string every key of the Backend begins with
// (default DefaultPrefix), so that several applications, or several
// stores, can share one Redis: Scan, Count and DeleteAll see only the
// keys under it. It should not contain '{' or '}': Redis Cluster would
// take a hash tag from it and put every key of the Backend in one slot.
// Nor should one Backend's prefix be another's followed by "s:{" or
// "u:{", which would make the other's keys look like its own.
func WithPrefix(prefix string) Option {
	return func(b *Backend) { b.prefix = prefix }
}

// WithMaxRetries sets how many times Update retries when another client
// wrote its key between its read and its write (default
// DefaultMaxRetries): the first few times at once, then after random
// pauses of up to 128 ms. After that Update gives up with
// serverstore.ErrConflict. n < 0 counts as 0: one attempt, no retry.
func WithMaxRetries(n int) Option {
	return func(b *Backend) { b.maxRetries = max(n, 0) }
}

// New returns a Backend keeping its sessions in the Redis that client
// talks to: a *redis.Client, a Sentinel *redis.Client from
// redis.NewFailoverClient, a *redis.ClusterClient or a *redis.Ring. The
// client stays the caller's: the Backend never closes it, and each call's
// time is bounded by the client's own timeouts (see the package
// documentation). New panics if client is nil.
func New(client redis.UniversalClient, opts ...Option) *Backend {
	if client == nil {
		panic("redisstore: New called with a nil client")
	}
	b := &Backend{c: client, prefix: DefaultPrefix, maxRetries: DefaultMaxRetries}
	for _, o := range opts {
		o(b)
	}
	return b
}

// fail wraps err for the caller. When the client is a cluster client and
// err says a node is unreachable or the cluster is failing over, it also
// asks the client to reload its map of which node serves which slot.
// go-redis reloads that map by itself only on MOVED and ASK replies, or
// every ClusterStateReloadInterval (a minute by default): after a primary
// dies, its replica takes over within seconds, but the client would keep
// dialling the dead node until the next periodic reload. The reload is
// lazy and coalesced by go-redis, so a burst of failures costs one.
func (b *Backend) fail(op string, err error) error {
	if c, ok := b.c.(*redis.ClusterClient); ok && needsReload(err) {
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

// Redis key layout: the braces are Redis Cluster hash tags, so that a
// session's slot depends on its key alone and an index's on its user
// alone.
const (
	sessionInfix = "s:{"
	userInfix    = "u:{"
)

// sessionKey is the Redis key of the session under key.
func (b *Backend) sessionKey(key string) string {
	return b.prefix + sessionInfix + key + "}"
}

// userKey is the Redis key of userID's index, a sorted set whose members
// are keys and whose scores are their expiries (Unix milliseconds).
func (b *Backend) userKey(userID string) string {
	return b.prefix + userInfix + userID + "}"
}

// Find implements serverstore.Backend with one command, HMGET.
func (b *Backend) Find(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := b.c.HMGet(ctx, b.sessionKey(key), fieldData, fieldExpires).Result()
	if err != nil {
		return nil, false, b.fail("find", err)
	}
	data, ok := v[0].(string)
	if !ok || !live(v[1], nowMillis()) {
		return nil, false, nil
	}
	return []byte(data), true, nil
}

// Commit implements serverstore.Backend. A live entry is written with its
// expiry as the key's native PEXPIREAT; one already past is deleted.
func (b *Backend) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	if err := b.commit(ctx, key, e); err != nil {
		return b.fail("commit", err)
	}
	return nil
}

func (b *Backend) commit(ctx context.Context, key string, e serverstore.Entry) error {
	ms := expiryMillis(e.Expires)
	if ms <= nowMillis() {
		return b.remove(ctx, key)
	}
	// Index first: the index is to list every live session of its user,
	// so it must hold the key before the session names the user.
	if e.UserID != "" {
		if err := b.index(ctx, e.UserID, map[string]int64{key: ms}); err != nil {
			return err
		}
	}
	sk := b.sessionKey(key)
	var prev *redis.SliceCmd
	_, err := b.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
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
	return b.reconcile(ctx, key, owner(prev), e.UserID, ms)
}

// Delete implements serverstore.Backend.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := b.remove(ctx, key); err != nil {
		return b.fail("delete", err)
	}
	return nil
}

// remove deletes the session under key and takes it out of its owner's
// index.
func (b *Backend) remove(ctx context.Context, key string) error {
	sk := b.sessionKey(key)
	var prev *redis.SliceCmd
	_, err := b.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		prev = p.HMGet(ctx, sk, fieldUser)
		p.Del(ctx, sk)
		return nil
	})
	if err != nil {
		return err
	}
	if old := owner(prev); old != "" {
		return b.unindex(ctx, map[string][]string{old: {key}})
	}
	return nil
}

// errNotLive ends the Update of a same-key Rename whose key holds no
// live entry.
var errNotLive = errors.New("redisstore: no live entry")

// Rename implements serverstore.Backend in steps, since oldKey and newKey
// lie in different cluster slots and no transaction can span both: it
// commits e under newKey, then deletes oldKey if it is still live (a
// check and a delete in one script on oldKey's slot), and if it was not,
// deletes newKey again and returns serverstore.ErrNotFound. One of the two
// keys is thus live, and in its user's index, at every moment. If e has
// already expired, there is nothing to write: oldKey is ended if live,
// and then newKey deleted.
//
// Should Rename fail midway (a lost connection, ctx done), newKey may be
// left holding e beside oldKey, until e's expiry or a DeleteUser: its
// token was never handed out, since Rename returned an error.
func (b *Backend) Rename(ctx context.Context, oldKey, newKey string, e serverstore.Entry) error {
	if oldKey == newKey {
		err := b.update(ctx, oldKey, nil, func(_ []byte, found bool) (serverstore.Entry, bool, error) {
			if !found {
				return serverstore.Entry{}, false, errNotLive
			}
			return e, true, nil
		})
		var fe optimistic.FnError
		switch {
		case errors.As(err, &fe):
			return serverstore.ErrNotFound
		case err != nil:
			return b.fail("rename", err)
		}
		return nil
	}
	expired := expiryMillis(e.Expires) <= nowMillis()
	if !expired {
		if err := b.commit(ctx, newKey, e); err != nil {
			return b.fail("rename", err)
		}
	}
	moved, err := b.endIfLive(ctx, oldKey)
	if expired && !moved {
		// Nothing was written, and nothing is to be.
		if err != nil {
			return b.fail("rename", err)
		}
		return serverstore.ErrNotFound
	}
	if moved && !expired {
		return nil
	}
	// newKey must not keep e: oldKey was not there to move (a session
	// destroyed meanwhile must not come back), or whether it was is
	// unknown, or e has expired and so ends both keys.
	rerr := b.remove(ctx, newKey)
	switch {
	case err != nil:
		return b.fail("rename", errors.Join(err, rerr))
	case rerr != nil:
		return b.fail("rename", rerr)
	case !moved:
		return serverstore.ErrNotFound
	}
	return nil
}

// deleteIfLive deletes the session hash KEYS[1] if its expiry field is
// after ARGV[1] (Unix ms, the application's now), and then returns its
// user field ("" if none); otherwise it deletes nothing and returns nil.
var deleteIfLive = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'u', 'e')
if not v[2] or tonumber(v[2]) <= tonumber(ARGV[1]) then
	return false
end
redis.call('DEL', KEYS[1])
return v[1] or ''
`)

// endIfLive deletes the session under key if it is live, and reports
// whether it was. Taking the key out of its owner's index afterwards is
// housekeeping: a member naming no session is never served, and is
// pruned by the next FindUser or DeleteUser, so a failure there does not
// make the rename fail.
func (b *Backend) endIfLive(ctx context.Context, key string) (bool, error) {
	res, err := deleteIfLive.Run(ctx, b.c, []string{b.sessionKey(key)}, nowMillis()).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if user, _ := res.(string); user != "" {
		_ = b.unindex(ctx, map[string][]string{user: {key}})
	}
	return true, nil
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
// Entry.Expires by the application's clock too, which Backend promises.
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
