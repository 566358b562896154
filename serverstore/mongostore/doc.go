// Package mongostore is a serverstore.Backend on a MongoDB collection,
// through the official driver, go.mongodb.org/mongo-driver/v2. Sessions
// survive restarts and are shared by every instance of an application
// that uses the same database.
//
//	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://db:27017"))
//	...
//	backend, err := mongostore.New(ctx, client.Database("app")) // creates its indexes if missing
//	...
//	defer backend.Close()
//	m := session.New(serverstore.New(backend))
//
// The Backend implements serverstore.UserIndex (ListUser, DestroyUser:
// "log out everywhere") and serverstore.Scanner (All, Count, DestroyAll).
//
// # Documents and indexes
//
// One document per session, in the collection named by WithCollection
// ("sessions" by default):
//
//	{_id: <key>, data: BinData, expires: Date, user: "<user ID>", version: BinData}
//
// _id is the lowercase hex SHA-256 of the session token, never the token:
// the collection, a replica or a dump holds no usable token. It is also
// what serverstore.Info.Handle shows, so a document is found in mongosh
// by what the application shows. user is absent for sessions tagged with
// no user; user IDs must be valid UTF-8. version is a digest of data,
// user and expires, for Update's compare-and-set. New creates two indexes
// if missing, and fails, naming the index, if one of the same name or
// keys differs:
//
//	{user: 1}     named "user", sparse: "log out everywhere" is one deleteMany
//	{expires: 1}  named "expires", a TTL index with expireAfterSeconds 0
//
// # Expiry
//
// A session is never served after its expires, by the application's
// clock (keep the instances on NTP), whether or not the server has
// deleted it yet: single reads check the date they read, and queries of
// many filter on it. Where the server has TTL indexes (MongoDB), it
// deletes expired sessions itself, within a minute or so. Where it
// refuses them as not implemented (FerretDB 1.x), New makes the expires
// index a plain one and starts a goroutine that deletes expired documents
// every 5 minutes (WithSweepInterval; 0 disables; Sweep runs the same on
// demand); Close stops it, and failures are logged with log/slog
// (WithLogger).
//
// # Consistency
//
// Find is one find by _id; Commit one replace with upsert. Update is a
// compare-and-set on the version field: a replace filtered on _id and
// the version read, retried on conflict up to WithMaxRetries times (then
// serverstore.ErrConflict). With the hint serverstore.Store passes, the
// version is known without a read, so a request that changes its session
// costs one find to load it and one replace to save it.
//
// Rename, used by Renew at login, uses no transaction: it writes the new
// key, then deletes the old one, and if the old one was not live deletes
// the new one again and returns serverstore.ErrNotFound, so one of the
// two is live at every moment and a DestroyUser racing a renewal finds
// it.
//
// On FerretDB 1.x, whose writes check their filter apart from the write
// (two compare-and-sets of one version can both succeed), the Backend
// detects the server at New and takes a lock of the session for each
// Update, and each upsert of Commit and Rename, kept in the collection
// "<collection>.locks", so that the writes of any number of processes to
// one session are applied one after the other. An Update there costs
// four round trips (lock, read, write, unlock). A lock left by a process
// that lost the server blocks its session for at most four times the
// timeout (WithTimeout; two minutes with none).
//
// Scan goes through one cursor, 100 documents a batch, along the _id
// index, never the whole collection at once; Count is a countDocuments,
// DeleteAll a deleteMany of this collection only.
//
// # Timeouts and reads
//
// Every call is bounded by its context and by WithTimeout (5 seconds by
// default; each batch of a Scan by as much): a server that stops
// answering fails the call, never hangs it. The driver also sends the
// remaining time as each command's maxTimeMS. Bound connection attempts
// with the client's connectTimeoutMS and serverSelectionTimeoutMS as
// well. The Backend reads from the primary whatever the database's read
// preference, and writes with the database's write concern (MongoDB's
// default, majority, keeps a session through a failover).
//
// Errors are prefixed "mongostore: ", name the operation, and carry the
// driver's error (for errors.Is and errors.As), but of a server's reply
// only its error codes: a server's messages may quote a key.
//
// # Servers
//
// The tests, CI and the demo run against FerretDB 1.24 (embedded, SQLite
// backend; scripts/mongo.sh starts it): every behaviour above is tested
// there, with the sweeper and the lock, and compare-and-set without the
// lock where nothing runs concurrently. Designed for MongoDB but not
// tested against it here: the TTL index (and running without sweeper and
// lock), and compare-and-set under concurrent writers. No transactions
// are used, so a standalone server will do. The reasons
// for the design, and what FerretDB 1.24 lacks, are in docs/design.md,
// "MongoDB".
package mongostore
