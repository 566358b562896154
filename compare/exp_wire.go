package compare

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/go-sealed/session"
)

// MaxCookie is the size of one cookie every browser keeps: the Set-Cookie
// header value, attributes included.
const MaxCookie = 4096

// MaxHeaderLine is the longest request header line common proxies and
// servers pass with their default limits (Apache's LimitRequestFieldSize,
// and the limit session.DefaultMaxBytes keeps the Cookie header within).
const MaxHeaderLine = 8190

// searchLimit is the largest payload the size searches try: a mechanism
// that still passes with it does not grow with its session.
const searchLimit = 64 << 10

// Wire is the size of one session's token on the wire.
type Wire struct {
	// RequestBytes is the header line (Cookie or Authorization) the
	// client sends with every request, HTTP/1.1 bytes.
	RequestBytes int
	// IssuedBytes is what the mechanism added to the login response:
	// header lines (Set-Cookie, Session-Token, Vary, Cache-Control, ...)
	// and a JSON body.
	IssuedBytes int
	// Largest is the longest single Set-Cookie value, 0 for the header
	// transport.
	Largest int
	// Cookies is how many cookies every request carries.
	Cookies int
	// Err is why the session could not be issued at all, "" if it was;
	// TooLarge: because the library refused to save it (ErrTooLarge).
	Err      string
	TooLarge bool
}

// Dropped reports whether a browser would drop one of the cookies.
func (w Wire) Dropped() bool { return w.Largest > MaxCookie }

// Blocked reports whether a proxy with common limits would refuse the
// request header.
func (w Wire) Blocked() bool { return w.RequestBytes > MaxHeaderLine }

// Fit is a largest-session search result.
type Fit struct {
	// Payload is the largest number of payload bytes whose session meets
	// the search's criterion.
	Payload int
	// Unbounded is set when the search limit itself meets it: the token
	// does not grow with the session.
	Unbounded bool
	// Size is the size the criterion bounds, at Payload: the Set-Cookie
	// length or the request header line.
	Size int
	// NextNote is why the session with Payload+1 bytes failed to be
	// issued, "" if it was issued but did not meet the criterion;
	// NextTooLarge: the library refused to save it (ErrTooLarge).
	NextNote     string
	NextTooLarge bool
}

// Point is one point of the token-size curve.
type Point struct {
	Payload, RequestBytes int
}

// wireOf issues v and measures its token; an issue that fails is reported
// in Wire.Err, as a measured outcome.
func wireOf(ctx context.Context, m Mechanism, v Values) (Wire, Token) {
	tok, err := m.Issue(ctx, User, v)
	if err != nil {
		return Wire{Err: err.Error(), TooLarge: errors.Is(err, session.ErrTooLarge)}, Token{}
	}
	return Wire{
		RequestBytes: tok.RequestBytes(),
		IssuedBytes:  tok.IssuedBytes,
		Largest:      tok.LargestSetCookie(),
		Cookies:      tok.RequestCookies(),
	}, tok
}

func measureWire(ctx context.Context, m Mechanism) (small, typical, large Wire, read int, err error) {
	small, _ = wireOf(ctx, m, SmallSession())
	typical, tok := wireOf(ctx, m, TypicalSession())
	large, _ = wireOf(ctx, m, LargeSession())
	if typical.Err != "" {
		return small, typical, large, 0, errors.New(typical.Err)
	}
	v, err := m.Verify(ctx, tok)
	if err != nil {
		return small, typical, large, 0, fmt.Errorf("verify a fresh token: %w", err)
	}
	return small, typical, large, v.ResponseBytes, nil
}

// criterion says whether an issued session's Wire meets a size search's
// bound, and the size it bounds.
type criterion func(Wire) (ok bool, size int)

// oneCookie: the session is set in a single cookie a browser keeps.
func oneCookie(w Wire) (bool, int) {
	return w.Cookies == 1 && !w.Dropped(), w.Largest
}

// passes: the session is saved, a browser keeps every cookie of it, and
// a proxy passes the request header that carries it.
func passes(w Wire) (bool, int) {
	return !w.Dropped() && !w.Blocked(), w.RequestBytes
}

// meets issues a session with an n-byte payload and reports whether it
// meets c, with the size c bounds; w.Err says why it was not issued.
func meets(ctx context.Context, m Mechanism, c criterion, n int) (ok bool, size int, w Wire) {
	w, _ = wireOf(ctx, m, payloadSession(n))
	if w.Err != "" {
		return false, 0, w
	}
	ok, size = c(w)
	return ok, size, w
}

// LargestFit searches, by bisection on the payload size, the largest
// session that meets c. A payload of limit bytes that still meets it
// makes the result Unbounded.
func LargestFit(ctx context.Context, m Mechanism, c criterion, limit int) (Fit, error) {
	if ok, size, _ := meets(ctx, m, c, limit); ok {
		return Fit{Payload: limit, Unbounded: true, Size: size}, nil
	}
	lo, hi := 0, limit // meets(lo), !meets(hi)
	if ok, _, w := meets(ctx, m, c, lo); !ok {
		return Fit{}, fmt.Errorf("an empty payload does not fit: %+v", w)
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ok, _, _ := meets(ctx, m, c, mid); ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	_, size, _ := meets(ctx, m, c, lo)
	_, _, next := meets(ctx, m, c, lo+1)
	return Fit{Payload: lo, Size: size, NextNote: next.Err, NextTooLarge: next.TooLarge}, nil
}

// curveStep is the payload step of the token-size curve.
const curveStep = 512

// measureCurve measures the request header's size at payloads from 0 to
// the largest that passes (a limit's worth for a mechanism without one),
// every curveStep bytes and at the end.
func measureCurve(ctx context.Context, m Mechanism, pass Fit) ([]Point, error) {
	end := pass.Payload
	if pass.Unbounded {
		end = 8 << 10
	}
	var pts []Point
	for n := 0; ; n += curveStep {
		n = min(n, end)
		w, _ := wireOf(ctx, m, payloadSession(n))
		if w.Err != "" {
			return nil, fmt.Errorf("payload %d: %s", n, w.Err)
		}
		pts = append(pts, Point{Payload: n, RequestBytes: w.RequestBytes})
		if n == end {
			return pts, nil
		}
	}
}

// heapSessions is how many sessions measureHeap keeps.
const heapSessions = 2000

// measureHeap is, for a mechanism whose backend lives in this process,
// the growth of the Go heap per typical session it keeps, and -1 for the
// others.
func measureHeap(ctx context.Context, m Mechanism) (int64, error) {
	if st := m.Stats(); !st.Backend || st.Network {
		return -1, nil
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range heapSessions {
		if _, err := m.Issue(ctx, fmt.Sprintf("u-%05d", i), TypicalSession()); err != nil {
			return 0, err
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(m)
	return (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / heapSessions, nil
}
