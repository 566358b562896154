// Package sweep runs, in a goroutine of its own, the periodic removal of
// expired entries that a backend without native expiry needs (memstore,
// boltstore, the SQL stores).
//
// The goroutine must not refer to the Store value its user holds, but
// only to what that Store wraps: a Store dropped without Close then
// becomes unreachable, and the cleanup StopWith registers on it stops the
// goroutine. The pattern:
//
//	c := &core{...}               // what the sweep needs
//	s := &Store{c}                // what the user holds
//	c.sweeper = sweep.Start(interval, c.sweep)
//	sweep.StopWith(s, c.sweeper)  // and Store.Close calls c.sweeper.Stop
package sweep

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Func removes what has expired. Its context is cancelled when the
// Sweeper stops, and it should then return soon. It returns false to end
// the Sweeper: what it sweeps can no longer be swept (its database was
// closed, say).
type Func func(ctx context.Context) (more bool)

// Sweeper is a goroutine that calls a Func every interval until stopped.
type Sweeper struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Frame is a string found in the stack of every Sweeper's goroutine, and
// of no other: tests count sweepers with storetest.Goroutines(Frame).
const Frame = "internal/sweep.(*Sweeper).run("

// Start starts a Sweeper that calls sweep every interval, the first time
// one interval from now, and never two at once. An interval of 0 or less
// starts none and returns nil, a Sweeper whose methods do nothing.
func Start(interval time.Duration, sweep Func) *Sweeper {
	if interval <= 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sweeper{cancel: cancel, done: make(chan struct{})}
	go s.run(ctx, interval, sweep)
	return s
}

func (s *Sweeper) run(ctx context.Context, interval time.Duration, sweep Func) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Both cases may have been ready, and select picks at random.
		if ctx.Err() != nil || !sweep(ctx) {
			return
		}
	}
}

// StopWith stops s once owner, the Store it sweeps for, is garbage
// collected: a Store dropped without Close must not leak a goroutine. s's
// Func must not refer to owner, or owner is never collected.
func StopWith[T any](owner *T, s *Sweeper) {
	if s != nil {
		runtime.AddCleanup(owner, (*Sweeper).Stop, s)
	}
}

// Stop stops s, cancelling the context of a sweep in progress, and waits
// for its goroutine to return. It is safe to call more than once, and
// from several goroutines.
func (s *Sweeper) Stop() {
	if s == nil {
		return
	}
	s.once.Do(s.cancel)
	<-s.done
}

// Done returns a channel that is closed when s's goroutine has returned,
// whether it was stopped or its Func ended it. On a nil Sweeper it returns
// a closed channel.
func (s *Sweeper) Done() <-chan struct{} {
	if s == nil {
		return closed
	}
	return s.done
}

var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()
