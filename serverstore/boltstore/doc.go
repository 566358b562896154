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
// # One process at a time
//
// bolt locks the file for as long as it is open, so only one process can
// use it: a second one waits for the lock (DefaultOpenTimeout, see
// WithOpenTimeout) and then fails with ErrLocked. For sessions shared by
// several processes or machines, use redisstore, pgstore or mysqlstore.
// Opening a file with bolt.Options.ReadOnly (WithBoltOptions) takes a
// shared lock instead: several read-only Stores can read it at once, but
// not while a writer has it open.
//
// An application that already keeps its own data in bolt can give its
// *bolt.DB to OpenDB: the sessions then live in a bucket of their own
// (WithBucket) beside the application's.
//
// # Layout
//
// Everything lives under one top-level bucket, "sessions" by default,
// holding a format version and three buckets, all changed together in
// each write transaction:
//
//   - entries: key → expiry (Unix nanoseconds, 8 bytes big endian), the
//     user ID (its length as a uvarint, then its bytes) and the data.
//   - expiry: expiry (8 bytes big endian) + key → empty. In key order, the
//     entries in order of expiry: the sweeper reads them from the start
//     and stops at the first one still live, never scanning the rest.
//   - users: the user ID's length (uvarint) + user ID + key → empty, for
//     the entries tagged with a user. The keys of one user are adjacent:
//     FindUser and DeleteUser read only theirs. The length in front keeps
//     user IDs apart whatever bytes they contain. A bolt key holds at
//     most 32 KiB, so a user ID longer than about 32,700 bytes fails the
//     write with bolt's "key too large".
//
// Keys are the 64 hex characters serverstore derives from a token, never
// the token itself.
//
// # Expiry
//
// An expired entry is never returned, swept or not: Find compares its
// expiry with the clock. An entry committed with an Expires already past
// is not stored; its key is deleted. A sweeper goroutine removes expired
// entries every minute (WithSweepInterval), in transactions of at most
// 1000 entries (WithSweepBatch), so that writers never wait long for it; a
// sweep that finds nothing expired reads one key of the index and writes
// nothing. Sweep runs one by hand.
//
// # Transactions and durability
//
// Every write (Commit, Delete, Update, Rename, DeleteUser) is one bolt
// write transaction, synced to disk before it returns (unless
// bolt.Options.NoSync is set), so a crash loses no acknowledged session
// and never leaves a half-written one. bolt runs one write transaction at
// a time: Update's function runs inside it, atomically with the read and
// the write, and so do Rename's delete and write. Writes that change
// nothing (Delete of a missing key, Update whose function writes nothing)
// are rolled back and cost no sync. Reads run in parallel with each other
// and with the writer.
//
// A write that fails (a full disk, a read-only file, an I/O error)
// returns an error and leaves the file as it was before that transaction.
// The errors come from bolt and the operating system, wrapped with the
// operation ("boltstore: commit: ..."); they never quote keys or data.
//
// # Contexts
//
// Every method returns the context's error without touching the file if
// the context is done when it is called. A write also checks it again once
// it holds bolt's write lock, and writes nothing if it ended meanwhile.
// Beyond that bolt cannot be interrupted: a call waiting for the write lock
// or for the disk to sync finishes that wait, however long, before it
// returns.
//
// # Closing
//
// Close stops the sweeper and closes the file (a Store from OpenDB leaves
// its *bolt.DB open). Every method of a closed Store returns ErrClosed. A
// Store dropped without Close stops its sweeper when it is garbage
// collected, but its file stays open, and locked, until the process
// exits.
package boltstore
