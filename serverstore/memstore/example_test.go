package memstore_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-sealed/session"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
)

// An in-memory store for one process, bounded to 256 MiB of sessions
// (past it, anonymous sessions are evicted first) and swept every five
// minutes; Close stops the sweeper.
func ExampleNew() {
	backend := memstore.New(memstore.WithMaxBytes(256<<20), memstore.WithSweepInterval(5*time.Minute))
	defer backend.Close()
	m := session.New(serverstore.New(backend))

	srv := httptest.NewTLSServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Put("n", s.GetInt("n")+1)
		fmt.Fprintf(w, "request %d of this session", s.GetInt("n"))
	})))
	defer srv.Close()

	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(string(b))
	fmt.Println("sessions stored:", backend.Len())
	// Output:
	// request 1 of this session
	// sessions stored: 1
}
