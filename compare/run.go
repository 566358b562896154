package compare

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Options tune Run.
type Options struct {
	// Quick runs fewer benchmark iterations and fewer tampering trials.
	Quick bool
	// Browser runs the experiments in a real browser too (see
	// RunBrowser); without it, or without Chromium, the report says they
	// were not run, and why.
	Browser bool
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
	// Rows holds one row per spec and transport, in the order of Specs,
	// then of Transports.
	Rows []Row
	// Floor is the cost of the harness itself: an issue and a verify
	// through the same httptest round trip with no session work at all.
	Floor Row
	// Browser holds the real-browser flows: one per row, then the
	// variants (see BrowserFlows); BrowserSkipped says why there are
	// none, "" if they ran.
	Browser        []BrowserResult
	BrowserSkipped string
	Elapsed        time.Duration
}

// Row is what the experiments measured on one mechanism over one
// transport.
type Row struct {
	Name      string
	Transport Transport

	// Small, Typical and Large are SmallSession, TypicalSession and
	// LargeSession on the wire.
	Small, Typical, Large Wire
	// ReadResponse is what the mechanism adds to the response of a
	// request that only reads the typical session.
	ReadResponse int
	// Fit is the largest payload whose session is set in one cookie
	// (cookie transport only), and Pass the largest one that is saved and
	// whose request header a proxy with common limits passes.
	Fit, Pass Fit
	// Curve is the request header's size against the payload's, from 0 to
	// Pass.
	Curve []Point

	Issue, Verify Bench
	State         State
	Tamper        Tamper
	Readable      Readable
	Revoke        Revocation
	// ReplicaAccepts: a second instance sharing only the configuration
	// accepts a token the first issued.
	ReplicaAccepts bool
	Rotation       Rotation
	// RotationReissue is Rotation for the variant of a stateless JWT
	// whose server re-issues tokens signed with an old key; nil for the
	// other mechanisms.
	RotationReissue *Rotation
	// Refresh is what the refresh experiments found, nil for mechanisms
	// without refresh tokens.
	Refresh *Refresh
	// ExpiredAccepted: a token kept past its deadline, in real time, is
	// still accepted.
	ExpiredAccepted bool
}

// Label is the row's name and transport, as the text names it.
func (r *Row) Label() string { return fmt.Sprintf("%s (%s)", r.Name, r.Transport) }

// Run runs every experiment on every mechanism that can run here.
func Run(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	specs, skipped := Mechanisms()
	rep := &Report{Machine: ThisMachine(), Quick: opts.Quick, Specs: specs, Skipped: skipped}
	for _, s := range skipped {
		opts.logf("skipping %s: %s", s.Name, s.Reason)
	}
	type job struct {
		s Spec
		t Transport
	}
	var jobs []job
	for _, s := range specs {
		for _, t := range Transports {
			if s.Has(t) {
				jobs = append(jobs, job{s, t})
			}
		}
	}
	rows := make([]Row, len(jobs))
	// Expiry needs the clock to pass a deadline: every mechanism waits
	// for it at once, while the other experiments run.
	var wg sync.WaitGroup
	expired := make([]bool, len(jobs))
	expErr := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			expired[i], expErr[i] = runExpiry(ctx, j.s, j.t)
		}()
	}
	for i, j := range jobs {
		opts.logf("measuring %s over the %s transport", j.s.Name, j.t)
		r, err := runOne(ctx, j.s, j.t, opts)
		if err != nil {
			wg.Wait()
			return nil, fmt.Errorf("%s (%s): %w", j.s.Name, j.t, err)
		}
		rows[i] = r
	}
	wg.Wait()
	for i := range rows {
		if expErr[i] != nil {
			return nil, fmt.Errorf("%s (%s): expiry: %w", jobs[i].s.Name, jobs[i].t, expErr[i])
		}
		rows[i].ExpiredAccepted = expired[i]
	}
	rep.Rows = rows
	opts.logf("measuring the harness floor")
	floor := &harness{name: "httptest floor", b: floorBackend{}}
	rep.Floor.Name = floor.name
	var err error
	if rep.Floor.Issue, rep.Floor.Verify, err = measureCPU(ctx, floor, opts.Quick); err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	switch path, why := Chromium(); {
	case !opts.Browser:
		rep.BrowserSkipped = "not requested (Options.Browser is false)"
	case path == "":
		rep.BrowserSkipped = why
		opts.logf("skipping the browser experiments: %s", why)
	default:
		opts.logf("running the browser experiments in %s", path)
		if rep.Browser, err = RunBrowser(ctx, path, BrowserFlows(specs)); err != nil {
			return nil, fmt.Errorf("browser: %w", err)
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// newInstance makes a new instance of s over t with a day's lifetime and a
// clock of its own, and its cleanup.
func newInstance(s Spec, t Transport) (Mechanism, *Clock, func(), error) {
	clk := &Clock{}
	m, err := s.New(Config{Lifetime: 24 * time.Hour, Transport: t, Clock: clk})
	if err != nil {
		return nil, nil, nil, err
	}
	return m, clk, func() { _ = m.Close() }, nil
}

// runOne runs the experiments other than expiry on one mechanism over one
// transport. Each experiment gets a fresh instance, so none sees
// another's state.
func runOne(ctx context.Context, s Spec, t Transport, opts Options) (Row, error) {
	r := Row{Name: s.Name, Transport: t}
	steps := []func(Mechanism, *Clock) error{
		func(m Mechanism, _ *Clock) (err error) {
			r.Small, r.Typical, r.Large, r.ReadResponse, err = measureWire(ctx, m)
			return err
		},
		func(m Mechanism, _ *Clock) (err error) {
			if t == TransportCookie {
				r.Fit, err = LargestFit(ctx, m, oneCookie, searchLimit)
			}
			return err
		},
		func(m Mechanism, _ *Clock) (err error) {
			r.Pass, err = LargestFit(ctx, m, passes, searchLimit)
			return err
		},
		func(m Mechanism, _ *Clock) (err error) { r.Curve, err = measureCurve(ctx, m, r.Pass); return err },
		func(m Mechanism, _ *Clock) (err error) { r.State, err = measureState(ctx, m); return err },
		func(m Mechanism, _ *Clock) (err error) {
			r.State.HeapBytes, err = measureHeap(ctx, m)
			return err
		},
		func(m Mechanism, _ *Clock) (err error) {
			r.Issue, r.Verify, err = measureCPU(ctx, m, opts.Quick)
			return err
		},
		func(m Mechanism, _ *Clock) (err error) {
			n := 48
			if opts.Quick {
				n = 16
			}
			r.Tamper, err = measureTamper(ctx, m, n)
			return err
		},
		func(m Mechanism, _ *Clock) (err error) { r.Readable, err = measureReadable(ctx, m); return err },
		func(m Mechanism, clk *Clock) (err error) { r.Revoke, err = measureRevocation(ctx, m, clk); return err },
		func(m Mechanism, _ *Clock) (err error) { r.ReplicaAccepts, err = measureReplica(ctx, m); return err },
		func(m Mechanism, _ *Clock) (err error) { r.Rotation, err = measureRotation(ctx, m); return err },
		func(m Mechanism, clk *Clock) (err error) { r.Refresh, err = measureRefresh(ctx, m, clk); return err },
	}
	for _, step := range steps {
		m, clk, done, err := newInstance(s, t)
		if err != nil {
			return r, err
		}
		err = step(m, clk)
		done()
		if err != nil {
			return r, err
		}
	}
	if s.Reissuable {
		m, err := s.New(Config{Lifetime: 24 * time.Hour, Transport: t, Reissue: true})
		if err != nil {
			return r, err
		}
		rot, err := measureRotation(ctx, m)
		_ = m.Close()
		if err != nil {
			return r, fmt.Errorf("rotation with re-issue: %w", err)
		}
		r.RotationReissue = &rot
	}
	return r, nil
}
