// Package nodetest runs the Express half of examples/express, and scripts
// against its Node packages, for the tests that check the express package
// against the real express-session, connect-redis, connect-pg-simple and
// connect-mongo. It needs Node.js and the packages installed in
// examples/express/node (npm ci there; .ci/run does it): without them the
// tests skip, or fail under SESSION_TEST_SERVICES=require.
package nodetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Dir is the directory of the Express app and its package.json.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "examples", "express", "node")
}

// Require skips t, or fails it under SESSION_TEST_SERVICES=require (as
// storetest.Require does for a service that is down), when node or the
// app's packages are missing.
func Require(t testing.TB) {
	t.Helper()
	var err error
	if _, lerr := exec.LookPath("node"); lerr != nil {
		err = fmt.Errorf("node is not installed: %w", lerr)
	} else if _, serr := os.Stat(filepath.Join(Dir(), "node_modules", "express-session", "package.json")); serr != nil {
		err = fmt.Errorf("the packages of %s are not installed (run npm ci there): %w", Dir(), serr)
	}
	if err == nil {
		return
	}
	if os.Getenv("SESSION_TEST_SERVICES") == "require" {
		t.Fatalf("%v, and SESSION_TEST_SERVICES=require", err)
	}
	t.Skipf("%v; set SESSION_TEST_SERVICES=require to make this a failure", err)
}

// Eval runs script with node in the app's directory, so that it requires
// the app's packages, with env added to the environment, and returns its
// standard output. A script that fails fails t, with its standard error.
func Eval(t testing.TB, script string, env ...string) []byte {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "-e", script)
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node script failed: %v\n%s", err, stderr.String())
	}
	return out
}

// App is a running Express app (app.js).
type App struct {
	URL string // http://127.0.0.1:port, with no trailing slash

	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{} // closed once the process has exited
	once   sync.Once
}

// Start runs app.js with env added to the environment (PORT=0 unless env
// sets it), waits until it listens, and stops it when t ends. If the test
// fails, the app's output is logged.
func Start(t testing.TB, env ...string) *App {
	t.Helper()
	Require(t)
	cmd := exec.Command("node", "app.js")
	cmd.Dir = Dir()
	cmd.Env = append(append(os.Environ(), "PORT=0", "HOST=127.0.0.1"), env...)
	out := new(syncBuffer)
	cmd.Stderr = out
	listening := make(chan string, 1)
	cmd.Stdout = &lineWatcher{out: out, found: listening}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node app.js: %v", err)
	}
	a := &App{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(a.exited)
	}()
	t.Cleanup(func() {
		a.Stop()
		if t.Failed() {
			t.Logf("output of the Express app (%v):\n%s", env, out.String())
		}
	})
	select {
	case a.URL = <-listening:
	case <-a.exited:
		t.Fatalf("the Express app exited before it listened:\n%s", out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the Express app did not listen within 30 s:\n%s", out.String())
	}
	return a
}

// Stop stops the app: SIGTERM, then SIGKILL if it has not exited within
// 5 seconds. It is safe to call more than once.
func (a *App) Stop() {
	a.once.Do(func() {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.exited:
		case <-time.After(5 * time.Second):
			_ = a.cmd.Process.Kill()
			<-a.exited
		}
	})
}

// Output is what the app wrote so far.
func (a *App) Output() string { return a.out.String() }

// lineWatcher receives the app's standard output: it keeps it in out,
// and sends the URL of its "listening on URL ..." line to found, once.
type lineWatcher struct {
	out     *syncBuffer
	found   chan<- string
	partial []byte
	sent    bool
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	_, _ = w.out.Write(p)
	w.partial = append(w.partial, p...)
	for {
		line, rest, ok := bytes.Cut(w.partial, []byte("\n"))
		if !ok {
			break
		}
		w.partial = rest
		if after, ok := strings.CutPrefix(string(line), "listening on "); ok && !w.sent {
			url, _, _ := strings.Cut(after, " ")
			w.found <- strings.TrimSuffix(url, "/")
			w.sent = true
		}
	}
	return len(p), nil
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
