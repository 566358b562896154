package serve

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/cookiesession"
)

// logged is a slog.Handler that sends each record's message and
// attributes, as "msg key=value ...", to a channel.
type logged chan string

func (l logged) Enabled(context.Context, slog.Level) bool { return true }
func (l logged) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l logged) WithGroup(string) slog.Handler            { return l }
func (l logged) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	l <- line
	return nil
}

// captureLog makes the default logger send its lines to the channel it
// returns, until t ends.
func captureLog(t *testing.T) logged {
	l := make(logged, 100)
	old := slog.Default()
	slog.SetDefault(slog.New(l))
	t.Cleanup(func() { slog.SetDefault(old) })
	return l
}

func TestKeys(t *testing.T) {
	log := captureLog(t)
	t.Setenv("SESSION_KEYS", "")
	keys, err := Keys()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	assert.Len(t, keys[0], cookiesession.KeySize)
	assert.Contains(t, <-log, "SESSION_KEYS is not set: using a random key")

	k1, k2 := cookiesession.GenerateKey(), cookiesession.GenerateKey()
	t.Setenv("SESSION_KEYS", base64.StdEncoding.EncodeToString(k1)+","+base64.StdEncoding.EncodeToString(k2))
	keys, err = Keys()
	require.NoError(t, err)
	assert.Equal(t, [][]byte{k1, k2}, keys)

	// Set but not valid: an error naming the variable, never a random key,
	// and never the value.
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("sixteen byte key")), " , "} {
		t.Setenv("SESSION_KEYS", bad)
		keys, err = Keys()
		require.Error(t, err, "%q", bad)
		assert.Nil(t, keys)
		assert.True(t, strings.HasPrefix(err.Error(), "SESSION_KEYS: "), err.Error())
		assert.ErrorIs(t, err, cookiesession.ErrInvalidKey)
		if strings.TrimSpace(strings.Trim(bad, ",")) != "" {
			assert.NotContains(t, err.Error(), bad)
		}
	}
	assert.Empty(t, log, "logged: %v", log)
}

// TestServeBindFailure: an address already in use is an error naming the
// flag, and nothing claims to listen.
func TestServeBindFailure(t *testing.T) {
	log := captureLog(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	err = Serve(t.Context(), taken.Addr().String(), "/", http.NotFoundHandler())
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "-addr: listen tcp "+taken.Addr().String()+": "), err.Error())
	var opErr *net.OpError
	require.ErrorAs(t, err, &opErr)
	assert.Equal(t, "listen", opErr.Op)
	assert.Empty(t, log, "logged although it never listened")
}

// TestServe: Serve logs the address it got once it listens, serves there,
// and returns nil when its context ends, after the request in flight.
func TestServe(t *testing.T) {
	log := captureLog(t)
	ctx, cancel := context.WithCancel(t.Context())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel() // shut down while this request is in flight
		_, _ = io.WriteString(w, "hello")
	})
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, "127.0.0.1:0", "/start", h, "store", "memory") }()
	line := <-log
	require.True(t, strings.HasPrefix(line, "listening url=http://127.0.0.1:"), line)
	require.True(t, strings.HasSuffix(line, "/start store=memory"), line)
	url := strings.TrimSuffix(strings.TrimPrefix(line, "listening url="), " store=memory")
	assert.NotContains(t, url, ":0/", "logged the requested port 0, not the one it got")

	res, err := http.Get(url)
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "hello", string(body), "the request in flight was cut short")
	require.NoError(t, <-served)
	_, err = http.Get(url)
	assert.Error(t, err, "still serving after its context ended")
}
