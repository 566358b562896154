// Package pgstore is a serverstore.Backend on a PostgreSQL table, through
// a github.com/jackc/pgx/v5 pool. Sessions survive restarts and are shared
// by every instance of an application that uses the same database.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL")) // ...?connect_timeout=5
//	...
//	backend, err := pgstore.New(ctx, pool) // creates the table if missing
//	...
//	defer backend.Close()
//	m := session.New(serverstore.New(backend))
//
// The Backend implements serverstore.UserIndex (ListUser, DestroyUser:
// "log out everywhere") and serverstore.Scanner (All, Count, DestroyAll).
//
// # Schema
//
// New creates this schema if the table does not exist (Migrate;
// WithoutMigration leaves it to you), for the table named by WithTable,
// "sessions" by default. The same text is the constant Schema, to copy
// into a migration file, and SchemaFor gives it for another table name:
//
//	CREATE TABLE IF NOT EXISTS "sessions" (
//		key     text COLLATE "C" PRIMARY KEY,
//		data    bytea       NOT NULL,
//		expires timestamptz NOT NULL,
//		user_id text COLLATE "C" NULL
//	);
//	CREATE INDEX IF NOT EXISTS "sessions_expires_idx" ON "sessions" (expires);
//	CREATE INDEX IF NOT EXISTS "sessions_user_id_idx" ON "sessions" (user_id) WHERE user_id IS NOT NULL;
//
// A table of that name that exists already is left as it is, and must be
// one the Backend can use: otherwise New fails, naming the table, what is
// wrong with it (a column missing or of another type, an index missing,
// a view) and the fix: drop or rename it, or give the Backend another
// table name.
//
// key is the lowercase hex SHA-256 of a session token, never the token:
// the table, a replica or a dump of it holds no usable token. It is also
// what serverstore.Info.Handle shows, so a row is found in psql by what
// the application shows. user_id is NULL for sessions tagged with no
// user. User IDs must be valid UTF-8 without NUL bytes, as any text, and
// at most about 2,700 bytes (what a B-tree index entry holds; a longer
// one fails its write).
//
// # Expiry
//
// A row whose expires has passed is never served, swept or not; expiry is
// judged by the application's clock, passed with each statement, never
// by the database's (keep the application's instances on NTP). Every 5
// minutes (WithSweepInterval; 0 disables) a goroutine deletes expired
// rows, in statements of at most 1000 rows (WithSweepBatch); Sweep runs
// the same on demand, and several instances may sweep at once. Failures
// are logged with log/slog (WithLogger). Close stops the sweeper.
//
// # Consistency
//
// Update applies concurrent changes of one session one after the other
// (a transaction that locks the row; with the hint serverstore passes, a
// single UPDATE that writes only if the row is still the one loaded).
// Rename, used by Renew at login, moves a session to its new key in one
// statement, and only if the old key is still live. Scan reads in keyset
// pages of 100 rows, never the whole table at once; DeleteAll deletes
// this Backend's table only, in batches.
//
// # Connections
//
// Every call is bounded by its context and by WithTimeout (5 seconds by
// default): a server that stops answering fails the call, never hangs
// it. Bound connection attempts with connect_timeout in the pool's URL
// as well. Behind PgBouncer in transaction mode, set
// default_query_exec_mode=exec (or simple_protocol) in the URL. Errors
// are prefixed "pgstore: " and quote no key or data.
//
// The reasons for the schema's types, the transactions and the batches
// are in docs/design.md, "SQL backends".
package pgstore
