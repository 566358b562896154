package main

import (
	"testing"

	"github.com/go-sealed/session/examples/frameworks/internal/flowtest"
	"github.com/go-sealed/session/examples/internal/servetest"
)

func TestFlow(t *testing.T) {
	flowtest.Run(t, newRouter(flowtest.NewManager(t)))
}

// TestInvalidKeys: SESSION_KEYS set but not valid stops the example, where
// it used to serve with a random key.
func TestInvalidKeys(t *testing.T) {
	servetest.InvalidKeys(t, run)
}
