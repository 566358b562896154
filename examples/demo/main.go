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
	"flag"
	"time"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/examples/demo/app"
	"github.com/go-sealed/session/examples/internal/serve"
)

func main() { serve.Main("demo", run) }

type config struct {
	addr        string
	store       string
	redisURL    string
	postgresURL string
	mysqlDSN    string
	boltPath    string
	sqlitePath  string
	timeout     time.Duration // the SQL backends' call timeout; 0: their default
	idle        time.Duration
	lifetime    time.Duration
	secure      bool
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.store, "store", "cookie", "session store: cookie|memory|redis|postgres|mysql|bolt|sqlite")
	fs.StringVar(&c.redisURL, "redis-url", "redis://127.0.0.1:6379/0", "Redis URL, for -store redis; a cluster as redis://host1:port?addr=host2:port&addr=...")
	fs.StringVar(&c.postgresURL, "postgres-url", "postgres://postgres@127.0.0.1:5432/test", "PostgreSQL URL, for -store postgres")
	fs.StringVar(&c.mysqlDSN, "mysql-dsn", "root@tcp(127.0.0.1:3306)/test?interpolateParams=true", "MySQL/MariaDB DSN, for -store mysql")
	fs.StringVar(&c.boltPath, "bolt-path", "sessions.db", "bolt file, for -store bolt")
	fs.StringVar(&c.sqlitePath, "sqlite-path", "sessions.sqlite", "SQLite database file, for -store sqlite")
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

	return serve.Serve(ctx, cfg.addr, "/", app.New(m), "store", cfg.store)
}
