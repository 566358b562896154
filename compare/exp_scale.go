package compare

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Bench is the cost of one operation.
type Bench struct {
	NsPerOp     float64
	AllocsPerOp int64
	BytesPerOp  int64
	N           int
}

// Cost is the backend work of one request.
type Cost struct {
	Commands, RoundTrips, Bytes int64
}

func costBetween(a, b Stats) Cost {
	return Cost{Commands: b.Commands - a.Commands, RoundTrips: b.RoundTrips - a.RoundTrips, Bytes: b.StoreBytes - a.StoreBytes}
}

// State is the server-side cost of the typical session.
type State struct {
	// Backend: the mechanism keeps state on the server; Network: in a
	// backend reached over the network, whose work the Costs count.
	Backend, Network bool
	// ResidentBytes is what the backend reports using for the typical
	// session, -1 unknown; HeapBytes is the Go heap's growth per session
	// of an in-process backend, -1 for the others.
	ResidentBytes, HeapBytes int64
	// Issue, Verify and Identify are the backend work of a login, of a
	// request that reads every value, and of one that needs only the
	// user's identity.
	Issue, Verify, Identify Cost
}

// Refresh is what the refresh experiments found on a mechanism with
// refresh tokens.
type Refresh struct {
	// RequestBytes and ResponseBytes are one refresh on the wire: the
	// request's refresh cookie or JSON body, and what the response adds
	// (two Set-Cookie lines or a JSON body); Store its backend work.
	RequestBytes, ResponseBytes int
	Store                       Cost
	// Rotated: the refresh handed out a new refresh token, which works.
	Rotated bool
	// ReuseRejected: the refresh token used once is refused the second
	// time; ReuseRevokes: that reuse also ends the session, so that the
	// newer refresh token is refused too.
	ReuseRejected, ReuseRevokes bool
	// Thief is how long a thief holding a copy of both tokens stays
	// logged in while the user is idle, by refreshing a minute before
	// each access token expires; Refreshes is how many refreshes that
	// took.
	Thief     Window
	Refreshes int
}

// Rotation is what a mechanism does with tokens under a retired key.
type Rotation struct {
	// Keyed: the mechanism has keys to rotate at all.
	Keyed bool
	// DuringAccepted: the old token is accepted while its key is kept for
	// verification; Reissued: the server answered it with a new token
	// under the new key; Refreshed: a refresh gave a token under the new
	// key.
	DuringAccepted, Reissued, Refreshed bool
	// RetiredAccepted: the old token is accepted once its key is dropped;
	// NewAccepted: the re-issued or refreshed token is.
	RetiredAccepted, NewAccepted bool
}

// LoggedOut reports whether dropping the old key ended the user's
// session: the old token is refused and the client got no new one that
// works.
func (r Rotation) LoggedOut() bool { return r.Keyed && !r.RetiredAccepted && !r.NewAccepted }

// warmUp makes a login, the requests and a refresh, so that a network
// backend's connection handshake and script loading are not counted as
// the session's work.
func warmUp(ctx context.Context, m Mechanism) error {
	tok, err := m.Issue(ctx, "u-warm-up", SmallSession())
	if err != nil {
		return err
	}
	if _, err := m.Verify(ctx, tok); err != nil {
		return err
	}
	if _, err := m.Identify(ctx, tok); err != nil {
		return err
	}
	if _, err := m.Refresh(ctx, tok); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

func measureState(ctx context.Context, m Mechanism) (State, error) {
	if err := warmUp(ctx, m); err != nil {
		return State{}, err
	}
	before := m.Stats()
	tok, err := m.Issue(ctx, User, TypicalSession())
	if err != nil {
		return State{}, err
	}
	issued := m.Stats()
	if _, err := m.Verify(ctx, tok); err != nil {
		return State{}, err
	}
	verified := m.Stats()
	if _, err := m.Identify(ctx, tok); err != nil {
		return State{}, err
	}
	identified := m.Stats()
	return State{
		Backend:       issued.Backend,
		Network:       issued.Network,
		ResidentBytes: residentDelta(before.ResidentBytes, issued.ResidentBytes),
		HeapBytes:     -1,
		Issue:         costBetween(before, issued),
		Verify:        costBetween(issued, verified),
		Identify:      costBetween(verified, identified),
	}, nil
}

// residentDelta is the growth from a to b of a resident size, -1 if
// either is unknown.
func residentDelta(a, b int64) int64 {
	if a < 0 || b < 0 {
		return -1
	}
	return b - a
}

// benchMu serializes changes to the test.benchtime flag.
var benchMu sync.Mutex

// benchmark runs f under testing.Benchmark for about d.
func benchmark(d time.Duration, f func(b *testing.B)) (Bench, error) {
	benchMu.Lock()
	defer benchMu.Unlock()
	testing.Init() // registers test.benchtime outside a test binary; no-op in one
	fl := flag.Lookup("test.benchtime")
	old := fl.Value.String()
	if err := fl.Value.Set(d.String()); err != nil {
		return Bench{}, err
	}
	defer func() { _ = fl.Value.Set(old) }()
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		f(b)
	})
	if res.N == 0 {
		return Bench{}, errors.New("benchmark failed")
	}
	return Bench{NsPerOp: float64(res.T.Nanoseconds()) / float64(res.N), AllocsPerOp: res.AllocsPerOp(), BytesPerOp: res.AllocedBytesPerOp(), N: res.N}, nil
}

func measureCPU(ctx context.Context, m Mechanism, quick bool) (issue, verify Bench, err error) {
	d := time.Second
	if quick {
		d = 20 * time.Millisecond
	}
	v := TypicalSession()
	tok, err := m.Issue(ctx, User, v)
	if err != nil {
		return issue, verify, err
	}
	issue, err = benchmark(d, func(b *testing.B) {
		for b.Loop() {
			if _, err := m.Issue(ctx, User, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	if err != nil {
		return issue, verify, fmt.Errorf("issue: %w", err)
	}
	verify, err = benchmark(d, func(b *testing.B) {
		for b.Loop() {
			if _, err := m.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	if err != nil {
		return issue, verify, fmt.Errorf("verify: %w", err)
	}
	return issue, verify, nil
}

func measureReplica(ctx context.Context, m Mechanism) (bool, error) {
	tok, err := m.Issue(ctx, User, TypicalSession())
	if err != nil {
		return false, err
	}
	other, err := m.Replica()
	if err != nil {
		return false, err
	}
	defer other.Close()
	_, ok, err := accepted(ctx, other, tok)
	return ok, err
}

func measureRotation(ctx context.Context, m Mechanism) (Rotation, error) {
	var r Rotation
	old, err := m.Issue(ctx, User, TypicalSession())
	if err != nil {
		return r, err
	}
	err = m.RotateKey()
	r.Keyed = err == nil
	if err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return r, err
	}
	var renewed Token
	v, err := m.Verify(ctx, old)
	switch {
	case err == nil:
		r.DuringAccepted = true
		r.Reissued = !v.Reissued.IsZero()
		renewed = v.Reissued
	case !errors.Is(err, ErrRejected):
		return r, err
	}
	if renewed.IsZero() {
		refreshed, err := m.Refresh(ctx, old)
		if err != nil && !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, ErrRejected) {
			return r, err
		}
		r.Refreshed = err == nil
		renewed = refreshed
	}
	if err := m.RetireOldKeys(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return r, err
	}
	if _, r.RetiredAccepted, err = accepted(ctx, m, old); err != nil {
		return r, err
	}
	if !renewed.IsZero() {
		if _, r.NewAccepted, err = accepted(ctx, m, renewed); err != nil {
			return r, err
		}
	}
	return r, nil
}

// measureRefresh runs the refresh experiments, on a mechanism that has
// refresh tokens; nil for the others.
func measureRefresh(ctx context.Context, m Mechanism, clk *Clock) (*Refresh, error) {
	if _, err := m.Refresh(ctx, Token{}); errors.Is(err, errors.ErrUnsupported) {
		return nil, nil
	}
	if err := warmUp(ctx, m); err != nil {
		return nil, err
	}
	tok, err := m.Issue(ctx, User, TypicalSession())
	if err != nil {
		return nil, err
	}
	before := m.Stats()
	next, err := m.Refresh(ctx, tok)
	if err != nil {
		return nil, fmt.Errorf("a first refresh: %w", err)
	}
	r := &Refresh{Store: costBetween(before, m.Stats()), ResponseBytes: next.IssuedBytes}
	hdr, body := tok.refreshRequest()
	r.RequestBytes = headerBytes(hdr) + len(body)
	// The new refresh token works; the old one, used again, does not, and
	// revokes the session.
	if err := acceptedFresh(ctx, m, next); err != nil {
		return nil, err
	}
	latest, err := m.Refresh(ctx, next)
	r.Rotated = err == nil && latest.Value() != next.Value()
	if err != nil && !errors.Is(err, ErrRejected) {
		return nil, err
	}
	_, err = m.Refresh(ctx, tok)
	r.ReuseRejected = errors.Is(err, ErrRejected)
	if err != nil && !r.ReuseRejected {
		return nil, err
	}
	if r.Rotated {
		_, err = m.Refresh(ctx, latest)
		r.ReuseRevokes = errors.Is(err, ErrRejected)
		if err != nil && !r.ReuseRevokes {
			return nil, err
		}
	}
	// A thief with a copy of both tokens, the user idle: refresh a minute
	// before each access token expires, until a refresh is refused.
	ttl, err := window(ctx, m, clk, issued(ctx, m, nil))
	if err != nil {
		return nil, err
	}
	step := time.Duration(ttl.Seconds)*time.Second - time.Minute
	if ttl.Immediate || ttl.Unbounded || step <= 0 {
		return nil, fmt.Errorf("the access token's window %+v leaves no room to refresh", ttl)
	}
	stolen, err := m.Issue(ctx, User, TypicalSession())
	if err != nil {
		return nil, err
	}
	defer clk.Set(0)
	at := time.Duration(0)
	for at+step <= Horizon {
		clk.Set(at + step)
		renewed, err := m.Refresh(ctx, stolen)
		if errors.Is(err, ErrRejected) {
			break
		}
		if err != nil {
			return nil, err
		}
		stolen, at = renewed, at+step
		r.Refreshes++
	}
	clk.Set(at)
	// The last access token is only verified, which changes nothing on
	// the server: the same copy serves every probe.
	last, err := window(ctx, m, clk, func() (Token, error) { return stolen, nil })
	if err != nil {
		return nil, err
	}
	r.Thief = Window{Seconds: int(at/time.Second) + last.Seconds, Unbounded: at+step > Horizon, Immediate: last.Immediate && r.Refreshes == 0}
	return r, nil
}
