package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	_ "github.com/go-sql-driver/mysql" // the "mysql" database/sql driver
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/demo/app"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/boltstore"
	"github.com/go-sealed/session/serverstore/memstore"
	"github.com/go-sealed/session/serverstore/mongostore"
	"github.com/go-sealed/session/serverstore/mysqlstore"
	"github.com/go-sealed/session/serverstore/pgstore"
	"github.com/go-sealed/session/serverstore/redisstore"
	"github.com/go-sealed/session/serverstore/sqlitestore" // also the "sqlite" database/sql driver
)

// target is one store behind the demo's routes, ready to serve.
type target struct {
	handler http.Handler
	store   session.Store // nil for scs and gorilla
	close   func()        // releases the store and deletes what the run left in it
}

// targetOptions adjust how a target is opened.
type targetOptions struct {
	via          string        // for redis and postgres: reach the service through this host:port (a proxy)
	storeTimeout time.Duration // the SQL and MongoDB backends' call timeout; 0: their default
	boltPath     string        // for bolt: this file rather than a temporary one (kept)
	boltOptions  *bolt.Options
	logger       *slog.Logger // the Manager's; nil: discard
}

// unreachableError says a service the target needs does not answer, so
// that tests can skip rather than fail.
type unreachableError struct {
	service string
	err     error
}

func (e *unreachableError) Error() string { return e.service + " not reachable: " + e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// randomSuffix names what one run creates (Redis prefix, SQL table) so that
// runs never share state.
func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// openTarget opens the store name over the demo's routes, or builds the
// scs or gorilla server.
func openTarget(ctx context.Context, cfg config, name string, o targetOptions) (*target, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // connecting and migrating
	defer cancel()
	var (
		store   session.Store
		closeFn = func() {}
	)
	switch name {
	case "bare":
		return &target{handler: bareServer(), close: func() {}}, nil
	case "scs":
		return &target{handler: scsServer(), close: func() {}}, nil
	case "gorilla":
		return &target{handler: gorillaServer(), close: func() {}}, nil

	case "cookie":
		s, err := cookiesession.New(cookiesession.GenerateKey())
		if err != nil {
			return nil, err
		}
		store = s

	case "memory":
		b := memstore.New()
		store, closeFn = serverstore.New(b), func() { _ = b.Close() }

	case "redis":
		opt, err := redis.ParseURL(cfg.redisURL)
		if err != nil {
			return nil, fmt.Errorf("-redis-url: %w", err)
		}
		if o.via != "" {
			opt.Addr = o.via
			opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Second, time.Second, time.Second
		}
		opt.PoolSize = max(opt.PoolSize, cfg.clients)
		opt.ContextTimeoutEnabled = true // as the redisstore documentation advises
		c := redis.NewClient(opt)
		if err := c.Ping(ctx).Err(); err != nil {
			_ = c.Close()
			return nil, &unreachableError{"Redis at " + opt.Addr, err}
		}
		prefix := "go-sealed-load:" + randomSuffix() + ":"
		store = serverstore.New(redisstore.New(c, redisstore.WithPrefix(prefix)))
		closeFn = func() {
			dropRedisPrefix(c, prefix)
			_ = c.Close()
		}

	case "postgres":
		pc, err := pgxpool.ParseConfig(cfg.postgresURL)
		if err != nil {
			return nil, fmt.Errorf("-postgres-url: %w", err)
		}
		if o.via != "" {
			host, port, _ := net.SplitHostPort(o.via)
			p, _ := strconv.Atoi(port)
			pc.ConnConfig.Host, pc.ConnConfig.Port = host, uint16(p)
			pc.ConnConfig.ConnectTimeout = time.Second
			pc.ConnConfig.Fallbacks = nil
		}
		pc.MaxConns = max(pc.MaxConns, 16)
		pool, err := pgxpool.NewWithConfig(ctx, pc)
		if err == nil {
			err = pool.Ping(ctx)
		}
		if err != nil {
			if pool != nil {
				pool.Close()
			}
			return nil, &unreachableError{"PostgreSQL", err}
		}
		table := "load_" + randomSuffix()
		opts := []pgstore.Option{pgstore.WithTable(table), pgstore.WithSweepInterval(0)}
		if o.storeTimeout > 0 {
			opts = append(opts, pgstore.WithTimeout(o.storeTimeout))
		}
		b, err := pgstore.New(ctx, pool, opts...)
		if err != nil {
			pool.Close()
			return nil, err
		}
		store = serverstore.New(b)
		closeFn = func() {
			_ = b.Close()
			_, _ = pool.Exec(context.Background(), `DROP TABLE IF EXISTS "`+table+`"`)
			pool.Close()
		}

	case "mysql":
		db, err := sql.Open("mysql", cfg.mysqlDSN)
		if err != nil {
			return nil, fmt.Errorf("-mysql-dsn: %w", err)
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		if err := db.PingContext(ctx); err != nil {
			_ = db.Close()
			return nil, &unreachableError{"MySQL", err}
		}
		table := "load_" + randomSuffix()
		opts := []mysqlstore.Option{mysqlstore.WithTable(table), mysqlstore.WithSweepInterval(0)}
		if o.storeTimeout > 0 {
			opts = append(opts, mysqlstore.WithTimeout(o.storeTimeout))
		}
		b, err := mysqlstore.New(ctx, db, opts...)
		if err != nil {
			_ = db.Close()
			return nil, err
		}
		store = serverstore.New(b)
		closeFn = func() {
			_ = b.Close()
			_, _ = db.Exec("DROP TABLE IF EXISTS `" + table + "`")
			_ = db.Close()
		}

	case "bolt":
		path, dir := o.boltPath, ""
		if path == "" {
			var err error
			dir, err = os.MkdirTemp(cfg.boltDir, "load-bolt-")
			if err != nil {
				return nil, err
			}
			path = filepath.Join(dir, "sessions.db")
		}
		b, err := boltstore.Open(path, boltstore.WithBoltOptions(o.boltOptions))
		if err != nil {
			if dir != "" {
				_ = os.RemoveAll(dir)
			}
			return nil, err
		}
		store = serverstore.New(b)
		closeFn = func() {
			_ = b.Close()
			if dir != "" {
				_ = os.RemoveAll(dir)
			}
		}

	case "sqlite":
		dir, err := os.MkdirTemp(cfg.sqliteDir, "load-sqlite-")
		if err != nil {
			return nil, err
		}
		dsn := "file:" + filepath.Join(dir, "sessions.sqlite")
		if cfg.sqliteSync != "" {
			dsn += "?_pragma=synchronous(" + url.QueryEscape(cfg.sqliteSync) + ")"
		}
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		opts := []sqlitestore.Option{sqlitestore.WithSweepInterval(0)}
		if o.storeTimeout > 0 {
			opts = append(opts, sqlitestore.WithTimeout(o.storeTimeout))
		}
		b, err := sqlitestore.New(ctx, db, opts...)
		if err != nil {
			_ = db.Close()
			_ = os.RemoveAll(dir)
			return nil, err
		}
		store = serverstore.New(b)
		closeFn = func() {
			_ = b.Close()
			_ = db.Close()
			_ = os.RemoveAll(dir)
		}

	case "mongo":
		s, c, err := openMongo(ctx, cfg, o)
		if err != nil {
			return nil, err
		}
		store, closeFn = s, c

	default:
		return nil, fmt.Errorf("unknown store %q", name)
	}

	return &target{handler: demo(store, o), store: store, close: closeFn}, nil
}

// openMongo opens a mongostore Backend on a database of its own, which
// its close drops.
func openMongo(ctx context.Context, cfg config, o targetOptions) (session.Store, func(), error) {
	client, err := mongo.Connect(options.Client().ApplyURI(cfg.mongoURL))
	if err != nil {
		return nil, nil, fmt.Errorf("-mongo-url: %w", err)
	}
	disconnect := func() { _ = client.Disconnect(context.Background()) }
	if err := client.Ping(ctx, nil); err != nil {
		disconnect()
		return nil, nil, &unreachableError{"MongoDB", err}
	}
	db := client.Database("load_" + randomSuffix())
	opts := []mongostore.Option{mongostore.WithSweepInterval(0)}
	if o.storeTimeout > 0 {
		opts = append(opts, mongostore.WithTimeout(o.storeTimeout))
	}
	b, err := mongostore.New(ctx, db, opts...)
	if err != nil {
		disconnect()
		return nil, nil, err
	}
	return serverstore.New(b), func() {
		_ = b.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = db.Drop(ctx)
		disconnect()
	}, nil
}

// demo serves the demo's routes through a Manager of its own over store:
// one app instance.
func demo(store session.Store, o targetOptions) http.Handler {
	m := session.New(store)
	m.Cookie.Secure = false // plain HTTP on loopback
	m.Logger = o.logger
	if m.Logger == nil {
		m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return app.New(m)
}

// dropRedisPrefix deletes every key under prefix.
func dropRedisPrefix(c *redis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			_ = c.Unlink(ctx, keys...).Err()
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		_ = c.Unlink(ctx, keys...).Err()
	}
}

// The comparison servers: the demo's four load routes, written the way
// each library's documentation shows, with the same status codes and
// bodies as examples/demo/app.

const (
	demoUser     = "admin"
	demoPassword = "123"
)

func text(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter) {
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// scsServer serves the routes through alexedwards/scs/v2 with its memstore.
func scsServer() http.Handler {
	sm := scs.New()
	sm.Store = scsmem.New()
	sm.Lifetime = session.DefaultLifetime
	sm.Cookie.Name = "session"
	sm.Cookie.Secure = false
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) { fail(w) }
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("username") != demoUser || r.PostFormValue("password") != demoPassword {
			text(w, http.StatusUnauthorized, "Invalid credentials")
			return
		}
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, "session unavailable", http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "user", demoUser)
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /add-to-cart", func(w http.ResponseWriter, r *http.Request) {
		item := r.PostFormValue("item")
		if item == "" {
			text(w, http.StatusBadRequest, "Missing item")
			return
		}
		cart, _ := sm.Get(r.Context(), "cart").([]string)
		sm.Put(r.Context(), "cart", append(cart, item))
		text(w, http.StatusOK, "Added "+item)
	})
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		cart, _ := sm.Get(r.Context(), "cart").([]string)
		if cart == nil {
			cart = []string{}
		}
		writeJSON(w, cart)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.Destroy(r.Context()); err != nil {
			fail(w)
			return
		}
		text(w, http.StatusOK, "Logged out")
	})
	return sm.LoadAndSave(mux)
}

// gorillaServer serves the routes through gorilla/sessions' CookieStore
// (HMAC-SHA256 and AES-256). A cookie store has no ID to renew at login:
// the login clears the values instead.
func gorillaServer() http.Handler {
	st := sessions.NewCookieStore(securecookie.GenerateRandomKey(64), securecookie.GenerateRandomKey(32))
	st.Options = &sessions.Options{Path: "/", MaxAge: 86400, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	st.MaxAge(86400)
	get := func(w http.ResponseWriter, r *http.Request) *sessions.Session {
		s, _ := st.Get(r, "session") // a bad cookie is a new session, as in the demo
		return s
	}
	save := func(w http.ResponseWriter, r *http.Request, s *sessions.Session) bool {
		if err := s.Save(r, w); err != nil {
			fail(w)
			return false
		}
		return true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("username") != demoUser || r.PostFormValue("password") != demoPassword {
			text(w, http.StatusUnauthorized, "Invalid credentials")
			return
		}
		s := get(w, r)
		clear(s.Values)
		s.Values["user"] = demoUser
		if save(w, r, s) {
			http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		}
	})
	mux.HandleFunc("POST /add-to-cart", func(w http.ResponseWriter, r *http.Request) {
		item := r.PostFormValue("item")
		if item == "" {
			text(w, http.StatusBadRequest, "Missing item")
			return
		}
		s := get(w, r)
		cart, _ := s.Values["cart"].([]string)
		s.Values["cart"] = append(cart, item)
		if save(w, r, s) {
			text(w, http.StatusOK, "Added "+item)
		}
	})
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		cart, _ := get(w, r).Values["cart"].([]string)
		if cart == nil {
			cart = []string{}
		}
		writeJSON(w, cart)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s := get(w, r)
		s.Options.MaxAge = -1
		if save(w, r, s) {
			text(w, http.StatusOK, "Logged out")
		}
	})
	return mux
}
