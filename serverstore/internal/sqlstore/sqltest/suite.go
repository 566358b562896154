package sqltest

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/internal/sqlstore"
	"github.com/go-sealed/session/serverstore/internal/sweep"
	"github.com/go-sealed/session/serverstore/storetest"
)

// Backend is what the Backends of pgstore, mysqlstore and sqlitestore
// have in common.
type Backend interface {
	serverstore.Backend
	serverstore.UserIndex
	serverstore.Scanner
	Migrate(ctx context.Context) error
	Sweep(ctx context.Context) (int, error)
	Close() error
}

// Options are the options of a backend's New that the shared tests set.
type Options struct {
	Table         string        // "": the default table
	SweepInterval time.Duration // 0: no sweeper
	SweepBatch    int           // 0: the default
	NoMigration   bool          // WithoutMigration
	Timeout       time.Duration // WithTimeout; 0: the default
}

// Apply returns o as the options of a package whose option type is O,
// given its functions that make them.
func Apply[O any](o Options, table func(string) O, interval func(time.Duration) O, batch func(int) O, noMigration func() O, timeout func(time.Duration) O) []O {
	opts := []O{interval(o.SweepInterval)}
	if o.Table != "" {
		opts = append(opts, table(o.Table))
	}
	if o.SweepBatch != 0 {
		opts = append(opts, batch(o.SweepBatch))
	}
	if o.NoMigration {
		opts = append(opts, noMigration())
	}
	if o.Timeout != 0 {
		opts = append(opts, timeout(o.Timeout))
	}
	return opts
}

// Harness is what the shared tests need to know of a SQL backend and its
// database. Each package's tests fill one for a database handle.
type Harness struct {
	// Name is the package's name, which starts its errors: "pgstore".
	Name string
	// Open calls the package's New on the database with o.
	Open func(ctx context.Context, o Options) (Backend, error)
	// Table returns the name of s's table.
	Table func(s Backend) sqlstore.Name
	// Quote quotes an identifier for the dialect.
	Quote func(ident string) string
	// Exec runs a statement on the database.
	Exec func(ctx context.Context, query string, args ...any) error
	// QueryRow runs query with args and scans its one row into dest.
	QueryRow func(ctx context.Context, query string, args []any, dest ...any) error
	// Insert inserts a row straight into s's table (user "": NULL).
	Insert func(t testing.TB, s Backend, key, data string, expires time.Time, user string)
	// InsertExpired inserts n rows that expired an hour ago, tagged
	// with user ("": none), straight into s's table.
	InsertExpired func(t testing.TB, s Backend, n int, user string)
	// SweepBatch runs s's sweep statement once.
	SweepBatch func(ctx context.Context, s Backend, before time.Time, limit int) (int, error)
	// SweeperDone returns the channel closed when s's sweeper goroutine
	// has returned.
	SweeperDone func(s Backend) <-chan struct{}
}

// QuoteName quotes n for the dialect.
func (h Harness) QuoteName(n sqlstore.Name) string {
	if n.Schema == "" {
		return h.Quote(n.Table)
	}
	return h.Quote(n.Schema) + "." + h.Quote(n.Table)
}

// drop drops the table named n, if there is one.
func (h Harness) drop(t testing.TB, n sqlstore.Name) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.NoError(t, h.Exec(ctx, "DROP TABLE IF EXISTS "+h.QuoteName(n)))
}

// New returns a Backend on a table of its own (o.Table, if set, is
// replaced), which is dropped when t ends.
func (h Harness) New(t testing.TB, o Options) Backend {
	t.Helper()
	o.Table = RandomName("sessions_test_")
	s, err := h.Open(t.Context(), o)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = s.Close()
		h.drop(t, sqlstore.Name{Table: o.Table})
	})
	return s
}

// NewBackend returns a Backend with no sweeper on a table of its own: for
// storetest.Run.
func (h Harness) NewBackend(t *testing.T) serverstore.Backend {
	return h.New(t, Options{})
}

// Sweeper describes the backend's sweeper to storetest.Run.
func (h Harness) Sweeper() storetest.Sweeper {
	return storetest.Sweeper{
		New: func(t *testing.T, interval time.Duration) serverstore.Backend {
			table := sqlstore.Name{Table: RandomName("sessions_test_")}
			s, err := h.Open(t.Context(), Options{Table: table.Table, SweepInterval: interval})
			require.NoError(t, err)
			t.Cleanup(func() { h.drop(t, table) }) // not s: storetest drops it
			return s
		},
		Frame:            sweep.Frame,
		Held:             func(t *testing.T, b serverstore.Backend) int { return h.Count(t, b.(Backend)) },
		ServesAfterClose: true,
	}
}

// Count returns how many rows s's table holds, expired ones included.
func (h Harness) Count(t testing.TB, s Backend) int {
	t.Helper()
	var n int
	require.NoError(t, h.QueryRow(t.Context(), "SELECT COUNT(*) FROM "+h.QuoteName(h.Table(s)), nil, &n))
	return n
}

func entry(data string, ttl time.Duration, user string) serverstore.Entry {
	return serverstore.Entry{Data: []byte(data), Expires: time.Now().Add(ttl), UserID: user}
}

func requireData(t testing.TB, s serverstore.Backend, key, want string) {
	t.Helper()
	data, found, err := s.Find(t.Context(), key)
	require.NoError(t, err)
	require.True(t, found, "entry not found")
	require.Equal(t, want, string(data))
}

// Run runs the tests the SQL backends share beyond the conformance suite,
// on h's database.
func Run(t *testing.T, h Harness) {
	t.Run("Migrate", h.testMigrate)
	t.Run("Sweep", h.testSweep)
	t.Run("CloseWaitsForSweeper", h.testCloseWaitsForSweeper)
	t.Run("ExpiredUnswept", h.testExpiredUnswept)
	t.Run("UpdateLeavesNoPlaceholder", h.testUpdateLeavesNoPlaceholder)
	t.Run("UpdateWaitHonoursContext", h.testUpdateWaitHonoursContext)
	t.Run("OnlyHashesStored", h.testOnlyHashesStored)
	t.Run("ScanPages", h.testScanPages)
	t.Run("DeleteAll", h.testDeleteAll)
}

func (h Harness) testMigrate(t *testing.T) {
	s := h.New(t, Options{})
	ctx := t.Context()
	key := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, key, entry("kept", time.Hour, "alice")))

	// Idempotent, and leaves the data alone: again through Migrate, and
	// through New on the existing table.
	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.Migrate(ctx))
	again, err := h.Open(ctx, Options{Table: h.Table(s).Table})
	require.NoError(t, err)
	defer again.Close()
	requireData(t, again, key, "kept")

	// Instances starting at once do not trip over each other.
	var wg sync.WaitGroup
	fresh := RandomName("sessions_test_")
	t.Cleanup(func() { h.drop(t, sqlstore.Name{Table: fresh}) })
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := h.Open(ctx, Options{Table: fresh})
			if assert.NoError(t, err) {
				_ = s.Close()
			}
		}()
	}
	wg.Wait()
}

func (h Harness) testSweep(t *testing.T) {
	s := h.New(t, Options{SweepBatch: 1000})
	ctx := t.Context()
	live := map[string]string{}
	for i := range 10 {
		key := storetest.NewKey()
		live[key] = fmt.Sprint(i)
		require.NoError(t, s.Commit(ctx, key, entry(live[key], time.Hour, "alice")))
	}
	h.InsertExpired(t, s, 2500, "alice")
	require.Equal(t, 2510, h.Count(t, s))

	// One statement deletes one batch.
	n, err := h.SweepBatch(ctx, s, time.Now(), 1000)
	require.NoError(t, err)
	require.Equal(t, 1000, n)
	require.Equal(t, 1510, h.Count(t, s))

	// Sweep runs batches until the expired rows are all gone.
	n, err = s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1500, n)
	require.Equal(t, 10, h.Count(t, s), "live rows must survive a sweep")
	for key, want := range live {
		requireData(t, s, key, want)
	}
	n, err = s.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

func (h Harness) testCloseWaitsForSweeper(t *testing.T) {
	s := h.New(t, Options{SweepInterval: time.Millisecond})
	h.InsertExpired(t, s, 10, "")
	time.Sleep(20 * time.Millisecond) // let it sweep a few times
	require.NoError(t, s.Close())
	select {
	case <-h.SweeperDone(s):
	default:
		t.Fatal("Close returned before the sweeper goroutine")
	}
}

func (h Harness) testExpiredUnswept(t *testing.T) {
	// Rows past their expiry that no sweep has removed are never served.
	s := h.New(t, Options{})
	ctx := t.Context()
	key := storetest.NewKey()
	h.Insert(t, s, key, "old", time.Now().Add(-time.Millisecond), "alice")
	_, found, err := s.Find(ctx, key)
	require.NoError(t, err)
	require.False(t, found)
	users, err := s.FindUser(ctx, "alice")
	require.NoError(t, err)
	require.Empty(t, users)
	n, err := s.DeleteUser(ctx, "alice")
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, s.Update(ctx, key, nil, func(data []byte, found bool) (serverstore.Entry, bool, error) {
		assert.False(t, found)
		assert.Nil(t, data)
		return serverstore.Entry{}, false, nil
	}))
	require.Equal(t, 1, h.Count(t, s), "the row is the sweeper's to delete")

	// An Update that writes takes the expired row over.
	require.NoError(t, s.Update(ctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("new", time.Hour, "bob"), true, nil
	}))
	requireData(t, s, key, "new")
}

func (h Harness) testUpdateLeavesNoPlaceholder(t *testing.T) {
	s := h.New(t, Options{})
	require.NoError(t, s.Update(t.Context(), storetest.NewKey(), nil, func(data []byte, found bool) (serverstore.Entry, bool, error) {
		return serverstore.Entry{}, false, nil
	}))
	require.Zero(t, h.Count(t, s), "an Update that wrote nothing left a row")
}

func (h Harness) testUpdateWaitHonoursContext(t *testing.T) {
	// An Update waiting for another's lock gives up at its deadline.
	s := h.New(t, Options{})
	ctx := t.Context()
	key := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, key, entry("x", time.Hour, "")))
	holding, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.Update(ctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) {
			close(holding)
			<-release
			return serverstore.Entry{}, false, nil
		})
	}()
	<-holding
	defer close(release)
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Update(wctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) {
		t.Error("fn ran while another Update held the row")
		return serverstore.Entry{}, false, nil
	})
	require.Error(t, err)
	require.Less(t, time.Since(start), 2*time.Second)
}

func (h Harness) testOnlyHashesStored(t *testing.T) {
	s := h.New(t, Options{})
	ctx := t.Context()
	now := time.Now()
	token, err := serverstore.New(s).Save(ctx, "", &session.Record{
		ID: "id1", Created: now, Touched: now, Expires: now.Add(time.Hour), UserID: "alice", Data: []byte("data"),
	})
	require.NoError(t, err)
	raw, err := base64.RawURLEncoding.DecodeString(token)
	require.NoError(t, err)

	var key string
	var data []byte
	require.NoError(t, h.QueryRow(ctx, "SELECT "+h.Quote("key")+", "+h.Quote("data")+" FROM "+h.QuoteName(h.Table(s)), nil, &key, &data))
	require.Equal(t, 1, h.Count(t, s))
	require.Regexp(t, `^[0-9a-f]{64}$`, key)
	require.Equal(t, storetest.KeyOf(t, token), key, "the key is not the hex SHA-256 of the token")
	for _, secret := range []string{token, string(raw)} {
		require.NotContains(t, string(data), secret, "the table holds the token")
		require.NotContains(t, key, secret)
	}
}

// UseEveryStatement runs each of s's statements once, on a table its
// package has named in some way to test (quoted, qualified).
func (h Harness) UseEveryStatement(t *testing.T, s Backend) {
	ctx := t.Context()
	key := storetest.NewKey()
	require.NoError(t, s.Commit(ctx, key, entry("x", time.Hour, "alice")))
	got, err := s.FindUser(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, map[string][]byte{key: []byte("x")}, got)
	h.InsertExpired(t, s, 3, "")
	n, err := s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.NoError(t, s.Rename(ctx, key, storetest.NewKey(), entry("y", time.Hour, "")))
	require.NoError(t, s.Update(ctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("z", time.Hour, ""), true, nil
	}))
	hint := entry("h", time.Hour, "")
	require.NoError(t, s.Commit(ctx, key, hint))
	require.NoError(t, s.Update(ctx, key, &hint, func([]byte, bool) (serverstore.Entry, bool, error) {
		return entry("hinted", time.Hour, ""), true, nil
	}))
	requireData(t, s, key, "hinted")
	scanned := 0
	for _, err := range s.Scan(ctx) {
		require.NoError(t, err)
		scanned++
	}
	require.Equal(t, 2, scanned)
	n, err = s.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = s.DeleteAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

// Unreachable checks a Backend on h's database, which does not answer:
// New, which migrates, fails by its context's deadline, and every method
// of a Backend made without migration fails cleanly (see
// storetest.RunUnreachable).
func Unreachable(t *testing.T, h Harness) {
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.Open(ctx, Options{})
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), h.Name+": migrate: "), err.Error())
	require.Less(t, time.Since(start), 3*time.Second)

	s, err := h.Open(t.Context(), Options{NoMigration: true})
	require.NoError(t, err, "New WithoutMigration must not need the server")
	t.Cleanup(func() { _ = s.Close() })
	storetest.RunUnreachable(t, s)

	_, err = s.Sweep(ctx)
	require.Error(t, err)
}

// Benchmark runs the benchmarks the SQL backends share on Backends that
// newBackend makes.
func Benchmark(b *testing.B, newBackend func(b *testing.B) Backend) {
	e := entry(strings.Repeat("x", 200), time.Hour, "alice")
	b.Run("Find", func(b *testing.B) {
		s := newBackend(b)
		key := storetest.NewKey()
		require.NoError(b, s.Commit(b.Context(), key, e))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, found, err := s.Find(b.Context(), key); err != nil || !found {
					b.Error(found, err)
					return
				}
			}
		})
	})
	parallel := func(name string, write func(ctx context.Context, s Backend, key string) error) {
		b.Run(name, func(b *testing.B) {
			s := newBackend(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				key := storetest.NewKey()
				for pb.Next() {
					if err := write(b.Context(), s, key); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	parallel("Commit", func(ctx context.Context, s Backend, key string) error { return s.Commit(ctx, key, e) })
	parallel("Update", func(ctx context.Context, s Backend, key string) error {
		return s.Update(ctx, key, nil, func([]byte, bool) (serverstore.Entry, bool, error) { return e, true, nil })
	})
	// UpdateHinted with a right hint, as a request that loaded its session
	// has: each goroutine flips its own row between two entries. fn-calls
	// is 1 when every swap hits.
	b.Run("UpdateHinted", func(b *testing.B) {
		s := newBackend(b)
		entries := [2]serverstore.Entry{e, entry(strings.Repeat("y", 200), time.Hour, "alice")}
		var calls atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			key := storetest.NewKey()
			if err := s.Commit(b.Context(), key, entries[0]); err != nil {
				b.Error(err)
				return
			}
			for i := 0; pb.Next(); i++ {
				next := entries[(i+1)%2]
				err := s.Update(b.Context(), key, &entries[i%2], func([]byte, bool) (serverstore.Entry, bool, error) {
					calls.Add(1)
					return next, true, nil
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(calls.Load())/float64(b.N), "fn-calls/op")
	})
}
