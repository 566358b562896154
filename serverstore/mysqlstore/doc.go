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
// The Backend implements serverstore.UserIndex (ListUser, DestroyUser:
// "log out everywhere") and serverstore.Scanner (All, Count, DestroyAll).
// It is tested with MariaDB 10.11, and uses only long-standing SQL on
// InnoDB, which MySQL 5.7 and 8 have too.
//
// # Schema
//
// New creates this schema unless it exists (Migrate; WithoutMigration
// leaves it to you), for the table named by WithTable, "sessions" by
// default. The same text is the constant Schema, to copy into a migration
// file, and SchemaFor gives it for another table name:
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
// A table of that name that exists already must be one the Backend can
// use, or New fails, naming the table, what is wrong with it (a column
// missing or of another type, an index missing, another engine) and the
// fix: drop or rename it, or give the Backend another table name.
//
// key is the lowercase hex SHA-256 of a session token, never the token:
// the table, a replica or a dump of it holds no usable token. It is also
// what serverstore.Info.Handle shows, so a row is found in the mysql
// client by what the application shows. user_id compares byte for byte
// ("alice" and "Alice" are two users) and is NULL for sessions tagged
// with no user; it holds MaxUserID (255) bytes, and writes of longer ones
// fail with ErrUserIDTooLong. A row travels in one packet, so a session's
// size is bounded by max_allowed_packet, on the server (16 MiB by default
// in MariaDB, 64 MiB in MySQL 8, 4 MiB in 5.7) and in the driver (64
// MiB); 1 MiB sessions are tested.
//
// # Expiry
//
// A row whose expires has passed is never served, swept or not; expiry is
// judged by the application's clock, passed with each statement, never
// by the database's (keep the application's instances on NTP). expires
// holds UTC whatever the DSN's loc and the server's time_zone: to look at
// rows by hand, compare with UTC_TIMESTAMP(6), not NOW(). Every 5 minutes
// (WithSweepInterval; 0 disables) a goroutine deletes expired rows, in
// statements of at most 1000 rows (WithSweepBatch); Sweep runs the same
// on demand. Failures are logged with log/slog (WithLogger). Close stops
// the sweeper.
//
// # Consistency
//
// Update applies concurrent changes of one session one after the other
// (a transaction that locks the row; with the hint serverstore passes, a
// single UPDATE that writes only if the row is still the one loaded).
// Rename, used by Renew at login, moves a session to its new key in one
// transaction, and only if the old key is still live. Scan reads in
// keyset pages of 100 rows, never the whole table at once; DeleteAll
// deletes this Backend's table only, in batches. Transactions run at READ
// COMMITTED, whatever the server's default, which needs a binary log, if
// there is one, in ROW or MIXED format (the defaults of MySQL 8 and
// MariaDB).
//
// # DSN parameters
//
// None is required. These matter:
//
//   - interpolateParams=true is recommended: without it each query with
//     arguments costs a round trip more. It is safe with the default
//     utf8mb4 character set.
//   - timeout bounds dialling. Every call is also bounded by its context
//     and by WithTimeout (5 seconds by default): a server that stops
//     answering fails the call, never hangs it. readTimeout and
//     writeTimeout bound it at the connection level too.
//   - parseTime and loc do not matter: the Backend never reads a time
//     back.
//   - maxAllowedPacket: see above.
//
// Errors are prefixed "mysqlstore: " and quote no key or data. The
// reasons for the schema's types, the transactions and the batches are in
// docs/design.md, "SQL backends".
package mysqlstore
