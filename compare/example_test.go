package compare_test

import (
	"context"
	"log"
	"os"

	"github.com/go-sealed/session/compare"
)

// Run the experiments and write the report, as go run ./compare/cmd/compare
// does (without the charts, the README summary and the browser
// experiments). Quick takes seconds rather than minutes.
func ExampleRun() {
	rep, err := compare.Run(context.Background(), compare.Options{Quick: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := rep.Markdown(os.Stdout); err != nil {
		log.Fatal(err)
	}
}
