package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
)

// openStore opens the store cfg names, and returns how to close it.
func openStore(_ context.Context, cfg config) (session.Store, func(), error) {
	switch cfg.store {
	case "cookie":
		keys, err := demoKeys()
		if err != nil {
			return nil, nil, err
		}
		store, err := cookiesession.New(keys...)
		if err != nil {
			return nil, nil, err
		}
		return store, func() {}, nil
	case "memory", "redis", "postgres", "mysql", "bolt":
		return nil, nil, fmt.Errorf("-store %s: server-side stores are not available yet; use -store cookie", cfg.store)
	default:
		return nil, nil, fmt.Errorf("-store %q: want cookie, memory, redis, postgres, mysql or bolt", cfg.store)
	}
}

// demoKeys reads SESSION_KEYS, or makes a random key and says so.
func demoKeys() ([][]byte, error) {
	if env := os.Getenv("SESSION_KEYS"); env != "" {
		keys, err := cookiesession.ParseKeys(env)
		if err != nil {
			return nil, fmt.Errorf("SESSION_KEYS: %w", err)
		}
		return keys, nil
	}
	slog.Warn("SESSION_KEYS is not set: using a random key, so sessions end when the demo stops; make one with: go run ./cmd/sessionkey")
	return [][]byte{cookiesession.GenerateKey()}, nil
}
