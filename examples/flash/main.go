// Command flash shows post/redirect/get with flash messages: a form POSTs,
// the handler queues a one-time message with Session.AddFlash and answers
// 303 See Other, and the page the browser then GETs shows the message with
// Session.Flashes, which removes it: a reload does not show it again, and
// does not submit the form again either.
//
// Run it and open http://127.0.0.1:8080:
//
//	go run ./examples/flash
//
// Or with curl (-L follows the 303 with a GET):
//
//	curl -sL -c jar -b jar -d message=hello http://127.0.0.1:8080/   # shows "Saved: hello"
//	curl -s  -c jar -b jar http://127.0.0.1:8080/                    # shown once: gone
package main

import (
	"context"
	"flag"
	"html/template"
	"net/http"
	"strings"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/cookiesession"
	"github.com/go-sealed/session/examples/internal/serve"
)

func main() { serve.Main("flash", run) }

// run is the command.
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("flash", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// A random key: flashes live for one redirect, so losing them on a
	// restart is harmless. Use SESSION_KEYS for sessions that must last.
	store, err := cookiesession.New(cookiesession.GenerateKey())
	if err != nil {
		return err
	}
	m := session.New(store)
	m.Cookie.Secure = false // plain HTTP on loopback; keep it on behind HTTPS
	return serve.Serve(ctx, *addr, "/", newApp(m))
}

// newApp returns the page and its form handler, served through m.
func newApp(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, m.Get(r).Flashes()) // read once, then gone
	})
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if msg := strings.TrimSpace(r.PostFormValue("message")); msg == "" {
			s.AddFlash("Nothing saved: the message was empty.")
		} else {
			// ... save msg somewhere ...
			s.AddFlash("Saved: " + msg)
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return m.Handler(mux)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>Flash messages</title>
{{range .}}<p class="flash">{{.}}</p>
{{end}}<form method="post" action="/">
<input name="message" placeholder="a message"> <button>Save</button>
</form>`))
