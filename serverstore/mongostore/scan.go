package mongostore

import (
	"context"
	"iter"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/go-sealed/session/serverstore"
)

// scanBatch is how many documents Scan and FindUser fetch per round trip.
const scanBatch = 100

// FindUser implements serverstore.UserIndex: one find on the user field
// (indexed), of the live documents only.
func (b *Backend) FindUser(ctx context.Context, userID string) (map[string][]byte, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	filter := bson.D{{Key: fieldUser, Value: userID}, liveFilter()}
	out := map[string][]byte{}
	for kd, err := range b.find(ctx, filter, false) {
		if err != nil {
			return nil, fail("find user", err)
		}
		out[kd.Key] = kd.Data
	}
	return out, nil
}

// DeleteUser implements serverstore.UserIndex with one deleteMany of
// userID's live documents, which it counts; expired ones are left to the
// TTL index or the sweeper.
func (b *Backend) DeleteUser(ctx context.Context, userID string) (int, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	res, err := b.coll.DeleteMany(ctx, bson.D{{Key: fieldUser, Value: userID}, liveFilter()})
	if err != nil {
		return 0, fail("delete user", err)
	}
	return int(res.DeletedCount), nil
}

// Scan implements serverstore.Scanner with one cursor over the live
// documents, fetching 100 at a time, each fetch bounded by WithTimeout.
// The cursor goes along the _id index (a hint): in an index on a field
// that a write changes (the expiry), a document could move past the
// cursor and be met twice; in the _id index it stays where it is.
// Stopping early closes the cursor. The server drops a cursor left idle
// for 10 minutes (MongoDB's default), which ends a Scan whose caller
// waits that long between entries with an error.
func (b *Backend) Scan(ctx context.Context) iter.Seq2[serverstore.KeyData, error] {
	return func(yield func(serverstore.KeyData, error) bool) {
		for kd, err := range b.find(ctx, bson.D{liveFilter()}, true) {
			if err != nil {
				yield(serverstore.KeyData{}, fail("scan", err))
				return
			}
			if !yield(kd, nil) {
				return
			}
		}
	}
}

// find yields the key and data of the documents filter matches, fetched
// in batches through a cursor. For a scan, the cursor goes along the _id
// index, and each fetch from the server is bounded by the Backend's
// timeout (a Scan may run long, each of its round trips may not);
// otherwise ctx bounds them all. After an error it yields nothing more.
func (c *core) find(ctx context.Context, filter bson.D, scan bool) iter.Seq2[serverstore.KeyData, error] {
	return func(yield func(serverstore.KeyData, error) bool) {
		fetch := func() (context.Context, context.CancelFunc) {
			if scan {
				return c.bound(ctx)
			}
			return ctx, func() {}
		}
		opts := options.Find().SetProjection(bson.D{{Key: fieldData, Value: 1}}).SetBatchSize(scanBatch)
		if scan {
			// Along the _id index, where a document never moves (see
			// Scan). FerretDB 1.x ignores the hint and reads its table in
			// order, where an update does not move a row either.
			opts.SetHint(bson.D{{Key: fieldID, Value: 1}})
		}
		fctx, cancel := fetch()
		cur, err := c.coll.Find(fctx, filter, opts)
		cancel()
		if err != nil {
			yield(serverstore.KeyData{}, err)
			return
		}
		defer func() {
			// Ends the cursor on the server if the caller stopped early.
			cctx, cancel := c.bound(context.WithoutCancel(ctx))
			defer cancel()
			_ = cur.Close(cctx)
		}()
		for {
			var ok bool
			if cur.RemainingBatchLength() > 0 {
				ok = cur.Next(ctx) // from the batch in hand: no I/O
			} else {
				fctx, cancel := fetch()
				ok = cur.Next(fctx)
				cancel()
			}
			if !ok {
				if err := cur.Err(); err != nil {
					yield(serverstore.KeyData{}, err)
				}
				return
			}
			var doc struct {
				Key  string `bson:"_id"`
				Data []byte `bson:"data"`
			}
			if err := cur.Decode(&doc); err != nil {
				yield(serverstore.KeyData{}, err)
				return
			}
			if doc.Data == nil {
				doc.Data = []byte{}
			}
			if !yield(serverstore.KeyData{Key: doc.Key, Data: doc.Data}, nil) {
				return
			}
		}
	}
}

// Count implements serverstore.Scanner with a countDocuments of the live
// documents.
func (b *Backend) Count(ctx context.Context) (int, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	n, err := b.coll.CountDocuments(ctx, bson.D{liveFilter()})
	if err != nil {
		return 0, fail("count", err)
	}
	return int(n), nil
}

// DeleteAll implements serverstore.Scanner: a deleteMany of the live
// documents of the Backend's collection, and no other, which it counts,
// then one of the expired ones. A session written meanwhile may survive.
func (b *Backend) DeleteAll(ctx context.Context) (int, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	t := now()
	res, err := b.coll.DeleteMany(ctx, bson.D{{Key: fieldExpires, Value: bson.D{{Key: "$gt", Value: t}}}})
	if err != nil {
		return 0, fail("delete all", err)
	}
	if _, err := b.coll.DeleteMany(ctx, bson.D{{Key: fieldExpires, Value: bson.D{{Key: "$lte", Value: t}}}}); err != nil {
		return int(res.DeletedCount), fail("delete all", err)
	}
	return int(res.DeletedCount), nil
}
