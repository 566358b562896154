package express

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/internal/tcpproxy"
)

// A target is a backend on a real service, in a place of its own (a key
// prefix, a table, a collection), with the environment that points the
// Express app (nodetest.Start) at the same place.
type target struct {
	b   Backend
	env []string
	// atomicSwap is false where the server's compare-and-set is not
	// atomic (FerretDB 1.x), which the concurrency tests then skip.
	atomicSwap bool
}

// suffix returns a random name suffix for a test's own keys or table.
func suffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// runBackend checks the Backend contract against t's service.
func runBackend(t *testing.T, b Backend) {
	ctx := context.Background()
	sid := newSID()

	data, _, err := b.Get(ctx, sid)
	require.NoError(t, err)
	assert.Nil(t, data, "a session that was never stored")

	v1 := []byte(`{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"n":1}`)
	v2 := []byte(`{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"n":2}`)
	exp1 := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	require.NoError(t, b.Set(ctx, sid, v1, exp1))
	data, expires, err := b.Get(ctx, sid)
	require.NoError(t, err)
	assert.Equal(t, string(v1), string(data), "the record is not what was stored, byte for byte")
	assert.WithinDuration(t, exp1, expires, 50*time.Millisecond)

	exp2 := exp1.Add(time.Hour)
	ok, err := b.Swap(ctx, sid, v2, v2, exp2)
	require.NoError(t, err)
	assert.False(t, ok, "swapped from data the record does not hold")
	ok, err = b.Swap(ctx, sid, v1, v2, exp2)
	require.NoError(t, err)
	assert.True(t, ok, "did not swap from the data the record holds")
	data, expires, err = b.Get(ctx, sid)
	require.NoError(t, err)
	assert.Equal(t, string(v2), string(data))
	assert.WithinDuration(t, exp2, expires, 50*time.Millisecond)

	live, err := b.Destroy(ctx, sid)
	require.NoError(t, err)
	assert.True(t, live)
	data, _, err = b.Get(ctx, sid)
	require.NoError(t, err)
	assert.Nil(t, data, "a destroyed session")
	live, err = b.Destroy(ctx, sid)
	require.NoError(t, err)
	assert.False(t, live, "destroyed twice")
	ok, err = b.Swap(ctx, sid, v2, v1, exp2)
	require.NoError(t, err)
	assert.False(t, ok, "swapped a destroyed session")

	// A record past its expiry is gone for every call, whether or not the
	// service has removed it yet.
	require.NoError(t, b.Set(ctx, sid, v1, time.Now().Add(300*time.Millisecond)))
	time.Sleep(400 * time.Millisecond)
	data, _, err = b.Get(ctx, sid)
	require.NoError(t, err)
	assert.Nil(t, data, "an expired session")
	ok, err = b.Swap(ctx, sid, v1, v2, exp2)
	require.NoError(t, err)
	assert.False(t, ok, "swapped an expired session")
	live, err = b.Destroy(ctx, sid)
	require.NoError(t, err)
	assert.False(t, live, "an expired session destroyed as live")

	assert.Positive(t, b.TTL())
}

// proxy returns a proxy to target, a test service, whose Stall makes it
// a server that accepts connections and never answers, as a hung server
// or a dropped network.
func proxy(t *testing.T, target string) *tcpproxy.Proxy {
	p, err := tcpproxy.Start(target)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// runUnreachable checks that every call of b, a backend whose server does
// not answer, fails within its timeout, not later.
func runUnreachable(t *testing.T, b Backend, timeout time.Duration) {
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"Get": func() error { _, _, err := b.Get(ctx, "x"); return err },
		"Set": func() error { return b.Set(ctx, "x", []byte("{}"), time.Now().Add(time.Hour)) },
		"Swap": func() error {
			_, err := b.Swap(ctx, "x", []byte("{}"), []byte("{}"), time.Now().Add(time.Hour))
			return err
		},
		"Destroy": func() error { _, err := b.Destroy(ctx, "x"); return err },
	} {
		done := make(chan error, 1)
		go func() { done <- call() }()
		select {
		case err := <-done:
			assert.Error(t, err, "%s succeeded against a server that does not answer", name)
		case <-time.After(timeout + 2*time.Second):
			t.Errorf("%s was not bounded by the backend's timeout of %v", name, timeout)
		}
	}
}

// TestBackendOptions checks that each constructor refuses another
// backend's options, and a TTL that is not positive.
func TestBackendOptions(t *testing.T) {
	_, err := NewRedis(nil)
	assert.ErrorContains(t, err, "nil client")
	_, err = NewMongo(nil)
	assert.ErrorContains(t, err, "nil database")
	_, err = NewPostgres(context.Background(), nil)
	assert.ErrorContains(t, err, "nil pool")

	_, err = configure("NewRedis", backendConfig{ttl: time.Hour}, []BackendOption{WithTable("t")}, "WithPrefix", "WithTTL")
	assert.EqualError(t, err, "express: NewRedis does not take WithTable, an option of another backend")
	_, err = configure("NewMongo", backendConfig{ttl: time.Hour}, []BackendOption{WithTTL(0)}, "WithTTL")
	assert.ErrorContains(t, err, "the TTL must be positive")
	c, err := configure("NewRedis", backendConfig{prefix: "sess:", ttl: time.Hour}, []BackendOption{WithPrefix(""), WithTTL(time.Minute)}, "WithPrefix", "WithTTL")
	require.NoError(t, err)
	assert.Equal(t, backendConfig{prefix: "", ttl: time.Minute}, c, "an empty prefix is a prefix, as in connect-redis")
}
