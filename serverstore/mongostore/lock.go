package mongostore

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/go-sealed/session/serverstore/internal/optimistic"
)

// FerretDB 1.x evaluates a write's filter on a read of its own, outside
// the transaction that writes (it updates and deletes by _id alone): two
// replaces filtered on the same version may both succeed, and
// compare-and-set loses updates. Its one atomic check is an insert's
// unique _id. On such a server, Update and the upserts of Commit and
// Rename take a lock on the session, made of inserts, and write under it:
// Update reads the session under the lock and writes it filtered on _id
// alone (the only filter FerretDB 1.x serves from an index). A delete
// needs no lock: a write under a lock to a session deleted meanwhile
// matches nothing, and brings nothing back.
//
// A lock is two documents in the locks collection: key:n and key:n+1,
// where n is the current slot of time (slots are lockLease long). Any
// other writer within the next lease tries to insert one of them and
// fails; from the slot after next on, writers insert other IDs, so a lock
// left behind by a process that died or lost the server blocks its
// session for two leases at most, and is never deleted by anyone but its
// holder (or, once expired, by the sweeper): no two writers can both take
// it over. The lease is twice the Backend's timeout, which bounds the
// call that holds the lock; with no timeout, a minute. The instances of
// an application must keep their clocks within a lease of each other.
//
// Before the server's lock, a writer takes a lock of its key in this
// process, so that of many goroutines writing one session only one at a
// time asks the server, and the others queue in order rather than poll
// it.

// lockLease is the length of a lock's slot for a Backend whose calls are
// bounded by timeout.
func lockLease(timeout time.Duration) time.Duration {
	if timeout <= 0 {
		return time.Minute
	}
	return max(2*timeout, time.Second)
}

// locker takes and releases the locks of a Backend on a server without
// atomic compare-and-set.
type locker struct {
	coll  *mongo.Collection
	lease time.Duration

	// local are the locks of this process, by key.
	mu    sync.Mutex
	local map[string]*localLock
}

// localLock is a lock of one key in this process: a channel of capacity
// 1, and how many goroutines hold or wait for it (it is dropped at 0).
type localLock struct {
	ch   chan struct{}
	refs int
}

// newLocker returns a locker keeping its locks in coll, for a Backend
// whose calls are bounded by timeout.
func newLocker(coll *mongo.Collection, timeout time.Duration) *locker {
	return &locker{coll: coll, lease: lockLease(timeout), local: map[string]*localLock{}}
}

// lockLocal takes key's lock in this process, and returns the function
// that releases it. It gives up when ctx is done.
func (l *locker) lockLocal(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	ll := l.local[key]
	if ll == nil {
		ll = &localLock{ch: make(chan struct{}, 1)}
		l.local[key] = ll
	}
	ll.refs++
	l.mu.Unlock()
	drop := func() {
		l.mu.Lock()
		if ll.refs--; ll.refs == 0 {
			delete(l.local, key)
		}
		l.mu.Unlock()
	}
	select {
	case ll.ch <- struct{}{}:
		return func() { <-ll.ch; drop() }, nil
	case <-ctx.Done():
		drop()
		return nil, ctx.Err()
	}
}

// lockIDs are the IDs of the documents of key's lock taken at t.
func (l *locker) lockIDs(key string, t time.Time) [2]string {
	n := t.UnixMilli() / l.lease.Milliseconds()
	return [2]string{key + ":" + strconv.FormatInt(n, 10), key + ":" + strconv.FormatInt(n+1, 10)}
}

// lock takes key's lock, waiting for another holder to release it (with
// growing pauses, as Update's retries), and returns the function that
// releases it. It gives up when ctx is done.
func (l *locker) lock(ctx context.Context, key string) (release func(), err error) {
	unlockLocal, err := l.lockLocal(ctx, key)
	if err != nil {
		return nil, err
	}
	unlock, err := l.lockServer(ctx, key)
	if err != nil {
		unlockLocal()
		return nil, err
	}
	return func() {
		unlock()
		unlockLocal()
	}, nil
}

// lockServer takes key's lock on the server.
func (l *locker) lockServer(ctx context.Context, key string) (release func(), err error) {
	for attempt := 0; ; attempt++ {
		t := time.Now()
		ids := l.lockIDs(key, t)
		// Both expire once no Update can still hold them: the end of
		// the later slot.
		until := bson.DateTime(t.UnixMilli()/l.lease.Milliseconds()*l.lease.Milliseconds() + 2*l.lease.Milliseconds())
		docs := []any{
			bson.D{{Key: fieldID, Value: ids[0]}, {Key: fieldExpires, Value: until}},
			bson.D{{Key: fieldID, Value: ids[1]}, {Key: fieldExpires, Value: until}},
		}
		// Ordered: the first duplicate stops the insert, and what went
		// in before it is ours.
		_, err := l.coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
		if err == nil {
			return func() { l.delete(ctx, ids[:]) }, nil
		}
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || !mongo.IsDuplicateKeyError(err) || len(bwe.WriteErrors) == 0 {
			// Whether any went in is unknown: they expire.
			return nil, err
		}
		if i := bwe.WriteErrors[0].Index; i > 0 {
			l.delete(ctx, ids[:i])
		}
		if err := optimistic.Pause(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// delete deletes the lock documents ids, even if ctx is done (a lock must
// not outlive the Update that failed for want of time).
func (l *locker) delete(ctx context.Context, ids []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(l.lease/2, time.Second))
	defer cancel()
	_, _ = l.coll.DeleteMany(ctx, bson.D{{Key: fieldID, Value: bson.D{{Key: "$in", Value: ids}}}})
}
