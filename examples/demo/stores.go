package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql" // the "mysql" database/sql driver
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/serve"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/boltstore"
	"github.com/go-sealed/session/serverstore/memstore"
	"github.com/go-sealed/session/serverstore/mysqlstore"
	"github.com/go-sealed/session/serverstore/pgstore"
	"github.com/go-sealed/session/serverstore/redisstore"
	"github.com/go-sealed/session/serverstore/sqlitestore" // also the "sqlite" database/sql driver
)

// openStore opens the store cfg names, and returns how to close it.
func openStore(ctx context.Context, cfg config) (session.Store, func(), error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // connecting and migrating
	defer cancel()
	switch cfg.store {
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
		client, err := redisClient(cfg.redisURL)
		if err != nil {
			return nil, nil, fmt.Errorf("-redis-url: %w", err)
		}
		if err := client.Ping(ctx).Err(); err != nil {
			client.Close()
			return nil, nil, fmt.Errorf("redis: %w", err)
		}
		return serverstore.New(redisstore.New(client)), func() { _ = client.Close() }, nil

	case "postgres":
		pool, err := pgxpool.New(ctx, cfg.postgresURL)
		if err != nil {
			return nil, nil, fmt.Errorf("-postgres-url: %w", err)
		}
		var opts []pgstore.Option
		if cfg.timeout > 0 {
			opts = append(opts, pgstore.WithTimeout(cfg.timeout))
		}
		backend, err := pgstore.New(ctx, pool, opts...)
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return serverstore.New(backend), func() { _ = backend.Close(); pool.Close() }, nil

	case "mysql":
		db, err := sql.Open("mysql", cfg.mysqlDSN)
		if err != nil {
			return nil, nil, fmt.Errorf("-mysql-dsn: %w", err)
		}
		var opts []mysqlstore.Option
		if cfg.timeout > 0 {
			opts = append(opts, mysqlstore.WithTimeout(cfg.timeout))
		}
		backend, err := mysqlstore.New(ctx, db, opts...)
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		return serverstore.New(backend), func() { _ = backend.Close(); _ = db.Close() }, nil

	case "bolt":
		backend, err := boltstore.Open(cfg.boltPath)
		if err != nil {
			return nil, nil, err
		}
		return serverstore.New(backend), func() { _ = backend.Close() }, nil

	case "sqlite":
		db, err := sql.Open("sqlite", cfg.sqlitePath)
		if err != nil {
			return nil, nil, fmt.Errorf("-sqlite-path: %w", err)
		}
		backend, err := sqlitestore.New(ctx, db)
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		return serverstore.New(backend), func() { _ = backend.Close(); _ = db.Close() }, nil

	default:
		return nil, nil, fmt.Errorf("-store %q: want cookie, memory, redis, postgres, mysql, bolt or sqlite", cfg.store)
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
