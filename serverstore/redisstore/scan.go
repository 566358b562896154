package redisstore

import (
	"context"
	"iter"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/go-sealed/session/serverstore"
)

// scanCount is the COUNT of each SCAN: about how many keys one batch
// holds, and so, for Scan, how many sessions' data are in memory at once.
const scanCount = 100

// Scan implements serverstore.Scanner. It goes over the session keys
// with SCAN MATCH on the Backend's prefix (on every primary of a
// cluster, one after another), and reads each batch's data in one
// pipeline; the user-index keys do not match. Only one batch is held at a
// time, however many sessions there are.
//
// SCAN returns every key that exists for the whole scan; Redis may return
// a key twice if the keyspace is rehashed to a smaller table meanwhile,
// or a cluster moves a slot from a node already scanned to one not yet
// scanned, and Scan then yields it twice. A failover during the scan
// ends it with an error.
func (b *Backend) Scan(ctx context.Context) iter.Seq2[serverstore.KeyData, error] {
	return func(yield func(serverstore.KeyData, error) bool) {
		stopped := false
		err := b.eachBatch(ctx, b.sessionMatch(), func(keys []string) (bool, error) {
			batch, err := b.readBatch(ctx, keys)
			if err != nil {
				return false, err
			}
			for _, kd := range batch {
				if !yield(kd, nil) {
					stopped = true
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil && !stopped {
			yield(serverstore.KeyData{}, b.fail("scan", err))
		}
	}
}

// readBatch returns the live sessions under keys (Redis keys as SCAN
// returns them), with their data, in one pipeline.
func (b *Backend) readBatch(ctx context.Context, keys []string) ([]serverstore.KeyData, error) {
	cmds := make([]*redis.SliceCmd, len(keys))
	_, err := b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HMGet(ctx, k, fieldData, fieldExpires)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]serverstore.KeyData, 0, len(keys))
	now := nowMillis()
	for i, cmd := range cmds {
		v := cmd.Val()
		data, ok := v[0].(string)
		if !ok || !live(v[1], now) {
			continue // deleted since the SCAN, or expired
		}
		out = append(out, serverstore.KeyData{Key: b.backendKey(keys[i]), Data: []byte(data)})
	}
	return out, nil
}

// Count implements serverstore.Scanner: it counts the keys a SCAN of the
// session keys returns, without reading them. SCAN leaves out the keys
// Redis has expired, by Redis's clock; a session whose expiry has passed
// by the application's clock but not yet by Redis's may be counted.
func (b *Backend) Count(ctx context.Context) (int, error) {
	n := 0
	err := b.eachBatch(ctx, b.sessionMatch(), func(keys []string) (bool, error) {
		n += len(keys)
		return true, nil
	})
	if err != nil {
		return 0, b.fail("count", err)
	}
	return n, nil
}

// deleteReport deletes the session hash KEYS[1] and returns its user and
// expiry fields ("" for a missing one), or nil if there was no such key.
var deleteReport = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'u', 'e')
if redis.call('DEL', KEYS[1]) == 0 then
	return false
end
return {v[1] or '', v[2] or ''}
`)

// DeleteAll implements serverstore.Scanner. It deletes the sessions
// under the Backend's prefix batch by batch (SCAN, then a delete in one
// script per session, all in one pipeline), counting the live ones, and
// takes them out of their users' indexes as Delete would; then it goes
// over the index keys under the prefix and does what DeleteUser does for
// each user, which ends the sessions written meanwhile and removes the
// members left over by sessions that expired. Keys outside the prefix
// are not touched. A session written while DeleteAll runs may survive it,
// and then stays in its user's index.
func (b *Backend) DeleteAll(ctx context.Context) (int, error) {
	n := 0
	err := b.eachBatch(ctx, b.sessionMatch(), func(keys []string) (bool, error) {
		calls := make([]scriptCall, len(keys))
		for i, k := range keys {
			calls[i] = scriptCall{key: k}
		}
		cmds, err := b.evalEach(ctx, deleteReport, calls)
		if err != nil {
			return false, err
		}
		owned := map[string][]string{}
		now := nowMillis()
		for i, cmd := range cmds {
			v, _ := cmd.Val().([]any)
			if len(v) != 2 {
				continue // gone since the SCAN
			}
			if live(v[1], now) {
				n++
			}
			if u, _ := v[0].(string); u != "" {
				owned[u] = append(owned[u], b.backendKey(keys[i]))
			}
		}
		return true, b.unindex(ctx, owned)
	})
	if err == nil {
		err = b.eachBatch(ctx, b.userMatch(), func(keys []string) (bool, error) {
			users := make([]string, len(keys))
			for i, k := range keys {
				users[i] = strings.TrimSuffix(strings.TrimPrefix(k, b.prefix+userInfix), "}")
			}
			m, err := b.deleteUsers(ctx, users)
			n += m
			return true, err
		})
	}
	if err != nil {
		return n, b.fail("delete all", err)
	}
	return n, nil
}

// eachBatch calls fn with each batch of the keys SCAN MATCH match
// returns, on every primary in turn, until fn returns false or an error.
func (b *Backend) eachBatch(ctx context.Context, match string, fn func(keys []string) (more bool, err error)) error {
	nodes, err := b.primaries(ctx)
	if err != nil {
		return err
	}
	for _, node := range nodes {
		var cursor uint64
		for {
			keys, next, err := node.Scan(ctx, cursor, match, scanCount).Result()
			if err != nil {
				return err
			}
			if len(keys) > 0 {
				if more, err := fn(keys); err != nil || !more {
					return err
				}
			}
			if next == 0 {
				break
			}
			cursor = next
		}
	}
	return nil
}

// primaries returns a client of each node that holds a share of the keys:
// the client itself for a single node or a Sentinel primary, a client of
// each primary of a Cluster, of each live shard of a Ring.
//
// go-redis's ForEachMaster (ForEachShard) calls its function on every
// node at once, each on a goroutine of its own; scanning in it would
// need a channel to bring the batches to the caller's loop, and a way to
// stop the other nodes' scans when the loop ends early. It is used only
// to list the nodes here, and they are scanned one after another on the
// caller's goroutine: one batch in memory, whatever the number of nodes.
func (b *Backend) primaries(ctx context.Context) ([]redis.Cmdable, error) {
	var each func(context.Context, func(context.Context, *redis.Client) error) error
	switch c := b.c.(type) {
	case *redis.ClusterClient:
		each = c.ForEachMaster
	case *redis.Ring:
		each = c.ForEachShard
	default:
		return []redis.Cmdable{b.c}, nil
	}
	var (
		mu    sync.Mutex
		nodes []redis.Cmdable
	)
	err := each(ctx, func(_ context.Context, node *redis.Client) error {
		mu.Lock()
		nodes = append(nodes, node)
		mu.Unlock()
		return nil
	})
	return nodes, err
}

// sessionMatch is the SCAN pattern of the Backend's session keys, and
// userMatch that of its index keys.
func (b *Backend) sessionMatch() string { return globQuote(b.prefix+sessionInfix) + "*}" }
func (b *Backend) userMatch() string    { return globQuote(b.prefix+userInfix) + "*}" }

// backendKey is the key of the session whose Redis key is rk.
func (b *Backend) backendKey(rk string) string {
	return strings.TrimSuffix(strings.TrimPrefix(rk, b.prefix+sessionInfix), "}")
}

// globQuote escapes the characters a SCAN MATCH pattern gives a meaning
// (* ? [ ] \), so that s matches only itself.
func globQuote(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
