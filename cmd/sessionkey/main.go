// Command sessionkey prints new random keys for package cookiesession, in
// the comma-separated base64 form cookiesession.ParseKeys reads:
//
//	go run github.com/go-sealed/session/cmd/sessionkey@latest        # one key
//	go run github.com/go-sealed/session/cmd/sessionkey@latest -n 2   # two keys, comma-separated
//
// Keep the output in an environment variable, for example
//
//	export SESSION_KEYS="$(go run github.com/go-sealed/session/cmd/sessionkey@latest)"
//
// The keys come from crypto/rand. They are printed to standard output only;
// anyone who sees them can forge sessions.
package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/go-sealed/session/cookiesession"
)

func main() {
	n := flag.Int("n", 1, "number of keys to print, comma-separated")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: sessionkey [-n count]\n\nPrints new random %d-byte keys, base64-encoded and comma-separated, for cookiesession.ParseKeys.\n\n", cookiesession.KeySize)
		flag.PrintDefaults()
	}
	flag.Parse()
	if *n < 1 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	keys := make([]string, *n)
	for i := range keys {
		keys[i] = base64.StdEncoding.EncodeToString(cookiesession.GenerateKey())
	}
	fmt.Println(strings.Join(keys, ","))
}
