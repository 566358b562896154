// Package nginxtest runs a real nginx as a reverse proxy in front of a
// test's server, with nginx's default limits, so that tests see what a
// session does to the requests and responses a common proxy lets through.
//
// nginx is looked up at /usr/sbin/nginx, then on PATH. Without it a test
// is skipped, or fails under SESSION_TEST_SERVICES=require (as in CI).
// Debian: apt-get install --no-install-recommends nginx.
package nginxtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sealed/session/serverstore/storetest"
)

// config is the whole nginx.conf: one process in the foreground, every
// file under the test's prefix directory, and one server that proxies to
// the upstream. It sets none of the limits on headers: they are nginx's
// defaults, which is the point. Of those, large_client_header_buffers
// (4 8k) answers 400 to a request whose header line, "Cookie: ..." for
// one, exceeds 8190 bytes; proxy_buffer_size (4k, a memory page) answers
// 502 to a response whose header block exceeds some 4 KB.
const config = `daemon off;
master_process off;
worker_processes 1;
pid {{prefix}}/nginx.pid;
error_log {{prefix}}/error.log warn;

events {
	worker_connections 64;
}

http {
	access_log {{prefix}}/access.log;
	client_body_temp_path {{prefix}}/client_body;
	proxy_temp_path {{prefix}}/proxy;
	fastcgi_temp_path {{prefix}}/fastcgi;
	uwsgi_temp_path {{prefix}}/uwsgi;
	scgi_temp_path {{prefix}}/scgi;

	server {
		listen 127.0.0.1:{{port}};
		location / {
			proxy_pass {{upstream}};
			proxy_set_header Host $host;
{{directives}}		}
	}
}
`

// binary returns the path of nginx, or an error saying it is missing.
func binary() (string, error) {
	const debian = "/usr/sbin/nginx" // not on a non-root user's PATH
	if _, err := os.Stat(debian); err == nil {
		return debian, nil
	}
	if path, err := exec.LookPath("nginx"); err == nil {
		return path, nil
	}
	return "", fmt.Errorf("nginx is not installed: no %s and none on PATH; Debian: apt-get install --no-install-recommends nginx", debian)
}

// Start runs nginx as a reverse proxy to upstream ("http://host:port", as
// httptest.Server.URL, or "host:port") on a free loopback port, and
// returns its base URL, "http://127.0.0.1:port". nginx stops when t ends.
// Its error log is reported if it fails to start.
//
// directives, without their semicolons, are added to the proxying
// location, after proxy_pass: "proxy_buffer_size 16k". With none, every
// limit is nginx's default.
func Start(t testing.TB, upstream string, directives ...string) (baseURL string) {
	t.Helper()
	bin, err := binary()
	storetest.Require(t, "nginx", err)
	if !strings.Contains(upstream, "://") {
		upstream = "http://" + upstream
	}
	if u, err := url.Parse(upstream); err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		t.Fatalf("nginxtest: upstream %q: want http://host:port", upstream)
	}
	upstream = strings.TrimSuffix(upstream, "/")
	var extra strings.Builder
	for _, d := range directives {
		if strings.ContainsAny(d, ";{}\n") {
			t.Fatalf("nginxtest: directive %q: want one directive, without its semicolon", d)
		}
		extra.WriteString("\t\t\t" + d + ";\n")
	}

	// The free port is found by listening on port 0 and closing: another
	// process may take it before nginx binds, so a bind failure is tried
	// again on another port.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("nginxtest: %v", err)
		}
		baseURL, err = start(t, bin, upstream, extra.String(), port)
		if err == nil {
			return baseURL
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	t.Fatalf("nginxtest: %v", lastErr)
	return ""
}

var errAddrInUse = errors.New("address in use")

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs nginx with its configuration in a new directory under
// t.TempDir(), listening on port, and waits until it answers.
func start(t testing.TB, bin, upstream, directives string, port int) (string, error) {
	prefix := t.TempDir()
	conf := strings.NewReplacer("{{prefix}}", prefix, "{{port}}", strconv.Itoa(port),
		"{{upstream}}", upstream, "{{directives}}", directives).Replace(config)
	confPath := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return "", err
	}
	errorLog := filepath.Join(prefix, "error.log")
	// -e: the error log to use before the configuration is read, instead
	// of the build's default, /var/log/nginx/error.log.
	cmd := exec.Command(bin, "-p", prefix, "-c", confPath, "-e", errorLog)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	failed := func(err error) error {
		logged, _ := os.ReadFile(errorLog)
		msg := fmt.Sprintf("%s: %v\n%s%s", bin, err, out.Bytes(), logged)
		if bytes.Contains(logged, []byte("Address already in use")) {
			return fmt.Errorf("%w: %s", errAddrInUse, msg)
		}
		return errors.New(msg)
	}

	baseURL := "http://127.0.0.1:" + strconv.Itoa(port)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			return "", failed(err)
		default:
		}
		// Any answer, whatever its status, means nginx is serving.
		res, err := client.Get(baseURL + "/")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			stop(cmd, exited)
			return "", failed(fmt.Errorf("no answer on %s after 10s: %w", baseURL, err))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		if err := stop(cmd, exited); err != nil {
			t.Errorf("nginxtest: stopping nginx: %v\n%s", err, out.Bytes())
		}
	})
	return baseURL, nil
}

// stop ends nginx: SIGQUIT, a graceful shutdown, then SIGKILL if it has
// not exited within 5 seconds.
func stop(cmd *exec.Cmd, exited <-chan error) error {
	if err := cmd.Process.Signal(syscall.SIGQUIT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-exited
		return errors.New("did not exit within 5s of SIGQUIT; killed")
	}
}
