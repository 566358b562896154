//go:build !race

package session_test

// raceEnabled is true under the race detector, which changes how many
// allocations some code makes (its sync.Pool drops a share of what is put
// back, for one).
const raceEnabled = false
