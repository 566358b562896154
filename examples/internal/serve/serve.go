// Package serve is the plumbing the examples' commands share, so that each
// example's own code is about sessions: reading SESSION_KEYS, listening,
// logging, shutting down and exiting. The framework examples, a module of
// their own, share it too.
package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-sealed/session/cookiesession"
)

// Main runs the command named name: run with the command line's
// arguments and a context that ends on SIGINT or SIGTERM. When run fails
// it prints "name: error" and exits with status 1; -h, which the flag
// package answers with the usage, is not a failure.
func Main(name string, run func(ctx context.Context, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Keys returns the keys in the environment variable SESSION_KEYS
// (cookiesession.ParseKeys's format). When it is unset or empty, Keys
// makes a random key and logs a warning, since sessions then end with the
// process. When it is set but not valid, Keys fails, naming the variable:
// serving with a random key instead would quietly log every user out.
func Keys() ([][]byte, error) {
	env := os.Getenv("SESSION_KEYS")
	if env == "" {
		slog.Warn("SESSION_KEYS is not set: using a random key, so sessions end when the server stops; make one with: go run ./cmd/sessionkey")
		return [][]byte{cookiesession.GenerateKey()}, nil
	}
	keys, err := cookiesession.ParseKeys(env) // its errors never show the keys
	if err != nil {
		return nil, fmt.Errorf("SESSION_KEYS: %w", err)
	}
	return keys, nil
}

// Serve listens on addr and serves h until ctx ends, then shuts down,
// giving requests in flight 5 seconds. Only once it listens does it log
// "listening", with the URL of path on the address it got (addr may
// have port 0) and attrs (slog's key-value pairs). An address it cannot
// listen on is an error that names the -addr flag.
func Serve(ctx context.Context, addr, path string, h http.Handler, attrs ...any) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
		case <-served:
			return
		}
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	slog.Info("listening", append([]any{"url", "http://" + ln.Addr().String() + path}, attrs...)...)
	err = srv.Serve(ln) // returns as soon as Shutdown begins
	close(served)
	<-stopped // Shutdown has let the requests in flight finish
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
