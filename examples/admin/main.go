// Command admin serves a page that lists the sessions of a server store
// and its signed-in users, and signs them out: one session, a user
// everywhere, or everyone. It uses only the public API of
// serverstore.Store (All, Count, DestroyHandle, DestroyUser, DestroyAll),
// so it works over any server store, picked with the demo's flags. Run it
// beside the demo, on the same sessions:
//
//	go run ./examples/demo -store sqlite -sqlite-path /tmp/sessions.sqlite &
//	ADMIN_PASSWORD=... go run ./examples/admin -store sqlite -sqlite-path /tmp/sessions.sqlite
//
// (SQLite lets both processes open the file; a bolt file is one process's.
// Redis, PostgreSQL and MySQL work as well.)
//
// The page is what an admin page should be: it answers only requests
// that carry the password from ADMIN_PASSWORD (HTTP Basic, user "admin";
// the command refuses to start without it), listens on loopback by
// default, changes nothing on GET, refuses a POST from another site
// (CSRF), and is neither cached nor framed. Over plain HTTP the password
// crosses the network in clear: beyond loopback, serve it over HTTPS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/go-sealed/session/examples/internal/serve"
	"github.com/go-sealed/session/examples/internal/stores"
	"github.com/go-sealed/session/serverstore"
)

func main() { serve.Main("admin", run) }

type config struct {
	addr string
	stores.Config
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8081", "address to listen on")
	c.AddFlags(fs, "memory")
	return c, fs.Parse(args)
}

func run(ctx context.Context, args []string) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	password := os.Getenv("ADMIN_PASSWORD")
	if password == "" {
		return errors.New("ADMIN_PASSWORD is not set: the admin page needs a password")
	}
	store, closeStore, err := openServerStore(ctx, cfg.Config)
	if err != nil {
		return err
	}
	defer closeStore()
	return serve.Serve(ctx, cfg.addr, "/", newAdmin(store, password, slog.Default()), "store", cfg.Store)
}

// openServerStore opens the store cfg names, which must be a server
// store: a sealed cookie keeps its session in the browser, where no
// server can list or end it.
func openServerStore(ctx context.Context, cfg stores.Config) (*serverstore.Store, func(), error) {
	store, closeStore, err := stores.Open(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	s, ok := store.(*serverstore.Store)
	if !ok {
		closeStore()
		return nil, nil, fmt.Errorf("-store %s keeps sessions in the browser, where none can be listed or ended: pick a server store", cfg.Store)
	}
	return s, closeStore, nil
}
