package mongostore

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/optimistic"
)

// Update implements serverstore.Backend by compare-and-set on the
// document's version field, a digest of its data, user and expiry: it
// reads the document, calls fn, and writes fn's entry with a replace (or
// a delete, for an entry that has expired) filtered on the key and the
// version read; a document absent when read is inserted, which fails if
// another client inserted it first. If another client wrote the session
// in between, nothing is written, and Update reads it again and calls fn
// on that: a few times at once, then after random pauses that grow, up
// to WithMaxRetries times before it gives up with serverstore.ErrConflict.
// fn's error is returned as it is.
//
// With a hint, Update skips the first read: the version of hint is its
// digest, known without asking the server, so fn runs on hint.Data and
// the write is filtered on that version. A request that changes its
// session costs one round trip, and a stale hint one more (the read it
// skipped).
func (b *Backend) Update(ctx context.Context, key string, hint *serverstore.Entry, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	err := b.update(ctx, key, hint, fn)
	var fe optimistic.FnError
	if errors.As(err, &fe) {
		return fe.Err
	}
	return fail("update", err)
}

// state is a session as Update last saw it: read, or taken from a hint.
type state struct {
	exists  bool // a document is stored (live or not)
	data    []byte
	expires bson.DateTime
	version []byte
	hinted  bool // taken from a hint, not seen on the server
}

// hintState is the state of a document written with e.
func hintState(e serverstore.Entry) state {
	ms := millis(e.Expires)
	data := e.Data
	if data == nil {
		data = []byte{}
	}
	return state{exists: true, data: data, expires: ms, version: version(data, e.UserID, ms), hinted: true}
}

func (c *core) update(ctx context.Context, key string, hint *serverstore.Entry, fn func([]byte, bool) (serverstore.Entry, bool, error)) error {
	if c.locks != nil {
		release, err := c.locks.lock(ctx, key)
		if err != nil {
			return err
		}
		defer release()
		// What key holds is read under the lock, so a hint saves
		// nothing; and no other Update can write key until the lock is
		// released, so the write is filtered on _id alone (see swap).
		hint = nil
	}
	var cur *state // the session as last seen; nil: read it
	if hint != nil {
		st := hintState(*hint)
		cur = &st
	}
	for attempt := 0; ; attempt++ {
		if cur == nil {
			doc, found, err := c.read(ctx, key)
			if err != nil {
				return err
			}
			cur = &state{exists: found, data: doc.Data, expires: doc.Expires, version: doc.Version}
		}
		var data []byte
		found := cur.exists && live(cur.expires)
		if found {
			data = cur.data
		}
		e, write, err := fn(data, found)
		if err != nil {
			return optimistic.FnError{Err: err}
		}
		if !write {
			if cur.hinted {
				cur = nil // a decline counts only on what the server holds
				continue
			}
			return nil
		}
		ok, err := c.swap(ctx, key, cur, e)
		if err != nil || ok {
			return err
		}
		// Another write came first: fn again, on what it wrote.
		if attempt >= c.cfg.maxRetries {
			return serverstore.ErrConflict
		}
		if _, err := optimistic.Backoff(ctx, attempt); err != nil {
			return err
		}
		cur = nil
	}
}

// swap writes e under key if the document there is still cur, and
// reports whether it was.
func (c *core) swap(ctx context.Context, key string, cur *state, e serverstore.Entry) (bool, error) {
	expired := !live(millis(e.Expires))
	if !cur.exists {
		if expired {
			return true, nil // nothing there, and nothing to write
		}
		_, err := c.coll.InsertOne(ctx, document(key, e))
		if mongo.IsDuplicateKeyError(err) {
			return false, nil
		}
		return err == nil, err
	}
	filter := bson.D{{Key: fieldID, Value: key}, {Key: fieldVersion, Value: cur.version}}
	if c.locks != nil {
		// Under the lock (see update), cur was read by this Update and
		// no other has written since. FerretDB 1.x would check the
		// version apart from the write anyway, and serves only a filter
		// on _id alone from an index: any other scans the collection.
		filter = filter[:1]
	}
	if expired {
		res, err := c.coll.DeleteOne(ctx, filter)
		if err != nil {
			return false, err
		}
		return res.DeletedCount == 1, nil
	}
	res, err := c.coll.ReplaceOne(ctx, filter, document(key, e))
	if err != nil {
		return false, err
	}
	return res.MatchedCount == 1, nil
}

// version is the version of a document storing data, user and expiry
// ms, as optimistic.Version gives it.
func version(data []byte, user string, ms bson.DateTime) []byte {
	v := optimistic.Version(data, user, int64(ms))
	return v[:]
}
