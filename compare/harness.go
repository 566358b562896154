package compare

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
)

// endpoint is the server side of a mechanism, at the HTTP level: what a
// login, an authenticated request and a logout do with the request and
// the response. It is the only part that differs between mechanisms in
// how a token travels.
type endpoint interface {
	// issue answers a login of user with values v.
	issue(w http.ResponseWriter, r *http.Request, user string, v Values) error
	// verify answers a request, and returns the values its token carries
	// and whether the token was accepted.
	verify(w http.ResponseWriter, r *http.Request) (Values, bool, error)
	// logout answers a logout request.
	logout(w http.ResponseWriter, r *http.Request) error
}

// backend is what a mechanism does besides answering requests: the
// operations that have no HTTP request of their own.
type backend interface {
	endpoint() endpoint
	logoutEverywhere(ctx context.Context, user string) error
	rotateKey() error
	retireOldKeys() error
	replica() (backend, error)
	stats() Stats
	close() error
}

// harness turns a backend into a Mechanism by running its endpoint under
// httptest: a request carries the client's Cookie header, and the token
// is read back from the response's Set-Cookie headers.
type harness struct {
	name string
	b    backend
}

var _ Mechanism = (*harness)(nil)

func (h *harness) Name() string { return h.name }

// serve runs f as the handler of one request that carries tok, and
// returns the response's headers.
func serve(ctx context.Context, tok Token, f func(http.ResponseWriter, *http.Request) error) (http.Header, error) {
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "https://example.com/", nil)
	if !tok.IsZero() {
		r.Header.Set("Cookie", tok.CookieHeader())
	}
	w := httptest.NewRecorder()
	var err error
	handler := func(w http.ResponseWriter, r *http.Request) {
		err = f(w, r)
	}
	http.HandlerFunc(handler).ServeHTTP(w, r)
	if err == nil && w.Code >= 500 {
		err = fmt.Errorf("compare: server answered %d", w.Code)
	}
	return w.Result().Header, err
}

func (h *harness) Issue(ctx context.Context, user string, v Values) (Token, error) {
	ep := h.b.endpoint()
	hdr, err := serve(ctx, Token{}, func(w http.ResponseWriter, r *http.Request) error {
		return ep.issue(w, r, user, v)
	})
	if err != nil {
		return Token{}, err
	}
	tok := tokenFrom(hdr)
	if tok.IsZero() {
		return Token{}, errors.New("compare: login set no cookie")
	}
	return tok, nil
}

func (h *harness) Verify(ctx context.Context, tok Token) (Verified, error) {
	ep := h.b.endpoint()
	var (
		values Values
		ok     bool
	)
	hdr, err := serve(ctx, tok, func(w http.ResponseWriter, r *http.Request) error {
		var err error
		values, ok, err = ep.verify(w, r)
		return err
	})
	if err != nil {
		return Verified{}, err
	}
	if !ok {
		return Verified{}, ErrRejected
	}
	return Verified{Values: values, Reissued: tokenFrom(hdr)}, nil
}

func (h *harness) Logout(ctx context.Context, tok Token) error {
	ep := h.b.endpoint()
	_, err := serve(ctx, tok, ep.logout)
	return err
}

func (h *harness) LogoutEverywhere(ctx context.Context, user string) error {
	return h.b.logoutEverywhere(ctx, user)
}

func (h *harness) RotateKey() error     { return h.b.rotateKey() }
func (h *harness) RetireOldKeys() error { return h.b.retireOldKeys() }
func (h *harness) Stats() Stats         { return h.b.stats() }
func (h *harness) Close() error         { return h.b.close() }

func (h *harness) Replica() (Mechanism, error) {
	b, err := h.b.replica()
	if err != nil {
		return nil, err
	}
	return &harness{name: h.name, b: b}, nil
}

// keyring is a mechanism's keys: the first signs (or seals), all verify.
// Rotation and retirement are the same for every keyed mechanism; what a
// key is (an HMAC secret, an Ed25519 key pair) is the mechanism's
// business, through gen.
type keyring[K any] struct {
	keys []K
	ids  []string // a key ID per key, for mechanisms whose tokens name their key
	next int
	gen  func() K
}

func newKeyring[K any](gen func() K) *keyring[K] {
	k := &keyring[K]{gen: gen}
	k.rotate()
	return k
}

// rotate puts a new key first.
func (k *keyring[K]) rotate() {
	k.next++
	k.keys = append([]K{k.gen()}, k.keys...)
	k.ids = append([]string{fmt.Sprintf("k%d", k.next)}, k.ids...)
}

// retire drops every key but the first.
func (k *keyring[K]) retire() {
	k.keys, k.ids = k.keys[:1], k.ids[:1]
}

// clone returns a copy sharing no slices: a replica's configuration.
func (k *keyring[K]) clone() *keyring[K] {
	c := *k
	c.keys = append([]K(nil), k.keys...)
	c.ids = append([]string(nil), k.ids...)
	return &c
}

// lookup returns the key with ID id.
func (k *keyring[K]) lookup(id string) (K, bool) {
	for i, kid := range k.ids {
		if kid == id {
			return k.keys[i], true
		}
	}
	var zero K
	return zero, false
}

// floorBackend does no session work at all: it sets a fixed cookie and
// accepts any. Its cost is the harness's own, the floor under every
// mechanism's measured time.
type floorBackend struct{ unkeyed }

func (floorBackend) endpoint() endpoint { return floorBackend{} }

func (floorBackend) issue(w http.ResponseWriter, _ *http.Request, _ string, _ Values) error {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "x"})
	return nil
}

func (floorBackend) verify(_ http.ResponseWriter, r *http.Request) (Values, bool, error) {
	_, err := r.Cookie(CookieName)
	return Values{}, err == nil, nil
}

func (floorBackend) logout(http.ResponseWriter, *http.Request) error { return nil }

func (floorBackend) logoutEverywhere(context.Context, string) error {
	return errors.ErrUnsupported
}

func (f floorBackend) replica() (backend, error) { return f, nil }
func (floorBackend) stats() Stats                { return Stats{} }
func (floorBackend) close() error                { return nil }
