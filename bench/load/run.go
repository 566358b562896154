package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// bareError is the body of the Manager's default ErrorFunc reply.
const bareError = "Internal Server Error\n"

// retryPause is how long a client waits before retrying a step that got a
// 500 or no answer.
const retryPause = 20 * time.Millisecond

// giveUpAfter bounds how long past the deadline a client keeps retrying
// the loop it is in.
const giveUpAfter = 30 * time.Second

// sample is one request as a client saw it.
type sample struct {
	start time.Time
	took  time.Duration
	code  int // 0: no response (transport error)
}

// result is what one store's run measured and found.
type result struct {
	store      string
	clients    int
	items      int
	elapsed    time.Duration
	cpu        time.Duration // the process's CPU time over the run: server and clients
	samples    []sample
	iterations atomic.Int64 // login…logout loops completed with a correct cart
	server5xx  atomic.Int64
	notBare    atomic.Int64 // 5xx whose body was not the bare "Internal Server Error\n"
	transport  atomic.Int64 // requests with no response
	unexpected atomic.Int64 // a status the route never answers with
	mismatched atomic.Int64 // carts that were not exactly what the client added
	mixed      atomic.Int64 // carts holding another client's item
	ambiguous  atomic.Int64 // adds answered 500 whose item was nevertheless saved
	abandoned  atomic.Int64 // loops given up on (retries past giveUpAfter)
	firstError atomic.Pointer[string]
}

func (r *result) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.firstError.CompareAndSwap(nil, &msg)
}

// problems lists what makes a plain load run fail.
func (r *result) problems() []string {
	var p []string
	add := func(n int64, what string) {
		if n > 0 {
			p = append(p, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(r.server5xx.Load(), "5xx responses")
	add(r.transport.Load(), "requests without a response")
	add(r.unexpected.Load(), "unexpected statuses")
	add(r.mismatched.Load(), "carts not as added")
	add(r.mixed.Load(), "carts mixed up between clients")
	add(r.abandoned.Load(), "loops abandoned")
	if r.iterations.Load() == 0 {
		p = append(p, "no loop completed")
	}
	if first := r.firstError.Load(); first != nil {
		p = append(p, "first: "+*first)
	}
	return p
}

// latencies returns the sorted durations of the samples started in
// [from, to); zero times mean no bound.
func (r *result) latencies(from, to time.Time) []time.Duration {
	var d []time.Duration
	for _, s := range r.samples {
		if (!from.IsZero() && s.start.Before(from)) || (!to.IsZero() && !s.start.Before(to)) {
			continue
		}
		d = append(d, s.took)
	}
	slices.Sort(d)
	return d
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// server serves h on a real TCP listener on loopback.
type server struct {
	srv *http.Server
	url string
}

func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &server{srv: srv, url: "http://" + ln.Addr().String()}, nil
}

func (s *server) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// client is one user of the site: its own http.Client, connection and
// cookie jar.
type client struct {
	id      int
	base    string
	hc      *http.Client
	res     *result
	samples []sample
	giveUp  time.Time
}

func newClient(id int, base string, res *result, giveUp time.Time) *client {
	jar, _ := cookiejar.New(nil)
	return &client{id: id, base: base, res: res, giveUp: giveUp, hc: &http.Client{
		Jar:       jar,
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true},
		// The login's 303 is the answer checked, not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// send makes one request and records it.
func (c *client) send(ctx context.Context, method, path string, form url.Values) (int, string) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		panic(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	start := time.Now()
	res, err := c.hc.Do(req)
	var text []byte
	code := 0
	if err == nil {
		text, err = io.ReadAll(res.Body)
		_ = res.Body.Close()
		code = res.StatusCode
	}
	c.samples = append(c.samples, sample{start: start, took: time.Since(start), code: code})
	switch {
	case err != nil:
		c.res.transport.Add(1)
		c.res.note("client %d: %s %s: %v", c.id, method, path, err)
		return 0, ""
	case code >= 500:
		c.res.server5xx.Add(1)
		if string(text) != bareError {
			c.res.notBare.Add(1)
			c.res.note("client %d: %s %s: %d with body %q", c.id, method, path, code, text)
		}
	}
	return code, string(text)
}

var errGiveUp = errors.New("gave up retrying")

// step sends a request until it gets an answer other than a 5xx or no
// answer at all (which it retries, as a user reloading would), and checks
// it is want.
func (c *client) step(ctx context.Context, method, path string, form url.Values, want int) (string, error) {
	for {
		code, body := c.send(ctx, method, path, form)
		switch {
		case code == want:
			return body, nil
		case code == 0 || code >= 500:
			if err := c.pause(ctx); err != nil {
				return "", err
			}
		default:
			c.res.unexpected.Add(1)
			c.res.note("client %d: %s %s: status %d, want %d: %q", c.id, method, path, code, want, body)
			return "", fmt.Errorf("%s %s: status %d", method, path, code)
		}
	}
}

func (c *client) pause(ctx context.Context) error {
	if time.Now().After(c.giveUp) {
		return errGiveUp
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(retryPause):
		return nil
	}
}

// cart reads the cart, retrying 5xx.
func (c *client) cart(ctx context.Context) ([]string, error) {
	body, err := c.step(ctx, "GET", "/cart", nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var cart []string
	if err := json.Unmarshal([]byte(body), &cart); err != nil {
		c.res.unexpected.Add(1)
		return nil, fmt.Errorf("GET /cart: %v: %q", err, body)
	}
	return cart, nil
}

// add adds item to a cart that holds want. A 500 may come after the
// item was saved (the store applied the write, its reply was lost): before
// retrying, the client looks at its cart, as a user would.
func (c *client) add(ctx context.Context, item string, want []string) error {
	form := url.Values{"item": {item}}
	for {
		code, body := c.send(ctx, "POST", "/add-to-cart", form)
		switch {
		case code == http.StatusOK:
			return nil
		case code == 0 || code >= 500:
			for {
				if err := c.pause(ctx); err != nil {
					return err
				}
				code, body := c.send(ctx, "GET", "/cart", nil)
				if code != http.StatusOK {
					continue
				}
				var cart []string
				if json.Unmarshal([]byte(body), &cart) == nil && slices.Equal(cart, append(slices.Clip(want), item)) {
					c.res.ambiguous.Add(1)
					return nil
				}
				break
			}
		default:
			c.res.unexpected.Add(1)
			c.res.note("client %d: POST /add-to-cart: status %d: %q", c.id, code, body)
			return fmt.Errorf("POST /add-to-cart: status %d", code)
		}
	}
}

// loop runs one login…logout loop and checks the cart.
func (c *client) loop(ctx context.Context, iter, items int) error {
	login := url.Values{"username": {demoUser}, "password": {demoPassword}}
	if _, err := c.step(ctx, "POST", "/login", login, http.StatusSeeOther); err != nil {
		return err
	}
	var want []string
	for j := range items {
		item := fmt.Sprintf("c%d-%d-%d", c.id, iter, j)
		if err := c.add(ctx, item, want); err != nil {
			return err
		}
		want = append(want, item)
	}
	cart, err := c.cart(ctx)
	if err != nil {
		return err
	}
	c.check(cart, want)
	_, err = c.step(ctx, "POST", "/logout", nil, http.StatusOK)
	return err
}

// check compares a cart with what the client added.
func (c *client) check(cart, want []string) {
	own := fmt.Sprintf("c%d-", c.id)
	for _, item := range cart {
		if !strings.HasPrefix(item, own) {
			c.res.mixed.Add(1)
			c.res.note("client %d: cart holds %q, another client's item", c.id, item)
			break
		}
	}
	if !slices.Equal(cart, want) {
		c.res.mismatched.Add(1)
		c.res.note("client %d: cart %q, want %q", c.id, cart, want)
		return
	}
	c.res.iterations.Add(1)
}

// drive runs cfg.clients clients against base until each has done
// cfg.iterations loops or the deadline passed, and returns what they
// measured.
func drive(ctx context.Context, cfg config, name, base string) *result {
	res := &result{store: name, clients: cfg.clients, items: cfg.items}
	start, cpu := time.Now(), cpuTime()
	deadline := start.Add(cfg.duration)
	giveUp := deadline.Add(giveUpAfter)
	clients := make([]*client, cfg.clients)
	var wg sync.WaitGroup
	for i := range clients {
		c := newClient(i, base, res, giveUp)
		clients[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.close()
			for iter := 0; cfg.iterations == 0 || iter < cfg.iterations; iter++ {
				if time.Now().After(deadline) || ctx.Err() != nil {
					return
				}
				if err := c.loop(ctx, iter, cfg.items); err != nil {
					if errors.Is(err, errGiveUp) {
						res.abandoned.Add(1)
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed, res.cpu = time.Since(start), cpuTime()-cpu
	for _, c := range clients {
		res.samples = append(res.samples, c.samples...)
	}
	return res
}

// runStore opens the store name, serves the demo's routes over it and
// drives the load. With cfg.instances > 1 it serves that many instances of
// the demo, each its own Manager and HTTP server, behind a round-robin
// reverse proxy, so that consecutive requests of a client land on
// different instances.
func runStore(ctx context.Context, cfg config, name string) (*result, error) {
	t, err := openTarget(ctx, cfg, name, targetOptions{})
	if err != nil {
		return nil, err
	}
	defer t.close()
	if cfg.instances <= 1 {
		srv, err := serve(t.handler)
		if err != nil {
			return nil, err
		}
		defer srv.close()
		return drive(ctx, cfg, name, srv.url), nil
	}
	if !contains(sharedStores, name) {
		return nil, fmt.Errorf("-instances %d: %s keeps its sessions in one process; use one of %s", cfg.instances, name, strings.Join(sharedStores, ", "))
	}
	var targets []*url.URL
	for range cfg.instances {
		srv, err := serve(demo(t.store, targetOptions{}))
		if err != nil {
			return nil, err
		}
		defer srv.close()
		u, err := url.Parse(srv.url)
		if err != nil {
			return nil, err
		}
		targets = append(targets, u)
	}
	var next atomic.Uint64
	proxy, err := serve(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(targets[next.Add(1)%uint64(len(targets))])
		r.Out.Host = r.In.Host
	}})
	if err != nil {
		return nil, err
	}
	defer proxy.close()
	return drive(ctx, cfg, name, proxy.url), nil
}

// sharedStores are the targets whose sessions several instances can
// share: the sealed cookie (through the key) and the network stores.
var sharedStores = []string{"cookie", "redis", "postgres", "mysql", "mongo"}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
}

// markdown is the report of a plain load run.
func markdown(cfg config, results []*result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d clients, %d items per cart, each client looping login → add-to-cart ×%d → GET /cart → logout", cfg.clients, cfg.items, cfg.items)
	if cfg.iterations > 0 {
		fmt.Fprintf(&b, " %d times", cfg.iterations)
	}
	fmt.Fprintf(&b, " for up to %v per store", cfg.duration)
	if cfg.instances > 1 {
		fmt.Fprintf(&b, ", through %d instances of the demo (each its own Manager and HTTP server) behind a round-robin reverse proxy", cfg.instances)
	}
	b.WriteString(". *of bare* is the store's requests per second as a fraction of the bare target's (the same routes with no session library) in this run; *CPU µs/req* is the process's CPU time per request, clients included, and *over bare* what the session adds to it.\n\n")
	b.WriteString("| store | requests | req/s | of bare | CPU µs/req | over bare | p50 ms | p99 ms | max ms | loops ok | 5xx | other errors | carts wrong | mixed up |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var bare *result
	for _, r := range results {
		if r.store == "bare" {
			bare = r
		}
	}
	for _, r := range results {
		lat := r.latencies(time.Time{}, time.Time{})
		ofBare, overBare := "–", "–"
		if bare != nil && r != bare {
			ofBare = fmt.Sprintf("%.2f", r.rate()/bare.rate())
			overBare = fmt.Sprintf("+%.0f", r.cpuPerRequest()-bare.cpuPerRequest())
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %.0f | %s | %s | %s | %s | %d | %d | %d | %d | %d |\n",
			label(r.store), len(r.samples), r.rate(), ofBare, r.cpuPerRequest(), overBare,
			ms(percentile(lat, 50)), ms(percentile(lat, 99)), ms(percentile(lat, 100)),
			r.iterations.Load(), r.server5xx.Load(), r.transport.Load()+r.unexpected.Load()+r.abandoned.Load(),
			r.mismatched.Load(), r.mixed.Load())
	}
	return b.String()
}

// rate is the run's requests per second.
func (r *result) rate() float64 {
	return float64(len(r.samples)) / r.elapsed.Seconds()
}

// cpuPerRequest is the process's CPU time per request of the run, in
// microseconds.
func (r *result) cpuPerRequest() float64 {
	if len(r.samples) == 0 {
		return 0
	}
	return float64(r.cpu) / float64(time.Microsecond) / float64(len(r.samples))
}

// label names a target in the report.
func label(store string) string {
	switch store {
	case "bare":
		return "bare (no session library)"
	case "scs":
		return "scs/v2 memstore (comparison)"
	case "gorilla":
		return "gorilla/sessions CookieStore (comparison)"
	case "cookie":
		return "cookie (sealed)"
	}
	return store
}
