//go:build tools

// Package deps pins dependencies that later packages of this module use, so go mod tidy keeps them while those packages are written. Delete once every import here is used for real.
package deps

import (
	_ "github.com/fxamacker/cbor/v2"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/gorilla/securecookie"
	_ "github.com/gorilla/sessions"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/stretchr/testify/require"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/crypto/chacha20poly1305"
)
