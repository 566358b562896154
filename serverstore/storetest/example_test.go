package storetest_test

import (
	"testing"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// A backend's test runs the whole conformance suite with one call. Each
// call of the function must return a fresh, empty backend (its own key
// prefix, table or file) and clean it up with t.Cleanup; a backend on a
// service also calls storetest.Require when the service does not answer.
func ExampleRun() {
	// In memstore_test.go:
	_ = func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) serverstore.Backend {
			b := memstore.New()
			t.Cleanup(func() { _ = b.Close() })
			return b
		})
	}
}
