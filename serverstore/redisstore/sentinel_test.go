package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/redisstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// The Sentinel tests run against the Sentinels at
// SESSION_TEST_REDIS_SENTINEL, watching a primary named go-sealed:
// scripts/redis-sentinel.sh starts them on the default addresses, with a
// primary on 7101 and its replica on 7102.

const (
	defaultSentinels = "127.0.0.1:7111,127.0.0.1:7112,127.0.0.1:7113"
	sentinelMaster   = "go-sealed"
)

func sentinelAddrs() []string {
	v := os.Getenv("SESSION_TEST_REDIS_SENTINEL")
	if v == "" {
		v = defaultSentinels
	}
	return strings.Split(v, ",")
}

// sentinelClient returns a failover client of the test Sentinel setup,
// closed when t ends, or skips t if it does not answer. configure, if
// given, sets options of its own.
func sentinelClient(t testing.TB, configure ...func(*redis.FailoverOptions)) *redis.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Ask a Sentinel first: when there is none, the failover client's
	// retries end in a bare "context deadline exceeded".
	err := probeSentinels(ctx)
	var c *redis.Client
	if err == nil {
		opt := &redis.FailoverOptions{
			MasterName:            sentinelMaster,
			SentinelAddrs:         sentinelAddrs(),
			ContextTimeoutEnabled: true,
			DialTimeout:           2 * time.Second,
		}
		for _, f := range configure {
			f(opt)
		}
		c = redis.NewFailoverClient(opt)
		if err = c.Ping(ctx).Err(); err != nil {
			_ = c.Close()
			err = fmt.Errorf("the primary does not answer: %w", err)
		}
	}
	if err != nil {
		storetest.Require(t, "Redis Sentinel",
			fmt.Errorf("master %q at %s: %w; start one with scripts/redis-sentinel.sh start",
				sentinelMaster, strings.Join(sentinelAddrs(), ","), err))
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// probeSentinels returns nil if a Sentinel names the primary, or the
// first Sentinel's error.
func probeSentinels(ctx context.Context) error {
	var first error
	for _, addr := range sentinelAddrs() {
		s := redis.NewSentinelClient(&redis.Options{Addr: addr, DialTimeout: 2 * time.Second, MaxRetries: -1})
		_, err := sentinelPrimary(ctx, s)
		_ = s.Close()
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// sentinelPrefix returns a fresh random key prefix whose keys are deleted
// from c's primary when t ends.
func sentinelPrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	prefix := "redisstore-sentinel-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var keys []string
		it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for it.Next(ctx) {
			keys = append(keys, it.Val())
		}
		err := it.Err()
		if err == nil && len(keys) > 0 {
			err = c.Unlink(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("cleaning up test keys: %v", err)
		}
	})
	return prefix
}

// TestSentinel runs the conformance suite through a failover client, which
// finds the primary by asking the Sentinels.
func TestSentinel(t *testing.T) {
	c := sentinelClient(t)
	storetest.Run(t, func(t *testing.T) serverstore.Backend {
		return redisstore.New(c, redisstore.WithPrefix(sentinelPrefix(t, c)))
	})
}

// TestSentinelFailover has Sentinel hand the primary over to its replica
// (SENTINEL FAILOVER: a controlled failover, both nodes stay up) while
// requests flow, and measures what users see: requests fail, if at all,
// with the ErrorFunc's bare 500 and only for a moment, the app follows the
// new primary with no restart, and no session written (and replicated)
// before the failover is lost.
//
// It moves the primary, so it runs only when SESSION_TEST_FAILOVER=1 (CI
// sets it in a step of its own, after the other tests). It leaves the
// setup healthy, the old primary a replica of the new one, as
// scripts/redis-sentinel.sh status wants it.
func TestSentinelFailover(t *testing.T) {
	if os.Getenv("SESSION_TEST_FAILOVER") != "1" {
		t.Skip("makes Sentinel fail its primary over: set SESSION_TEST_FAILOVER=1 to run it (CI does, in its own step)")
	}
	// The client's own timeouts bound each store call, saves included
	// (they run without the request's deadline): a second, as a request
	// can afford to wait.
	client := sentinelClient(t, func(o *redis.FailoverOptions) {
		o.ReadTimeout, o.WriteTimeout = time.Second, time.Second
	})
	sentinels := make([]*redis.SentinelClient, 0, 3)
	for _, addr := range sentinelAddrs() {
		s := redis.NewSentinelClient(&redis.Options{Addr: addr, DialTimeout: 2 * time.Second})
		t.Cleanup(func() { _ = s.Close() })
		sentinels = append(sentinels, s)
	}
	ctx := context.Background()

	// A previous run's failover may still be settling: Sentinel demotes
	// the old primary some seconds after it promoted the new one.
	waitSentinelHealthy(t, sentinels, time.Minute)
	oldPrimary, err := sentinelPrimary(ctx, sentinels[0])
	require.NoError(t, err)

	prefix := sentinelPrefix(t, client)
	m := session.New(serverstore.New(redisstore.New(client, redisstore.WithPrefix(prefix))))
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if v := r.URL.Query().Get("put"); v != "" {
			s.Put("v", v)
		}
		_, _ = io.WriteString(w, s.GetString("v"))
	})))
	t.Cleanup(srv.Close)
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	httpClient := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	// get requests path with cookie (if not ""); it returns the status, the
	// body and the session cookie set, if any.
	get := func(path, cookie string) (int, string, string, error) {
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			return 0, "", "", err
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
		}
		res, err := httpClient.Do(req)
		if err != nil {
			return 0, "", "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		set := ""
		if cs := res.Cookies(); len(cs) == 1 {
			set = cs[0].Value
		}
		return res.StatusCode, string(b), set, err
	}

	// Sessions written before the failover.
	const sessions = 20
	cookies := make([]string, sessions)
	for i := range cookies {
		status, _, set, err := get(fmt.Sprintf("/?put=value-%d", i), "")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		require.NotEmpty(t, set, "a session cookie")
		cookies[i] = set
	}
	// Have the replica acknowledge them, so that losing one would be the
	// Store's fault, not asynchronous replication's. WAIT waits for the
	// writes of its own connection: write a marker after the sessions,
	// then wait for it.
	direct := redis.NewClient(&redis.Options{Addr: oldPrimary, DialTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = direct.Close() })
	require.NoError(t, direct.Set(ctx, prefix+"replicated", "1", time.Hour).Err())
	acked, err := direct.Wait(ctx, 1, time.Second).Result()
	require.NoError(t, err)
	require.Equal(t, int64(1), acked, "the replica has the sessions")

	// Readers run from before the failover until the app has followed it.
	var (
		mu                        sync.Mutex
		firstFailure, lastFailure time.Time
		failed, succeeded         int
		leaked                    []string
		stop                      atomic.Bool
		wg                        sync.WaitGroup
	)
	fail := func(body string) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		failed++
		if firstFailure.IsZero() {
			firstFailure = now
		}
		lastFailure = now
		if body != "Internal Server Error\n" {
			leaked = append(leaked, body)
		}
	}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; !stop.Load(); i = (i + 3) % sessions {
				status, body, _, err := get("/", cookies[i])
				switch {
				case err != nil:
					t.Errorf("reading session %d: %v (the app must answer, not hang)", i, err)
					return
				case status == http.StatusOK && body == fmt.Sprint("value-", i):
					mu.Lock()
					succeeded++
					mu.Unlock()
				case status == http.StatusInternalServerError:
					fail(body)
				default:
					t.Errorf("session %d: status %d, body %q: a session lost or mixed up", i, status, body)
				}
			}
		}()
	}
	defer func() { // also when a require below fails
		stop.Store(true)
		wg.Wait()
	}()

	// Trigger the failover once the readers are going. A Sentinel refuses
	// while it has no replica it trusts or is still busy with a previous
	// failover: retry then.
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return succeeded > 0
	}, 10*time.Second, 10*time.Millisecond, "the readers read sessions")
	var started time.Time
	require.Eventually(t, func() bool {
		started = time.Now()
		err := sentinels[0].Failover(ctx, sentinelMaster).Err()
		if err != nil {
			t.Logf("SENTINEL FAILOVER: %v; retrying", err)
		}
		return err == nil
	}, 20*time.Second, 500*time.Millisecond, "SENTINEL FAILOVER %s accepted", sentinelMaster)

	// Write new sessions until Sentinel names another primary and the
	// writes land there: the app has followed the failover.
	type write struct {
		cookie, value string
		at            time.Time // when the app acknowledged it
	}
	var (
		written     []write // acknowledged after the failover began
		newPrimary  string
		promotedAt  time.Time
		recoveredAt time.Time
		onNew       *redis.Client
	)
	t.Cleanup(func() {
		if onNew != nil {
			_ = onNew.Close()
		}
	})
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for k := 0; recoveredAt.IsZero() && time.Since(started) < 30*time.Second; k++ {
		<-tick.C
		value := fmt.Sprint("during-", k)
		status, body, set, err := get("/?put="+value, "")
		require.NoError(t, err, "the app must answer, not hang")
		switch status {
		case http.StatusOK:
			require.NotEmpty(t, set, "a session cookie")
			written = append(written, write{set, value, time.Now()})
		case http.StatusInternalServerError:
			fail(body)
		default:
			t.Fatalf("write: status %d, body %q", status, body)
		}
		if newPrimary == "" {
			if p, err := sentinelPrimary(ctx, sentinels[0]); err == nil && p != oldPrimary {
				newPrimary, promotedAt = p, time.Now()
				onNew = redis.NewClient(&redis.Options{Addr: newPrimary, DialTimeout: 2 * time.Second})
			}
		}
		if newPrimary != "" && status == http.StatusOK {
			n, err := onNew.Exists(ctx, prefix+"s:{"+storetest.KeyOf(t, set)+"}").Result()
			if err == nil && n == 1 {
				recoveredAt = time.Now()
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	require.NotEmpty(t, newPrimary, "Sentinel names a new primary within 30 s")
	require.False(t, recoveredAt.IsZero(), "the app writes to the new primary within 30 s")
	window := recoveredAt.Sub(started)

	// Sentinel demotes the old primary to a replica of the new one: wait
	// for that, so that what is read below is what the setup keeps, and the
	// next run (and scripts/redis-sentinel.sh status) finds it healthy.
	waitSentinelHealthy(t, sentinels, time.Minute)
	healthyAt := time.Now()
	primary, err := sentinelPrimary(ctx, sentinels[0])
	require.NoError(t, err)
	require.Equal(t, newPrimary, primary, "no second failover")

	mu.Lock()
	defer mu.Unlock()
	failures := "none"
	if failed > 0 {
		failures = fmt.Sprintf("first %v, last %v after the command",
			firstFailure.Sub(started).Round(time.Millisecond), lastFailure.Sub(started).Round(time.Millisecond))
	}
	// Writes the old primary acknowledged after the replica's promotion
	// are lost when Sentinel demotes it: Redis's asynchronous replication,
	// measured here, not asserted.
	lost, lostSpan := 0, ""
	var firstLost, lastLost time.Time
	for _, w := range written {
		status, body, _, err := get("/", w.cookie)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		if body != w.value {
			if lost == 0 {
				firstLost = w.at
			}
			lost++
			lastLost = w.at
		}
	}
	if lost > 0 {
		lostSpan = fmt.Sprintf(", acknowledged %v to %v after the command",
			firstLost.Sub(started).Round(time.Millisecond), lastLost.Sub(started).Round(time.Millisecond))
	}
	t.Logf("sentinel failover: primary %s -> %s; Sentinel named the new primary %v after SENTINEL FAILOVER, the app's writes reached it %v after (failover window); %d requests failed (%s), %d reads succeeded; %d of %d writes acknowledged in the window lost%s; setup healthy again %v after",
		oldPrimary, newPrimary, promotedAt.Sub(started).Round(time.Millisecond), window.Round(time.Millisecond),
		failed, failures, succeeded, lost, len(written), lostSpan, healthyAt.Sub(started).Round(time.Millisecond))
	assert.NotEqual(t, oldPrimary, newPrimary, "the primary moved")
	assert.Empty(t, leaked, "failures are the ErrorFunc's bare 500")
	assert.Positive(t, succeeded, "reads succeeded around the failover")
	assert.Less(t, window, 20*time.Second, "requests reach the new primary without restarting the app")

	// Every session written before the failover is intact, read through
	// the app that lived through it.
	for i, c := range cookies {
		status, body, _, err := get("/", c)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, status, "session %d", i)
		assert.Equal(t, fmt.Sprint("value-", i), body, "session %d, written before the failover", i)
	}

	// New writes succeed, land on the new primary, and read back.
	for i := range 5 {
		value := fmt.Sprint("after-", i)
		status, _, set, err := get("/?put="+value, "")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		require.NotEmpty(t, set)
		n, err := onNew.Exists(ctx, prefix+"s:{"+storetest.KeyOf(t, set)+"}").Result()
		require.NoError(t, err)
		assert.Equal(t, int64(1), n, "written to the new primary")
		status, body, _, err := get("/", set)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, value, body)
	}
}

// sentinelPrimary returns the address of the primary s names.
func sentinelPrimary(ctx context.Context, s *redis.SentinelClient) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	hp, err := s.GetMasterAddrByName(ctx, sentinelMaster).Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("%s watches no master %q", s, sentinelMaster)
	}
	if err != nil {
		return "", err
	}
	if len(hp) != 2 {
		return "", fmt.Errorf("SENTINEL GET-MASTER-ADDR-BY-NAME: %q", hp)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

// waitSentinelHealthy waits until sentinelHealthy finds nothing wrong, or
// fails t after timeout.
func waitSentinelHealthy(t *testing.T, sentinels []*redis.SentinelClient, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := sentinelHealthy(context.Background(), sentinels)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Sentinel setup is not healthy after %v: %v (try scripts/redis-sentinel.sh stop && scripts/redis-sentinel.sh start)", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sentinelHealthy checks what scripts/redis-sentinel.sh status checks:
// every Sentinel names the same primary, up, and knows the other Sentinels
// and at least one replica; every replica is up, in sync with that
// primary, and seen so by every Sentinel.
func sentinelHealthy(ctx context.Context, sentinels []*redis.SentinelClient) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var primary string
	replicas := map[string]bool{}
	for _, s := range sentinels {
		addr := s.String()
		p, err := sentinelPrimary(ctx, s)
		if err != nil {
			return fmt.Errorf("%s: %w", addr, err)
		}
		if primary == "" {
			primary = p
		} else if p != primary {
			return fmt.Errorf("the Sentinels disagree on the primary: %s and %s", primary, p)
		}
		info, err := s.Master(ctx, sentinelMaster).Result()
		if err != nil {
			return fmt.Errorf("%s: %w", addr, err)
		}
		if info["flags"] != "master" {
			return fmt.Errorf("%s: primary flags %q", addr, info["flags"])
		}
		if want := fmt.Sprint(len(sentinels) - 1); info["num-other-sentinels"] != want {
			return fmt.Errorf("%s: knows %s other Sentinels, not %s", addr, info["num-other-sentinels"], want)
		}
		reps, err := s.Replicas(ctx, sentinelMaster).Result()
		if err != nil {
			return fmt.Errorf("%s: %w", addr, err)
		}
		if len(reps) == 0 {
			return fmt.Errorf("%s: knows no replica", addr)
		}
		for _, r := range reps {
			if r["flags"] != "slave" || r["role-reported"] != "slave" || r["master-link-status"] != "ok" {
				return fmt.Errorf("%s: replica %s: flags %q, role %q, link %q", addr, r["name"], r["flags"], r["role-reported"], r["master-link-status"])
			}
			replicas[r["name"]] = true
		}
	}
	if role, err := nodeRole(ctx, primary); err != nil || role["role"] != "master" {
		return fmt.Errorf("primary %s: role %q (%v)", primary, role["role"], err)
	}
	host, port, _ := net.SplitHostPort(primary)
	for r := range replicas {
		role, err := nodeRole(ctx, r)
		if err != nil {
			return fmt.Errorf("replica %s: %w", r, err)
		}
		if role["role"] != "slave" || role["master_host"] != host || role["master_port"] != port ||
			role["master_link_status"] != "up" || role["master_sync_in_progress"] != "0" {
			return fmt.Errorf("replica %s: not in sync with %s: %v", r, primary, role)
		}
	}
	return nil
}

// nodeRole returns the fields of INFO replication of the node at addr.
func nodeRole(ctx context.Context, addr string) (map[string]string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 2 * time.Second, MaxRetries: -1})
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return nil, err
	}
	fields := map[string]string{}
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	if fields["role"] == "" {
		return nil, errors.New("INFO replication has no role")
	}
	return fields, nil
}
