// Command ferretdb runs FerretDB v1.24, a MongoDB wire-protocol server
// written in Go, on a loopback port with its SQLite backend, for
// mongostore's tests, CI and the demo: MongoDB itself is not packaged
// here, and FerretDB needs no other service.
//
//	go run . -listen 127.0.0.1:27017 -dir /tmp/ferretdb
//
// scripts/mongo.sh builds it, starts it in the background and stops it.
// It serves until SIGINT or SIGTERM. Without -dir, the data lives in a
// temporary directory removed on exit. With -ping, it serves nothing: it
// asks the server at -listen for a ping and exits 0 if it answers, 1 if
// not, which is how the script waits for it.
//
// It is a module of its own so that FerretDB's many dependencies stay out
// of the library's go.mod.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

// run serves as args say until ctx is done, logging to logw.
func run(ctx context.Context, args []string, logw io.Writer) error {
	fs := flag.NewFlagSet("ferretdb", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:27017", "TCP `address` to serve the MongoDB wire protocol on (loopback only)")
	dir := fs.String("dir", "", "`directory` for the SQLite files, created if missing; a temporary one removed on exit if empty")
	level := fs.String("log-level", "error", "log `level`: debug, info, warn or error (FerretDB logs every error reply at warn)")
	ping := fs.Bool("ping", false, "ping the server at -listen and exit, instead of serving")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *ping {
		return pingServer(*listen)
	}

	// A test server with no authentication must not be reachable from
	// other machines: refuse anything but a loopback address at start.
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", *listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-listen %q: not a loopback address", *listen)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}

	data := *dir
	if data == "" {
		tmp, err := os.MkdirTemp("", "ferretdb-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		data = tmp
	} else if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	abs, err := filepath.Abs(data)
	if err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: lvl}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Logger:   logger,
		Handler:  "sqlite",
		// A directory URI: FerretDB keeps one SQLite file per database
		// in it, and wants the trailing slash.
		SQLiteURL: "file:" + filepath.ToSlash(abs) + "/",
	})
	if err != nil {
		return err
	}
	// New has bound the port (a port in use fails it); Run serves until
	// ctx is done, then closes every connection and the SQLite files.
	logger.Info("serving", "listen", *listen, "dir", abs)
	return f.Run(ctx)
}

// pingServer runs the ping command on the server at addr, within 2
// seconds. A listening port is not enough: the server must answer.
func pingServer(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := mongo.Connect(ctx, options.Client().ApplyURI("mongodb://"+addr).SetServerSelectionTimeout(2*time.Second))
	if err != nil {
		return err
	}
	defer func() { _ = c.Disconnect(context.Background()) }()
	return c.Ping(ctx, nil)
}
