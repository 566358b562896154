// Command compare runs the experiments of package compare on every session
// mechanism, prints the report as Markdown, and rewrites it, its charts
// and the summary in the README:
//
//	go run ./compare/cmd/compare            # full run, a few minutes at most
//	go run ./compare/cmd/compare -quick     # fewer benchmark iterations
//	go run ./compare/cmd/compare -browser=false -readme= -out /tmp/report.md
//
// Run it from the repository root. The charts (comparison-*.svg) are
// written next to the report. The Redis mechanisms are measured if a Redis
// answers at SESSION_TEST_REDIS_URL (default redis://127.0.0.1:6379/0),
// and the browser experiments if Chromium is on PATH; the report says
// which did not run, and why.
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
	readme := flag.String("readme", "README.md", "README whose comparison summary (between "+compare.SummaryStart+" and "+compare.SummaryEnd+") to rewrite; empty: none")
	quick := flag.Bool("quick", false, "run fewer benchmark iterations and tampering trials")
	browser := flag.Bool("browser", true, "run the experiments in a real browser (Chromium) too")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("compare: ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := compare.Run(ctx, compare.Options{Quick: *quick, Browser: *browser, Log: log.Printf})
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
	if *readme != "" {
		old, err := os.ReadFile(*readme)
		if err != nil {
			log.Fatal(err)
		}
		updated, err := compare.ReplaceSummary(old, rep.Summary())
		if err != nil {
			log.Fatalf("%s: %v", *readme, err)
		}
		if err := os.WriteFile(*readme, updated, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if rep.BrowserSkipped != "" {
		log.Printf("the browser experiments did not run: %s", rep.BrowserSkipped)
	}
	fmt.Fprintf(os.Stderr, "compare: wrote %s and its charts in %s (%s)\n", *out, dir, rep.Elapsed.Round(1e8))
}
