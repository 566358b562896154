// Package sqlstore holds what the SQL backends pgstore and mysqlstore
// share beyond their SQL: their configuration and its checks, table name
// validation, the expiry sweeper, the retry of transactions the server
// aborted, the clamping of expiry times, the frame of their hinted
// updates, and the judging of an existing table (schema.go).
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sweep"
)

// Defaults of Config.
const (
	DefaultTable         = "sessions"
	DefaultSweepInterval = 5 * time.Minute
	DefaultSweepBatch    = 1000
)

// Config is what the options of pgstore and mysqlstore set.
type Config struct {
	Table         string        // table name, optionally qualified: "sessions", "app.sessions"
	SweepInterval time.Duration // 0: no sweeper
	SweepBatch    int           // rows deleted per statement by a sweep
	Logger        *slog.Logger  // where the sweeper reports failures
	Migrate       bool          // New creates the schema
}

// NewConfig returns the default configuration.
func NewConfig() Config {
	return Config{
		Table:         DefaultTable,
		SweepInterval: DefaultSweepInterval,
		SweepBatch:    DefaultSweepBatch,
		Migrate:       true,
	}
}

// Setup applies opts over NewConfig and checks the result, as Check does.
func Setup[O ~func(*Config)](opts []O, maxIdent, reserve int) (Config, Name, error) {
	c := NewConfig()
	for _, o := range opts {
		o(&c)
	}
	name, err := c.Check(maxIdent, reserve)
	return c, name, err
}

// Expired reports whether an entry expiring at t must not be stored: its
// deadline has passed.
func Expired(t time.Time) bool {
	return !t.After(time.Now())
}

// Check validates c, for a dialect whose identifiers have at most maxIdent
// bytes, of which the table name must leave reserve for the names derived
// from it (index names). It returns the table name split in two, and
// fills in the logger.
func (c *Config) Check(maxIdent, reserve int) (Name, error) {
	if c.SweepInterval < 0 {
		return Name{}, fmt.Errorf("negative sweep interval %v (0 disables the sweeper)", c.SweepInterval)
	}
	if c.SweepBatch <= 0 {
		return Name{}, fmt.Errorf("sweep batch size %d: must be at least 1", c.SweepBatch)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return ParseName(c.Table, maxIdent, reserve)
}

// Name is a table name, Schema.Table or Table alone (Schema "": the
// connection's current schema or database).
type Name struct {
	Schema, Table string
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseName parses and validates a table name: one or two identifiers
// separated by a dot, each of ASCII letters, digits and underscores, not
// starting with a digit, of at most maxIdent bytes; the table part leaves
// reserve bytes to spare. Names are quoted wherever they are used, so a
// valid name may be an SQL keyword; the validation is what keeps them
// from carrying SQL.
func ParseName(s string, maxIdent, reserve int) (Name, error) {
	var n Name
	parts := strings.Split(s, ".")
	switch len(parts) {
	case 1:
		n.Table = parts[0]
	case 2:
		n.Schema, n.Table = parts[0], parts[1]
		if err := checkIdent(n.Schema, maxIdent); err != nil {
			return Name{}, fmt.Errorf("table name %q: schema %w", s, err)
		}
	default:
		return Name{}, fmt.Errorf("table name %q: at most one dot (schema.table)", s)
	}
	if err := checkIdent(n.Table, maxIdent-reserve); err != nil {
		return Name{}, fmt.Errorf("table name %q: %w", s, err)
	}
	return n, nil
}

func checkIdent(s string, max int) error {
	if !identRE.MatchString(s) {
		return errors.New("must be letters, digits and underscores, not starting with a digit")
	}
	if len(s) > max {
		return fmt.Errorf("longer than %d characters", max)
	}
	return nil
}

// NullIfEmpty returns nil (SQL NULL) for "", else s: the user_id column
// holds NULL for untagged entries, so that they stay out of its index.
func NullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// NotNil returns data, or an empty slice if data is nil, which the
// drivers would send as NULL into a NOT NULL column.
func NotNil(data []byte) []byte {
	if data == nil {
		return []byte{}
	}
	return data
}

// MaxExpires is the latest expiry stored: the end of year 9999, the range
// of a MySQL DATETIME. Later expiries are stored as MaxExpires, which
// changes nothing in practice.
var MaxExpires = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)

// ClampExpires returns t in UTC, truncated to the microsecond both
// servers store, and no later than MaxExpires.
func ClampExpires(t time.Time) time.Time {
	if t.After(MaxExpires) {
		return MaxExpires
	}
	return t.UTC().Truncate(time.Microsecond)
}

// DeleteFunc deletes at most limit entries that expired at or before
// before, and returns how many it deleted.
type DeleteFunc func(ctx context.Context, before time.Time, limit int) (int, error)

// Sweep deletes the entries that have expired by now, batch at a time,
// until a batch comes back short. Entries expiring while it runs are left
// for the next sweep, so it ends however fast sessions expire.
func Sweep(ctx context.Context, batch int, del DeleteFunc) (int, error) {
	now := time.Now()
	total := 0
	for {
		n, err := del(ctx, now, batch)
		total += n
		if err != nil {
			return total, err
		}
		if n < batch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// StartSweeper starts a sweep.Sweeper that runs Sweep every interval,
// and returns it; nil if interval is 0. Failures are logged to log with
// the message prefix name, and the sweeper carries on. Each sweep is given
// the interval, and at least a minute, to finish. del must not refer to
// the store it sweeps, but to the database only (see package sweep).
func StartSweeper(name string, interval time.Duration, batch int, del DeleteFunc, log *slog.Logger) *sweep.Sweeper {
	return sweep.Start(interval, func(ctx context.Context) bool {
		sctx, stop := context.WithTimeout(ctx, max(interval, time.Minute))
		n, err := Sweep(sctx, batch, del)
		stop()
		switch {
		case err != nil && ctx.Err() != nil:
			// Stopped mid-sweep.
		case err != nil:
			log.Error(name+": sweeping expired sessions failed", "deleted", n, "err", err)
		case n > 0:
			log.Debug(name+": swept expired sessions", "deleted", n)
		}
		return true
	})
}

// maxAttempts bounds Retry.
const maxAttempts = 10

// Retry runs op until it succeeds, fails with an error that retryable
// rejects, ctx is done, or maxAttempts attempts failed. Between attempts
// it waits a few random milliseconds, so that transactions that deadlocked
// each other do not meet again. It is for whole transactions the server
// aborted (a deadlock, a serialization failure), which succeed when run
// again.
func Retry(ctx context.Context, retryable func(error) bool, op func() error) error {
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		wait := time.NewTimer(time.Duration(1+rand.IntN(4*attempt)) * time.Millisecond)
		select {
		case <-ctx.Done():
			wait.Stop()
			return err
		case <-wait.C:
		}
	}
}

// MaxHint is the largest hint UpdateHinted sends back to the server to
// compare: a swap sends the entry's data twice, the hint and the new data,
// which for a small session costs less than the transaction it saves, and
// for a large one may not.
const MaxHint = 64 << 10

// UpdateFunc is the update function of serverstore.Transactor.
type UpdateFunc = func(data []byte, found bool) (serverstore.Entry, bool, error)

// UpdateHinted is serverstore.HintedTransactor.UpdateHinted for the SQL
// stores, whose Update is a transaction of four round trips (begin, lock,
// write, commit). fn runs on the hint, and swap writes its entry in one
// statement that changes the row only if it still holds exactly the hint,
// and reports whether it did. When it did not, or when the hint is over
// MaxHint, or fn declines to write or deletes, update (the store's own
// Update) takes over, and runs fn again on what the row holds.
func UpdateHinted(hint serverstore.Entry, fn UpdateFunc, swap func(serverstore.Entry) (bool, error), update func(UpdateFunc) error) error {
	if len(hint.Data) <= MaxHint {
		e, write, err := fn(hint.Data, true)
		if err != nil {
			return err
		}
		if write && !Expired(e.Expires) {
			swapped, err := swap(e)
			if err != nil || swapped {
				return err
			}
		}
	}
	return update(fn)
}

// RenameInPlace is Renamer.Rename of a key to itself, through the store's
// Update: key's entry is replaced by e if it is live, and
// serverstore.ErrNotFound returned otherwise, with nothing written.
func RenameInPlace(ctx context.Context, update func(context.Context, string, UpdateFunc) error, key string, e serverstore.Entry) error {
	found := false
	err := update(ctx, key, func(_ []byte, live bool) (serverstore.Entry, bool, error) {
		found = live
		return e, live, nil
	})
	if err == nil && !found {
		return serverstore.ErrNotFound
	}
	return err
}
