package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:27017", ":27017", "192.0.2.1:27017", "example.com:27017"} {
		err := run(t.Context(), []string{"-listen", addr}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("-listen %s: %v, want a refusal", addr, err)
		}
	}
}

func TestServesAndPings(t *testing.T) {
	// A free port, taken back: a race with other processes is possible
	// but harmless (New then fails, and so does the test, clearly).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	if err := pingServer(addr); err == nil {
		t.Fatal("-ping succeeded with no server")
	}
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-listen", addr, "-dir", dir}, &bytes.Buffer{}) }()
	deadline := time.Now().Add(30 * time.Second)
	for pingServer(addr) != nil {
		if time.Now().After(deadline) {
			t.Fatal("no answer to -ping within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("-dir not created: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after its context ended: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	if err := pingServer(addr); err == nil {
		t.Error("the server still answers after run returned")
	}
}
