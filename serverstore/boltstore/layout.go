package boltstore

import (
	"bytes"
	"encoding/binary"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/go-sealed/session/serverstore"
)

// Names inside the top-level bucket.
var (
	entriesName = []byte("entries")
	expiryName  = []byte("expiry")
	usersName   = []byte("users")
	versionName = []byte("version")

	// formatVersion is the version of the layout docs/design.md describes
	// (the bolt section): a change to the layout takes a new one, which
	// older versions of the package refuse with ErrForeignBucket.
	formatVersion = []byte{1}
)

// buckets are the three buckets of a Backend in one transaction.
type buckets struct {
	entries *bolt.Bucket // key → stored entry (see encode)
	expiry  *bolt.Bucket // expires (8 bytes, big endian) + key → empty
	users   *bolt.Bucket // uvarint(len(user)) + user + key → empty
}

// readBuckets returns the Backend's buckets in tx, and false if they do not
// exist (a read-only file where no Backend ever wrote).
func (c *core) readBuckets(tx *bolt.Tx) (buckets, bool) {
	top := tx.Bucket(c.bucket)
	if top == nil {
		return buckets{}, false
	}
	b := buckets{top.Bucket(entriesName), top.Bucket(expiryName), top.Bucket(usersName)}
	return b, b.entries != nil && b.expiry != nil && b.users != nil
}

// writeBuckets returns the Backend's buckets in tx, a write transaction,
// creating what is missing.
func (c *core) writeBuckets(tx *bolt.Tx) (buckets, error) {
	top := tx.Bucket(c.bucket)
	if top == nil {
		var err error
		if top, err = tx.CreateBucket(c.bucket); err != nil {
			return buckets{}, err
		}
		if err = top.Put(versionName, formatVersion); err != nil {
			return buckets{}, err
		}
	} else if err := checkVersion(top); err != nil {
		return buckets{}, err
	}
	var b buckets
	for _, sub := range []struct {
		b    **bolt.Bucket
		name []byte
	}{{&b.entries, entriesName}, {&b.expiry, expiryName}, {&b.users, usersName}} {
		if *sub.b = top.Bucket(sub.name); *sub.b == nil {
			var err error
			if *sub.b, err = top.CreateBucket(sub.name); err != nil {
				return buckets{}, err
			}
		}
	}
	return b, nil
}

func checkVersion(top *bolt.Bucket) error {
	if !bytes.Equal(top.Get(versionName), formatVersion) {
		return ErrForeignBucket
	}
	return nil
}

// find returns a copy of the data of the live entry under key.
func (b buckets) find(key []byte, now uint64) ([]byte, bool) {
	v, ok := decode(b.entries.Get(key))
	if !ok || !v.live(now) {
		return nil, false
	}
	return append([]byte{}, v.data...), true
}

// put stores e under key with its index entries, replacing the entry
// there and its index entries; an expired e deletes key.
func (b buckets) put(key []byte, e serverstore.Entry, now uint64) error {
	exp := expiresOf(e.Expires)
	old, had := decode(b.entries.Get(key))
	if exp <= now {
		if had {
			return b.remove1(key, old)
		}
		return b.entries.Delete(key) // anything undecodable too
	}
	value := encode(exp, e.UserID, e.Data)
	// old points into the transaction's pages: copy what is needed of it
	// before changing anything.
	oldUser := string(old.user)
	if had {
		// The old index entries go, unless they are the new ones.
		if old.expires != exp {
			if err := b.expiry.Delete(expiryKey(old.expires, key)); err != nil {
				return err
			}
		}
		if oldUser != "" && oldUser != e.UserID {
			if err := b.users.Delete(userKey(oldUser, key)); err != nil {
				return err
			}
		}
	}
	if err := b.entries.Put(key, value); err != nil {
		return err
	}
	if !had || old.expires != exp {
		if err := b.expiry.Put(expiryKey(exp, key), []byte{}); err != nil {
			return err
		}
	}
	if e.UserID != "" && (!had || oldUser != e.UserID) {
		if err := b.users.Put(userKey(e.UserID, key), []byte{}); err != nil {
			return err
		}
	}
	return nil
}

// remove deletes key and its index entries, and reports whether there was
// anything to delete and whether it was a live entry at now.
func (b buckets) remove(key []byte, now uint64) (removed, live bool, err error) {
	raw := b.entries.Get(key)
	if raw == nil {
		return false, false, nil
	}
	if v, ok := decode(raw); ok {
		return true, v.live(now), b.remove1(key, v)
	}
	return true, false, b.entries.Delete(key) // undecodable: it has no index entries to find
}

// remove1 deletes key, stored as v, and its index entries. bolt's Delete
// fails only on a read-only transaction or a key that names a bucket,
// which cannot happen here; the errors are passed on all the same.
func (b buckets) remove1(key []byte, v stored) error {
	// v points into the transaction's pages: make the index keys first.
	ek := expiryKey(v.expires, key)
	var uk []byte
	if len(v.user) > 0 {
		uk = userKey(string(v.user), key)
	}
	if err := b.entries.Delete(key); err != nil {
		return err
	}
	if err := b.expiry.Delete(ek); err != nil {
		return err
	}
	if uk != nil {
		return b.users.Delete(uk)
	}
	return nil
}

// stored is an entry as decoded from the entries bucket. user and data
// point into the transaction's pages: valid only inside it.
type stored struct {
	expires uint64
	user    []byte
	data    []byte
}

func (v stored) live(now uint64) bool {
	return now < v.expires
}

// encode lays out an entry: expires (Unix nanoseconds, 8 bytes big
// endian), the user ID's length (uvarint), the user ID, then the data.
func encode(expires uint64, user string, data []byte) []byte {
	b := make([]byte, 0, 8+binary.MaxVarintLen64+len(user)+len(data))
	b = binary.BigEndian.AppendUint64(b, expires)
	b = binary.AppendUvarint(b, uint64(len(user)))
	b = append(b, user...)
	return append(b, data...)
}

// decode parses what encode made; false for nil or anything malformed.
func decode(raw []byte) (stored, bool) {
	if len(raw) < 9 {
		return stored{}, false
	}
	n, w := binary.Uvarint(raw[8:])
	if w <= 0 || n > uint64(len(raw)-8-w) {
		return stored{}, false
	}
	rest := raw[8+w:]
	return stored{
		expires: binary.BigEndian.Uint64(raw),
		user:    rest[:n],
		data:    rest[n:],
	}, true
}

// expiryKey is the expiry index key of key expiring at expires: in byte
// order, the order of expiry.
func expiryKey(expires uint64, key []byte) []byte {
	k := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(k, expires)
	return append(k, key...)
}

// expiryOf is the expiry of an expiry index key; 0 (long past) for a
// malformed one, so that the sweeper drops it.
func expiryOf(ik []byte) uint64 {
	if len(ik) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(ik)
}

// now is the current time in Unix nanoseconds.
func now() uint64 {
	return uint64(time.Now().UnixNano())
}

// expiresOf is t in Unix nanoseconds, clamped to what they can hold: the
// zero time and anything before 1970 are long past, anything after 2262
// is as late as can be.
func expiresOf(t time.Time) uint64 {
	switch {
	case t.Before(unixEpoch):
		return 0
	case t.After(maxTime):
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

var (
	unixEpoch = time.Unix(0, 0)
	maxTime   = time.Unix(0, math.MaxInt64)
)
