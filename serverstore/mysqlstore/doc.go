// Package mysqlstore is a serverstore.Backend on a MySQL or MariaDB
// table, through database/sql and github.com/go-sql-driver/mysql.
// Sessions survive restarts and are shared by every instance of an
// application that uses the same database.
//
//	db, err := sql.Open("mysql", "app:secret@tcp(db:3306)/app?interpolateParams=true&timeout=5s")
//	...
//	backend, err := mysqlstore.New(ctx, db) // creates the table if missing
//	...
//	defer backend.Close()
//	m := session.New(serverstore.New(backend))
//
// It is tested with MariaDB 10.11, and uses only long-standing SQL
// (DATETIME(6), INSERT ... ON DUPLICATE KEY UPDATE, DELETE ... LIMIT,
// SELECT ... FOR UPDATE) on InnoDB, which MySQL 5.7 and 8 have too.
//
// # Schema
//
// New creates this schema unless it exists (Migrate; WithoutMigration
// leaves it to you), for the table named by WithTable, "sessions" by
// default. A table of that name that exists already must be one the
// Store can use, or New fails naming what is wrong with it (a column
// missing or of another type, an index missing): drop or rename it, or
// give the Store another table name. The same text is the constant
// Schema, to copy into a migration file, and SchemaFor gives it for
// another table name:
//
//	CREATE TABLE IF NOT EXISTS `sessions` (
//		`key`     CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
//		`data`    LONGBLOB NOT NULL,
//		`expires` DATETIME(6) NOT NULL,
//		`user_id` VARBINARY(255) NULL,
//		PRIMARY KEY (`key`),
//		KEY `expires_idx` (`expires`),
//		KEY `user_id_idx` (`user_id`)
//	) ENGINE=InnoDB
//
// key is the 64 lowercase hex digits of the SHA-256 of a session token
// (see package serverstore), never the token: the table, a replica or a
// dump of it holds no usable token. It is CHAR(64) rather than the 32 raw
// bytes in BINARY(32): the key is also the handle
// serverstore.Store.ListUser gives out, so a row can be found in the mysql
// client by what the logs and the application show, with no UNHEX(); and
// no key ever needs converting. The cost is 32 bytes more per row in the
// primary key, and in each secondary index, which InnoDB makes carry the
// primary key. The ascii_bin collation makes comparisons plain byte
// comparisons.
//
// data is the serialized record, opaque here. A LONGBLOB holds any size,
// but a row travels in one packet, which max_allowed_packet bounds, on the
// server and in the driver: the server's default is 16 MiB in MariaDB
// 10.2 and later, 64 MiB in MySQL 8 (only 4 MiB in MySQL 5.7), and the
// driver's (DSN parameter maxAllowedPacket) 64 MiB. 1 MiB sessions are
// tested.
//
// user_id is VARBINARY so that user IDs compare byte for byte: under a
// VARCHAR's usual case- and accent-insensitive collation "alice" and
// "Alice" would be one user, and "log out everywhere" would end the
// sessions of both; even a _bin collation pads, making "alice" and
// "alice " one. It is NULL for sessions tagged with no user. It holds
// MaxUserID (255) bytes: writes of longer ones fail with
// ErrUserIDTooLong. Its index serves FindUser and DeleteUser ("log out
// everywhere"); the index on expires serves the sweeper. Index names are per table in MySQL, so they are
// the same for every table.
//
// # Time
//
// expires is a DATETIME(6) holding UTC. The store passes times as
// 'YYYY-MM-DD hh:mm:ss.ffffff' strings it formats in UTC, never as
// time.Time values, so neither the DSN's loc and parseTime parameters nor
// the server's or the session's time_zone can shift them. (A TIMESTAMP
// column would convert with time_zone and ends in 2038.) To look at rows
// by hand, compare with UTC_TIMESTAMP(6), not NOW(). Expiries past the
// year 9999 are stored as its end.
//
// The expiry of a row and the "now" it is compared with both come from
// the application's clock, passed as parameters, never from the
// database's clock: serverstore computes Expires with that clock and
// checks it again on every load, so the database agrees with it to the
// microsecond whatever the skew between the two machines. (With the
// database's clock, one running ahead would end sessions early, one
// running behind would serve rows that serverstore then rejects.)
// Instances of an application whose clocks disagree disagree about expiry
// by as much; keep them on NTP.
//
// # Expiry and the sweeper
//
// Find, FindUser, DeleteUser and Update treat a row whose expires has
// passed as absent, swept or not. A Commit whose Entry has already expired
// deletes the row instead of storing it. Every 5 minutes
// (WithSweepInterval; 0 disables) a goroutine deletes expired rows with
// DELETE ... WHERE expires <= ? LIMIT 1000 (WithSweepBatch) until one
// deletes fewer; Sweep runs the same on demand. Failures are logged with
// log/slog (WithLogger) and the sweeper carries on. Close stops it.
//
// # Transactions
//
// Update (serverstore.Transactor) runs a transaction that locks the row
// with SELECT ... FOR UPDATE while its function runs, so concurrent
// changes of one session are applied one after the other. A session with
// no row gets an expired placeholder row to lock, inserted in the same
// transaction and rolled back if nothing is written, so that concurrent
// Updates of a new key wait for each other too. Rename
// (serverstore.Renamer, used at login by Renew) deletes the old key, if
// live, and upserts the new one in one transaction. Commit is an INSERT ... ON
// DUPLICATE KEY UPDATE.
//
// These transactions, and the sweeper's, run at READ COMMITTED, whatever
// the server's default: at REPEATABLE READ, InnoDB also locks the gaps
// around keys that are missing, and transactions on new keys then
// deadlock with each other's inserts. READ COMMITTED needs a binary log,
// if there is one, in ROW or MIXED format (the defaults of MySQL 8 and
// MariaDB). A transaction the server still aborts as deadlocked is run
// again.
//
// UpdateHinted (serverstore.HintedTransactor), which serverstore calls
// with the record a request loaded, skips the transaction when it can: one
// UPDATE writes the new entry where the row still holds the loaded one,
// so a request that changes its session costs one statement for the write
// instead of a transaction's four or more round trips. If another request
// wrote first, the UPDATE changes nothing and Update runs as above. That
// UPDATE, and every other statement that writes outside a transaction
// (Commit, Delete, DeleteUser), runs at the server's default isolation,
// and is run again if the server aborts it as deadlocked: a user's "log
// out everywhere" can meet saves of other sessions in the gaps of the
// indexes.
//
// # DSN parameters
//
// None is required. These matter:
//
//   - interpolateParams=true is recommended: without it the driver sends
//     each query with arguments as a server-side prepared statement, which
//     costs a round trip more (see the benchmarks: BenchmarkFind runs
//     both ways). It is safe with the default utf8mb4 character set.
//   - timeout (dial), readTimeout and writeTimeout bound a dead server at
//     the connection level; every method also takes a context and gives
//     up when it is done, so an unreachable server gives an error by the
//     context's deadline, never a hang.
//   - parseTime and loc do not matter: the store never reads a time back.
//   - maxAllowedPacket, see above.
//
// Errors are prefixed "mysqlstore: " and quote no key or data.
package mysqlstore
