package main

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/examples/internal/stores"
)

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}

func TestFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-store", "memory", "-idle", "15m", "-secure"})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8080", cfg.addr)
	assert.Equal(t, "memory", cfg.Store)
	assert.Equal(t, "15m0s", cfg.idle.String())
	assert.True(t, cfg.secure)
	assert.Equal(t, "sessions.sqlite", cfg.SQLitePath)
	cfg, err = parseFlags([]string{"-store", "sqlite", "-sqlite-path", "/var/lib/app/sessions.sqlite"})
	require.NoError(t, err)
	assert.Equal(t, "/var/lib/app/sessions.sqlite", cfg.SQLitePath)

	_, _, err = stores.Open(t.Context(), stores.Config{Store: "floppy"})
	assert.ErrorContains(t, err, "want cookie, memory, redis, postgres, mysql, bolt, sqlite or mongo")

	t.Setenv("SESSION_KEYS", "not base64!")
	_, _, err = stores.Open(t.Context(), stores.Config{Store: "cookie"})
	assert.ErrorContains(t, err, "SESSION_KEYS")
}

// TestBindFailure: an address in use fails the demo with an error naming
// -addr, and it never logs that it listens: it used to log "listening"
// before it tried.
func TestBindFailure(t *testing.T) {
	var logged bytes.Buffer
	old := slog.Default()
	slog.SetDefault(newTextLogger(&logged))
	t.Cleanup(func() { slog.SetDefault(old) })
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()

	err = run(t.Context(), []string{"-addr", taken.Addr().String(), "-store", "memory"})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "-addr: listen tcp "+taken.Addr().String()+": "), err.Error())
	assert.NotContains(t, logged.String(), "listening")
}
