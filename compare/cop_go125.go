//go:build go1.25

package compare

import "net/http"

// haveCrossOriginProtection: this toolchain has http.CrossOriginProtection.
const haveCrossOriginProtection = true

// crossOriginProtection wraps h in http.CrossOriginProtection, whose
// refusals deny answers.
func crossOriginProtection(h, deny http.Handler) (http.Handler, bool) {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(deny)
	return p.Handler(h), true
}
