package compare

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Tamper is what the tampering experiments found.
type Tamper struct {
	// FlipsTried single-bit changes were sent; FlipsAccepted of them were
	// accepted.
	FlipsTried, FlipsAccepted int
	// EditFound: the attacker's tools found the role claim in the token;
	// EditAccepted: the token with role "admin" was accepted as admin.
	EditFound, EditAccepted bool
}

// Readable is what the attacker's tools read out of a typical token.
type Readable struct {
	// Secrets names the secret values found (see secretValues), of
	// SecretsOf; Open the other values found (see openValues), of OpenOf.
	Secrets, Open     []string
	SecretsOf, OpenOf int
}

// Window is how long a copy of a token stays accepted.
type Window struct {
	// Immediate: the copy was rejected on the first request.
	Immediate bool
	// Seconds is the last whole second, counted from the start of the
	// experiment, at which the copy was still accepted.
	Seconds int
	// Unbounded: the copy was still accepted at the horizon.
	Unbounded bool
}

// Horizon is how far the window experiments move the clock: past every
// deadline the mechanisms are configured with.
const Horizon = 30 * 24 * time.Hour

// Revocation is what replays after the end of a session found.
type Revocation struct {
	// Stolen: a copy of the token, taken at login, while nobody logs
	// out.
	Stolen Window
	// AfterLogout: a copy taken before logout, sent after it.
	AfterLogout Window
	// Propagation is the real time from the end of the logout to the
	// first rejection of the copy by a second instance, for mechanisms
	// whose second instance accepted it before the logout
	// (PropagationMeasured); Propagated is false if it still accepted it
	// after PropagationWait.
	Propagation         time.Duration
	PropagationMeasured bool
	Propagated          bool
	// PropagatedFirst: the second instance refused the copy on the first
	// request after the logout.
	PropagatedFirst bool
	// Everywhere: LogoutEverywhere is supported; EverywhereAccepted of
	// the user's 2 sessions were still accepted after it.
	Everywhere         bool
	EverywhereAccepted int
	// StaleRole is the role an admin's old token carries after the user
	// was demoted and the mechanism did what it can (LogoutEverywhere);
	// "" when the token is rejected.
	StaleRole string
}

// PropagationWait is how long the propagation experiment waits for a
// second instance to reject a logged-out token.
const PropagationWait = 250 * time.Millisecond

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
	// Edit the role claim, wherever the tools find it. They may offer
	// several spellings of the forgery: the attack succeeds if any is
	// accepted.
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

// found returns the names of the values of want that the tools read in
// token, sorted.
func found(token string, want map[string]string) []string {
	var names []string
	for name, plain := range want {
		if reveals(token, plain) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func measureReadable(ctx context.Context, m Mechanism) (Readable, error) {
	tok, err := m.Issue(ctx, User, TypicalSession())
	if err != nil {
		return Readable{}, err
	}
	secrets, open := secretValues(), openValues()
	return Readable{
		Secrets: found(tok.Value(), secrets), SecretsOf: len(secrets),
		Open: found(tok.Value(), open), OpenOf: len(open),
	}, nil
}

// window measures how long m keeps accepting a copy of a token, by moving
// clk forward from where it is, to the second, up to Horizon. A rejected
// token may be gone for good (a server deletes an expired record it
// finds), so each probe sends a new copy: prepare makes it, with clk where
// it was. clk is put back afterwards.
func window(ctx context.Context, m Mechanism, clk *Clock, prepare func() (Token, error)) (Window, error) {
	base := clk.Offset()
	defer clk.Set(base)
	at := func(sec int) (bool, error) {
		clk.Set(base)
		tok, err := prepare()
		if err != nil {
			return false, err
		}
		clk.Set(base + time.Duration(sec)*time.Second)
		_, ok, err := accepted(ctx, m, tok)
		return ok, err
	}
	horizon := int(Horizon / time.Second)
	if ok, err := at(0); err != nil || !ok {
		return Window{Immediate: true}, err
	}
	if ok, err := at(horizon); err != nil || ok {
		return Window{Seconds: horizon, Unbounded: true}, err
	}
	lo, hi := 0, horizon // accepted at lo, rejected at hi
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := at(mid)
		if err != nil {
			return Window{}, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return Window{Seconds: lo}, nil
}

// issued returns a prepare function for window: a fresh typical session,
// checked to be accepted, then passed to end (nil: nothing) before it is
// replayed.
func issued(ctx context.Context, m Mechanism, end func(Token) error) func() (Token, error) {
	return func() (Token, error) {
		tok, err := m.Issue(ctx, User, TypicalSession())
		if err != nil {
			return Token{}, err
		}
		if err := acceptedFresh(ctx, m, tok); err != nil {
			return Token{}, err
		}
		if end != nil {
			err = end(tok)
		}
		return tok, err
	}
}

func measureRevocation(ctx context.Context, m Mechanism, clk *Clock) (Revocation, error) {
	var r Revocation
	var err error
	// A copy taken at login, while nobody does anything; a copy taken
	// before logout, sent after it.
	if r.Stolen, err = window(ctx, m, clk, issued(ctx, m, nil)); err != nil {
		return r, err
	}
	logout := func(tok Token) error { return m.Logout(ctx, tok) }
	if r.AfterLogout, err = window(ctx, m, clk, issued(ctx, m, logout)); err != nil {
		return r, err
	}
	// How long a second instance takes to learn of a logout.
	tok, err := issued(ctx, m, nil)()
	if err != nil {
		return r, err
	}
	other, err := m.Replica()
	if err != nil {
		return r, err
	}
	defer other.Close()
	_, before, err := accepted(ctx, other, tok)
	if err != nil {
		return r, err
	}
	if err := m.Logout(ctx, tok); err != nil {
		return r, err
	}
	if before {
		r.PropagationMeasured = true
		if r.Propagation, r.PropagatedFirst, r.Propagated, err = propagation(ctx, other, tok); err != nil {
			return r, err
		}
	}
	// Two devices, log out everywhere, replay both.
	const other2 = "u-77001"
	var devices []Token
	for range 2 {
		tok, err := m.Issue(ctx, other2, TypicalSession())
		if err != nil {
			return r, err
		}
		devices = append(devices, tok)
	}
	err = m.LogoutEverywhere(ctx, other2)
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
	if tok, err = m.Issue(ctx, admin, v); err != nil {
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

// propagation sends tok to m until m rejects it, for up to
// PropagationWait of real time, and returns how long that took and
// whether the first request was already rejected.
func propagation(ctx context.Context, m Mechanism, tok Token) (d time.Duration, first, ok bool, err error) {
	start := time.Now()
	for try := 0; ; try++ {
		_, accepted, err := accepted(ctx, m, tok)
		if err != nil || !accepted {
			return time.Since(start), try == 0 && err == nil, err == nil, err
		}
		if time.Since(start) > PropagationWait {
			return time.Since(start), false, false, nil
		}
		time.Sleep(time.Millisecond)
	}
}

// ExpiryLifetime is the lifetime of the sessions of the expiry
// experiment, and ExpiryWait how long it keeps their tokens before
// sending them back: past the deadline even for mechanisms that count
// whole seconds.
const (
	ExpiryLifetime = time.Second
	ExpiryWait     = 2*time.Second + 200*time.Millisecond
)

// runExpiry issues a session of ExpiryLifetime (an access token of that
// lifetime too), keeps the token for ExpiryWait of real time, and reports
// whether the server still accepts it.
func runExpiry(ctx context.Context, s Spec, t Transport) (bool, error) {
	m, err := s.New(Config{Lifetime: ExpiryLifetime, AccessTTL: ExpiryLifetime, Transport: t})
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
