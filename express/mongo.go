package express

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Mongo is the Backend of connect-mongo 6's records: a document per
// session in its collection ("sessions" by default), with the sid as _id,
// the session object's JSON as the string session (connect-mongo's
// default, stringify: true), and the expiry as the date expires, which
// connect-mongo sets from cookie.expires, or its ttl option, on each
// save, and renews on each touch. Make one with NewMongo.
//
// connect-mongo's other options need nothing on the Go side, or are not
// supported: touchAfter's lastModified and timestamps' updatedAt are left
// as they are (an Express touch then comes sooner, never later);
// stringify: false, a serializer or crypto (encrypted sessions) make
// records this Backend cannot read, and a request that meets one fails
// with an error that says so; a transformId keys sessions under IDs this
// Backend does not look for.
// connect-mongo's autoRemove (by default a TTL index on expires, which it
// creates) removes expired documents; the Backend never serves one, and
// Prune removes them where no TTL index does.
type Mongo struct {
	coll *mongo.Collection
	cfg  backendConfig
}

var _ Backend = (*Mongo)(nil)

// NewMongo returns the Backend of connect-mongo's records in db. It takes
// WithCollection, WithTTL and WithTimeout, connect-mongo's collectionName
// and ttl options and a bound on each call. It asks the server nothing.
// It reads from the primary, whatever db's read preference, so that a
// session just written, renewed or destroyed is seen as such.
func NewMongo(db *mongo.Database, opts ...BackendOption) (*Mongo, error) {
	if db == nil {
		return nil, errors.New("express: NewMongo called with a nil database")
	}
	cfg, err := configure("NewMongo", backendConfig{collection: "sessions", ttl: DefaultMongoTTL, timeout: DefaultTimeout},
		opts, "WithCollection", "WithTTL", "WithTimeout")
	if err != nil {
		return nil, err
	}
	if cfg.collection == "" {
		return nil, errors.New("express: NewMongo: WithCollection: empty collection name")
	}
	coll := db.Collection(cfg.collection, options.Collection().SetReadPreference(readpref.Primary()))
	return &Mongo{coll: coll, cfg: cfg}, nil
}

// Get implements Backend with one find by _id; the expiry is judged here,
// as connect-mongo's get filters on it.
func (m *Mongo) Get(ctx context.Context, sid string) ([]byte, time.Time, error) {
	ctx, cancel := bound(ctx, m.cfg.timeout)
	defer cancel()
	var doc bson.Raw
	err := m.coll.FindOne(ctx, bson.D{{Key: "_id", Value: sid}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	data, expires, err := readDoc(doc)
	if err != nil || (!expires.IsZero() && !time.Now().Before(expires)) {
		return nil, time.Time{}, err
	}
	return data, expires, nil
}

// errNotString says a document's session is not a string: connect-mongo
// was set up with stringify: false, or a serializer of its own.
var errNotString = errors.New("the document's session is not a string: connect-mongo's stringify: false (or a serialize option) is not supported; use its default, stringify: true")

// readDoc returns a document's session, as the stored string, and its
// expiry (zero if it has none).
func readDoc(doc bson.Raw) (data []byte, expires time.Time, err error) {
	s, ok := doc.Lookup("session").StringValueOK()
	if !ok {
		return nil, time.Time{}, errNotString
	}
	if dt, isDate := doc.Lookup("expires").DateTimeOK(); isDate {
		expires = time.UnixMilli(dt)
	}
	return []byte(s), expires, nil
}

// Set implements Backend with connect-mongo's update: $set of session and
// expires, with upsert. Of two upserts of a new _id one may fail on the
// duplicate key; it is tried again, and then replaces the other's.
func (m *Mongo) Set(ctx context.Context, sid string, data []byte, expires time.Time) error {
	ctx, cancel := bound(ctx, m.cfg.timeout)
	defer cancel()
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: "session", Value: string(data)},
		{Key: "expires", Value: bson.NewDateTimeFromTime(expires)},
	}}}
	var err error
	for range 2 {
		_, err = m.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: sid}}, update, options.UpdateOne().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	return err
}

// Swap implements Backend with one update filtered on the stored string
// and a live expiry. On MongoDB, and FerretDB 2, the filter and the write
// are one atomic step; FerretDB 1.x evaluates a write's filter apart from
// the write, so that there two Go requests that change one session at
// once may lose one's change, as with the Express app's own writes.
func (m *Mongo) Swap(ctx context.Context, sid string, old, data []byte, expires time.Time) (bool, error) {
	ctx, cancel := bound(ctx, m.cfg.timeout)
	defer cancel()
	filter := bson.D{
		{Key: "_id", Value: sid},
		{Key: "session", Value: string(old)},
		{Key: "expires", Value: bson.D{{Key: "$gt", Value: bson.NewDateTimeFromTime(time.Now())}}},
	}
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: "session", Value: string(data)},
		{Key: "expires", Value: bson.NewDateTimeFromTime(expires)},
	}}}
	res, err := m.coll.UpdateOne(ctx, filter, update)
	if err != nil {
		return false, err
	}
	return res.MatchedCount == 1, nil
}

// Destroy implements Backend with one findAndModify that deletes, and
// tells from what it deleted whether it was live.
func (m *Mongo) Destroy(ctx context.Context, sid string) (bool, error) {
	ctx, cancel := bound(ctx, m.cfg.timeout)
	defer cancel()
	var doc bson.Raw
	err := m.coll.FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: sid}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, expires, err := readDoc(doc)
	return err == nil && (expires.IsZero() || time.Now().Before(expires)), nil
}

// TTL implements Backend: connect-mongo's ttl option.
func (m *Mongo) TTL() time.Duration { return m.cfg.ttl }

// Prune deletes the expired documents and returns how many, as
// connect-mongo's autoRemove "interval" does. Where connect-mongo's TTL
// index (its default, autoRemove "native") exists, the server does it,
// and Prune is not needed.
func (m *Mongo) Prune(ctx context.Context) (int64, error) {
	ctx, cancel := bound(ctx, m.cfg.timeout)
	defer cancel()
	res, err := m.coll.DeleteMany(ctx, bson.D{{Key: "expires", Value: bson.D{{Key: "$lt", Value: bson.NewDateTimeFromTime(time.Now())}}}})
	if err != nil {
		return 0, wrap("prune", err)
	}
	return res.DeletedCount, nil
}
