// Package sqlitestore is a serverstore.Backend on a SQLite table, through
// database/sql and the pure-Go driver modernc.org/sqlite (no cgo: it
// cross-compiles like the rest of the program). Sessions survive restarts
// and live in one file, which several processes of one host can share.
//
//	db, err := sql.Open("sqlite", "sessions.sqlite") // the driver this package registers
//	...
//	backend, err := sqlitestore.New(ctx, db) // WAL mode; creates the table if missing
//	...
//	defer backend.Close()
//	m := session.New(serverstore.New(backend))
//
// The Backend implements serverstore.UserIndex (ListUser, DestroyUser:
// "log out everywhere") and serverstore.Scanner (All, Count, DestroyAll).
// It is tested with the SQLite that modernc.org/sqlite v1.46 embeds
// (3.51).
//
// # The database handle
//
// New needs no DSN parameter; it sets what it needs itself:
//
//   - The journal mode WAL, which the file keeps, so that reads never wait
//     for a write and a write never waits for reads. WAL needs the
//     processes that share the file on one host (its -wal and -shm files
//     live beside it, and -shm is shared memory): not on a network file
//     system.
//   - The busy timeout of each call's connection: the call waits for the
//     database's write lock, held by another process, until its deadline
//     (WithTimeout, 5 seconds by default) and then fails with SQLite's
//     "database is locked". The driver cannot interrupt that wait, so it
//     is set to end by the deadline; cancelling a context without a
//     deadline does not end it. The connection gets the DSN's busy timeout
//     back afterwards, so the application may share the *sql.DB.
//   - Transactions that begin IMMEDIATE, taking the write lock at once.
//     The writes of one Backend run one at a time, queued in the order
//     they come, each waiting no longer than its context allows: SQLite
//     has one writer at a time anyway, and its own wait for the lock,
//     which polls, can let a writer lose every try when many wait.
//
// The DSN's synchronous setting is left alone: by default (FULL) each
// commit syncs the WAL to disk; with _pragma=synchronous(NORMAL), commits
// only write it, and a power loss (not a crash of the process) may lose
// the last of them. docs/performance.md measures both.
//
// A database in memory needs db.SetMaxOpenConns(1), or each connection
// would have a database of its own; New refuses it otherwise. A read-only
// database (mode=ro in the DSN, or a file the process cannot write) gets a
// Backend that serves reads, fails every write with SQLite's "attempt to
// write a readonly database", and runs no sweeper; a WAL database on a
// read-only disk opens only with immutable=1, since the -shm file cannot
// be made there.
//
// # Schema
//
// New creates this schema unless the table exists (Migrate;
// WithoutMigration leaves it to you), for the table named by WithTable,
// "sessions" by default. The same text is the constant Schema, to copy
// into a migration file, and SchemaFor gives it for another table name:
//
//	CREATE TABLE IF NOT EXISTS "sessions" (
//		"key"     TEXT NOT NULL PRIMARY KEY,
//		"data"    BLOB NOT NULL,
//		"expires" INTEGER NOT NULL,
//		"user_id" TEXT
//	);
//	CREATE INDEX IF NOT EXISTS "sessions_expires_idx" ON "sessions" ("expires");
//	CREATE INDEX IF NOT EXISTS "sessions_user_id_idx" ON "sessions" ("user_id") WHERE "user_id" IS NOT NULL;
//
// A table of that name that exists already must be one the Backend can
// use, or New fails, naming the table, what is wrong with it (a column
// missing or of another type affinity, an index missing or comparing
// with another collation than BINARY) and the fix: drop or rename it, or
// give the Backend another table name.
//
// key is the lowercase hex SHA-256 of a session token, never the token:
// the file, or a copy of it, holds no usable token. It is also what
// serverstore.Info.Handle shows, so a row is found in the sqlite3 shell
// by what the application shows. expires is in microseconds since the
// Unix epoch, UTC: datetime("expires" / 1000000, 'unixepoch') shows it.
// user_id compares byte for byte and is NULL for sessions tagged with no
// user.
//
// # Expiry
//
// A row whose expires has passed is never served, swept or not; expiry is
// judged by the application's clock, passed with each statement, never by
// SQLite's. Every 5 minutes (WithSweepInterval; 0 disables) a goroutine
// deletes expired rows, in transactions of at most 1000 rows
// (WithSweepBatch); Sweep runs the same on demand. Failures are logged
// with log/slog (WithLogger). Close stops the sweeper.
//
// # Consistency
//
// Update applies concurrent changes of one session one after the other
// (an IMMEDIATE transaction; with the hint serverstore passes, a single
// UPDATE that writes only if the row is still the one loaded). Rename,
// used by Renew at login, moves a session to its new key in one
// transaction, and only if the old key is still live. Scan reads in
// keyset pages of 100 rows, never the whole table at once; DeleteAll
// deletes this Backend's table only, in batches.
//
// Errors are prefixed "sqlitestore: " and quote no key or data. The
// reasons for the design are in docs/design.md, "SQL backends".
package sqlitestore
