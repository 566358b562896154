package storetest

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
)

// Option adds to what Run checks.
type Option func(*options)

type options struct {
	sweeper *Sweeper
}

// WithSweeper has Run check, as sw describes, the goroutine in which the
// backend removes expired entries.
func WithSweeper(sw Sweeper) Option {
	return func(o *options) { o.sweeper = &sw }
}

// Sweeper describes to Run a backend that removes expired entries in a
// goroutine of its own: a goroutine that removes them on its interval,
// that Close stops (and may be called twice), and that stops by itself
// when the backend is dropped without Close and garbage collected.
type Sweeper struct {
	// New returns a fresh, empty backend whose sweeper runs every
	// interval. The backend must implement io.Closer. Unlike Run's
	// newBackend, New must not register a cleanup that refers to the
	// backend: Run drops one to see its sweeper stop, and closes the
	// others itself.
	New func(t *testing.T, interval time.Duration) serverstore.Backend

	// Frame is a string found in the stack of the sweeper goroutine
	// alone, such as its function's name: Run counts sweepers with
	// Goroutines(Frame).
	Frame string

	// Held returns how many entries b holds, expired ones included.
	Held func(t *testing.T, b serverstore.Backend) int

	// Check, if set, checks b's own bookkeeping once its sweeper has
	// removed the expired entries.
	Check func(t *testing.T, b serverstore.Backend)

	// ServesAfterClose says that Close stops the sweeper alone: the
	// backend goes on serving.
	ServesAfterClose bool
}

// Goroutines returns how many goroutines have frame in their stack.
func Goroutines(frame string) int {
	return len(goroutineIDs(frame))
}

// goroutineIDs returns the IDs of the goroutines that have frame in their
// stack.
func goroutineIDs(frame string) map[string]bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	ids := map[string]bool{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, frame) {
			// Each stack starts "goroutine 42 [state]:".
			id, _, _ := strings.Cut(strings.TrimPrefix(g, "goroutine "), " ")
			ids[id] = true
		}
	}
	return ids
}

// runSweeper checks the sweeper sw describes.
func runSweeper(t *testing.T, sw *Sweeper) {
	if sw == nil {
		t.Skip("no sweeper goroutine (see WithSweeper)")
	}
	open := func(t *testing.T, interval time.Duration) (serverstore.Backend, io.Closer) {
		b := sw.New(t, interval)
		c, ok := b.(io.Closer)
		require.True(t, ok, "a backend with a sweeper must implement io.Closer")
		t.Cleanup(func() { _ = c.Close() })
		return b, c
	}
	// The sweeper of a backend is told from others, of backends that
	// earlier tests dropped and that the garbage collector may stop at
	// any moment, by its goroutine's ID.
	started := func(t *testing.T, before map[string]bool) (id string) {
		require.Eventually(t, func() bool {
			for id = range goroutineIDs(sw.Frame) {
				if !before[id] {
					return true
				}
			}
			return false
		}, time.Second, time.Millisecond, "no sweeper goroutine found") // it shows in stacks once it has run
		return id
	}
	running := func(id string) bool { return goroutineIDs(sw.Frame)[id] }

	t.Run("RemovesExpired", func(t *testing.T) {
		b, _ := open(t, 10*time.Millisecond)
		ctx := t.Context()
		var firstExpiry time.Time
		for i := range 10 {
			short := entry("short", 200*time.Millisecond, fmt.Sprint("u", i%2))
			if i == 0 {
				firstExpiry = short.Expires
			}
			require.NoError(t, b.Commit(ctx, NewKey(), short))
		}
		keep := NewKey()
		require.NoError(t, b.Commit(ctx, keep, entry("long", live, "u0")))
		// The first entry expires first: count only while none has, and
		// leave the sweeper's 10 ms tick a margin.
		if time.Now().Before(firstExpiry.Add(-50 * time.Millisecond)) {
			// Nothing has expired yet, however slow the server.
			require.Equal(t, 11, sw.Held(t, b))
		}
		require.Eventually(t, func() bool { return sw.Held(t, b) == 1 }, 10*time.Second, 10*time.Millisecond,
			"the sweeper did not remove the expired entries")
		requireData(t, b, keep, "long")
		if ui, ok := b.(serverstore.UserIndex); ok {
			require.Equal(t, map[string]string{keep: "long"}, userKeys(t, ui, "u0"))
			require.Empty(t, userKeys(t, ui, "u1"))
		}
		if sw.Check != nil {
			sw.Check(t, b)
		}
	})

	t.Run("Close", func(t *testing.T) {
		before := goroutineIDs(sw.Frame)
		b, c := open(t, time.Millisecond)
		id := started(t, before)
		for range 10 {
			require.NoError(t, b.Commit(t.Context(), NewKey(), entry("x", time.Millisecond, "alice")))
		}
		time.Sleep(20 * time.Millisecond) // let it sweep a few times
		require.NoError(t, c.Close())
		require.NoError(t, c.Close(), "a second Close")
		// Close waits for the sweeper to finish; it may take a moment
		// more to leave the goroutine list.
		require.Eventually(t, func() bool { return !running(id) }, time.Second, time.Millisecond,
			"the sweeper goroutine is still there after Close")
		if sw.ServesAfterClose {
			key := NewKey()
			require.NoError(t, b.Commit(t.Context(), key, entry("x", live, "")))
			requireData(t, b, key, "x")
		}
	})

	t.Run("Dropped", func(t *testing.T) {
		// A backend dropped without Close stops its sweeper when it is
		// collected.
		before := goroutineIDs(sw.Frame)
		b := sw.New(t, 10*time.Millisecond)
		id := started(t, before)
		// Reachable until its sweeper was seen: a collection in between
		// would stop the sweeper before the test could find it.
		runtime.KeepAlive(b)
		require.Eventually(t, func() bool {
			runtime.GC()
			return !running(id)
		}, 5*time.Second, 10*time.Millisecond, "the sweeper of a dropped backend still runs")
	})
}
