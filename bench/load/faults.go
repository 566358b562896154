package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"

	"github.com/go-sealed/session/internal/tcpproxy"
)

// faultStoreTimeout is the SQL backends' call timeout in the fault runs, and
// the drivers' own timeouts (Redis dial/read/write, PostgreSQL connect).
const faultStoreTimeout = time.Second

// sentinels is how many sessions are filled before a cut and checked
// after it.
const sentinels = 5

// cutResult is what one cut of a backend's connection measured.
type cutResult struct {
	*result
	cutAt, restoredAt time.Time
	sentinelsOK       int
	recovery          time.Duration // from Restore to the end of the first successful request started after it; -1: none
}

// cutDuring sets up the store name behind a proxy, fills a few sessions,
// then drives the load while cutting the proxy for cfg.cut, starting a
// quarter into cfg.duration.
func cutDuring(ctx context.Context, cfg config, name string) (*cutResult, error) {
	var targetAddr string
	switch name {
	case "redis":
		targetAddr = hostPort(cfg.redisURL, "127.0.0.1:6379")
	case "postgres":
		pc, err := pgx.ParseConfig(cfg.postgresURL)
		if err != nil {
			return nil, err
		}
		targetAddr = fmt.Sprintf("%s:%d", pc.Host, pc.Port)
	default:
		return nil, fmt.Errorf("no cut scenario for %q", name)
	}
	proxy, err := tcpproxy.Start(targetAddr)
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	t, err := openTarget(ctx, cfg, name, targetOptions{via: proxy.Addr(), storeTimeout: faultStoreTimeout})
	if err != nil {
		return nil, err
	}
	defer t.close()
	srv, err := serve(t.handler)
	if err != nil {
		return nil, err
	}
	defer srv.close()

	// Sessions written before the cut, by clients that then stay idle.
	pre := &result{store: name + " (before the cut)"}
	before := make([]*client, sentinels)
	wants := make([][]string, sentinels)
	for i := range before {
		c := newClient(-1-i, srv.url, pre, time.Now().Add(giveUpAfter))
		defer c.close()
		before[i] = c
		if _, err := c.step(ctx, "POST", "/login", url.Values{"username": {demoUser}, "password": {demoPassword}}, http.StatusSeeOther); err != nil {
			return nil, fmt.Errorf("filling sessions before the cut: %w", err)
		}
		for j := range 3 {
			item := fmt.Sprintf("c%d-pre-%d", c.id, j)
			if err := c.add(ctx, item, wants[i]); err != nil {
				return nil, fmt.Errorf("filling sessions before the cut: %w", err)
			}
			wants[i] = append(wants[i], item)
		}
	}

	out := &cutResult{recovery: -1}
	scheduleDone := make(chan struct{})
	go func() {
		defer close(scheduleDone)
		time.Sleep(cfg.duration / 4)
		out.cutAt = time.Now()
		proxy.Cut()
		time.Sleep(cfg.cut)
		out.restoredAt = time.Now()
		proxy.Restore()
	}()
	out.result = drive(ctx, cfg, name, srv.url)
	<-scheduleDone

	for i, c := range before {
		cart, err := c.cart(ctx)
		if err == nil && slices.Equal(cart, wants[i]) {
			out.sentinelsOK++
		}
	}
	for _, s := range out.samples {
		if s.start.After(out.restoredAt) && s.code > 0 && s.code < 500 {
			if d := s.start.Add(s.took).Sub(out.restoredAt); out.recovery < 0 || d < out.recovery {
				out.recovery = d
			}
		}
	}
	return out, nil
}

// hostPort takes the host:port out of a service URL, or returns def.
func hostPort(rawURL, def string) string {
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		return u.Host
	}
	return def
}

// problems lists what makes a cut run fail.
func (r *cutResult) problems() []string {
	var p []string
	if n := r.notBare.Load(); n > 0 {
		p = append(p, fmt.Sprintf("%d 5xx replies were not the bare %q", n, bareError))
	}
	if n := r.transport.Load(); n > 0 {
		p = append(p, fmt.Sprintf("%d requests without a response", n))
	}
	if n := r.unexpected.Load(); n > 0 {
		p = append(p, fmt.Sprintf("%d unexpected statuses", n))
	}
	if n := r.mismatched.Load() + r.mixed.Load(); n > 0 {
		p = append(p, fmt.Sprintf("%d carts wrong or mixed up", n))
	}
	if n := r.abandoned.Load(); n > 0 {
		p = append(p, fmt.Sprintf("%d loops abandoned", n))
	}
	if r.server5xx.Load() == 0 {
		p = append(p, "no request failed during the cut: the cut did not bite")
	}
	if lat := r.latencies(r.cutAt, r.restoredAt); percentile(lat, 100) > faultStoreTimeout+time.Second {
		p = append(p, fmt.Sprintf("a request took %v during the cut, past the store timeout (%v) and a second of grace", percentile(lat, 100), faultStoreTimeout))
	}
	if r.recovery < 0 {
		p = append(p, "no request succeeded after the restore")
	}
	if r.sentinelsOK != sentinels {
		p = append(p, fmt.Sprintf("only %d of %d sessions written before the cut were intact after it", r.sentinelsOK, sentinels))
	}
	if first := r.firstError.Load(); first != nil && len(p) > 0 {
		p = append(p, "first: "+*first)
	}
	return p
}

// boltResult is what the read-only bolt scenario found.
type boltResult struct {
	rows          [][4]string // action, status, body, took
	openReadOnly  string      // the error a read-write Open of a read-only file gives, or why not tried
	checkErrors   []string    // bolt's consistency check after reopening read-write
	cartsIntact   int
	writeAfterOK  bool
	clients       int
	maxFailedTook time.Duration
	logged        string // the first error the Manager logged on the read-only file
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// boltReadOnly fills a bolt file, serves it again opened read-only, and
// reopens it read-write to check that nothing was lost or corrupted.
func boltReadOnly(ctx context.Context, cfg config) (*boltResult, error) {
	dir, err := os.MkdirTemp(cfg.boltDir, "load-bolt-ro-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sessions.db")
	out := &boltResult{clients: sentinels}
	res := &result{store: "bolt"}

	// Fill.
	t, err := openTarget(ctx, cfg, "bolt", targetOptions{boltPath: path})
	if err != nil {
		return nil, err
	}
	srv, err := serve(t.handler)
	if err != nil {
		t.close()
		return nil, err
	}
	clients := make([]*client, sentinels)
	wants := make([][]string, sentinels)
	for i := range clients {
		c := newClient(i, srv.url, res, time.Now().Add(giveUpAfter))
		defer c.close()
		clients[i] = c
		if _, err := c.step(ctx, "POST", "/login", url.Values{"username": {demoUser}, "password": {demoPassword}}, http.StatusSeeOther); err != nil {
			return nil, err
		}
		for j := range 3 {
			item := fmt.Sprintf("c%d-%d", i, j)
			if err := c.add(ctx, item, wants[i]); err != nil {
				return nil, err
			}
			wants[i] = append(wants[i], item)
		}
	}
	srv.close()
	t.close()
	rebase := func(base string) {
		for _, c := range clients {
			old, _ := url.Parse(c.base)
			nu, _ := url.Parse(base)
			c.hc.Jar.SetCookies(nu, c.hc.Jar.Cookies(old))
			c.base = base
		}
	}

	// A read-write Open of a file the process may not write.
	if os.Geteuid() == 0 {
		out.openReadOnly = "not tried: running as root, which file modes do not stop"
	} else if err := os.Chmod(path, 0o400); err == nil {
		t, err := openTarget(ctx, cfg, "bolt", targetOptions{boltPath: path})
		if err != nil {
			out.openReadOnly = err.Error()
		} else {
			out.openReadOnly = "opened (unexpected)"
			t.close()
		}
		_ = os.Chmod(path, 0o600)
	}

	// Serve it read-only.
	var logged strings.Builder
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &logged}, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	t, err = openTarget(ctx, cfg, "bolt", targetOptions{boltPath: path, boltOptions: &bolt.Options{ReadOnly: true}, storeTimeout: faultStoreTimeout, logger: logger})
	if err != nil {
		return nil, fmt.Errorf("opening read-only: %w", err)
	}
	srv, err = serve(t.handler)
	if err != nil {
		t.close()
		return nil, err
	}
	rebase(srv.url)
	c := clients[0]
	try := func(action, method, path string, form url.Values) {
		start := time.Now()
		code, body := c.send(ctx, method, path, form)
		took := time.Since(start)
		if code >= 500 {
			out.maxFailedTook = max(out.maxFailedTook, took)
		}
		if len(body) > 40 {
			body = body[:40] + "…"
		}
		out.rows = append(out.rows, [4]string{action, fmt.Sprint(code), fmt.Sprintf("%q", body), ms(took)})
	}
	try("read the cart (GET /cart)", "GET", "/cart", nil)
	try("add to the cart (POST /add-to-cart)", "POST", "/add-to-cart", url.Values{"item": {"lost"}})
	try("log in again (POST /login, renews the ID)", "POST", "/login", url.Values{"username": {demoUser}, "password": {demoPassword}})
	try("log out (POST /logout)", "POST", "/logout", nil)
	srv.close()
	t.close()
	out.logged, _, _ = strings.Cut(logged.String(), "\n")

	// Reopen read-write: the file checks out and every session is as it was.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("reopening: %w", err)
	}
	_ = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			out.checkErrors = append(out.checkErrors, err.Error())
		}
		return nil
	})
	_ = db.Close()
	t, err = openTarget(ctx, cfg, "bolt", targetOptions{boltPath: path})
	if err != nil {
		return nil, fmt.Errorf("reopening read-write: %w", err)
	}
	defer t.close()
	srv, err = serve(t.handler)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	rebase(srv.url)
	for i, c := range clients {
		if cart, err := c.cart(ctx); err == nil && slices.Equal(cart, wants[i]) {
			out.cartsIntact++
		}
	}
	if clients[1].add(ctx, "c1-after", wants[1]) == nil {
		cart, err := clients[1].cart(ctx)
		out.writeAfterOK = err == nil && slices.Equal(cart, append(wants[1], "c1-after"))
	}
	return out, nil
}

func (r *boltResult) problems() []string {
	var p []string
	for _, row := range r.rows[1:] {
		if row[1] != "500" || row[2] != fmt.Sprintf("%q", bareError) {
			p = append(p, fmt.Sprintf("%s on a read-only file: %s %s, want 500 %q", row[0], row[1], row[2], bareError))
		}
	}
	if r.rows[0][1] != "200" {
		p = append(p, "reading a session from the read-only file failed: "+r.rows[0][1])
	}
	if len(r.checkErrors) > 0 {
		p = append(p, "bolt check: "+strings.Join(r.checkErrors, "; "))
	}
	if r.cartsIntact != r.clients {
		p = append(p, fmt.Sprintf("%d of %d carts intact after reopening", r.cartsIntact, r.clients))
	}
	if !r.writeAfterOK {
		p = append(p, "no write succeeded after reopening read-write")
	}
	return p
}

// runFaults runs the fault scenarios and returns their report.
func runFaults(ctx context.Context, cfg config, log io.Writer) (string, bool) {
	var b strings.Builder
	failed := false
	if cfg.duration < cfg.cut+2*time.Second {
		fmt.Fprintf(log, "load: -duration %v too short for a cut of %v\n", cfg.duration, cfg.cut)
		return "", true
	}
	fmt.Fprintf(&b, "### Connection cut during load\n\n%d clients × %d items for %v; the connection to the backend is cut (every connection reset, new ones refused) %v into the run for %v, then restored. SQL call timeout (WithTimeout) %v; Redis dial/read/write timeouts and the PostgreSQL connect timeout %v.\n\n",
		cfg.clients, cfg.items, cfg.duration, cfg.duration/4, cfg.cut, faultStoreTimeout, faultStoreTimeout)
	b.WriteString("| store | requests | 5xx | 5xx not bare | no response | max latency during cut ms | p99 during cut ms | recovered after restore ms | 5xx after recovery | adds saved despite 500 | loops ok | carts wrong / mixed | sessions from before the cut intact |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, name := range []string{"redis", "postgres"} {
		if !contains(cfg.stores, name) {
			continue
		}
		fmt.Fprintf(log, "load: %s: cut for %v during %v of load\n", name, cfg.cut, cfg.duration)
		r, err := cutDuring(ctx, cfg, name)
		if err != nil {
			fmt.Fprintf(log, "load: %s: %v\n", name, err)
			failed = true
			continue
		}
		if p := r.problems(); len(p) > 0 {
			fmt.Fprintf(log, "load: %s cut: FAILED: %s\n", name, strings.Join(p, "; "))
			failed = true
		}
		cut := r.latencies(r.cutAt, r.restoredAt)
		var late int
		for _, s := range r.samples {
			if s.code >= 500 && r.recovery >= 0 && s.start.After(r.restoredAt.Add(r.recovery)) {
				late++
			}
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %s | %s | %d | %d | %d | %d / %d | %d of %d |\n",
			name, len(r.samples), r.server5xx.Load(), r.notBare.Load(), r.transport.Load(),
			ms(percentile(cut, 100)), ms(percentile(cut, 99)), ms(r.recovery), late,
			r.ambiguous.Load(), r.iterations.Load(), r.mismatched.Load(), r.mixed.Load(), r.sentinelsOK, sentinels)
	}
	if contains(cfg.stores, "bolt") {
		fmt.Fprintln(log, "load: bolt: read-only file")
		r, err := boltReadOnly(ctx, cfg)
		if err != nil {
			fmt.Fprintf(log, "load: bolt read-only: %v\n", err)
			failed = true
		} else {
			if p := r.problems(); len(p) > 0 {
				fmt.Fprintf(log, "load: bolt read-only: FAILED: %s\n", strings.Join(p, "; "))
				failed = true
			}
			fmt.Fprintf(&b, "\n### bolt on a read-only file\n\n%d sessions (3 cart items each) written, the file closed and served again opened with `bolt.Options{ReadOnly: true}`; one client's requests:\n\n", r.clients)
			b.WriteString("| request | status | body | ms |\n|---|---:|---|---:|\n")
			for _, row := range r.rows {
				fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", row[0], row[1], strings.ReplaceAll(row[2], "|", `\|`), row[3])
			}
			check := "no errors"
			if len(r.checkErrors) > 0 {
				check = strings.Join(r.checkErrors, "; ")
			}
			fmt.Fprintf(&b, "\nThen reopened read-write: bolt's consistency check (`Tx.Check`): %s; carts intact: %d of %d; a new write: %s.\n",
				check, r.cartsIntact, r.clients, map[bool]string{true: "succeeds", false: "FAILS"}[r.writeAfterOK])
			if r.logged != "" {
				fmt.Fprintf(&b, "What the server logged for the failed add (the client sees only the bare 500): `%s`\n", r.logged)
			}
			if r.openReadOnly != "" {
				fmt.Fprintf(&b, "A read-write `boltstore.Open` of the file made mode 0400: `%s`.\n", r.openReadOnly)
			}
		}
	}
	if ctx.Err() != nil {
		failed = true
	}
	return b.String(), failed || errors.Is(ctx.Err(), context.Canceled)
}
