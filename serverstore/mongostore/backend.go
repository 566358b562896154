package mongostore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/optimistic"
	"github.com/go-sealed/session/serverstore/internal/sweep"
)

const pkgName = "mongostore"

// Defaults of the options.
const (
	DefaultCollection    = "sessions"
	DefaultTimeout       = 5 * time.Second
	DefaultSweepInterval = 5 * time.Minute
	// DefaultMaxRetries is how many times Update retries after a
	// concurrent write to its session unless WithMaxRetries says
	// otherwise. It is generous: a request gives up only when its session
	// is written by many others at once, for a long time.
	DefaultMaxRetries = 100
)

// The fields of a session's document. Short names would save a few bytes
// a document; these read well in mongosh.
const (
	fieldID      = "_id"     // the key: hex SHA-256 of the token
	fieldData    = "data"    // binary
	fieldExpires = "expires" // date
	fieldUser    = "user"    // string, absent for no user
	fieldVersion = "version" // binary digest of data, user and expires
)

// Option configures a Backend made by New.
type Option func(*config)

type config struct {
	collection    string
	timeout       time.Duration
	sweepInterval time.Duration
	maxRetries    int
	logger        *slog.Logger
}

// WithCollection sets the collection's name, DefaultCollection
// ("sessions") by default. It must be a valid MongoDB collection name: not
// empty, no "$" or NUL, not starting with "system.".
func WithCollection(name string) Option {
	return func(c *config) { c.collection = name }
}

// WithTimeout bounds every call of the Backend to d, DefaultTimeout (5
// seconds) by default, whatever the caller's context allows: a server
// that stops answering fails the call after d rather than hang it. An
// Update that retries, and each batch of Scan, has d in all. An earlier
// deadline of the caller's context still applies. 0 or less sets none:
// calls are then bounded by their context alone (and by the client's own
// timeout, options.Client().SetTimeout, if set).
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithSweepInterval sets how often the Backend deletes expired documents
// on a server that has no TTL index (see New), DefaultSweepInterval (5
// minutes) by default; 0 runs no sweeper (run Sweep yourself, or let
// another instance sweep). On a server with TTL indexes it does nothing:
// the server deletes them. Expired documents are never served, swept or
// not: sweeping only reclaims their space.
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) { c.sweepInterval = d }
}

// WithMaxRetries sets how many times Update retries when another client
// wrote the session between its read and its write, DefaultMaxRetries by
// default: the first few times at once, then after random pauses that
// grow. After the last, Update returns serverstore.ErrConflict. Negative
// counts as 0.
func WithMaxRetries(n int) Option {
	return func(c *config) { c.maxRetries = max(n, 0) }
}

// WithLogger sets where the sweeper reports failures, slog.Default() by
// default. Failures are logged at level Error, sweeps that deleted
// documents at Debug.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// Backend is a serverstore.Backend on a MongoDB collection, one document
// per session. It implements serverstore.UserIndex and serverstore.Scanner
// too. Make one with New; it is safe for concurrent use.
type Backend struct {
	*core
}

// core is what the sweeper refers to: a Backend dropped without Close is
// then collected, and its cleanup stops the sweeper (see package sweep).
type core struct {
	coll    *mongo.Collection
	cfg     config
	ttl     bool    // the server expires documents by a TTL index
	locks   *locker // not nil on a server without atomic compare-and-set (see lock.go)
	sweeper *sweep.Sweeper
}

var (
	_ serverstore.Backend   = (*Backend)(nil)
	_ serverstore.UserIndex = (*Backend)(nil)
	_ serverstore.Scanner   = (*Backend)(nil)
)

// New returns a Backend on the collection of db named by WithCollection
// ("sessions" by default). It creates the collection's indexes if
// missing: one on the user field, for "log out everywhere", and a TTL
// index on the expiry, so that the server deletes expired sessions. On a
// server that refuses TTL indexes (FerretDB 1.x, whose createIndexes
// answers NotImplemented), it creates a plain index on the expiry instead
// and starts a goroutine that deletes expired documents every 5 minutes
// (WithSweepInterval); Close stops it. Any other failure to create the
// indexes, such as an index of the same name with other options, fails
// New, naming the index. New also asks the server's buildInfo: on
// FerretDB 1.x, the Backend writes each session under a lock (see the
// package documentation). The Backend reads from the primary whatever db's
// read preference, so that a session just written, renewed or destroyed
// is seen as such. db remains the caller's: disconnect its client after
// the Backend.
func New(ctx context.Context, db *mongo.Database, opts ...Option) (*Backend, error) {
	if db == nil {
		return nil, errors.New(pkgName + ": nil database")
	}
	cfg := configOf(opts)
	if err := checkCollectionName(cfg.collection); err != nil {
		return nil, fmt.Errorf("%s: WithCollection(%q): %w", pkgName, cfg.collection, err)
	}
	if cfg.sweepInterval < 0 {
		return nil, fmt.Errorf("%s: negative sweep interval %v", pkgName, cfg.sweepInterval)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	c := newCore(db, cfg)
	ttl, err := c.ensureIndexes(ctx)
	if err != nil {
		return nil, err
	}
	c.ttl = ttl
	if err := c.detectLocking(ctx); err != nil {
		return nil, err
	}
	b := &Backend{c}
	if !ttl {
		c.sweeper = c.startSweeper()
		sweep.StopWith(b, c.sweeper)
	}
	return b, nil
}

// configOf is the defaults, as opts change them.
func configOf(opts []Option) config {
	cfg := config{
		collection:    DefaultCollection,
		timeout:       DefaultTimeout,
		sweepInterval: DefaultSweepInterval,
		maxRetries:    DefaultMaxRetries,
	}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// newCore returns the core of a Backend on cfg's collection of db, asking
// the server nothing.
func newCore(db *mongo.Database, cfg config) *core {
	coll := db.Collection(cfg.collection, options.Collection().SetReadPreference(readpref.Primary()))
	return &core{coll: coll, cfg: cfg}
}

// checkCollectionName rejects what MongoDB would refuse, or treat
// specially, as a collection name.
func checkCollectionName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case strings.ContainsAny(name, "$\x00"):
		return errors.New(`"$" or NUL in the name`)
	case strings.HasPrefix(name, "system."):
		return errors.New(`a "system." name is MongoDB's`)
	}
	return nil
}

// Close stops the sweeper, if one runs, interrupting a sweep in progress,
// and waits for it to return. It is safe to call more than once and
// always returns nil. It does not disconnect the client, and the Backend
// keeps working after it, only without sweeper.
func (b *Backend) Close() error {
	b.sweeper.Stop()
	return nil
}

// bound returns ctx bounded by the Backend's timeout, if it has one.
func (c *core) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.cfg.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.cfg.timeout)
}

// stored is a session's document as the Backend reads it.
type stored struct {
	Data    []byte        `bson:"data"`
	Expires bson.DateTime `bson:"expires"`
	Version []byte        `bson:"version"`
}

// projection is what the Backend reads of a document: no user, which no
// read needs.
var projection = bson.D{{Key: fieldData, Value: 1}, {Key: fieldExpires, Value: 1}, {Key: fieldVersion, Value: 1}}

// read returns key's document, found false if there is none. It filters
// on the key alone and leaves the expiry to the caller: a server uses
// its _id index for that filter (FerretDB 1.x for no other), and the
// caller judges expiry by the application's clock.
func (c *core) read(ctx context.Context, key string) (stored, bool, error) {
	var doc stored
	err := c.coll.FindOne(ctx, bson.D{{Key: fieldID, Value: key}}, options.FindOne().SetProjection(projection)).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return stored{}, false, nil
	}
	if err != nil {
		return stored{}, false, err
	}
	if doc.Data == nil {
		doc.Data = []byte{} // stored empty: found, with no bytes
	}
	return doc, true, nil
}

// Find implements serverstore.Backend with one find on the key. A
// document whose expiry has passed by the application's clock is not
// found, whether or not the server has deleted it yet.
func (b *Backend) Find(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	doc, found, err := b.read(ctx, key)
	if err != nil {
		return nil, false, fail("find", err)
	}
	if !found || !live(doc.Expires) {
		return nil, false, nil
	}
	return doc.Data, true, nil
}

// Commit implements serverstore.Backend: a replace with upsert, or a
// delete when e.Expires has passed.
func (b *Backend) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	if !live(millis(e.Expires)) {
		_, err := b.coll.DeleteOne(ctx, bson.D{{Key: fieldID, Value: key}})
		return fail("commit", err)
	}
	return fail("commit", b.upsert(ctx, key, e))
}

// upsert writes e under key, whatever is there, under key's lock where
// the Backend takes locks (see lock.go): the Update holding it writes
// what it read under it, which must not be something an upsert replaced
// meanwhile. Two upserts of a key that does not exist yet may both try
// to insert it, and one fail on the duplicate key (FerretDB does not
// retry it, nor does MongoDB before 4.2): that one goes again, and
// replaces what the other wrote.
func (c *core) upsert(ctx context.Context, key string, e serverstore.Entry) error {
	if c.locks != nil {
		release, err := c.locks.lock(ctx, key)
		if err != nil {
			return err
		}
		defer release()
	}
	for range 3 {
		_, err := c.coll.ReplaceOne(ctx, bson.D{{Key: fieldID, Value: key}}, document(key, e), options.Replace().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			return err
		}
	}
	return serverstore.ErrConflict
}

// Delete implements serverstore.Backend.
func (b *Backend) Delete(ctx context.Context, key string) error {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	_, err := b.coll.DeleteOne(ctx, bson.D{{Key: fieldID, Value: key}})
	return fail("delete", err)
}

// Rename implements serverstore.Backend in steps, without a transaction
// (which needs a replica set, and which FerretDB 1.x lacks): it writes
// newKey, then deletes oldKey if it was live; if it was not, it deletes
// newKey again, if it still holds what it wrote, and returns
// serverstore.ErrNotFound. One of the two keys is live at every moment,
// so that "log out everywhere" (two passes of DeleteUser) cannot miss a
// session being renewed. An e that has already expired ends both keys if
// oldKey was live, and writes nothing otherwise.
func (b *Backend) Rename(ctx context.Context, oldKey, newKey string, e serverstore.Entry) error {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	if oldKey == newKey {
		err := b.update(ctx, oldKey, nil, func(_ []byte, found bool) (serverstore.Entry, bool, error) {
			if !found {
				return serverstore.Entry{}, false, serverstore.ErrNotFound
			}
			return e, true, nil
		})
		var fe optimistic.FnError
		if errors.As(err, &fe) {
			return fe.Err
		}
		return fail("rename", err)
	}
	expires := millis(e.Expires)
	written := bson.D{{Key: fieldID, Value: newKey}, {Key: fieldVersion, Value: version(e.Data, e.UserID, expires)}}
	if live(expires) {
		if err := b.upsert(ctx, newKey, e); err != nil {
			return fail("rename", err)
		}
	}
	// Filtered on the key alone, for FerretDB's sake (see read): whether
	// it was live is judged on what was deleted. (FerretDB 1.x refuses a
	// projection here: the whole document comes back.)
	var old stored
	err := b.coll.FindOneAndDelete(ctx, bson.D{{Key: fieldID, Value: oldKey}}).Decode(&old)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		// Whether oldKey was deleted is unknown; the caller gets an
		// error and never the new key, so newKey is taken back, as far
		// as the server still answers.
		if live(expires) {
			b.cleanup(ctx, written)
		}
		return fail("rename", err)
	}
	wasLive := err == nil && live(old.Expires)
	switch {
	case wasLive && live(expires):
		return nil
	case wasLive:
		_, err = b.coll.DeleteOne(ctx, bson.D{{Key: fieldID, Value: newKey}})
		return fail("rename", err)
	case live(expires):
		// oldKey was gone: take back what was written, unless another
		// write has replaced it since.
		if _, err = b.coll.DeleteOne(ctx, written); err != nil {
			return fail("rename", err)
		}
	}
	return serverstore.ErrNotFound
}

// cleanup deletes the documents filter matches, after a failure, even if
// ctx is done (a Rename cut short by its deadline must still take back
// what it wrote), within the Backend's timeout or 5 seconds. Its own
// failure is not reported: the caller reports the first.
func (c *core) cleanup(ctx context.Context, filter bson.D) {
	d := c.cfg.timeout
	if d <= 0 {
		d = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	_, _ = c.coll.DeleteOne(ctx, filter)
}

// document is the document that stores e under key.
func document(key string, e serverstore.Entry) bson.D {
	data := e.Data
	if data == nil {
		data = []byte{}
	}
	ms := millis(e.Expires)
	d := bson.D{
		{Key: fieldID, Value: key},
		{Key: fieldData, Value: data},
		{Key: fieldExpires, Value: ms},
		{Key: fieldVersion, Value: version(data, e.UserID, ms)},
	}
	if e.UserID != "" {
		d = append(d, bson.E{Key: fieldUser, Value: e.UserID})
	}
	return d
}

// millis is t as a BSON date: whole milliseconds since the Unix epoch.
// The version digests the stored value, so t is rounded the same way
// everywhere.
func millis(t time.Time) bson.DateTime {
	return bson.DateTime(t.UnixMilli())
}

// now is the application's clock as a BSON date. Expiry is judged by it,
// never by the server's.
func now() bson.DateTime { return millis(time.Now()) }

// live reports whether a document expiring at expires is live now.
func live(expires bson.DateTime) bool { return expires > now() }

// liveFilter matches the documents that are live now, by the
// application's clock.
func liveFilter() bson.E {
	return bson.E{Key: fieldExpires, Value: bson.D{{Key: "$gt", Value: now()}}}
}

// opError is an error of the driver, with a message that quotes no key or
// data: a server's messages may (a duplicate key error quotes the key),
// so of a server error only its codes are told.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	msg := e.err.Error()
	var se mongo.ServerError
	var me mongo.MarshalError
	switch {
	case errors.As(e.err, &se) && !mongo.IsNetworkError(e.err) && !mongo.IsTimeout(e.err):
		// A server's reply (network failures come as CommandErrors
		// too, with code 0, and quote nothing but addresses).
		msg = fmt.Sprintf("server error, codes %v", se.ErrorCodes())
		var ce mongo.CommandError
		if errors.As(e.err, &ce) && ce.Name != "" {
			msg += " (" + ce.Name + ")"
		}
	case errors.As(e.err, &me):
		msg = "cannot encode the document"
	}
	return pkgName + ": " + e.op + ": " + msg
}

// Unwrap returns the driver's error, for errors.Is and As
// (context.DeadlineExceeded, mongo.ServerError, ...).
func (e *opError) Unwrap() error { return e.err }

// fail wraps err, if not nil, as an error of op.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, err: err}
}
