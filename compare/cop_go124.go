//go:build !go1.25

package compare

import "net/http"

// haveCrossOriginProtection: http.CrossOriginProtection arrived in Go
// 1.25; the flows that need it are not run.
const haveCrossOriginProtection = false

func crossOriginProtection(h, _ http.Handler) (http.Handler, bool) { return h, false }
