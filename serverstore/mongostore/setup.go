package mongostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/go-sealed/session/serverstore/internal/sweep"
)

// The names of the indexes New creates.
const (
	indexUser    = "user"
	indexExpires = "expires"
)

// ensureIndexes creates the collection's indexes if missing, and reports
// whether the server expires documents itself: whether it took the TTL
// index on the expiry, or refused it as an option it does not implement.
func (c *core) ensureIndexes(ctx context.Context) (ttl bool, err error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	iv := c.coll.Indexes()
	// Sparse: sessions with no user are left out of the index (FerretDB
	// 1.x accepts the option and ignores it).
	user := mongo.IndexModel{
		Keys:    bson.D{{Key: fieldUser, Value: 1}},
		Options: options.Index().SetName(indexUser).SetSparse(true),
	}
	if _, err := iv.CreateOne(ctx, user); err != nil {
		return false, indexError(c.cfg.collection, indexUser, err)
	}
	// expireAfterSeconds 0: a document goes when the date in its expires
	// field passes, each with its own.
	expires := mongo.IndexModel{
		Keys:    bson.D{{Key: fieldExpires, Value: 1}},
		Options: options.Index().SetName(indexExpires).SetExpireAfterSeconds(0),
	}
	_, err = iv.CreateOne(ctx, expires)
	if !noTTL(err) {
		return err == nil, indexError(c.cfg.collection, indexExpires, err)
	}
	// No TTL: a plain index, for the sweeper and for Count.
	expires.Options = options.Index().SetName(indexExpires)
	if _, err := iv.CreateOne(ctx, expires); err != nil {
		return false, indexError(c.cfg.collection, indexExpires, err)
	}
	return false, nil
}

// Codes of a server that does not implement an option or a command.
const (
	codeCommandNotSupported = 115
	codeNotImplemented      = 238
)

// noTTL reports whether err is a server's refusal of TTL indexes as not
// implemented, as FerretDB 1.x answers ("Index option
// "expireAfterSeconds" is not implemented yet", code 238). Any other
// error, an index of that name with other options say, is not: New
// reports it rather than run without the index it asked for.
func noTTL(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && (ce.HasErrorCode(codeNotImplemented) || ce.HasErrorCode(codeCommandNotSupported))
}

// Codes of a server that finds an index of the same name or keys with
// other options.
const (
	codeIndexOptionsConflict  = 85
	codeIndexKeySpecsConflict = 86
)

// indexError is err, if not nil, as a failure of New to create the index
// name on collection; with the way out if an index of that name or keys
// is in the way.
func indexError(collection, name string, err error) error {
	if err == nil {
		return nil
	}
	err = fail("create index "+name, err)
	var ce mongo.CommandError
	if errors.As(err, &ce) && (ce.HasErrorCode(codeIndexOptionsConflict) || ce.HasErrorCode(codeIndexKeySpecsConflict)) {
		return fmt.Errorf("%w: the collection %q has an index in the way of mongostore's %q (see the package documentation): drop it, or give the Backend another collection with WithCollection",
			err, collection, name)
	}
	return err
}

// startSweeper starts the sweeper of a Backend on a server without TTL
// indexes, as WithSweepInterval says (none if 0), and returns it. The
// sweeper refers to c, never to the Backend (see package sweep).
func (c *core) startSweeper() *sweep.Sweeper {
	return sweep.Start(c.cfg.sweepInterval, func(ctx context.Context) bool {
		n, err := c.sweep(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			// Stopped mid-sweep.
		case err != nil:
			c.cfg.logger.Error(pkgName+": sweeping expired sessions failed", "err", err)
		case n > 0:
			c.cfg.logger.Debug(pkgName+": swept expired sessions", "deleted", n)
		}
		return true
	})
}

// Sweep deletes the documents that have expired, with one deleteMany
// bounded by WithTimeout, and returns how many it deleted. On a server
// without TTL indexes the sweeper calls it periodically; call it yourself
// if you run none (WithSweepInterval(0)). Several instances may sweep at
// once. On a server with TTL indexes it is never needed, and harmless.
func (b *Backend) Sweep(ctx context.Context) (int, error) { return b.sweep(ctx) }

func (c *core) sweep(ctx context.Context) (int, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	expired := bson.D{{Key: fieldExpires, Value: bson.D{{Key: "$lte", Value: now()}}}}
	res, err := c.coll.DeleteMany(ctx, expired)
	if err != nil {
		return 0, fail("sweep", err)
	}
	if c.locks != nil {
		// Locks left behind by Updates that lost the server.
		if _, err := c.locks.coll.DeleteMany(ctx, expired); err != nil {
			return int(res.DeletedCount), fail("sweep", err)
		}
	}
	return int(res.DeletedCount), nil
}

// detectLocking sets c.locks if the server is FerretDB 1.x (or a FerretDB
// that does not tell its version), whose compare-and-set is not atomic
// (see lock.go). FerretDB answers buildInfo with a ferretdbVersion field
// of its own; MongoDB has none.
func (c *core) detectLocking(ctx context.Context) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	var info struct {
		FerretDB *string `bson:"ferretdbVersion"`
	}
	if err := c.coll.Database().RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return fail("buildInfo", err)
	}
	if info.FerretDB == nil || ferretDB2(*info.FerretDB) {
		return nil
	}
	c.locks = newLocker(c.coll.Database().Collection(c.cfg.collection+lockSuffix, options.Collection().SetReadPreference(readpref.Primary())), c.cfg.timeout)
	return nil
}

// lockSuffix names the collection of a Backend's locks, where it needs
// them: "sessions.locks" for "sessions".
const lockSuffix = ".locks"

// ferretDB2 reports whether a FerretDB version is 2.0 or later, whose
// writes are PostgreSQL's (DocumentDB) and atomic. Embedded builds say
// "unknown".
func ferretDB2(version string) bool {
	major, _, _ := strings.Cut(strings.TrimPrefix(version, "v"), ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 2
}
