// Command demo serves the routes of the two guides this library grew from,
// over any of its stores:
//
//	go run ./examples/demo -addr 127.0.0.1:8080 -store cookie
//	scripts/mongo.sh start && go run ./examples/demo -store mongo   # on FerretDB, MongoDB's wire protocol
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
	"github.com/go-sealed/session/examples/internal/stores"
)

func main() { serve.Main("demo", run) }

type config struct {
	addr string
	stores.Config
	idle     time.Duration
	lifetime time.Duration
	secure   bool
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	c.AddFlags(fs, "cookie")
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
	store, closeStore, err := stores.Open(ctx, cfg.Config)
	if err != nil {
		return err
	}
	defer closeStore()

	m := session.New(store)
	m.IdleTimeout = cfg.idle
	m.Lifetime = cfg.lifetime
	m.Cookie.Secure = cfg.secure

	return serve.Serve(ctx, cfg.addr, "/", app.New(m), "store", cfg.Store)
}
