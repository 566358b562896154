// Package sqlstore is what the SQL backends (pgstore, mysqlstore,
// sqlitestore) share beyond their SQL text and their driver: their
// configuration and its checks, table name validation, Core (every method
// of the backends, on a dialect's statements and a DB that runs them),
// the expiry sweeper, the retry of transactions the server aborted, the
// clamping of expiry times, and the judging of an existing table
// (schema.go).
//
// A dialect supplies a Dialect (its statements, how it passes times,
// which errors are worth a retry) and a DB: its own on its driver (pgx),
// or SQLDB on a database/sql handle. A dialect on database/sql (MySQL,
// SQLite) needs no code of its own beyond its SQL, its schema, its
// catalog queries, and the settings of SQLDB (SQLite's: the busy timeout
// of each call, IMMEDIATE transactions, one writer at a time).
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultTable         = "sessions"
	DefaultSweepInterval = 5 * time.Minute
	DefaultSweepBatch    = 1000
	DefaultTimeout       = 5 * time.Second
)

// Config is what the options of pgstore, mysqlstore and sqlitestore set.
type Config struct {
	Table         string        // table name, optionally qualified: "sessions", "app.sessions"
	SweepInterval time.Duration // 0: no sweeper
	SweepBatch    int           // rows deleted per statement by a sweep
	Logger        *slog.Logger  // where the sweeper reports failures
	Migrate       bool          // New creates the schema
	Timeout       time.Duration // bound of each call (see Bound); 0 or less: none
}

// NewConfig returns the default configuration.
func NewConfig() Config {
	return Config{
		Table:         DefaultTable,
		SweepInterval: DefaultSweepInterval,
		SweepBatch:    DefaultSweepBatch,
		Migrate:       true,
		Timeout:       DefaultTimeout,
	}
}

// Bound returns ctx bounded by c.Timeout, if it is positive, and the
// function that releases it: every call of a backend runs under it, so
// that a server that stops answering fails the call after Timeout even
// when the caller's context has no deadline (the Store and the Manager
// set none). An earlier deadline of ctx still applies.
func (c *Config) Bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.Timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.Timeout)
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
