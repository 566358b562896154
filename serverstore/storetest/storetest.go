// Package storetest is the conformance suite for serverstore.Backend
// implementations. Every backend's tests call Run, against the real
// service, and RunUnreachable, against an address where nothing answers:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) serverstore.Backend {
//			b, err := connect(t) // a fresh prefix, table or bucket
//			storetest.Require(t, "redis", err)
//			t.Cleanup(func() { drop(b) })
//			return b
//		})
//	}
//
// Run checks the Backend contract itself, then the same behaviours end to
// end through serverstore.Store and through a session.Manager serving
// HTTP requests. The optional interfaces (UserIndex, Scanner) are checked
// when the backend implements them, and a sweeper goroutine
// when WithSweeper describes one. The suite sleeps about 1.5 s in all (to
// watch entries expire) and is safe to run with -race.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
)

// Run runs the conformance suite against backends made by newBackend. Each
// call of newBackend must return a fresh, empty backend, isolated from
// every other (its own key prefix, table or bucket), and register its
// cleanup with t.Cleanup: every subtest makes its own. opts add checks
// of what only some backends have, such as a sweeper goroutine.
func Run(t *testing.T, newBackend func(t *testing.T) serverstore.Backend, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	t.Run("Backend", func(t *testing.T) { runBackend(t, newBackend) })
	t.Run("Store", func(t *testing.T) { runStore(t, newBackend) })
	t.Run("Manager", func(t *testing.T) { runManager(t, newBackend) })
	t.Run("Sweeper", func(t *testing.T) { runSweeper(t, o.sweeper) })
}

// Require skips the test when err says a service it needs is not
// reachable, or fails it when the environment variable
// SESSION_TEST_SERVICES is "require" (as in CI, where a service that is
// down must not pass as a skipped test). A nil err does nothing.
func Require(t testing.TB, service string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("SESSION_TEST_SERVICES") == "require" {
		t.Fatalf("%s not reachable (%v), and SESSION_TEST_SERVICES=require", service, err)
	}
	t.Skipf("%s not reachable (%v); set SESSION_TEST_SERVICES=require to make this a failure", service, err)
}

// NewKey returns a random, well-formed backend key: 64 lowercase hex
// digits, as serverstore derives from a token.
func NewKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// unreachableDeadline bounds each call RunUnreachable makes; grace is how
// much longer than its deadline a call may take to give up.
const (
	unreachableDeadline = 500 * time.Millisecond
	grace               = 2 * time.Second
)

// RunUnreachable checks that b, a backend whose server cannot be reached,
// fails cleanly: every method returns an error, not a panic, and not later
// than shortly after its context's deadline. It checks the same of a
// serverstore.Store on b, whose errors must also start with
// "serverstore: " and name neither the token nor the key.
func RunUnreachable(t *testing.T, b serverstore.Backend) {
	key := NewKey()
	e := serverstore.Entry{Data: []byte("x"), Expires: time.Now().Add(time.Hour), UserID: "alice"}
	calls := backendCalls(b, key, e)
	for i := range calls {
		calls[i].name = "Backend." + calls[i].name
	}
	storeCalls, token, storeKey := storeCalls(b)
	calls = append(calls, storeCalls...)

	// An unreachable server may let each call wait for its deadline: run
	// them all at once, so the suite waits for one deadline, not one per
	// call. They are all done when RunUnreachable returns.
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	wg.Add(len(calls))
	for i, c := range calls {
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(t.Context(), unreachableDeadline)
			defer cancel()
			errs[i] = callBounded(t, ctx, c)
		}()
	}
	wg.Wait()
	for i, c := range calls {
		err := errs[i]
		if !assert.Error(t, err, "%s succeeded against an unreachable server", c.name) {
			continue
		}
		assertNoSecrets(t, err, key, token, storeKey)
		if strings.HasPrefix(c.name, "Store.") {
			assert.True(t, strings.HasPrefix(err.Error(), "serverstore: "), "%s: error %q lacks the serverstore: prefix", c.name, err)
		}
	}
}

// namedCall is one call of a method, for tests that run every method the
// same way.
type namedCall struct {
	name string
	call func(context.Context) error
}

// backendCalls returns a call of each of b's methods, optional ones
// included, on key with e.
func backendCalls(b serverstore.Backend, key string, e serverstore.Entry) []namedCall {
	calls := []namedCall{
		{"Find", func(ctx context.Context) error { _, _, err := b.Find(ctx, key); return err }},
		{"Commit", func(ctx context.Context) error { return b.Commit(ctx, key, e) }},
		{"Delete", func(ctx context.Context) error { return b.Delete(ctx, key) }},
	}
	if ui, ok := b.(serverstore.UserIndex); ok {
		calls = append(calls,
			namedCall{"FindUser", func(ctx context.Context) error { _, err := ui.FindUser(ctx, "alice"); return err }},
			namedCall{"DeleteUser", func(ctx context.Context) error { _, err := ui.DeleteUser(ctx, "alice"); return err }})
	}
	write := func([]byte, bool) (serverstore.Entry, bool, error) { return e, true, nil }
	calls = append(calls,
		namedCall{"Update", func(ctx context.Context) error { return b.Update(ctx, key, nil, write) }},
		namedCall{"UpdateHinted", func(ctx context.Context) error { return b.Update(ctx, key, &e, write) }},
		namedCall{"Rename", func(ctx context.Context) error { return b.Rename(ctx, key, NewKey(), e) }})
	if sc, ok := b.(serverstore.Scanner); ok {
		calls = append(calls,
			namedCall{"Scan", func(ctx context.Context) error {
				for _, err := range sc.Scan(ctx) {
					if err != nil {
						return err
					}
				}
				return nil
			}},
			namedCall{"Count", func(ctx context.Context) error { _, err := sc.Count(ctx); return err }},
			namedCall{"DeleteAll", func(ctx context.Context) error { _, err := sc.DeleteAll(ctx); return err }})
	}
	return calls
}

// callBounded runs c with ctx and returns its error. It fails t, and
// returns nil, if c panics or is still running grace after ctx's deadline
// (a backend must give up once its context is done, however unresponsive
// its server). It may run on any goroutine.
func callBounded(t *testing.T, ctx context.Context, c namedCall) error {
	type result struct {
		err      error
		panicked any
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			r.panicked = recover()
			done <- r
		}()
		r.err = c.call(ctx)
	}()
	limit := grace
	if d, ok := ctx.Deadline(); ok {
		limit += time.Until(d)
	}
	select {
	case r := <-done:
		if r.panicked != nil {
			t.Errorf("%s panicked: %v", c.name, r.panicked)
		}
		return r.err
	case <-time.After(limit):
		t.Errorf("%s still running %v after its context's deadline", c.name, grace)
		return nil
	}
}

// assertNoSecrets fails t if err's message contains any of secrets.
func assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		assert.NotContains(t, err.Error(), s, "an error message quotes a token or key")
	}
}

// live is the lifetime of entries that must not expire during a test.
const live = time.Hour

func entry(data string, ttl time.Duration, user string) serverstore.Entry {
	return serverstore.Entry{Data: []byte(data), Expires: time.Now().Add(ttl), UserID: user}
}

// find returns what b holds under key, failing t on an error.
func find(t *testing.T, b serverstore.Backend, key string) ([]byte, bool) {
	t.Helper()
	data, found, err := b.Find(t.Context(), key)
	require.NoError(t, err)
	return data, found
}

// requireData fails t unless b holds want under key.
func requireData(t *testing.T, b serverstore.Backend, key, want string) {
	t.Helper()
	data, found := find(t, b, key)
	require.True(t, found, "entry not found")
	require.Equal(t, want, string(data))
}

// requireMissing fails t if b serves anything under key.
func requireMissing(t *testing.T, b serverstore.Backend, key string) {
	t.Helper()
	_, found := find(t, b, key)
	require.False(t, found, "entry found that should not be")
}

// userKeys returns the keys b lists under user, with their data.
func userKeys(t *testing.T, ui serverstore.UserIndex, user string) map[string]string {
	t.Helper()
	got, err := ui.FindUser(t.Context(), user)
	require.NoError(t, err)
	out := make(map[string]string, len(got))
	for k, v := range got {
		out[k] = string(v)
	}
	return out
}
