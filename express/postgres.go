package express

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the Backend of connect-pg-simple 10's records: a row of its
// table ("session" by default) per session, with the sid, the session
// object's JSON in sess (a json column, which keeps the text as written)
// and the expiry in expire, which connect-pg-simple sets from
// cookie.expires, or its ttl option, on each save, and renews on each
// touch. Make one with NewPostgres.
//
// expire is a timestamp without time zone, which connect-pg-simple writes
// as to_timestamp(seconds) converted to the connection's TimeZone, and
// compares the same way: the two apps' connections must use the same
// TimeZone (the server's default, unless PGTZ or a connection option sets
// another).
type Postgres struct {
	pool  *pgxpool.Pool
	cfg   backendConfig
	table string // quoted, with its schema if any
}

var _ Backend = (*Postgres)(nil)

// NewPostgres returns the Backend of connect-pg-simple's records on pool.
// It takes WithTable, WithSchema, WithCreateTable, WithTTL and
// WithTimeout, connect-pg-simple's tableName, schemaName,
// createTableIfMissing and ttl options and a bound on each call. It checks
// that the table exists, or creates it with WithCreateTable; a missing
// table is an error, naming the schema connect-pg-simple documents
// (PostgresSchema).
func NewPostgres(ctx context.Context, pool *pgxpool.Pool, opts ...BackendOption) (*Postgres, error) {
	if pool == nil {
		return nil, errors.New("express: NewPostgres called with a nil pool")
	}
	cfg, err := configure("NewPostgres", backendConfig{table: "session", ttl: DefaultPostgresTTL, timeout: DefaultTimeout},
		opts, "WithTable", "WithSchema", "WithCreateTable", "WithTTL", "WithTimeout")
	if err != nil {
		return nil, err
	}
	if cfg.table == "" {
		return nil, errors.New("express: NewPostgres: WithTable: empty table name")
	}
	id := pgx.Identifier{cfg.table}
	if cfg.schema != "" {
		id = pgx.Identifier{cfg.schema, cfg.table}
	}
	p := &Postgres{pool: pool, cfg: cfg, table: id.Sanitize()}
	ctx, cancel := bound(ctx, cfg.timeout)
	defer cancel()
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, p.table).Scan(&exists); err != nil {
		return nil, fmt.Errorf("express: NewPostgres: %w", err)
	}
	switch {
	case exists:
	case cfg.create:
		if _, err := pool.Exec(ctx, p.schema()); err != nil {
			return nil, fmt.Errorf("express: NewPostgres: creating table %s: %w", p.table, err)
		}
	default:
		return nil, fmt.Errorf("express: NewPostgres: table %s does not exist: create it as connect-pg-simple's table.sql does (express.PostgresSchema), or with WithCreateTable", p.table)
	}
	return p, nil
}

// PostgresSchema is connect-pg-simple's table.sql, the table its README
// has users create, for the table "session". NewPostgres with
// WithCreateTable creates the same table under its own name, with its
// index names derived from that name (connect-pg-simple's
// createTableIfMissing keeps "session_pkey" and "IDX_session_expire",
// which collide for a second table in one schema).
const PostgresSchema = `CREATE TABLE "session" (
  "sid" varchar NOT NULL COLLATE "default",
  "sess" json NOT NULL,
  "expire" timestamp(6) NOT NULL
)
WITH (OIDS=FALSE);

ALTER TABLE "session" ADD CONSTRAINT "session_pkey" PRIMARY KEY ("sid") NOT DEFERRABLE INITIALLY IMMEDIATE;

CREATE INDEX "IDX_session_expire" ON "session" ("expire");`

// schema is PostgresSchema for p's table, made idempotent, so that two
// processes starting at once both succeed.
func (p *Postgres) schema() string {
	index := pgx.Identifier{"IDX_" + p.cfg.table + "_expire"}.Sanitize()
	return `CREATE TABLE IF NOT EXISTS ` + p.table + ` (
  "sid" varchar NOT NULL COLLATE "default" PRIMARY KEY,
  "sess" json NOT NULL,
  "expire" timestamp(6) NOT NULL
);
CREATE INDEX IF NOT EXISTS ` + index + ` ON ` + p.table + ` ("expire")`
}

// epoch is t as to_timestamp takes it: seconds since 1970, to the
// millisecond, which a float64 holds exactly enough.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// Get implements Backend with one SELECT, filtered on the expiry as
// connect-pg-simple's get filters it.
func (p *Postgres) Get(ctx context.Context, sid string) ([]byte, time.Time, error) {
	ctx, cancel := bound(ctx, p.cfg.timeout)
	defer cancel()
	var data string
	var expires time.Time
	err := p.pool.QueryRow(ctx, `SELECT sess::text, expire::timestamptz FROM `+p.table+
		` WHERE sid = $1 AND expire >= to_timestamp($2::float8)`, sid, epoch(time.Now())).Scan(&data, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	return []byte(data), expires, nil
}

// Set implements Backend with connect-pg-simple's upsert.
func (p *Postgres) Set(ctx context.Context, sid string, data []byte, expires time.Time) error {
	ctx, cancel := bound(ctx, p.cfg.timeout)
	defer cancel()
	_, err := p.pool.Exec(ctx, `INSERT INTO `+p.table+` (sess, expire, sid) VALUES ($1::text::json, to_timestamp($2::float8), $3)
		ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expire = excluded.expire`, string(data), epoch(expires), sid)
	return err
}

// Swap implements Backend with one UPDATE, conditional on the stored text
// (a json column keeps it as written) and on the row being live.
func (p *Postgres) Swap(ctx context.Context, sid string, old, data []byte, expires time.Time) (bool, error) {
	ctx, cancel := bound(ctx, p.cfg.timeout)
	defer cancel()
	tag, err := p.pool.Exec(ctx, `UPDATE `+p.table+` SET sess = $1::text::json, expire = to_timestamp($2::float8)
		WHERE sid = $3 AND sess::text = $4::text AND expire >= to_timestamp($5::float8)`,
		string(data), epoch(expires), sid, string(old), epoch(time.Now()))
	return tag.RowsAffected() == 1, err
}

// Destroy implements Backend with one DELETE, which returns the row's
// expiry to tell whether it was live.
func (p *Postgres) Destroy(ctx context.Context, sid string) (bool, error) {
	ctx, cancel := bound(ctx, p.cfg.timeout)
	defer cancel()
	var expires time.Time
	err := p.pool.QueryRow(ctx, `DELETE FROM `+p.table+` WHERE sid = $1 RETURNING expire::timestamptz`, sid).Scan(&expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil && time.Now().Before(expires), err
}

// TTL implements Backend: connect-pg-simple's ttl option.
func (p *Postgres) TTL() time.Duration { return p.cfg.ttl }

// Prune deletes the expired rows and returns how many, as
// connect-pg-simple's pruneSessions does every 15 minutes. While the
// Express app runs, its store prunes; a Go app that shares the table
// without one should call Prune now and then. Expired rows are never
// served meanwhile.
func (p *Postgres) Prune(ctx context.Context) (int64, error) {
	ctx, cancel := bound(ctx, p.cfg.timeout)
	defer cancel()
	tag, err := p.pool.Exec(ctx, `DELETE FROM `+p.table+` WHERE expire < to_timestamp($1::float8)`, epoch(time.Now()))
	if err != nil {
		return 0, fmt.Errorf("express: prune: %w", err)
	}
	return tag.RowsAffected(), nil
}
