package express

import (
	"context"
	"fmt"
	"time"
)

// Backend reads and writes session records in the format of one Node
// session store, keyed by express-session's session ID (the sid) as that
// store keys them. This package has three: NewRedis (connect-redis),
// NewPostgres (connect-pg-simple) and NewMongo (connect-mongo). Another
// connect-* store can be shared by implementing it.
//
// data is the session object's JSON, as express-session's
// JSON.stringify writes it and the Node store keeps it; expires is when
// the Node store lets the record expire: what it derives from
// cookie.expires on each save, or from its TTL for a cookie with no
// expiry, and which express-session's touch extends without rewriting
// data. A Backend bounds each call's I/O by a timeout of its own, and
// must be safe for concurrent use.
type Backend interface {
	// Get returns the record stored under sid, and when it expires (zero
	// if the store keeps it with no expiry), or nil data if there is none
	// or it has expired.
	Get(ctx context.Context, sid string) (data []byte, expires time.Time, err error)

	// Set stores data under sid until expires, replacing any record, as
	// the Node store's set does. expires is in the future.
	Set(ctx context.Context, sid string, data []byte, expires time.Time) error

	// Swap stores data under sid until expires only if sid holds, at that
	// moment, a live record whose data is exactly old, as one atomic step;
	// it reports whether it did. A record changed by another writer, or
	// gone, is not an error: Swap returns false.
	Swap(ctx context.Context, sid string, old, data []byte, expires time.Time) (bool, error)

	// Destroy removes the record under sid, if any, and reports whether
	// a live one was there, as one atomic step.
	Destroy(ctx context.Context, sid string) (live bool, err error)

	// TTL is how long the Node store keeps a session whose cookie has no
	// expiry (a browser-session cookie) after each save or touch: its
	// ttl option.
	TTL() time.Duration
}

// DefaultTimeout bounds each call of the backends of this package unless
// WithTimeout says otherwise.
const DefaultTimeout = 5 * time.Second

// The Node stores' own defaults for a session with no cookie expiry.
const (
	DefaultRedisTTL    = 24 * time.Hour      // connect-redis: 86400 s
	DefaultPostgresTTL = 24 * time.Hour      // connect-pg-simple: ONE_DAY
	DefaultMongoTTL    = 14 * 24 * time.Hour // connect-mongo: 1209600 s
)

// A BackendOption configures a backend: each mirrors an option of the Node
// store it reads, and is accepted only by that store's constructor, which
// fails naming an option that belongs to another.
type BackendOption struct {
	name  string
	apply func(*backendConfig)
}

// backendConfig is what the backend options set.
type backendConfig struct {
	ttl        time.Duration
	timeout    time.Duration
	prefix     string // connect-redis
	schema     string // connect-pg-simple
	table      string
	create     bool
	collection string // connect-mongo
}

// WithTTL sets how long the backend keeps a session whose cookie has no
// expiry, as the Node store's ttl option (connect-redis, connect-pg-simple,
// connect-mongo): it must be the same on both sides. A session whose
// cookie has an expiry (express-session's cookie.maxAge) is kept until
// then, on both sides, whatever the TTL.
func WithTTL(d time.Duration) BackendOption {
	return BackendOption{"WithTTL", func(c *backendConfig) { c.ttl = d }}
}

// WithTimeout bounds each call of the backend; DefaultTimeout unless set,
// none if 0 or less.
func WithTimeout(d time.Duration) BackendOption {
	return BackendOption{"WithTimeout", func(c *backendConfig) { c.timeout = d }}
}

// WithPrefix sets the prefix of the Redis keys, connect-redis's prefix
// option ("sess:" by default; "" is a prefix too).
func WithPrefix(prefix string) BackendOption {
	return BackendOption{"WithPrefix", func(c *backendConfig) { c.prefix = prefix }}
}

// WithTable names the PostgreSQL table, connect-pg-simple's tableName
// option ("session" by default).
func WithTable(table string) BackendOption {
	return BackendOption{"WithTable", func(c *backendConfig) { c.table = table }}
}

// WithSchema names the table's schema, connect-pg-simple's schemaName
// option (by default none: the connection's search_path finds the table).
func WithSchema(schema string) BackendOption {
	return BackendOption{"WithSchema", func(c *backendConfig) { c.schema = schema }}
}

// WithCreateTable creates the table if it is missing, as
// connect-pg-simple's createTableIfMissing does, with its schema.
func WithCreateTable() BackendOption {
	return BackendOption{"WithCreateTable", func(c *backendConfig) { c.create = true }}
}

// WithCollection names the MongoDB collection, connect-mongo's
// collectionName option ("sessions" by default).
func WithCollection(name string) BackendOption {
	return BackendOption{"WithCollection", func(c *backendConfig) { c.collection = name }}
}

// configure applies opts over def for the backend constructor named
// ctor, which accepts the options named in allowed.
func configure(ctor string, def backendConfig, opts []BackendOption, allowed ...string) (backendConfig, error) {
	c := def
	for _, o := range opts {
		ok := false
		for _, a := range allowed {
			ok = ok || o.name == a
		}
		if !ok {
			return c, fmt.Errorf("express: %s does not take %s, an option of another backend", ctor, o.name)
		}
		o.apply(&c)
	}
	if c.ttl <= 0 {
		return c, fmt.Errorf("express: %s: WithTTL(%v): the TTL must be positive", ctor, c.ttl)
	}
	return c, nil
}

// bound returns ctx bounded by timeout, if positive.
func bound(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, timeout)
}
