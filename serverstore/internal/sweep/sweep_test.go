package sweep

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// running returns how many Sweeper goroutines there are.
func running() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), Frame)
}

// closedWithin reports whether c is closed within d.
func closedWithin(c <-chan struct{}, d time.Duration) bool {
	select {
	case <-c:
		return true
	default:
	}
	select {
	case <-c:
		return true
	case <-time.After(d):
		return false
	}
}

func TestStartZeroInterval(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		s := Start(d, func(context.Context) bool { panic("a nil Sweeper swept") })
		require.Nil(t, s, "interval %v starts no sweeper", d)
		s.Stop()
		require.True(t, closedWithin(s.Done(), 0), "a nil Sweeper is done")
		StopWith(new(int), s)
	}
}

func TestSweeperSweepsUntilStopped(t *testing.T) {
	// Other tests' goroutines may still be on their way out: their Done
	// closes just before they return.
	require.Eventually(t, func() bool { return running() == 0 }, 5*time.Second, time.Millisecond)
	var sweeps atomic.Int64
	s := Start(time.Millisecond, func(ctx context.Context) bool {
		sweeps.Add(1)
		return true
	})
	require.Eventually(t, func() bool { return running() == 1 }, 5*time.Second, time.Millisecond, "one goroutine, found by Frame")
	require.Eventually(t, func() bool { return sweeps.Load() >= 3 }, 5*time.Second, time.Millisecond)

	s.Stop()
	require.True(t, closedWithin(s.Done(), 0), "Stop waits for the goroutine")
	n := sweeps.Load()
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, n, sweeps.Load(), "no sweep after Stop returned")
	require.Eventually(t, func() bool { return running() == 0 }, 5*time.Second, time.Millisecond)
	s.Stop() // again: no panic, no wait
}

func TestSweeperFuncEndsIt(t *testing.T) {
	var sweeps atomic.Int64
	s := Start(time.Millisecond, func(context.Context) bool {
		return sweeps.Add(1) < 2
	})
	require.True(t, closedWithin(s.Done(), 5*time.Second), "a Func that returns false ends the sweeper")
	require.EqualValues(t, 2, sweeps.Load())
	s.Stop() // after the goroutine ended by itself: returns at once
}

func TestStopCancelsSweepInProgress(t *testing.T) {
	started := make(chan struct{})
	var first atomic.Bool
	s := Start(time.Millisecond, func(ctx context.Context) bool {
		if first.CompareAndSwap(false, true) {
			close(started)
		}
		<-ctx.Done()
		return true
	})
	<-started
	stopped := make(chan struct{})
	for range 3 { // from several goroutines at once
		go func() { s.Stop(); stopped <- struct{}{} }()
	}
	for range 3 {
		require.True(t, closedWithin(s.Done(), 5*time.Second), "Stop waited for a sweep that waits for its context")
		<-stopped
	}
}

func TestStopWithStopsWhenOwnerIsCollected(t *testing.T) {
	owner := new([64]byte)
	s := Start(time.Hour, func(context.Context) bool { return true })
	StopWith(owner, s)
	owner = nil
	_ = owner
	require.Eventually(t, func() bool {
		runtime.GC()
		return closedWithin(s.Done(), 0)
	}, 10*time.Second, 10*time.Millisecond, "a dropped owner's sweeper stops")
}
