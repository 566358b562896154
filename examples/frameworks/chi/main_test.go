package main

import (
	"testing"

	"github.com/go-sealed/session/examples/frameworks/internal/flowtest"
)

func TestFlow(t *testing.T) {
	flowtest.Run(t, newRouter(flowtest.NewManager(t)))
}
