// Command load drives the demo's routes (examples/demo/app) over real TCP
// on loopback, with many clients at once, over each of the library's
// stores and, for comparison, over the same routes served by
// alexedwards/scs (memstore) and gorilla/sessions (CookieStore):
//
//	cd bench && go run ./load -clients 50 -items 10 -duration 10s
//
// Every client has its own http.Client and cookie jar and loops: POST
// /login, POST /add-to-cart once per item (names unique to the client),
// GET /cart, POST /logout. The run checks that each cart holds exactly
// what its client added, in order; that no cart holds another client's
// item; and that no request gets a 5xx. It prints, per store, requests per
// second and latency percentiles computed from every request's duration.
//
// With -faults it instead cuts the connection to Redis and PostgreSQL (a
// loopback TCP proxy in between) for a few seconds during the run, and
// opens a bolt file read-only; see docs/reliability.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

// config is the command line.
type config struct {
	clients    int
	items      int
	iterations int // per client; 0: until the deadline
	duration   time.Duration
	stores     []string
	faults     bool
	cut        time.Duration
	instances  int
	out        string

	redisURL    string
	postgresURL string
	mysqlDSN    string
	boltDir     string
	sqliteDir   string
	sqliteSync  string // the synchronous pragma of the sqlite target; "": SQLite's default, FULL
	mongoURL    string
}

// allStores are the targets -stores accepts, in the order they run.
var allStores = []string{"bare", "cookie", "memory", "redis", "postgres", "mysql", "bolt", "sqlite", "mongo", "scs", "gorilla"}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.clients, "clients", 50, "concurrent clients, each with its own cookie jar")
	fs.IntVar(&c.items, "items", 10, "items each client adds to its cart per iteration")
	fs.IntVar(&c.iterations, "iterations", 0, "login…logout loops per client (0: loop until -duration)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "cap on each store's run: no client starts a new loop after it")
	stores := fs.String("stores", strings.Join(allStores, ","), "comma-separated targets: "+strings.Join(allStores, ", "))
	fs.BoolVar(&c.faults, "faults", false, "run the fault scenarios (Redis and PostgreSQL cut during load, bolt read-only) instead of the plain load")
	fs.DurationVar(&c.cut, "cut", 3*time.Second, "with -faults: how long the connection stays cut")
	fs.IntVar(&c.instances, "instances", 1, "app instances behind a round-robin reverse proxy (cookie, redis, postgres, mysql, mongo)")
	fs.StringVar(&c.out, "out", "", "also write the Markdown report to this file")
	fs.StringVar(&c.redisURL, "redis-url", envOr("SESSION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis URL")
	fs.StringVar(&c.postgresURL, "postgres-url", envOr("SESSION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"), "PostgreSQL URL")
	fs.StringVar(&c.mysqlDSN, "mysql-dsn", envOr("SESSION_TEST_MYSQL_DSN", "root@tcp(127.0.0.1:3306)/test?interpolateParams=true"), "MySQL/MariaDB DSN")
	fs.StringVar(&c.boltDir, "bolt-dir", "", "directory for the bolt file (default: a temporary one)")
	fs.StringVar(&c.mongoURL, "mongo-url", envOr("SESSION_TEST_MONGO_URL", "mongodb://127.0.0.1:27017"), "MongoDB URL (scripts/mongo.sh starts FerretDB there)")
	fs.StringVar(&c.sqliteDir, "sqlite-dir", "", "directory for the SQLite file (default: a temporary one)")
	fs.StringVar(&c.sqliteSync, "sqlite-sync", "", "SQLite's synchronous setting for the sqlite target: FULL (its default: each commit syncs the WAL) or NORMAL")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.clients < 1 || c.items < 1 || c.duration <= 0 || c.iterations < 0 {
		return c, errors.New("-clients and -items must be at least 1, -duration positive, -iterations not negative")
	}
	for _, s := range strings.Split(*stores, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !contains(allStores, s) {
			return c, fmt.Errorf("-stores: unknown %q; want some of %s", s, strings.Join(allStores, ","))
		}
		c.stores = append(c.stores, s)
	}
	return c, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	var report string
	failed := false
	if cfg.faults {
		report, failed = runFaults(ctx, cfg, os.Stderr)
	} else {
		var results []*result
		for _, name := range cfg.stores {
			fmt.Fprintf(os.Stderr, "load: %s: %d clients × %d items, up to %v\n", name, cfg.clients, cfg.items, cfg.duration)
			res, err := runStore(ctx, cfg, name)
			if err != nil {
				fmt.Fprintf(os.Stderr, "load: %s: %v\n", name, err)
				failed = true
				continue
			}
			if problems := res.problems(); len(problems) > 0 {
				fmt.Fprintf(os.Stderr, "load: %s: FAILED: %s\n", name, strings.Join(problems, "; "))
				failed = true
			}
			results = append(results, res)
		}
		report = markdown(cfg, results)
	}
	fmt.Print(report)
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(report), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
	}
	if failed {
		os.Exit(1)
	}
}
