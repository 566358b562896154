package compare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
)

// scope is what a request needs of its session.
type scope int

const (
	// scopeAll: every value (a page that shows the cart).
	scopeAll scope = iota
	// scopeIdentity: only who the user is, "uid" and "role" (an API call
	// that checks a permission).
	scopeIdentity
)

// endpoint is the server side of a mechanism, at the HTTP level: what a
// login, an authenticated request and a logout do with the request and
// the response. It is the only part that differs between mechanisms in
// how a token travels.
type endpoint interface {
	// issue answers a login of user with values v.
	issue(w http.ResponseWriter, r *http.Request, user string, v Values) error
	// verify answers a request that needs sc of its session, and returns
	// the values it got and whether the token was accepted.
	verify(w http.ResponseWriter, r *http.Request, sc scope) (Values, bool, error)
	// logout answers a logout request.
	logout(w http.ResponseWriter, r *http.Request) error
}

// refresher is an endpoint with a refresh route.
type refresher interface {
	// refresh answers a refresh request: new tokens, or ok false.
	refresh(w http.ResponseWriter, r *http.Request) (ok bool, err error)
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
// httptest: a request carries the client's token as the transport says,
// and the token is read back from the response.
type harness struct {
	name string
	tr   Transport
	b    backend
}

var _ Mechanism = (*harness)(nil)

func (h *harness) Name() string         { return h.name }
func (h *harness) Transport() Transport { return h.tr }

// response is what the harness keeps of one answer.
type response struct {
	header http.Header
	body   []byte
}

// token is the token the response handed out, if any.
func (r response) token() Token { return tokenFrom(r.header, r.body) }

// size is what the mechanism added to the response.
func (r response) size() int { return headerBytes(r.header) + len(r.body) }

// serve runs f as the handler of one request for path that carries hdr
// and body, and returns the response.
func serve(ctx context.Context, method, path string, hdr http.Header, body []byte, f func(http.ResponseWriter, *http.Request) error) (response, error) {
	r := httptest.NewRequestWithContext(ctx, method, "https://example.com"+path, bytes.NewReader(body))
	for k, vs := range hdr {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	var err error
	http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { err = f(w, r) }).ServeHTTP(w, r)
	if err == nil && w.Code >= 500 {
		err = fmt.Errorf("compare: server answered %d", w.Code)
	}
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return response{header: res.Header, body: b}, err
}

// carrying returns the request header that carries tok to path.
func carrying(tok Token, path string) http.Header {
	h := http.Header{}
	if name, value := tok.RequestHeader(path); name != "" {
		h.Set(name, value)
	}
	return h
}

func (h *harness) Issue(ctx context.Context, user string, v Values) (Token, error) {
	ep := h.b.endpoint()
	res, err := serve(ctx, http.MethodPost, loginPath, nil, nil, func(w http.ResponseWriter, r *http.Request) error {
		return ep.issue(w, r, user, v)
	})
	if err != nil {
		return Token{}, err
	}
	tok := res.token()
	if tok.IsZero() {
		return Token{}, errors.New("compare: the login handed out no token")
	}
	return tok, nil
}

func (h *harness) Verify(ctx context.Context, tok Token) (Verified, error) {
	return h.verify(ctx, tok, scopeAll)
}

func (h *harness) Identify(ctx context.Context, tok Token) (Verified, error) {
	return h.verify(ctx, tok, scopeIdentity)
}

func (h *harness) verify(ctx context.Context, tok Token, sc scope) (Verified, error) {
	ep := h.b.endpoint()
	var (
		values Values
		ok     bool
	)
	res, err := serve(ctx, http.MethodGet, requestPath, carrying(tok, requestPath), nil, func(w http.ResponseWriter, r *http.Request) error {
		var err error
		values, ok, err = ep.verify(w, r, sc)
		return err
	})
	if err != nil {
		return Verified{}, err
	}
	if !ok {
		return Verified{}, ErrRejected
	}
	return Verified{Values: values, Reissued: res.token(), ResponseBytes: res.size()}, nil
}

func (h *harness) Refresh(ctx context.Context, tok Token) (Token, error) {
	rf, ok := h.b.endpoint().(refresher)
	if !ok {
		return Token{}, errors.ErrUnsupported
	}
	hdr, body := tok.refreshRequest()
	var accepted bool
	res, err := serve(ctx, http.MethodPost, refreshPath, hdr, body, func(w http.ResponseWriter, r *http.Request) error {
		var err error
		accepted, err = rf.refresh(w, r)
		return err
	})
	if err != nil {
		return Token{}, err
	}
	if !accepted {
		return Token{}, ErrRejected
	}
	return res.token(), nil
}

func (h *harness) Logout(ctx context.Context, tok Token) error {
	ep := h.b.endpoint()
	_, err := serve(ctx, http.MethodPost, logoutPath, carrying(tok, logoutPath), nil, ep.logout)
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
	return &harness{name: h.name, tr: h.tr, b: b}, nil
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

func (floorBackend) verify(_ http.ResponseWriter, r *http.Request, _ scope) (Values, bool, error) {
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
