// Package sqltest has test helpers shared by the tests of pgstore,
// mysqlstore and sqlitestore.
package sqltest

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"sync"
	"testing"
)

// RandomName returns prefix followed by 12 random hex digits: a table or
// schema name no other test run uses.
func RandomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Blackhole returns the address of a TCP server that accepts connections
// and never answers, the worst a database can do to a client: nothing
// fails by itself, so only the client's deadlines end its calls. The
// server stops when t ends.
func Blackhole(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}
