package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// FindUser implements serverstore.UserIndex: a scan of the user index
// over userID's entries only, in one read transaction.
func (s *Backend) FindUser(ctx context.Context, userID string) (map[string][]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	found := map[string][]byte{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b, ok := s.readBuckets(tx)
		if !ok {
			return nil
		}
		now := now()
		prefix := userPrefix(userID)
		c := b.users.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			key := k[len(prefix):]
			// The index agrees with the entries after every transaction;
			// check anyway, so that an index entry can never show another
			// user's session.
			if v, ok := decode(b.entries.Get(key)); ok && v.live(now) && string(v.user) == userID {
				found[string(key)] = bytes.Clone(v.data)
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("find user", err)
	}
	return found, nil
}

// DeleteUser implements serverstore.UserIndex: every entry tagged with
// userID is deleted, in one transaction.
func (s *Backend) DeleteUser(ctx context.Context, userID string) (int, error) {
	n := 0
	err := s.update(ctx, "delete user", func(b buckets, now uint64) error {
		prefix := userPrefix(userID)
		var index [][]byte
		c := b.users.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			index = append(index, bytes.Clone(k))
		}
		if len(index) == 0 {
			return errNothingToDo
		}
		for _, ik := range index {
			key := ik[len(prefix):]
			if v, ok := decode(b.entries.Get(key)); ok && string(v.user) == userID {
				if v.live(now) {
					n++
				}
				if err := b.remove1(key, v); err != nil {
					return err
				}
			}
			if err := b.users.Delete(ik); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// userPrefix is the prefix of the user index keys of userID. The length
// in front makes it unambiguous whatever bytes user IDs contain: no user's
// prefix is a prefix of another's keys.
func userPrefix(userID string) []byte {
	p := make([]byte, 0, binary.MaxVarintLen64+len(userID)+64)
	p = binary.AppendUvarint(p, uint64(len(userID)))
	return append(p, userID...)
}

func userKey(userID string, key []byte) []byte {
	return append(userPrefix(userID), key...)
}
