// Package stores opens the session store that the examples' -store flags
// name: the demo's, and the admin page's over the same sessions.
package stores

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql" // the "mysql" database/sql driver
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/serve"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/boltstore"
	"github.com/go-sealed/session/serverstore/memstore"
	"github.com/go-sealed/session/serverstore/mongostore"
	"github.com/go-sealed/session/serverstore/mysqlstore"
	"github.com/go-sealed/session/serverstore/pgstore"
	"github.com/go-sealed/session/serverstore/redisstore"
	"github.com/go-sealed/session/serverstore/sqlitestore" // also the "sqlite" database/sql driver
)

// Config names a store and where it is: the flags AddFlags defines.
type Config struct {
	Store       string // cookie|memory|redis|postgres|mysql|bolt|sqlite|mongo
	RedisURL    string
	PostgresURL string
	MySQLDSN    string
	BoltPath    string
	SQLitePath  string
	MongoURL    string
	Timeout     time.Duration // the SQL and MongoDB backends' call timeout; 0: their default
}

// AddFlags defines -store, with defaultStore as its default, and the
// flags of each store (-redis-url, -postgres-url, -mysql-dsn,
// -bolt-path, -sqlite-path, -mongo-url) on fs, setting c.
func (c *Config) AddFlags(fs *flag.FlagSet, defaultStore string) {
	fs.StringVar(&c.Store, "store", defaultStore, "session store: cookie|memory|redis|postgres|mysql|bolt|sqlite|mongo")
	fs.StringVar(&c.RedisURL, "redis-url", "redis://127.0.0.1:6379/0", "Redis URL, for -store redis; a cluster as redis://host1:port?addr=host2:port&addr=...")
	fs.StringVar(&c.PostgresURL, "postgres-url", "postgres://postgres@127.0.0.1:5432/test", "PostgreSQL URL, for -store postgres")
	fs.StringVar(&c.MySQLDSN, "mysql-dsn", "root@tcp(127.0.0.1:3306)/test?interpolateParams=true", "MySQL/MariaDB DSN, for -store mysql")
	fs.StringVar(&c.BoltPath, "bolt-path", "sessions.db", "bolt file, for -store bolt")
	fs.StringVar(&c.SQLitePath, "sqlite-path", "sessions.sqlite", "SQLite database file, for -store sqlite")
	fs.StringVar(&c.MongoURL, "mongo-url", "mongodb://127.0.0.1:27017/demo", "MongoDB URL with the database's name, for -store mongo (scripts/mongo.sh starts FerretDB there)")
}

// Open opens the store cfg names, and returns how to close it.
func Open(ctx context.Context, cfg Config) (session.Store, func(), error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // connecting and migrating
	defer cancel()
	switch cfg.Store {
	case "cookie":
		keys, err := serve.Keys()
		if err != nil {
			return nil, nil, err
		}
		store, err := cookiesession.New(keys...)
		if err != nil {
			return nil, nil, err
		}
		return store, func() {}, nil

	case "memory":
		backend := memstore.New()
		return serverstore.New(backend), func() { _ = backend.Close() }, nil

	case "redis":
		client, err := redisClient(cfg.RedisURL)
		if err != nil {
			return nil, nil, fmt.Errorf("-redis-url: %w", err)
		}
		if err := client.Ping(ctx).Err(); err != nil {
			client.Close()
			return nil, nil, fmt.Errorf("redis: %w", err)
		}
		return serverstore.New(redisstore.New(client)), func() { _ = client.Close() }, nil

	case "postgres":
		pool, err := pgxpool.New(ctx, cfg.PostgresURL)
		if err != nil {
			return nil, nil, fmt.Errorf("-postgres-url: %w", err)
		}
		var opts []pgstore.Option
		if cfg.Timeout > 0 {
			opts = append(opts, pgstore.WithTimeout(cfg.Timeout))
		}
		backend, err := pgstore.New(ctx, pool, opts...)
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return serverstore.New(backend), func() { _ = backend.Close(); pool.Close() }, nil

	case "mysql":
		db, err := sql.Open("mysql", cfg.MySQLDSN)
		if err != nil {
			return nil, nil, fmt.Errorf("-mysql-dsn: %w", err)
		}
		var opts []mysqlstore.Option
		if cfg.Timeout > 0 {
			opts = append(opts, mysqlstore.WithTimeout(cfg.Timeout))
		}
		backend, err := mysqlstore.New(ctx, db, opts...)
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		return serverstore.New(backend), func() { _ = backend.Close(); _ = db.Close() }, nil

	case "bolt":
		backend, err := boltstore.Open(cfg.BoltPath)
		if err != nil {
			return nil, nil, err
		}
		return serverstore.New(backend), func() { _ = backend.Close() }, nil

	case "sqlite":
		db, err := sql.Open("sqlite", cfg.SQLitePath)
		if err != nil {
			return nil, nil, fmt.Errorf("-sqlite-path: %w", err)
		}
		backend, err := sqlitestore.New(ctx, db)
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		return serverstore.New(backend), func() { _ = backend.Close(); _ = db.Close() }, nil

	case "mongo":
		return openMongo(ctx, cfg)

	default:
		return nil, nil, fmt.Errorf("-store %q: want cookie, memory, redis, postgres, mysql, bolt, sqlite or mongo", cfg.Store)
	}
}

// redisClient connects to a single Redis server, or to a Redis Cluster when
// the URL names more nodes with addr parameters, as go-redis's
// ParseClusterURL reads them: redis://127.0.0.1:7001?addr=127.0.0.1:7002.
func redisClient(rawURL string) (redis.UniversalClient, error) {
	if strings.Contains(rawURL, "addr=") {
		opts, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, err
		}
		opts.ContextTimeoutEnabled = true // see the redisstore documentation
		return redis.NewClusterClient(opts), nil
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	opts.ContextTimeoutEnabled = true
	return redis.NewClient(opts), nil
}

// openMongo opens the database cfg.MongoURL names ("demo" if it names
// none) and a mongostore Backend on its "sessions" collection.
func openMongo(ctx context.Context, cfg Config) (session.Store, func(), error) {
	u, err := url.Parse(cfg.MongoURL)
	if err != nil {
		return nil, nil, fmt.Errorf("-mongo-url: %w", err)
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	if dbName == "" {
		dbName = "demo"
	}
	client, err := mongo.Connect(options.Client().ApplyURI(cfg.MongoURL))
	if err != nil {
		return nil, nil, fmt.Errorf("-mongo-url: %w", err)
	}
	disconnect := func() { _ = client.Disconnect(context.Background()) }
	if err := client.Ping(ctx, nil); err != nil {
		disconnect()
		return nil, nil, fmt.Errorf("mongo: %w", err)
	}
	var opts []mongostore.Option
	if cfg.Timeout > 0 {
		opts = append(opts, mongostore.WithTimeout(cfg.Timeout))
	}
	backend, err := mongostore.New(ctx, client.Database(dbName), opts...)
	if err != nil {
		disconnect()
		return nil, nil, err
	}
	return serverstore.New(backend), func() { _ = backend.Close(); disconnect() }, nil
}
