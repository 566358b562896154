// Package pgstore is a serverstore.Backend on a PostgreSQL table, through
// a github.com/jackc/pgx/v5 pool. Sessions survive restarts and are shared
// by every instance of an application that uses the same database.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	...
//	backend, err := pgstore.New(ctx, pool) // creates the table if missing
//	...
//	defer backend.Close()
//	m := session.New(serverstore.New(backend))
//
// # Schema
//
// New creates this schema unless it exists (Migrate; WithoutMigration
// leaves it to you), for the table named by WithTable, "sessions" by
// default. The same text is the constant Schema, to copy into a migration
// file, and SchemaFor gives it for another table name:
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
// key is the 64 lowercase hex digits of the SHA-256 of a session token
// (see package serverstore), never the token: the table, a replica or a
// dump of it holds no usable token. It is text rather than the 32 raw
// bytes in bytea: the key is also the handle serverstore.Store.ListUser
// gives out, so a row can be found in psql by what the logs and the
// application show, with no decode(..., 'hex'); and no key ever needs
// converting. The cost, 32 bytes more per row in the table and its primary
// key, is small beside a session's data. COLLATE "C" makes the key and
// user comparisons plain byte comparisons, whatever the database's
// default collation: faster, and never locale-dependent.
//
// data is the serialized record, opaque here; values of 1 MiB and more
// are fine (PostgreSQL moves large values out of line and compresses
// them). user_id is NULL for sessions tagged with no user, so the partial
// index on it holds tagged sessions only; it serves FindUser and
// DeleteUser ("log out everywhere"). The index on expires serves the
// sweeper. User IDs must be valid UTF-8 without NUL bytes, as any text,
// and at most about 2,700 bytes, the most a B-tree index entry holds: a
// longer one fails the write with PostgreSQL's "index row size" error.
//
// # Time
//
// The expiry of a row and the "now" it is compared with both come from
// the application's clock, passed as parameters, never from the
// database's now(): serverstore computes Expires with that clock and
// checks it again on every load, so the database agrees with it to the
// microsecond whatever the skew between the two machines. (With now(), a
// database clock running ahead would end sessions early, one running
// behind would serve rows that serverstore then rejects.) Instances of an
// application whose clocks disagree disagree about expiry by as much;
// keep them on NTP. timestamptz stores an instant, so neither the server's
// nor the session's TimeZone matters. Expiries past the year 9999 are
// stored as its end.
//
// # Expiry and the sweeper
//
// Find, FindUser, DeleteUser and Update treat a row whose expires has
// passed as absent, swept or not. A Commit whose Entry has already expired
// deletes the row instead of storing it. Every 5 minutes
// (WithSweepInterval; 0 disables) a goroutine deletes expired rows, in
// statements of at most 1000 rows (WithSweepBatch) until one deletes
// fewer; Sweep runs the same on demand. The batches use FOR UPDATE SKIP
// LOCKED, so several instances sweeping at once, or a sweep meeting an
// Update, never wait for each other. Failures are logged with log/slog
// (WithLogger) and the sweeper carries on. Close stops it. A table that
// sees many sessions expire is a heavy-delete table: autovacuum's defaults
// cope, but watch its bloat if you tune autovacuum down.
//
// # Transactions
//
// Update (serverstore.Transactor) runs a READ COMMITTED transaction that
// locks the row with SELECT ... FOR UPDATE while its function runs, so
// concurrent changes of one session are applied one after the other. A
// session with no row gets an expired placeholder row to lock, inserted in
// the same transaction and rolled back if nothing is written, so that
// concurrent Updates of a new key wait for each other too. A transaction
// the server aborts with a deadlock or serialization failure is run again,
// and so is a statement that writes on its own (Commit, Delete,
// DeleteUser, Rename) and is aborted as deadlocked.
//
// UpdateHinted (serverstore.HintedTransactor), which serverstore calls
// with the record a request loaded, skips the transaction when it can: one
// UPDATE writes the new entry where the row still holds the loaded one,
// so a request that changes its session costs one statement for the write
// instead of four round trips. If another request wrote first, the UPDATE
// changes nothing and Update runs as above.
//
// Rename (serverstore.Renamer, used at login by Renew) is a single
// statement, a DELETE of the old key in a CTE and an upsert of the new
// one if the deleted row was live, so atomic without a transaction. Commit is an INSERT ... ON
// CONFLICT DO UPDATE.
//
// # Connections
//
// Every method takes a context and gives up when it is done: an
// unreachable server gives an error by the context's deadline, never a
// hang. Bound connection attempts with connect_timeout in the pool's URL
// as well. The pool's default statement cache is used, so each query is
// prepared once per connection; behind PgBouncer in transaction mode use
// default_query_exec_mode=exec (or simple_protocol) in the URL. Errors are
// prefixed "pgstore: " and quote no key or data.
package pgstore
