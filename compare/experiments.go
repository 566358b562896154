package compare

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// MaxCookie is the size of one cookie every browser keeps: the Set-Cookie
// header value, attributes included.
const MaxCookie = 4096

// Options tune Run.
type Options struct {
	// Quick runs fewer benchmark iterations and fewer tampering trials.
	Quick bool
	// Log, if set, receives progress messages.
	Log func(format string, args ...any)
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
	}
}

// Report is the outcome of every experiment on every mechanism.
type Report struct {
	Machine Machine
	Quick   bool
	Specs   []Spec
	Skipped []Skipped
	Rows    []Row // one per spec, in order
	// Floor is the cost of the harness itself: an issue and a verify
	// through the same httptest round trip with no session work at all.
	Floor   Row
	Elapsed time.Duration
}

// Row is what the experiments measured on one mechanism.
type Row struct {
	Name string

	// Small, Typical and Large are the bytes of SmallSession,
	// TypicalSession and LargeSession on the wire.
	Small, Typical, Large Wire
	// ReadSetCookie is the Set-Cookie bytes the server sends back on a
	// request that only reads the typical session.
	ReadSetCookie int
	// Fit is the largest payload whose session fits one cookie.
	Fit Fit

	Issue, Verify Bench
	State         State
	Tamper        Tamper
	// Readable lists the names of the typical session's values a client
	// can read out of its token; of Secrets in all.
	Readable []string
	Secrets  int
	Revoke   Revocation
	// ReplicaAccepts: a second instance sharing only the configuration
	// accepts a token the first issued.
	ReplicaAccepts bool
	Rotation       Rotation
	// ExpiredAccepted: a token kept past its deadline is still accepted.
	ExpiredAccepted bool
}

// Wire is the size of one session's token on the wire.
type Wire struct {
	// CookieBytes is the Cookie header value the client sends with every
	// request.
	CookieBytes int
	// SetCookieBytes is the Set-Cookie header values of the response that
	// issued it, all chunks together.
	SetCookieBytes int
	// Largest is the longest single Set-Cookie value.
	Largest int
	// Cookies is how many cookies carry the token.
	Cookies int
	// Err is why the session could not be issued at all, "" if it was.
	Err string
}

// Dropped reports whether a browser would drop one of the cookies.
func (w Wire) Dropped() bool { return w.Largest > MaxCookie }

// Fit is the largest-session search result.
type Fit struct {
	// Payload is the largest number of payload bytes whose session is set
	// in one cookie of at most MaxCookie bytes.
	Payload int
	// Unbounded is set when the search limit itself fits: the cookie does
	// not grow with the session.
	Unbounded bool
	// Cookie is the Set-Cookie length at Payload.
	Cookie int
	// Next describes the session with Payload+1 bytes: its Set-Cookie
	// length (all cookies together), or why it was not issued.
	Next     int
	NextNote string
}

// Bench is the cost of one operation.
type Bench struct {
	NsPerOp     float64
	AllocsPerOp int64
	BytesPerOp  int64
	N           int
}

// State is the server-side cost of the typical session.
type State struct {
	Backend bool
	// EntryBytes is the backend entry written for it (key, data, user).
	EntryBytes int64
	// ResidentBytes is what the backend reports using for it, -1 unknown.
	ResidentBytes int64
	// IssueCalls, VerifyCalls: backend operations of a login and of a
	// request that reads the session; *RTTs: network round trips.
	IssueCalls, VerifyCalls int64
	IssueRTTs, VerifyRTTs   int64
}

// Tamper is what the tampering experiments found.
type Tamper struct {
	// FlipsTried single-bit changes were sent; FlipsAccepted of them were
	// accepted.
	FlipsTried, FlipsAccepted int
	// EditFound: the attacker's tools found the role claim in the token;
	// EditAccepted: the token with role "admin" was accepted as admin.
	EditFound, EditAccepted bool
}

// Revocation is what replays after the end of a session found.
type Revocation struct {
	// AfterLogout: a copy taken before logout is accepted after it.
	AfterLogout bool
	// Everywhere: LogoutEverywhere is supported; EverywhereAccepted of
	// the user's 2 sessions were still accepted after it.
	Everywhere         bool
	EverywhereAccepted int
	// StaleRole is the role an admin's old token carries after the user
	// was demoted and the mechanism did what it can (LogoutEverywhere);
	// "" when the token is rejected.
	StaleRole string
}

// Rotation is what a mechanism does with tokens under a retired key.
type Rotation struct {
	// Keyed: the mechanism has keys to rotate at all.
	Keyed bool
	// DuringAccepted: the old token is accepted while its key is kept for
	// verification; Reissued: the server answered with a new token under
	// the new key.
	DuringAccepted, Reissued bool
	// RetiredAccepted: the old token is accepted once its key is dropped;
	// ReissuedAccepted: the re-issued token is.
	RetiredAccepted, ReissuedAccepted bool
}

// Run runs every experiment on every mechanism that can run here.
func Run(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	specs, skipped := Mechanisms()
	rep := &Report{Machine: ThisMachine(), Quick: opts.Quick, Specs: specs, Skipped: skipped}
	for _, s := range skipped {
		opts.logf("skipping %s: %s", s.Name, s.Reason)
	}
	rows := make([]Row, len(specs))
	// Expiry needs the clock to pass a deadline: every mechanism waits
	// for it at once, while the other experiments run.
	var wg sync.WaitGroup
	expired := make([]bool, len(specs))
	expErr := make([]error, len(specs))
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			expired[i], expErr[i] = runExpiry(ctx, s)
		}()
	}
	for i, s := range specs {
		opts.logf("measuring %s", s.Name)
		r, err := runOne(ctx, s, opts)
		if err != nil {
			wg.Wait()
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		rows[i] = r
	}
	wg.Wait()
	var err error
	for i := range rows {
		if expErr[i] != nil {
			return nil, fmt.Errorf("%s: expiry: %w", specs[i].Name, expErr[i])
		}
		rows[i].ExpiredAccepted = expired[i]
	}
	rep.Rows = rows
	opts.logf("measuring the harness floor")
	floor := &harness{name: "httptest floor", b: floorBackend{}}
	rep.Floor.Name = floor.name
	if rep.Floor.Issue, rep.Floor.Verify, err = measureCPU(ctx, floor, opts.Quick); err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// fresh makes a new instance of s with a day's lifetime, and its cleanup.
func fresh(s Spec) (Mechanism, func(), error) {
	m, err := s.New(Config{Lifetime: 24 * time.Hour})
	if err != nil {
		return nil, nil, err
	}
	return m, func() { _ = m.Close() }, nil
}

// runOne runs the experiments other than expiry on one mechanism. Each
// experiment gets a fresh instance, so none sees another's state.
func runOne(ctx context.Context, s Spec, opts Options) (Row, error) {
	r := Row{Name: s.Name}
	steps := []func(Mechanism) error{
		func(m Mechanism) (err error) {
			r.Small, r.Typical, r.Large, r.ReadSetCookie, err = measureWire(ctx, m)
			return err
		},
		func(m Mechanism) (err error) { r.Fit, err = LargestFit(ctx, m, 64<<10); return err },
		func(m Mechanism) (err error) { r.State, err = measureState(ctx, m); return err },
		func(m Mechanism) (err error) { r.Issue, r.Verify, err = measureCPU(ctx, m, opts.Quick); return err },
		func(m Mechanism) (err error) {
			n := 48
			if opts.Quick {
				n = 16
			}
			r.Tamper, err = measureTamper(ctx, m, n)
			return err
		},
		func(m Mechanism) (err error) { r.Readable, r.Secrets, err = measureReadable(ctx, m); return err },
		func(m Mechanism) (err error) { r.Revoke, err = measureRevocation(ctx, m); return err },
		func(m Mechanism) (err error) { r.ReplicaAccepts, err = measureReplica(ctx, m); return err },
		func(m Mechanism) (err error) { r.Rotation, err = measureRotation(ctx, m); return err },
	}
	for _, step := range steps {
		m, done, err := fresh(s)
		if err != nil {
			return r, err
		}
		err = step(m)
		done()
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

// wireOf issues v and measures its token; an issue that fails is reported
// in Wire.Err, as a measured outcome.
func wireOf(ctx context.Context, m Mechanism, v Values) (Wire, Token) {
	tok, err := m.Issue(ctx, User, v)
	if err != nil {
		return Wire{Err: err.Error()}, Token{}
	}
	return Wire{
		CookieBytes:    len(tok.CookieHeader()),
		SetCookieBytes: tok.SetCookieBytes(),
		Largest:        tok.LargestSetCookie(),
		Cookies:        len(tok.Cookies),
	}, tok
}

func measureWire(ctx context.Context, m Mechanism) (small, typical, large Wire, readSet int, err error) {
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
	return small, typical, large, v.Reissued.SetCookieBytes(), nil
}

// fits issues a session with an n-byte payload and reports whether it is
// set in one cookie of at most MaxCookie bytes, with the Set-Cookie bytes
// and, if it was not issued, why.
func fits(ctx context.Context, m Mechanism, n int) (ok bool, setCookie int, note string) {
	w, _ := wireOf(ctx, m, payloadSession(n))
	if w.Err != "" {
		return false, 0, w.Err
	}
	return w.Cookies == 1 && w.Largest <= MaxCookie, w.SetCookieBytes, ""
}

// LargestFit searches, by bisection on the payload size, the largest
// session whose token is set in one cookie of at most MaxCookie bytes. A
// payload of limit bytes that still fits makes the result Unbounded.
func LargestFit(ctx context.Context, m Mechanism, limit int) (Fit, error) {
	if ok, c, _ := fits(ctx, m, limit); ok {
		return Fit{Payload: limit, Unbounded: true, Cookie: c}, nil
	}
	lo, hi := 0, limit // fits(lo), !fits(hi)
	if ok, _, note := fits(ctx, m, lo); !ok {
		return Fit{}, fmt.Errorf("an empty payload does not fit one cookie: %s", note)
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ok, _, _ := fits(ctx, m, mid); ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	_, c, _ := fits(ctx, m, lo)
	_, next, note := fits(ctx, m, lo+1)
	return Fit{Payload: lo, Cookie: c, Next: next, NextNote: note}, nil
}

func measureState(ctx context.Context, m Mechanism) (State, error) {
	// A first login and read warm the backend's connection up, so that
	// its handshake is not counted as the session's round trips.
	warm, err := m.Issue(ctx, "u-warm-up", SmallSession())
	if err != nil {
		return State{}, err
	}
	if _, err := m.Verify(ctx, warm); err != nil {
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
	read := m.Stats()
	return State{
		Backend:       issued.Backend,
		EntryBytes:    issued.LastEntryBytes,
		ResidentBytes: residentDelta(before.ResidentBytes, issued.ResidentBytes),
		IssueCalls:    issued.Calls - before.Calls,
		IssueRTTs:     issued.RoundTrips - before.RoundTrips,
		VerifyCalls:   read.Calls - issued.Calls,
		VerifyRTTs:    read.RoundTrips - issued.RoundTrips,
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

// accepted reports whether tok is accepted, and with what values; an
// error other than a rejection is returned.
func accepted(ctx context.Context, m Mechanism, tok Token) (Values, bool, error) {
	v, err := m.Verify(ctx, tok)
	switch {
	case err == nil:
		return v.Values, true, nil
	case errors.Is(err, ErrRejected):
		return nil, false, nil
	}
	return nil, false, err
}

// acceptedFresh checks that tok, just issued, is accepted: an experiment
// that reports a changed, replayed or expired token as rejected means
// something only if the token was accepted to begin with.
func acceptedFresh(ctx context.Context, m Mechanism, tok Token) error {
	_, ok, err := accepted(ctx, m, tok)
	if err == nil && !ok {
		err = errors.New("a freshly issued token was rejected")
	}
	return err
}

func measureTamper(ctx context.Context, m Mechanism, trials int) (Tamper, error) {
	var t Tamper
	tok, err := m.Issue(ctx, User, TypicalSession())
	if err != nil {
		return t, err
	}
	if err := acceptedFresh(ctx, m, tok); err != nil {
		return t, err
	}
	value := tok.Value()
	// Flip one bit at trials positions spread over the token.
	for i := range trials {
		pos := i * len(value) / trials
		flipped, ok := flipBit(value, pos)
		if !ok {
			continue
		}
		t.FlipsTried++
		_, ok, err := accepted(ctx, m, tok.WithValue(flipped))
		if err != nil {
			return t, err
		}
		if ok {
			t.FlipsAccepted++
		}
	}
	// Edit the role claim, wherever the tools find it.
	// The tools may offer several spellings of the forgery: the attack
	// succeeds if any is accepted.
	forged := forge(value, `"`+typicalRole+`"`, `"admin"`)
	t.EditFound = len(forged) > 0
	for _, f := range forged {
		v, ok, err := accepted(ctx, m, tok.WithValue(f))
		if err != nil {
			return t, err
		}
		t.EditAccepted = t.EditAccepted || ok && v["role"] == "admin"
	}
	return t, nil
}

func measureReadable(ctx context.Context, m Mechanism) ([]string, int, error) {
	tok, err := m.Issue(ctx, User, TypicalSession())
	if err != nil {
		return nil, 0, err
	}
	var found []string
	s := secrets()
	for name, plain := range s {
		if reveals(tok.Value(), plain) {
			found = append(found, name)
		}
	}
	slices.Sort(found)
	return found, len(s), nil
}

func measureRevocation(ctx context.Context, m Mechanism) (Revocation, error) {
	var r Revocation
	// Log out, then replay the copy taken before.
	tok, err := m.Issue(ctx, User, TypicalSession())
	if err != nil {
		return r, err
	}
	if err := acceptedFresh(ctx, m, tok); err != nil {
		return r, err
	}
	if err := m.Logout(ctx, tok); err != nil {
		return r, err
	}
	if _, r.AfterLogout, err = accepted(ctx, m, tok); err != nil {
		return r, err
	}
	// Two devices, log out everywhere, replay both.
	const other = "u-77001"
	var devices []Token
	for range 2 {
		tok, err := m.Issue(ctx, other, TypicalSession())
		if err != nil {
			return r, err
		}
		devices = append(devices, tok)
	}
	err = m.LogoutEverywhere(ctx, other)
	r.Everywhere = err == nil
	if err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return r, err
	}
	for _, d := range devices {
		_, ok, err := accepted(ctx, m, d)
		if err != nil {
			return r, err
		}
		if ok {
			r.EverywhereAccepted++
		}
	}
	// An admin is demoted: the application does what the mechanism
	// allows (end the user's sessions), then the old token comes back.
	const admin = "u-00007"
	v := TypicalSession()
	v["role"] = "admin"
	tok, err = m.Issue(ctx, admin, v)
	if err != nil {
		return r, err
	}
	if err := m.LogoutEverywhere(ctx, admin); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return r, err
	}
	got, ok, err := accepted(ctx, m, tok)
	if err != nil {
		return r, err
	}
	if ok {
		r.StaleRole, _ = got["role"].(string)
	}
	return r, nil
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
	v, err := m.Verify(ctx, old)
	switch {
	case err == nil:
		r.DuringAccepted = true
		r.Reissued = !v.Reissued.IsZero()
	case !errors.Is(err, ErrRejected):
		return r, err
	}
	if err := m.RetireOldKeys(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return r, err
	}
	if _, r.RetiredAccepted, err = accepted(ctx, m, old); err != nil {
		return r, err
	}
	if r.Reissued {
		if _, r.ReissuedAccepted, err = accepted(ctx, m, v.Reissued); err != nil {
			return r, err
		}
	}
	return r, nil
}

// ExpiryLifetime is the lifetime of the sessions of the expiry
// experiment, and ExpiryWait how long it keeps their tokens before
// sending them back: past the deadline even for mechanisms that count
// whole seconds.
const (
	ExpiryLifetime = time.Second
	ExpiryWait     = 2*time.Second + 200*time.Millisecond
)

// runExpiry issues a session of ExpiryLifetime, keeps the token for
// ExpiryWait, and reports whether the server still accepts it.
func runExpiry(ctx context.Context, s Spec) (bool, error) {
	m, err := s.New(Config{Lifetime: ExpiryLifetime})
	if err != nil {
		return false, err
	}
	defer m.Close()
	tok, err := m.Issue(ctx, User, TypicalSession())
	if err != nil {
		return false, err
	}
	if err := acceptedFresh(ctx, m, tok); err != nil {
		return false, err
	}
	select {
	case <-time.After(ExpiryWait):
	case <-ctx.Done():
		return false, ctx.Err()
	}
	_, ok, err := accepted(ctx, m, tok)
	return ok, err
}
