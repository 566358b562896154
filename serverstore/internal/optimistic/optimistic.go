// Package optimistic holds what the backends that update by
// compare-and-set (redisstore, mongostore) share: the version of an entry,
// the pause between attempts, and the error that carries fn's through.
package optimistic

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"time"
)

// Version is the version of an entry storing data, user and expiry ms (Unix
// milliseconds): a digest of all three. Any write that changes the session
// changes its version, and a caller that knows what a session holds (a
// hint) knows its version without reading it. Two writes of exactly the
// same entry give the same version, which is harmless: an update that
// read the first is as right on top of the second.
func Version(data []byte, user string, ms int64) [16]byte {
	h := sha256.New()
	var n [16]byte
	binary.BigEndian.PutUint64(n[:8], uint64(ms))
	binary.BigEndian.PutUint64(n[8:], uint64(len(user)))
	h.Write(n[:])
	h.Write([]byte(user))
	h.Write(data)
	var sum [sha256.Size]byte
	return [16]byte(h.Sum(sum[:0])[:16])
}

// Pause sleeps between attempts of an optimistic update, the attempt-th
// time: a random time below a bound that doubles every time, from 1 ms up
// to 128 ms, so that contending writers spread out (waiting longer proved
// to need fewer attempts, and less time, than retrying hot). It returns
// ctx's error if ctx ends first.
func Pause(ctx context.Context, attempt int) error {
	t := time.NewTimer(rand.N(time.Millisecond << min(attempt, 7)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Eager is how many times an update retries at once, before Backoff
// starts to pause between attempts.
const Eager = 3

// Backoff is called before the attempt-th retry of an update (from 0): for
// the first Eager it returns at once, then it pauses (see Pause) and
// reports that it did, so that the caller reads the entry afresh. It
// returns ctx's error if ctx ends first.
func Backoff(ctx context.Context, attempt int) (paused bool, err error) {
	if attempt < Eager {
		return false, nil
	}
	return true, Pause(ctx, attempt-Eager)
}

// FnError carries an error of an update's fn through the backend's own
// error handling, so that Update returns it to its caller as it is.
type FnError struct{ Err error }

func (e FnError) Error() string { return e.Err.Error() }
