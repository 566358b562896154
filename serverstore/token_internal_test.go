package serverstore

import (
	"crypto/hkdf"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSealKeyIsHKDF holds the hand-computed seal key to crypto/hkdf.
func TestSealKeyIsHKDF(t *testing.T) {
	for range 100 {
		_, sec := mintToken()
		want, err := hkdf.Expand(sha256.New, sec.raw[:], sealInfo, 32)
		require.NoError(t, err)
		got := sec.sealKey()
		require.Equal(t, want, got[:])
	}
}

func TestSealKeyDoesNotAllocate(t *testing.T) {
	_, sec := mintToken()
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = sec.sealKey() }))
}
