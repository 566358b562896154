package gorillastore

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

func liveCount(s *Store) int {
	n := 0
	s.live.Range(func(any, any) bool { n++; return true })
	return n
}

// TestLiveEntriesGoAway: the pairing of gorilla sessions with the sessions
// behind them does not outlive the gorilla sessions.
func TestLiveEntriesGoAway(t *testing.T) {
	mem := memstore.New()
	defer mem.Close()
	s := New(serverstore.New(mem))
	for range 100 {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if _, err := s.Get(r, "app"); err != nil {
			t.Fatal(err)
		}
	}
	if n := liveCount(s); n != 100 {
		t.Fatalf("%d entries, want 100", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for liveCount(s) > 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := liveCount(s); n > 0 {
		t.Fatalf("%d entries left after the sessions were dropped", n)
	}
}
