package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sweep"
)

func TestParseName(t *testing.T) {
	for in, want := range map[string]Name{
		"sessions":     {Table: "sessions"},
		"app.sessions": {Schema: "app", Table: "sessions"},
		"_S1":          {Table: "_S1"},
		"order":        {Table: "order"},
	} {
		got, err := ParseName(in, 63, 12)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	for _, in := range []string{
		"", ".", "a.", ".a", "a.b.c", "1a", "a-b", "a b", "a;b", `a"b`, "a`b", "ä",
		strings.Repeat("a", 52), strings.Repeat("a", 64) + ".b",
	} {
		_, err := ParseName(in, 63, 12)
		require.Error(t, err, "%q", in)
	}
	_, err := ParseName(strings.Repeat("a", 63)+"."+strings.Repeat("a", 51), 63, 12)
	require.NoError(t, err)
}

func TestCheck(t *testing.T) {
	c := NewConfig()
	_, err := c.Check(63, 12)
	require.NoError(t, err)
	require.NotNil(t, c.Logger)
	c.SweepInterval = -1
	_, err = c.Check(63, 12)
	require.Error(t, err)
	c = NewConfig()
	c.SweepBatch = 0
	_, err = c.Check(63, 12)
	require.Error(t, err)
}

func TestBound(t *testing.T) {
	c := NewConfig()
	require.Equal(t, DefaultTimeout, c.Timeout, "a timeout by default")
	ctx, cancel := c.Bound(t.Context())
	deadline, ok := ctx.Deadline()
	cancel()
	require.True(t, ok, "no deadline by default")
	require.WithinDuration(t, time.Now().Add(DefaultTimeout), deadline, time.Second)
	require.ErrorIs(t, ctx.Err(), context.Canceled, "the release function does not release")

	// An earlier deadline of the caller's stays.
	early, cancelEarly := context.WithTimeout(t.Context(), time.Second)
	defer cancelEarly()
	want, _ := early.Deadline()
	ctx, cancel = c.Bound(early)
	deadline, _ = ctx.Deadline()
	cancel()
	require.Equal(t, want, deadline)

	for _, none := range []time.Duration{0, -time.Second} {
		c.Timeout = none
		ctx, cancel := c.Bound(t.Context())
		_, ok := ctx.Deadline()
		cancel()
		require.False(t, ok, "timeout %v sets a deadline", none)
		require.NoError(t, ctx.Err())
	}
}

func TestClampExpires(t *testing.T) {
	loc := time.FixedZone("x", 3600)
	in := time.Date(2030, 1, 2, 3, 4, 5, 123456789, loc)
	got := ClampExpires(in)
	require.Equal(t, time.UTC, got.Location())
	require.True(t, got.Equal(time.Date(2030, 1, 2, 2, 4, 5, 123456000, time.UTC)))
	require.Equal(t, MaxExpires, ClampExpires(time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)))
}

// batches is a DeleteFunc over n expired rows that records its calls.
type batches struct {
	mu    sync.Mutex
	left  int
	calls []int
	err   error
}

func (b *batches) del(ctx context.Context, before time.Time, limit int) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if b.err != nil {
		return 0, b.err
	}
	n := min(limit, b.left)
	b.left -= n
	b.calls = append(b.calls, n)
	return n, nil
}

func TestSweep(t *testing.T) {
	b := &batches{left: 2500}
	n, err := Sweep(t.Context(), 1000, b.del)
	require.NoError(t, err)
	require.Equal(t, 2500, n)
	require.Equal(t, []int{1000, 1000, 500}, b.calls)

	// A multiple of the batch ends with an empty batch.
	b = &batches{left: 2000}
	n, err = Sweep(t.Context(), 1000, b.del)
	require.NoError(t, err)
	require.Equal(t, 2000, n)
	require.Equal(t, []int{1000, 1000, 0}, b.calls)

	b = &batches{left: 5000, err: errors.New("boom")}
	_, err = Sweep(t.Context(), 1000, b.del)
	require.ErrorIs(t, err, b.err)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b = &batches{left: 5000}
	_, err = Sweep(ctx, 1000, b.del)
	require.ErrorIs(t, err, context.Canceled)
}

func TestSweeper(t *testing.T) {
	require.Nil(t, StartSweeper("x", 0, 10, (&batches{}).del, slog.Default()), "interval 0 starts no sweeper")
	var nilSweeper *sweep.Sweeper
	nilSweeper.Stop()

	// Failures are logged, and the sweeper carries on.
	var logged bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logged.Write(p)
	}), nil))
	b := &batches{left: 30, err: errors.New("server gone")}
	s := StartSweeper("teststore", time.Millisecond, 10, b.del, log)
	require.Eventually(t, func() bool {
		logMu.Lock()
		defer logMu.Unlock()
		return strings.Contains(logged.String(), "teststore: sweeping expired sessions failed")
	}, 5*time.Second, time.Millisecond)
	b.mu.Lock()
	b.err = nil
	b.mu.Unlock()
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.left == 0
	}, 5*time.Second, time.Millisecond)
	s.Stop()
	s.Stop()
	select {
	case <-s.Done():
	default:
		t.Fatal("Stop returned before the goroutine")
	}
}

func TestSweeperStopInterruptsSweep(t *testing.T) {
	started := make(chan struct{})
	var once sync.Once
	s := StartSweeper("x", time.Millisecond, 10, func(ctx context.Context, before time.Time, limit int) (int, error) {
		once.Do(func() { close(started) })
		<-ctx.Done()
		return 0, ctx.Err()
	}, slog.Default())
	<-started
	done := make(chan struct{})
	go func() { s.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop waited for a sweep that waits for its context")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestRetry(t *testing.T) {
	errRetry, errFatal := errors.New("deadlock"), errors.New("fatal")
	retryable := func(err error) bool { return errors.Is(err, errRetry) }

	calls := 0
	err := Retry(t.Context(), retryable, func() error {
		calls++
		if calls < 3 {
			return errRetry
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 3, calls)

	calls = 0
	err = Retry(t.Context(), retryable, func() error { calls++; return errFatal })
	require.ErrorIs(t, err, errFatal)
	require.Equal(t, 1, calls)

	calls = 0
	err = Retry(t.Context(), retryable, func() error { calls++; return errRetry })
	require.ErrorIs(t, err, errRetry)
	require.Equal(t, maxAttempts, calls)

	ctx, cancel := context.WithCancel(t.Context())
	calls = 0
	err = Retry(ctx, retryable, func() error { calls++; cancel(); return errRetry })
	require.ErrorIs(t, err, errRetry)
	require.Equal(t, 1, calls)
}

func TestNullIfEmptyNotNil(t *testing.T) {
	require.Nil(t, NullIfEmpty(""))
	require.Equal(t, "u", NullIfEmpty("u"))
	require.NotNil(t, NotNil(nil))
	require.Empty(t, NotNil(nil))
}

// TestUpdateHinted checks which of swap and update UpdateHinted takes: the
// swap for a write on a hint that still holds, the store's Update for
// everything else, with fn run again there.
func TestUpdateHinted(t *testing.T) {
	live := serverstore.Entry{Data: []byte("new"), Expires: time.Now().Add(time.Hour)}
	gone := serverstore.Entry{Data: []byte("new"), Expires: time.Now().Add(-time.Hour)}
	errSwap, errFn := errors.New("swap failed"), errors.New("fn failed")
	for _, c := range []struct {
		name      string
		hint      []byte
		write     bool
		entry     serverstore.Entry
		fnErr     error
		swapped   bool
		swapErr   error
		wantSwaps int
		wantCalls int // of fn: 1 on the hint, and 1 more in update
		wantErr   error
	}{
		{name: "swapped", hint: []byte("old"), write: true, entry: live, swapped: true, wantSwaps: 1, wantCalls: 1},
		{name: "stale hint", hint: []byte("old"), write: true, entry: live, wantSwaps: 1, wantCalls: 2},
		{name: "swap fails", hint: []byte("old"), write: true, entry: live, swapErr: errSwap, wantSwaps: 1, wantCalls: 1, wantErr: errSwap},
		{name: "fn declines", hint: []byte("old"), entry: live, wantCalls: 2},
		{name: "fn deletes", hint: []byte("old"), write: true, entry: gone, wantCalls: 2},
		{name: "fn fails", hint: []byte("old"), write: true, entry: live, fnErr: errFn, wantCalls: 1, wantErr: errFn},
		{name: "hint too large", hint: make([]byte, MaxHint+1), write: true, entry: live, swapped: true, wantCalls: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls, swaps := 0, 0
			fn := func([]byte, bool) (serverstore.Entry, bool, error) {
				calls++
				return c.entry, c.write, c.fnErr
			}
			swap := func(e serverstore.Entry) (bool, error) {
				swaps++
				assert.Equal(t, c.entry, e)
				return c.swapped, c.swapErr
			}
			update := func(fn UpdateFunc) error {
				_, _, err := fn([]byte("stored"), true)
				return err
			}
			err := UpdateHinted(serverstore.Entry{Data: c.hint}, fn, swap, update)
			assert.ErrorIs(t, err, c.wantErr)
			if c.wantErr == nil {
				assert.NoError(t, err)
			}
			assert.Equal(t, c.wantSwaps, swaps, "swaps")
			assert.Equal(t, c.wantCalls, calls, "calls of fn")
		})
	}
}
