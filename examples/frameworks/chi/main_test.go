package main

import (
	"testing"

	"github.com/go-sealed/session/examples/frameworks/internal/flowtest"
	"github.com/go-sealed/session/examples/internal/servetest"
	"github.com/go-sealed/session/internal/browsertest"
)

func TestFlow(t *testing.T) {
	flowtest.Run(t, newRouter(browsertest.NewManager(t)))
}

// TestInvalidKeys: SESSION_KEYS set but not valid stops the example, where
// it used to serve with a random key.
func TestInvalidKeys(t *testing.T) {
	servetest.InvalidKeys(t, run)
}
