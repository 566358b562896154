package main

import (
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/frameworks/internal/flowtest"
	"github.com/go-sealed/session/examples/internal/servetest"
	"github.com/go-sealed/session/gorillastore"
)

func TestFlow(t *testing.T) {
	gin.SetMode(gin.TestMode)
	sealed, err := cookiesession.New(cookiesession.GenerateKey())
	require.NoError(t, err)
	flowtest.Run(t, newRouter(Store{gorillastore.New(sealed, gorillastore.WithUserKey("user"))}))
}

// TestInvalidKeys: SESSION_KEYS set but not valid stops the example, where
// it used to serve with a random key.
func TestInvalidKeys(t *testing.T) {
	servetest.InvalidKeys(t, run)
}
