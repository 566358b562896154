// Command demo serves the routes of the two guides this library grew from,
// over any of its stores:
//
//	go run ./examples/demo -addr 127.0.0.1:8080 -store cookie
//
// Keys for the cookie store come from SESSION_KEYS ("base64,base64,...",
// newest first); without it the demo makes a random key, so sessions do not
// survive a restart.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/examples/demo/app"
)

func main() {
	err := run(context.Background(), os.Args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		// -h: the flag package has printed the usage; that is all.
	case err != nil:
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type config struct {
	addr        string
	store       string
	redisURL    string
	postgresURL string
	mysqlDSN    string
	boltPath    string
	idle        time.Duration
	lifetime    time.Duration
	secure      bool
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.store, "store", "cookie", "session store: cookie|memory|redis|postgres|mysql|bolt")
	fs.StringVar(&c.redisURL, "redis-url", "redis://127.0.0.1:6379/0", "Redis URL, for -store redis; a cluster as redis://host1:port?addr=host2:port&addr=...")
	fs.StringVar(&c.postgresURL, "postgres-url", "postgres://postgres@127.0.0.1:5432/test", "PostgreSQL URL, for -store postgres")
	fs.StringVar(&c.mysqlDSN, "mysql-dsn", "root@tcp(127.0.0.1:3306)/test?interpolateParams=true", "MySQL/MariaDB DSN, for -store mysql")
	fs.StringVar(&c.boltPath, "bolt-path", "sessions.db", "bolt file, for -store bolt")
	fs.DurationVar(&c.idle, "idle", 0, "idle timeout (0: none)")
	fs.DurationVar(&c.lifetime, "lifetime", session.DefaultLifetime, "absolute session lifetime")
	fs.BoolVar(&c.secure, "secure", false, "mark cookies Secure (needs HTTPS; off since the demo serves plain HTTP)")
	return c, fs.Parse(args)
}

func run(ctx context.Context, args []string) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()

	m := session.New(store)
	m.IdleTimeout = cfg.idle
	m.Lifetime = cfg.lifetime
	m.Cookie.Secure = cfg.secure

	srv := &http.Server{
		Addr:              cfg.addr,
		Handler:           app.New(m),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	slog.Info("demo listening", "url", "http://"+cfg.addr, "store", cfg.store)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
