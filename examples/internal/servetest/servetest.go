// Package servetest checks the commands of the examples built on package
// serve.
package servetest

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/cookiesession"
)

// InvalidKeys checks that run, an example's command (its main but for the
// exit), fails before it serves when SESSION_KEYS is set but not valid,
// with an error naming the variable, and serves when it is valid. run is
// given an ended context, so that once it serves it stops at once and
// returns nil: a command that wrongly serves fails the test rather than
// hang it.
func InvalidKeys(t *testing.T, run func(ctx context.Context, args []string) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	args := []string{"-addr", "127.0.0.1:0"}

	t.Setenv("SESSION_KEYS", "not base64!")
	err := run(ctx, args)
	require.Error(t, err, "served with SESSION_KEYS not valid")
	assert.True(t, strings.HasPrefix(err.Error(), "SESSION_KEYS: "), "the error does not name the variable: %v", err)

	t.Setenv("SESSION_KEYS", base64.StdEncoding.EncodeToString(cookiesession.GenerateKey()))
	require.NoError(t, run(ctx, args))
}
