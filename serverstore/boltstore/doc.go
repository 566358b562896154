// Package boltstore is a serverstore.Backend in a single file, using
// bbolt (go.etcd.io/bbolt): sessions that survive a restart of a
// single-server application without a database server to run.
//
//	b, err := boltstore.Open("sessions.db")
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer b.Close()
//	m := session.New(serverstore.New(b))
//
// A Backend implements serverstore.Backend, serverstore.UserIndex (list a
// user's sessions, log them out everywhere) and serverstore.Scanner
// (serverstore.Store's All, Count and DestroyAll). How it lays the
// sessions out in the file is described in docs/design.md.
//
// # One process at a time
//
// bolt locks the file for as long as it is open, so only one process can
// use it: a second one waits for the lock (DefaultOpenTimeout, see
// WithOpenTimeout) and then fails with ErrLocked. For sessions shared by
// several processes or machines, use redisstore, pgstore or mysqlstore.
// Opening a file with bolt.Options.ReadOnly (WithBoltOptions) takes a
// shared lock instead: several read-only Backends can read it at once,
// but not while a writer has it open.
//
// An application that already keeps its own data in bolt can give its
// *bolt.DB to OpenDB: the sessions then live in a top-level bucket of
// their own (WithBucket, "sessions" by default) beside the application's,
// which the Backend never reads or changes. Open and OpenDB refuse, with
// ErrForeignBucket, a bucket of that name that this package did not make.
//
// Keys are the 64 hex characters serverstore derives from a token, never
// the token itself. User IDs are stored as they are. A user ID longer than
// about 32,700 bytes (bolt's limit on a key, less the session key) fails
// the write with bolt's "key too large".
//
// # Expiry
//
// An expired entry is never returned, by any method, swept or not: every
// read compares its expiry with the clock. An entry committed with an
// Expires already past is not stored; its key is deleted. A sweeper
// goroutine removes expired entries every minute (WithSweepInterval), in
// write transactions of at most 1000 entries (WithSweepBatch), so that
// other writers never wait long for it; a sweep with nothing to remove
// writes nothing. Sweep runs one by hand.
//
// # Transactions and durability
//
// Every write (Commit, Delete, Update, Rename, DeleteUser, and each batch
// of DeleteAll) is one bolt write transaction, synced to disk before it
// returns (unless bolt.Options.NoSync is set), so a crash loses no
// acknowledged session and never leaves a half-written one. bolt runs one
// write transaction at a time: Update's function runs inside it,
// atomically with the read and the write, and must be quick; Update
// ignores its hint, since reading the entry costs no round trip. Rename
// deletes the old key and writes the new one in one transaction. Reads
// run in parallel with each other and with the writer.
//
// A write that fails (a full disk, a read-only file, an I/O error)
// returns an error and leaves the file as it was before that transaction.
// The errors come from bolt and the operating system, wrapped with the
// operation ("boltstore: commit: ..."); they never quote keys or data.
//
// # Store-wide operations
//
// Scan, Count and DeleteAll go through the sessions in key order in
// batches, each in a short transaction of its own, so that none holds the
// file for long, whatever the number of sessions: Scan copies at most 100
// sessions (and about 1 MiB of data) out of each read transaction and
// yields them once it has ended, so the loop's body may call the Backend;
// Count counts 10,000 per read transaction; DeleteAll deletes 1,000 per
// write transaction, with their user-index entries. Each batch resumes
// after the last key of the one before, so no session is yielded or
// counted twice; a session written or deleted meanwhile may be seen or
// not. Scan and Count never count an expired session; DeleteAll deletes
// expired ones too, and returns how many live ones it deleted.
//
// # Contexts
//
// Every method returns the context's error without touching the file if
// the context is done when it is called, and the store-wide ones check it
// again before each batch. A write also checks it once it holds bolt's
// write lock, and writes nothing if it ended meanwhile. Beyond that bolt
// cannot be interrupted: a call waiting for the write lock or for the disk
// to sync finishes that wait, however long, before it returns. The file is
// local, so the Backend sets no timeout of its own.
//
// # Closing
//
// Close stops the sweeper and closes the file (a Backend from OpenDB
// leaves its *bolt.DB open). Every method of a closed Backend returns
// ErrClosed, and so does a Scan under way at its next batch. A Backend
// dropped without Close stops its sweeper when it is garbage collected,
// but its file stays open, and locked, until the process exits.
package boltstore
