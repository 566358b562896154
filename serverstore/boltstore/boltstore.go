package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sweep"
)

// Defaults of the options.
const (
	// DefaultBucket is the name of the top-level bucket a Store keeps its
	// sessions in, unless WithBucket says otherwise.
	DefaultBucket = "sessions"

	// DefaultSweepInterval is how often the sweeper removes expired
	// entries, unless WithSweepInterval says otherwise.
	DefaultSweepInterval = time.Minute

	// DefaultSweepBatch is how many expired entries one sweep transaction
	// removes at most, unless WithSweepBatch says otherwise.
	DefaultSweepBatch = 1000

	// DefaultOpenTimeout is how long Open waits for the file lock held by
	// another process, unless WithOpenTimeout or WithBoltOptions says
	// otherwise.
	DefaultOpenTimeout = 5 * time.Second
)

var (
	// ErrClosed is returned by every method of a Store after Close.
	ErrClosed = errors.New("boltstore: store is closed")

	// ErrLocked is returned (wrapped, with the path and the time waited)
	// by Open when another process, or another Store or bolt.DB of this
	// process, holds the file open and the open timeout ran out. bolt
	// locks the whole file for as long as it is open: a bolt file serves
	// one process at a time.
	ErrLocked = errors.New("boltstore: file is locked by another process")

	// ErrForeignBucket is returned (wrapped) by Open and OpenDB when the
	// bucket they are to use exists but was not made by this package, or
	// by a newer version of it with another layout. Nothing is changed.
	ErrForeignBucket = errors.New("boltstore: the bucket exists and is not in a format this version of boltstore knows")
)

// Names inside the top-level bucket.
var (
	entriesName = []byte("entries")
	expiryName  = []byte("expiry")
	usersName   = []byte("users")
	versionName = []byte("version")

	// formatVersion is the layout described in the package documentation.
	formatVersion = []byte{1}
)

// Store is a serverstore.Backend in a bolt file. It implements
// serverstore.UserIndex, serverstore.Transactor and serverstore.Renamer.
// Make one with Open or OpenDB; it is safe for concurrent use.
type Store struct {
	*core
}

var (
	_ serverstore.Backend    = (*Store)(nil)
	_ serverstore.UserIndex  = (*Store)(nil)
	_ serverstore.Transactor = (*Store)(nil)
	_ serverstore.Renamer    = (*Store)(nil)
)

// core is the state of a Store. The sweeper refers to it, not to the
// Store, so that a Store dropped without Close can be collected and its
// sweeper stopped (see package sweep).
type core struct {
	db     *bolt.DB
	ownDB  bool // Close closes db
	bucket []byte
	batch  int
	log    *slog.Logger

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	sweeper *sweep.Sweeper
}

// Option configures a Store made by Open or OpenDB.
type Option func(*config)

type config struct {
	bucket     string
	interval   time.Duration
	batch      int
	timeout    time.Duration
	timeoutSet bool
	bolt       *bolt.Options
	log        *slog.Logger
}

// WithBucket sets the name of the top-level bucket the Store uses,
// DefaultBucket by default. Stores with different buckets share a file
// without seeing each other's sessions (only one process can have the file
// open, though: use OpenDB to give them one bolt.DB). An empty name means
// DefaultBucket.
func WithBucket(name string) Option {
	return func(c *config) { c.bucket = name }
}

// WithSweepInterval sets how often the sweeper goroutine removes expired
// entries, DefaultSweepInterval by default. d <= 0 disables the sweeper:
// expired entries are then still never served, but stay in the file until
// overwritten, deleted or removed by a call of Store.Sweep. A Store opened
// read-only has no sweeper.
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) { c.interval = d }
}

// WithSweepBatch sets how many expired entries one sweep transaction
// removes at most, DefaultSweepBatch by default: a sweep of many entries
// takes several transactions, and never keeps writers waiting for long.
// n <= 0 means DefaultSweepBatch.
func WithSweepBatch(n int) Option {
	return func(c *config) { c.batch = n }
}

// WithOpenTimeout sets how long Open waits for the lock on a file that
// another process holds open before it fails with ErrLocked,
// DefaultOpenTimeout by default. 0 (or less) waits as long as it takes.
// OpenDB ignores it.
func WithOpenTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout, c.timeoutSet = d, true }
}

// WithBoltOptions sets the options Open passes to bolt.Open (a copy is
// taken). Their Timeout is used if it is not 0 and WithOpenTimeout is not
// given; otherwise the open timeout is as WithOpenTimeout says. With
// ReadOnly set, the file is opened shared and read-only: sessions can be
// read, every write fails, and there is no sweeper. NoSync trades the
// durability of the last writes before a crash of the machine for write
// speed. OpenDB ignores it.
func WithBoltOptions(o *bolt.Options) Option {
	return func(c *config) {
		if o == nil {
			c.bolt = nil
			return
		}
		cp := *o
		c.bolt = &cp
	}
}

// WithLogger sets where the sweeper reports its errors, slog.Default() by
// default. The messages never contain keys or session data.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.log = l }
}

func newConfig(opts []Option) config {
	cfg := config{bucket: DefaultBucket, interval: DefaultSweepInterval, batch: DefaultSweepBatch}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.bucket == "" {
		cfg.bucket = DefaultBucket
	}
	if cfg.batch <= 0 {
		cfg.batch = DefaultSweepBatch
	}
	if cfg.log == nil {
		cfg.log = slog.Default()
	}
	return cfg
}

// Open opens the bolt file at path, creating it (mode 0600) if it does
// not exist, and returns a Store on it with its sweeper started. Call
// Close to stop the sweeper and close the file.
//
// bolt locks the file while it is open, so only one process can use it at
// a time. If another process holds it, Open waits for the open timeout
// (DefaultOpenTimeout, see WithOpenTimeout) and then fails with ErrLocked.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := newConfig(opts)
	var bo bolt.Options
	if cfg.bolt != nil {
		bo = *cfg.bolt
	}
	switch {
	case cfg.timeoutSet:
		bo.Timeout = max(cfg.timeout, 0)
	case bo.Timeout == 0:
		bo.Timeout = DefaultOpenTimeout
	}
	db, err := bolt.Open(path, 0o600, &bo)
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s (gave up after %v)", ErrLocked, path, bo.Timeout)
		}
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	s, err := makeStore(db, true, cfg)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// OpenDB returns a Store keeping its sessions in db, an open bolt
// database, in its own bucket (WithBucket) beside whatever else db holds.
// The Store does not own db: its Close stops the sweeper but leaves db
// open. Close the Store before db. WithOpenTimeout and WithBoltOptions
// do not apply.
func OpenDB(db *bolt.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("boltstore: OpenDB: db is nil")
	}
	return makeStore(db, false, newConfig(opts))
}

func makeStore(db *bolt.DB, own bool, cfg config) (*Store, error) {
	c := &core{
		db:     db,
		ownDB:  own,
		bucket: []byte(cfg.bucket),
		batch:  cfg.batch,
		log:    cfg.log,
	}
	// Check the buckets, and create them only if they are missing: the
	// opening of a Store's file writes nothing once it exists.
	ready := false
	err := db.View(func(tx *bolt.Tx) error {
		if top := tx.Bucket(c.bucket); top != nil {
			if err := checkVersion(top); err != nil {
				return err
			}
		}
		_, ready = c.readBuckets(tx)
		return nil
	})
	if err == nil && !ready && !db.IsReadOnly() {
		err = db.Update(func(tx *bolt.Tx) error {
			_, err := c.writeBuckets(tx)
			return err
		})
	}
	if err != nil {
		if errors.Is(err, ErrForeignBucket) {
			return nil, fmt.Errorf("%w: %q in %s", ErrForeignBucket, cfg.bucket, db.Path())
		}
		return nil, fmt.Errorf("boltstore: open %s: %w", db.Path(), err)
	}

	s := &Store{c}
	if !db.IsReadOnly() {
		c.sweeper = sweep.Start(cfg.interval, c.sweep)
		// A Store dropped without Close does not leak its goroutine. The
		// file stays open (and locked) until the process exits, though:
		// call Close.
		sweep.StopWith(s, c.sweeper)
	}
	return s, nil
}

// DB returns the bolt database the Store uses, for backups
// (bolt.Tx.WriteTo), statistics and the like. Do not change the Store's
// bucket through it.
func (s *Store) DB() *bolt.DB {
	return s.db
}

// Close stops the sweeper, waits for it to return, and then, if the Store
// was made by Open, closes the file, after the transactions under way
// finish. It is safe to call more than once; every later call returns what
// the first did. After Close every method returns ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		// The sweeper stops first, so that a sweep under way sees its
		// context cancelled rather than the Store closed, and says
		// nothing.
		s.sweeper.Stop()
		s.closed.Store(true)
		if s.ownDB {
			if err := s.db.Close(); err != nil {
				s.closeErr = fmt.Errorf("boltstore: close: %w", err)
			}
		}
	})
	return s.closeErr
}

// Find implements serverstore.Backend. It returns a copy of the data, and
// nothing for an entry that has expired, swept or not.
func (s *Store) Find(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx); err != nil {
		return nil, false, err
	}
	var data []byte
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		// Of the three buckets, only entries: opening one costs
		// allocations, and Find is the call every request makes.
		if top := tx.Bucket(s.bucket); top != nil {
			if entries := top.Bucket(entriesName); entries != nil {
				data, found = buckets{entries: entries}.find([]byte(key), now())
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, s.wrap("find", err)
	}
	return data, found, nil
}

// Commit implements serverstore.Backend. The entry, its expiry and its
// user index entry are written in one transaction, replacing those of the
// entry stored under key before. An entry whose Expires has passed is not
// stored: key is deleted instead.
func (s *Store) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	return s.update(ctx, "commit", func(b buckets, now uint64) error {
		return b.put([]byte(key), e, now)
	})
}

// Delete implements serverstore.Backend.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.update(ctx, "delete", func(b buckets, _ uint64) error {
		removed, err := b.remove([]byte(key))
		if err == nil && !removed {
			return errNothingToDo
		}
		return err
	})
}

// Update implements serverstore.Transactor: fn runs inside a bolt write
// transaction, which serializes it with every other write to the file, so
// it must be quick. It receives a copy of the data. fn is called at most
// once. If it returns an error, the transaction is rolled back and Update
// returns that error as it is.
func (s *Store) Update(ctx context.Context, key string, fn func(data []byte, found bool) (serverstore.Entry, bool, error)) error {
	var fnErr error
	err := s.update(ctx, "update", func(b buckets, now uint64) error {
		k := []byte(key)
		data, found := b.find(k, now)
		e, write, err := fn(data, found)
		if err != nil {
			fnErr = err
			return err
		}
		if !write {
			return errNothingToDo
		}
		return b.put(k, e, now)
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// Rename implements serverstore.Renamer: oldKey is deleted and e stored
// under newKey in one transaction, if oldKey holds a live entry.
func (s *Store) Rename(ctx context.Context, oldKey, newKey string, e serverstore.Entry) error {
	return s.update(ctx, "rename", func(b buckets, now uint64) error {
		if v, ok := decode(b.entries.Get([]byte(oldKey))); !ok || !v.live(now) {
			return serverstore.ErrNotFound
		}
		if oldKey != newKey {
			if _, err := b.remove([]byte(oldKey)); err != nil {
				return err
			}
		}
		return b.put([]byte(newKey), e, now)
	})
}

// FindUser implements serverstore.UserIndex: a scan of the user index
// over userID's entries only, in one read transaction.
func (s *Store) FindUser(ctx context.Context, userID string) (map[string][]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	found := map[string][]byte{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b, ok := s.readBuckets(tx)
		if !ok {
			return nil
		}
		now := now()
		prefix := userPrefix(userID)
		c := b.users.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			key := k[len(prefix):]
			// The index agrees with the entries after every transaction;
			// check anyway, so that an index entry can never show another
			// user's session.
			if v, ok := decode(b.entries.Get(key)); ok && v.live(now) && string(v.user) == userID {
				found[string(key)] = bytes.Clone(v.data)
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("find user", err)
	}
	return found, nil
}

// DeleteUser implements serverstore.UserIndex: every entry tagged with
// userID is deleted, in one transaction.
func (s *Store) DeleteUser(ctx context.Context, userID string) (int, error) {
	n := 0
	err := s.update(ctx, "delete user", func(b buckets, now uint64) error {
		prefix := userPrefix(userID)
		var index [][]byte
		c := b.users.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			index = append(index, bytes.Clone(k))
		}
		if len(index) == 0 {
			return errNothingToDo
		}
		for _, ik := range index {
			key := ik[len(prefix):]
			if v, ok := decode(b.entries.Get(key)); ok && string(v.user) == userID {
				if v.live(now) {
					n++
				}
				if err := b.remove1(key, v); err != nil {
					return err
				}
			}
			if err := b.users.Delete(ik); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Sweep removes the entries that have expired, with their index entries,
// and returns how many it removed. It takes them in order of expiry from
// the expiry index, at most WithSweepBatch of them per write transaction,
// and checks ctx between transactions. When nothing has expired it costs
// one read of the index and no write. The sweeper calls it; call it
// yourself when WithSweepInterval disabled the sweeper.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		if err := s.check(ctx); err != nil {
			return total, err
		}
		var due bool
		err := s.db.View(func(tx *bolt.Tx) error {
			if b, ok := s.readBuckets(tx); ok {
				k, _ := b.expiry.Cursor().First()
				due = k != nil && expiryOf(k) <= now()
			}
			return nil
		})
		if err != nil {
			return total, s.wrap("sweep", err)
		}
		if !due {
			return total, nil
		}
		var n int
		var more bool
		err = s.update(ctx, "sweep", func(b buckets, now uint64) error {
			var seen int
			var err error
			n, seen, more, err = b.sweep(now, s.batch)
			if err == nil && seen == 0 {
				return errNothingToDo
			}
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if !more {
			return total, nil
		}
	}
}

// sweep is the sweeper's sweep.Func. It calls Sweep through a Store of
// its own, not the user's, which must stay collectable.
func (c *core) sweep(ctx context.Context) bool {
	_, err := (&Store{c}).Sweep(ctx)
	switch {
	case err == nil, ctx.Err() != nil:
	case errors.Is(err, ErrClosed):
		// The bolt.DB given to OpenDB was closed before the Store.
		c.log.Warn("boltstore: the database is closed; the sweeper stops", "bucket", string(c.bucket))
		return false
	default:
		c.log.Error("boltstore: sweeping expired sessions failed", "bucket", string(c.bucket), "err", err)
	}
	return true
}

// errNothingToDo rolls back a write transaction that changed nothing, to
// spare the commit and its fsync.
var errNothingToDo = errors.New("boltstore: nothing to do")

// check returns why an operation may not start: ctx is done or the Store
// is closed.
func (c *core) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.closed.Load() {
		return ErrClosed
	}
	return nil
}

// update runs fn in a write transaction, committed unless fn returns an
// error; errNothingToDo rolls it back and counts as success. ctx is
// checked before the transaction and again once it has the write lock:
// bolt cannot be interrupted while it waits for the lock or syncs the
// file, but a caller whose context ended while it waited writes nothing.
func (c *core) update(ctx context.Context, op string, fn func(b buckets, now uint64) error) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	var ctxErr error
	err := c.db.Update(func(tx *bolt.Tx) error {
		if ctxErr = ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		b, err := c.writeBuckets(tx)
		if err != nil {
			return err
		}
		return fn(b, now())
	})
	switch {
	case err == nil, err == errNothingToDo:
		return nil
	case ctxErr != nil:
		return ctxErr
	}
	return c.wrap(op, err)
}

// wrap makes err, from bolt, an error of operation op. bolt's errors
// never quote keys or values.
func (c *core) wrap(op string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return ErrClosed
	case errors.Is(err, ErrForeignBucket):
		return fmt.Errorf("%w: %q", ErrForeignBucket, c.bucket)
	}
	return fmt.Errorf("boltstore: %s: %w", op, err)
}

// buckets are the three buckets of a Store in one transaction.
type buckets struct {
	entries *bolt.Bucket // key → stored entry (see encode)
	expiry  *bolt.Bucket // expires (8 bytes, big endian) + key → empty
	users   *bolt.Bucket // uvarint(len(user)) + user + key → empty
}

// readBuckets returns the Store's buckets in tx, and false if they do not
// exist (a read-only file where no Store ever wrote).
func (c *core) readBuckets(tx *bolt.Tx) (buckets, bool) {
	top := tx.Bucket(c.bucket)
	if top == nil {
		return buckets{}, false
	}
	b := buckets{top.Bucket(entriesName), top.Bucket(expiryName), top.Bucket(usersName)}
	return b, b.entries != nil && b.expiry != nil && b.users != nil
}

// writeBuckets returns the Store's buckets in tx, a write transaction,
// creating what is missing.
func (c *core) writeBuckets(tx *bolt.Tx) (buckets, error) {
	top := tx.Bucket(c.bucket)
	if top == nil {
		var err error
		if top, err = tx.CreateBucket(c.bucket); err != nil {
			return buckets{}, err
		}
		if err = top.Put(versionName, formatVersion); err != nil {
			return buckets{}, err
		}
	} else if err := checkVersion(top); err != nil {
		return buckets{}, err
	}
	var b buckets
	for _, sub := range []struct {
		b    **bolt.Bucket
		name []byte
	}{{&b.entries, entriesName}, {&b.expiry, expiryName}, {&b.users, usersName}} {
		if *sub.b = top.Bucket(sub.name); *sub.b == nil {
			var err error
			if *sub.b, err = top.CreateBucket(sub.name); err != nil {
				return buckets{}, err
			}
		}
	}
	return b, nil
}

func checkVersion(top *bolt.Bucket) error {
	if !bytes.Equal(top.Get(versionName), formatVersion) {
		return ErrForeignBucket
	}
	return nil
}

// find returns a copy of the data of the live entry under key.
func (b buckets) find(key []byte, now uint64) ([]byte, bool) {
	v, ok := decode(b.entries.Get(key))
	if !ok || !v.live(now) {
		return nil, false
	}
	return append([]byte{}, v.data...), true
}

// put stores e under key with its index entries, replacing the entry
// there and its index entries; an expired e deletes key.
func (b buckets) put(key []byte, e serverstore.Entry, now uint64) error {
	exp := expiresOf(e.Expires)
	old, had := decode(b.entries.Get(key))
	if exp <= now {
		if had {
			return b.remove1(key, old)
		}
		return b.entries.Delete(key) // anything undecodable too
	}
	value := encode(exp, e.UserID, e.Data)
	// old points into the transaction's pages: copy what is needed of it
	// before changing anything.
	oldUser := string(old.user)
	if had {
		// The old index entries go, unless they are the new ones.
		if old.expires != exp {
			if err := b.expiry.Delete(expiryKey(old.expires, key)); err != nil {
				return err
			}
		}
		if oldUser != "" && oldUser != e.UserID {
			if err := b.users.Delete(userKey(oldUser, key)); err != nil {
				return err
			}
		}
	}
	if err := b.entries.Put(key, value); err != nil {
		return err
	}
	if !had || old.expires != exp {
		if err := b.expiry.Put(expiryKey(exp, key), []byte{}); err != nil {
			return err
		}
	}
	if e.UserID != "" && (!had || oldUser != e.UserID) {
		if err := b.users.Put(userKey(e.UserID, key), []byte{}); err != nil {
			return err
		}
	}
	return nil
}

// remove deletes key and its index entries, and reports whether there was
// anything to delete.
func (b buckets) remove(key []byte) (bool, error) {
	raw := b.entries.Get(key)
	if raw == nil {
		return false, nil
	}
	if v, ok := decode(raw); ok {
		return true, b.remove1(key, v)
	}
	return true, b.entries.Delete(key) // undecodable: it has no index entries to find
}

// remove1 deletes key, stored as v, and its index entries. bolt's Delete
// fails only on a read-only transaction or a key that names a bucket,
// which cannot happen here; the errors are passed on all the same.
func (b buckets) remove1(key []byte, v stored) error {
	// v points into the transaction's pages: make the index keys first.
	ek := expiryKey(v.expires, key)
	var uk []byte
	if len(v.user) > 0 {
		uk = userKey(string(v.user), key)
	}
	if err := b.entries.Delete(key); err != nil {
		return err
	}
	if err := b.expiry.Delete(ek); err != nil {
		return err
	}
	if uk != nil {
		return b.users.Delete(uk)
	}
	return nil
}

// sweep removes up to batch entries expired at now, in order of expiry.
// It reports how many it removed, how many expiry index entries it went
// through (stale ones included), and whether more may be due.
func (b buckets) sweep(now uint64, batch int) (n, seen int, more bool, err error) {
	var due [][]byte
	c := b.expiry.Cursor()
	for k, _ := c.First(); k != nil && expiryOf(k) <= now; k, _ = c.Next() {
		if len(due) == batch {
			more = true
			break
		}
		due = append(due, bytes.Clone(k))
	}
	for _, ik := range due {
		if len(ik) < 8 {
			if err := b.expiry.Delete(ik); err != nil {
				return n, len(due), false, err
			}
			continue
		}
		key := ik[8:]
		raw := b.entries.Get(key)
		v, ok := decode(raw)
		switch {
		case ok && v.expires == expiryOf(ik):
			if err := b.remove1(key, v); err != nil {
				return n, len(due), false, err
			}
			n++
			continue
		case raw != nil && !ok:
			// Undecodable: never served; let it go with its index entry.
			if err := b.entries.Delete(key); err != nil {
				return n, len(due), false, err
			}
		}
		// A stale index entry: drop it alone.
		if err := b.expiry.Delete(ik); err != nil {
			return n, len(due), false, err
		}
	}
	return n, len(due), more, nil
}

// stored is an entry as decoded from the entries bucket. user and data
// point into the transaction's pages: valid only inside it.
type stored struct {
	expires uint64
	user    []byte
	data    []byte
}

func (v stored) live(now uint64) bool {
	return now < v.expires
}

// encode lays out an entry: expires (Unix nanoseconds, 8 bytes big
// endian), the user ID's length (uvarint), the user ID, then the data.
func encode(expires uint64, user string, data []byte) []byte {
	b := make([]byte, 0, 8+binary.MaxVarintLen64+len(user)+len(data))
	b = binary.BigEndian.AppendUint64(b, expires)
	b = binary.AppendUvarint(b, uint64(len(user)))
	b = append(b, user...)
	return append(b, data...)
}

// decode parses what encode made; false for nil or anything malformed.
func decode(raw []byte) (stored, bool) {
	if len(raw) < 9 {
		return stored{}, false
	}
	n, w := binary.Uvarint(raw[8:])
	if w <= 0 || n > uint64(len(raw)-8-w) {
		return stored{}, false
	}
	rest := raw[8+w:]
	return stored{
		expires: binary.BigEndian.Uint64(raw),
		user:    rest[:n],
		data:    rest[n:],
	}, true
}

// expiryKey is the expiry index key of key expiring at expires: in byte
// order, the order of expiry.
func expiryKey(expires uint64, key []byte) []byte {
	k := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(k, expires)
	return append(k, key...)
}

// expiryOf is the expiry of an expiry index key; 0 (long past) for a
// malformed one, so that the sweeper drops it.
func expiryOf(ik []byte) uint64 {
	if len(ik) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(ik)
}

// userPrefix is the prefix of the user index keys of userID. The length
// in front makes it unambiguous whatever bytes user IDs contain: no user's
// prefix is a prefix of another's keys.
func userPrefix(userID string) []byte {
	p := make([]byte, 0, binary.MaxVarintLen64+len(userID)+64)
	p = binary.AppendUvarint(p, uint64(len(userID)))
	return append(p, userID...)
}

func userKey(userID string, key []byte) []byte {
	return append(userPrefix(userID), key...)
}

// now is the current time in Unix nanoseconds.
func now() uint64 {
	return uint64(time.Now().UnixNano())
}

// expiresOf is t in Unix nanoseconds, clamped to what they can hold: the
// zero time and anything before 1970 are long past, anything after 2262
// is as late as can be.
func expiresOf(t time.Time) uint64 {
	switch {
	case t.Before(unixEpoch):
		return 0
	case t.After(maxTime):
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

var (
	unixEpoch = time.Unix(0, 0)
	maxTime   = time.Unix(0, math.MaxInt64)
)
