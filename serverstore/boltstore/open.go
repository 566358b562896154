package boltstore

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/go-sealed/session/serverstore/internal/sweep"
)

// Defaults of the options.
const (
	// DefaultBucket is the name of the top-level bucket a Backend keeps its
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
	// ErrClosed is returned by every method of a Backend after Close.
	ErrClosed = errors.New("boltstore: backend is closed")

	// ErrLocked is returned (wrapped, with the path and the time waited)
	// by Open when another process, or another Backend or bolt.DB of this
	// process, holds the file open and the open timeout ran out. bolt
	// locks the whole file for as long as it is open: a bolt file serves
	// one process at a time.
	ErrLocked = errors.New("boltstore: file is locked by another process")

	// ErrForeignBucket is returned (wrapped) by Open and OpenDB when the
	// bucket they are to use exists but was not made by this package, or
	// by a newer version of it with another layout. Nothing is changed.
	ErrForeignBucket = errors.New("boltstore: the bucket exists and is not in a format this version of boltstore knows")
)

// Option configures a Backend made by Open or OpenDB.
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

// WithBucket sets the name of the top-level bucket the Backend uses,
// DefaultBucket by default. Backends with different buckets share a file
// without seeing each other's sessions (only one process can have the file
// open, though: use OpenDB to give them one bolt.DB). An empty name means
// DefaultBucket.
func WithBucket(name string) Option {
	return func(c *config) { c.bucket = name }
}

// WithSweepInterval sets how often the sweeper goroutine removes expired
// entries, DefaultSweepInterval by default. d <= 0 disables the sweeper:
// expired entries are then still never served, but stay in the file until
// overwritten, deleted or removed by a call of Backend.Sweep. A Backend
// opened read-only has no sweeper.
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
// not exist, and returns a Backend on it with its sweeper started. Call
// Close to stop the sweeper and close the file.
//
// bolt locks the file while it is open, so only one process can use it at
// a time. If another process holds it, Open waits for the open timeout
// (DefaultOpenTimeout, see WithOpenTimeout) and then fails with ErrLocked.
func Open(path string, opts ...Option) (*Backend, error) {
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
	s, err := newBackend(db, true, cfg)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// OpenDB returns a Backend keeping its sessions in db, an open bolt
// database, in its own bucket (WithBucket) beside whatever else db holds.
// The Backend does not own db: its Close stops the sweeper but leaves db
// open. Close the Backend before db. WithOpenTimeout and WithBoltOptions
// do not apply.
func OpenDB(db *bolt.DB, opts ...Option) (*Backend, error) {
	if db == nil {
		return nil, errors.New("boltstore: OpenDB: db is nil")
	}
	return newBackend(db, false, newConfig(opts))
}

func newBackend(db *bolt.DB, own bool, cfg config) (*Backend, error) {
	c := &core{
		db:     db,
		ownDB:  own,
		bucket: []byte(cfg.bucket),
		batch:  cfg.batch,
		log:    cfg.log,
	}
	// Check the buckets, and create them only if they are missing: the
	// opening of a Backend's file writes nothing once it exists.
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

	s := &Backend{c}
	if !db.IsReadOnly() {
		c.sweeper = sweep.Start(cfg.interval, c.sweep)
		// A Backend dropped without Close does not leak its goroutine. The
		// file stays open (and locked) until the process exits, though:
		// call Close.
		sweep.StopWith(s, c.sweeper)
	}
	return s, nil
}

// DB returns the bolt database the Backend uses, for backups
// (bolt.Tx.WriteTo), statistics and the like. Do not change the Backend's
// bucket through it.
func (s *Backend) DB() *bolt.DB {
	return s.db
}

// Close stops the sweeper, waits for it to return, and then, if the Backend
// was made by Open, closes the file, after the transactions under way
// finish. It is safe to call more than once; every later call returns what
// the first did. After Close every method returns ErrClosed.
func (s *Backend) Close() error {
	s.closeOnce.Do(func() {
		// The sweeper stops first, so that a sweep under way sees its
		// context cancelled rather than the Backend closed, and says
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
