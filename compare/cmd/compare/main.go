// Command compare runs the experiments of package compare on every session
// mechanism, prints the report as Markdown, and rewrites it and its
// charts:
//
//	go run ./compare/cmd/compare            # full run, under a minute
//	go run ./compare/cmd/compare -quick     # fewer benchmark iterations
//	go run ./compare/cmd/compare -out path/to/report.md
//
// The charts (comparison-wire.svg, comparison-cpu.svg) are written next
// to the report. The Redis server session is measured if a Redis answers
// at SESSION_TEST_REDIS_URL (default redis://127.0.0.1:6379/0), and listed
// as not measured otherwise.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/go-sealed/session/compare"
)

func main() {
	out := flag.String("out", filepath.Join("docs", "comparison.md"), "path of the Markdown report to rewrite; the charts go next to it")
	quick := flag.Bool("quick", false, "run fewer benchmark iterations and tampering trials")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("compare: ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := compare.Run(ctx, compare.Options{Quick: *quick, Log: log.Printf})
	if err != nil {
		log.Fatal(err)
	}
	var md bytes.Buffer
	if err := rep.Markdown(&md); err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stdout.Write(md.Bytes()); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, md.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	dir := filepath.Dir(*out)
	for name, c := range rep.Charts() {
		if err := os.WriteFile(filepath.Join(dir, name), c.SVG(), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Fprintf(os.Stderr, "compare: wrote %s and its charts in %s (%s)\n", *out, dir, rep.Elapsed.Round(1e8))
}
