// Command express is the Go half of an app that Go and Express serve
// together, sharing every session: the demo's routes (examples/demo/app)
// on the sessions of the Express app in node/, through the Node session
// store it uses.
//
//	(cd examples/express/node && npm ci && SESSION_SECRET=s3cret PORT=3000 node app.js) &
//	SESSION_SECRET=s3cret go run ./examples/express -addr 127.0.0.1:8080 -redis-url redis://127.0.0.1:6379
//
// Log in on one (POST /login, admin/123), and the other knows you; add to
// the cart on both, and both show the same cart. SESSION_SECRET holds
// express-session's secrets, comma-separated, the first signing: the same
// list as the Express app's. -store picks the Node store both use:
// redis (connect-redis), postgres (connect-pg-simple) or mongo
// (connect-mongo), with the Express app's STORE to match.
//
// The session settings (the cookie connect.sid, Path "/", HttpOnly,
// SameSite Lax, a maxAge of a day) are those of node/app.js: change them
// on both sides together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/examples/demo/app"
	"github.com/go-sealed/session/examples/internal/serve"
	"github.com/go-sealed/session/express"
)

func main() { serve.Main("express", run) }

// The Express app's session settings (node/app.js).
var (
	cookie = session.CookieOptions{Name: "connect.sid", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	maxAge = 24 * time.Hour
)

type config struct {
	addr        string
	store       string
	redisURL    string
	postgresURL string
	mongoURL    string
	prefix      string // connect-redis's prefix
	table       string // connect-pg-simple's tableName
	collection  string // connect-mongo's collectionName
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("express", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.store, "store", "redis", "the Node session store the Express app uses: redis|postgres|mongo")
	fs.StringVar(&c.redisURL, "redis-url", "redis://127.0.0.1:6379/0", "Redis URL, for -store redis (the Express app's REDIS_URL)")
	fs.StringVar(&c.postgresURL, "postgres-url", "postgres://postgres@127.0.0.1:5432/test", "PostgreSQL URL, for -store postgres (the Express app's DATABASE_URL)")
	fs.StringVar(&c.mongoURL, "mongo-url", "mongodb://127.0.0.1:27017/test", "MongoDB URL with the database, for -store mongo (the Express app's MONGO_URL)")
	fs.StringVar(&c.prefix, "prefix", "sess:", "connect-redis's prefix (the Express app's SESSION_PREFIX)")
	fs.StringVar(&c.table, "table", "session", "connect-pg-simple's tableName (the Express app's SESSION_TABLE)")
	fs.StringVar(&c.collection, "collection", "sessions", "connect-mongo's collectionName (the Express app's SESSION_COLLECTION)")
	return c, fs.Parse(args)
}

func run(ctx context.Context, args []string) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	h, closeStore, err := open(ctx, cfg, os.Getenv("SESSION_SECRET"))
	if err != nil {
		return err
	}
	defer closeStore()
	return serve.Serve(ctx, cfg.addr, "/", h, "store", cfg.store)
}

// open returns the app's handler, with its sessions in the Node store cfg
// names, signed with the secrets in secretList (SESSION_SECRET's format),
// and how to close the store's connection.
func open(ctx context.Context, cfg config, secretList string) (http.Handler, func(), error) {
	if secretList == "" {
		return nil, nil, errors.New("SESSION_SECRET is not set: the Express app's secrets, comma-separated, the first signing")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // connecting
	defer cancel()
	backend, closeStore, err := openBackend(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	store, err := express.New(backend, strings.Split(secretList, ","), express.WithCookie(cookie), express.WithMaxAge(maxAge))
	if err != nil {
		closeStore()
		return nil, nil, fmt.Errorf("SESSION_SECRET: %w", err)
	}
	m := session.New(store)
	store.Configure(m) // the JSON codec, the cookie and the idle limits of the Express app
	return app.New(m), closeStore, nil
}

// openBackend connects to the Node store cfg names.
func openBackend(ctx context.Context, cfg config) (express.Backend, func(), error) {
	switch cfg.store {
	case "redis":
		opts, err := redis.ParseURL(cfg.redisURL)
		if err != nil {
			return nil, nil, fmt.Errorf("-redis-url: %w", err)
		}
		opts.ContextTimeoutEnabled = true // the backend's timeout bounds each call
		client := redis.NewClient(opts)
		if err := client.Ping(ctx).Err(); err != nil {
			_ = client.Close()
			return nil, nil, fmt.Errorf("redis: %w", err)
		}
		b, err := express.NewRedis(client, express.WithPrefix(cfg.prefix))
		if err != nil {
			_ = client.Close()
			return nil, nil, err
		}
		return b, func() { _ = client.Close() }, nil

	case "postgres":
		pool, err := pgxpool.New(ctx, cfg.postgresURL)
		if err != nil {
			return nil, nil, fmt.Errorf("-postgres-url: %w", err)
		}
		// The Express app creates the table too (createTableIfMissing).
		b, err := express.NewPostgres(ctx, pool, express.WithTable(cfg.table), express.WithCreateTable())
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return b, pool.Close, nil

	case "mongo":
		cs, err := connstring.ParseAndValidate(cfg.mongoURL)
		if err != nil {
			return nil, nil, fmt.Errorf("-mongo-url: %w", err)
		}
		client, err := mongo.Connect(options.Client().ApplyURI(cfg.mongoURL))
		if err != nil {
			return nil, nil, fmt.Errorf("-mongo-url: %w", err)
		}
		closeClient := func() { _ = client.Disconnect(context.Background()) }
		if err := client.Ping(ctx, nil); err != nil {
			closeClient()
			return nil, nil, fmt.Errorf("mongo: %w", err)
		}
		b, err := express.NewMongo(client.Database(mongoDatabase(cs)), express.WithCollection(cfg.collection))
		if err != nil {
			closeClient()
			return nil, nil, err
		}
		return b, closeClient, nil

	default:
		return nil, nil, fmt.Errorf("-store %q: want redis, postgres or mongo", cfg.store)
	}
}

// mongoDatabase is the database a MongoDB URL names, as the Node driver
// (which the Express app uses) picks it: "test" when it names none.
func mongoDatabase(cs *connstring.ConnString) string {
	if cs.Database == "" {
		return "test"
	}
	return cs.Database
}
