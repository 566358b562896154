package serverstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	session "github.com/go-sealed/session"
	"github.com/go-sealed/session/internal/browsertest"
	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/memstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

func newMem(t testing.TB) *memstore.Backend {
	b := memstore.New()
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// plain hides the optional interfaces of the backend it wraps, for the
// Store's answers to a backend without them: ErrNoUserIndex, ErrNoScan.
type plain struct{ serverstore.Backend }

func TestConformancePlainBackend(t *testing.T) {
	storetest.Run(t, func(t *testing.T) serverstore.Backend {
		return plain{newMem(t)}
	})
}

func newRecord(ttl time.Duration) *session.Record {
	now := time.Now()
	return &session.Record{
		ID: "id", Created: now, Touched: now, Expires: now.Add(ttl),
		UserID: "alice", Data: []byte("data"),
	}
}

func TestTokenForm(t *testing.T) {
	s := serverstore.New(newMem(t))
	seen := map[string]bool{}
	for range 100 {
		token, err := s.Save(t.Context(), "", newRecord(time.Hour))
		require.NoError(t, err)
		require.Regexp(t, `^[A-Za-z0-9_-]{43}$`, token)
		require.False(t, seen[token], "a token was minted twice")
		seen[token] = true
	}
}

func TestMalformedTokensNeverReachTheBackend(t *testing.T) {
	b, counts := storetest.Count(newMem(t))
	s := serverstore.New(b)
	valid, err := s.Save(t.Context(), "", newRecord(time.Hour))
	require.NoError(t, err)
	counts.Reset()
	for _, token := range []string{
		"",
		"x",
		valid[:42],
		valid + "A",
		valid[:41] + "=A",
		valid[:42] + "+", // standard base64, not base64url
		valid[:42] + "/",
		valid[:42] + "B",              // non-zero trailing bits: another spelling of a token
		strings.Repeat("ÿ", 21) + "A", // 43 bytes, not the alphabet
		storetest.KeyOf(t, valid),
	} {
		rec := load(t, s, token)
		require.Nil(t, rec, "%q loaded", token)
		require.NoError(t, s.Delete(t.Context(), token))
	}
	require.Zero(t, counts.Reads.Load()+counts.Writes.Load())
}

func TestReadOnlyLoadIsOneRead(t *testing.T) {
	b, counts := storetest.Count(newMem(t))
	s := serverstore.New(b)
	token, err := s.Save(t.Context(), "", newRecord(time.Hour))
	require.NoError(t, err)
	counts.Reset()
	rec := load(t, s, token)
	require.NotNil(t, rec)
	require.EqualValues(t, 1, counts.Reads.Load())
	require.Zero(t, counts.Writes.Load())
}

func TestRecordRoundTrip(t *testing.T) {
	s := serverstore.New(newMem(t))
	now := time.Now()
	tokyo := time.FixedZone("JST", 9*3600)
	for name, rec := range map[string]*session.Record{
		"full": {ID: "id", Created: now.Add(-time.Hour), Touched: now, Expires: now.Add(time.Hour),
			Persistent: true, UserID: "alice", Data: []byte("data")},
		"minimal":     {Expires: now.Add(time.Minute)},
		"nanoseconds": {ID: "n", Created: time.Unix(1, 999_999_999), Touched: time.Unix(2, 1), Expires: time.Unix(1<<40, 123)},
		"zone":        {ID: "z", Created: now.In(tokyo), Touched: now.In(tokyo), Expires: now.Add(time.Hour).In(tokyo)},
		"unicode":     {ID: "sessión\x00", UserID: "ユーザー", Expires: now.Add(time.Hour), Data: []byte{0, 0xff, 0}},
		"large":       {ID: "l", Expires: now.Add(time.Hour), Data: bytes.Repeat([]byte{0xAB}, 1<<20)},
	} {
		t.Run(name, func(t *testing.T) {
			token, err := s.Save(t.Context(), "", rec)
			require.NoError(t, err)
			got := load(t, s, token)
			require.NotNil(t, got)
			require.Equal(t, rec.ID, got.ID)
			require.True(t, rec.Created.Equal(got.Created), "Created %v, want %v", got.Created, rec.Created)
			require.True(t, rec.Touched.Equal(got.Touched), "Touched %v, want %v", got.Touched, rec.Touched)
			require.True(t, rec.Expires.Equal(got.Expires), "Expires %v, want %v", got.Expires, rec.Expires)
			require.Equal(t, rec.Persistent, got.Persistent)
			require.Equal(t, rec.UserID, got.UserID)
			require.True(t, bytes.Equal(rec.Data, got.Data))
			require.False(t, got.Reissue)
		})
	}
}

// stored saves rec and returns its token, its key and the bytes the backend
// holds for it.
func stored(t *testing.T, s *serverstore.Store, b serverstore.Backend, rec *session.Record) (token, key string, data []byte) {
	t.Helper()
	token, err := s.Save(t.Context(), "", rec)
	require.NoError(t, err)
	key = storetest.KeyOf(t, token)
	data, found, err := b.Find(t.Context(), key)
	require.NoError(t, err)
	require.True(t, found)
	return token, key, data
}

func TestCorruptRecordsAreAbsent(t *testing.T) {
	b := newMem(t)
	s := serverstore.New(b)
	rec := newRecord(time.Hour)
	rec.Persistent = true
	token, key, good := stored(t, s, b, rec)
	loads := func(data []byte) bool {
		t.Helper()
		require.NoError(t, b.Commit(t.Context(), key, serverstore.Entry{Data: data, Expires: rec.Expires}))
		got := load(t, s, token)
		return got != nil
	}
	require.True(t, loads(good))
	for n := range len(good) {
		require.False(t, loads(good[:n]), "a record truncated to %d of %d bytes loaded", n, len(good))
	}
	with := func(i int, c byte) []byte {
		d := bytes.Clone(good)
		d[i] = c
		return d
	}
	require.False(t, loads(append(bytes.Clone(good), 0)), "trailing byte")
	require.False(t, loads(with(0, 0)), "version 0")
	require.False(t, loads(with(0, 1)), "a sealed record marked version 1, which has no sealing")
	require.False(t, loads(with(0, 3)), "a future version")
	require.False(t, loads(with(1, 0x0d)), "an unknown flag")
	require.False(t, loads(with(1, 0x01)), "the sealed flag dropped")
	require.False(t, loads(with(len(good)-1, good[len(good)-1]^1)), "a bit of the seal flipped")
	require.False(t, loads(with(2, good[2]^1)), "a bit of the readable header flipped")
	require.False(t, loads(bytes.Repeat([]byte{0xff}, 40)), "garbage")
	require.True(t, loads(good), "the good record after the bad ones")
}

func TestCorruptTimeIsAbsent(t *testing.T) {
	b := newMem(t)
	s := serverstore.New(b)
	rec := newRecord(time.Hour)
	rec.Created = time.Unix(0, 0) // encoded as the bytes 0 (seconds) and 0 (nanoseconds) at offsets 2 and 3
	token, key, good := stored(t, s, b, rec)
	require.Equal(t, []byte{2, 4, 0, 0}, good[:4]) // version 2, sealed
	bad := append(binary.AppendUvarint(bytes.Clone(good[:3]), uint64(time.Second)), good[4:]...)
	require.NoError(t, b.Commit(t.Context(), key, serverstore.Entry{Data: bad, Expires: rec.Expires}))
	got := load(t, s, token)
	require.Nil(t, got, "a time with 1e9 nanoseconds loaded")
}

func FuzzLoad(f *testing.F) {
	b := newMem(f)
	s := serverstore.New(b)
	rec := newRecord(time.Hour)
	token, err := s.Save(context.Background(), "", rec)
	require.NoError(f, err)
	key := storetest.KeyOf(f, token)
	good, _, err := b.Find(context.Background(), key)
	require.NoError(f, err)
	f.Add(good)
	f.Add([]byte{1, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		require.NoError(t, b.Commit(t.Context(), key, serverstore.Entry{Data: data, Expires: time.Now().Add(time.Hour)}))
		got := load(t, s, token)
		if got == nil {
			return
		}
		// Whatever parses survives a save and load unchanged.
		again, err := s.Save(t.Context(), token, got)
		require.NoError(t, err)
		got2 := load(t, s, again)
		require.NotNil(t, got2)
		require.Equal(t, got.ID, got2.ID)
		require.True(t, got.Expires.Equal(got2.Expires))
		require.Equal(t, string(got.Data), string(got2.Data))
	})
}

// lying serves entries past their Expires: it stores every entry for an
// hour, whatever its expiry, as a backend with a skewed clock might.
type lying struct{ serverstore.Backend }

func (l lying) Commit(ctx context.Context, key string, e serverstore.Entry) error {
	e.Expires = time.Now().Add(time.Hour)
	return l.Backend.Commit(ctx, key, e)
}

func TestExpiredRecordNeverServed(t *testing.T) {
	b := lying{newMem(t)}
	s := serverstore.New(b)
	token, err := s.Save(t.Context(), "", newRecord(-time.Second))
	require.NoError(t, err)
	_, found, err := b.Find(t.Context(), storetest.KeyOf(t, token))
	require.NoError(t, err)
	require.True(t, found, "the backend should hold the record")

	rec := load(t, s, token)
	require.Nil(t, rec, "a record past its Expires was served")
	_, err = s.Update(t.Context(), token, nil, func(cur *session.Record) (*session.Record, error) {
		require.Nil(t, cur, "Update passed a record past its Expires")
		return nil, nil
	})
	require.NoError(t, err)
}

// blackhole is a backend whose server never answers: every call waits for
// its context to be done.
type blackhole struct{}

func (blackhole) Find(ctx context.Context, _ string) ([]byte, bool, error) {
	<-ctx.Done()
	return nil, false, ctx.Err()
}

func (blackhole) Commit(ctx context.Context, _ string, _ serverstore.Entry) error {
	<-ctx.Done()
	return ctx.Err()
}

func (blackhole) Delete(ctx context.Context, _ string) error {
	<-ctx.Done()
	return ctx.Err()
}

func (blackhole) FindUser(ctx context.Context, _ string) (map[string][]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (blackhole) DeleteUser(ctx context.Context, _ string) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

func (blackhole) Update(ctx context.Context, _ string, _ *serverstore.Entry, _ func([]byte, bool) (serverstore.Entry, bool, error)) error {
	<-ctx.Done()
	return ctx.Err()
}

func (blackhole) Rename(ctx context.Context, _, _ string, _ serverstore.Entry) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestUnreachable(t *testing.T) {
	storetest.RunUnreachable(t, blackhole{})
}

func TestUpdateMalformedTokenMakesNewSession(t *testing.T) {
	s := serverstore.New(newMem(t))
	token, err := s.Update(t.Context(), "malformed", nil, func(cur *session.Record) (*session.Record, error) {
		require.Nil(t, cur)
		return newRecord(time.Hour), nil
	})
	require.NoError(t, err)
	require.Len(t, token, 43)
	rec := load(t, s, token)
	require.NotNil(t, rec)

	token, err = s.Update(t.Context(), "malformed", nil, func(*session.Record) (*session.Record, error) { return nil, nil })
	require.NoError(t, err)
	require.Empty(t, token)
}

func TestErrNoUserIndex(t *testing.T) {
	s := serverstore.New(plain{newMem(t)})
	_, err := s.ListUser(t.Context(), "alice")
	require.ErrorIs(t, err, serverstore.ErrNoUserIndex)
	_, err = s.DestroyUser(t.Context(), "alice")
	require.ErrorIs(t, err, serverstore.ErrNoUserIndex)
	_, err = s.DestroyHandle(t.Context(), "alice", storetest.NewKey())
	require.ErrorIs(t, err, serverstore.ErrNoUserIndex)
}

func TestErrNoScan(t *testing.T) {
	s := serverstore.New(plain{newMem(t)})
	_, err := s.Count(t.Context())
	require.ErrorIs(t, err, serverstore.ErrNoScan)
	_, err = s.DestroyAll(t.Context())
	require.ErrorIs(t, err, serverstore.ErrNoScan)
	for _, err := range s.All(t.Context()) {
		require.ErrorIs(t, err, serverstore.ErrNoScan)
	}
}

// sealings are the two ways a Store keeps a record's data, for the
// benchmarks to show what sealing costs.
var sealings = map[string][]serverstore.Option{"sealed": nil, "plain": {serverstore.WithoutSealing()}}

func BenchmarkLoad(b *testing.B) {
	for name, opts := range sealings {
		b.Run(name, func(b *testing.B) {
			s := serverstore.New(newMem(b), opts...)
			token, err := s.Save(context.Background(), "", newRecord(time.Hour))
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Load(context.Background(), token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSave(b *testing.B) {
	for name, opts := range sealings {
		b.Run(name, func(b *testing.B) {
			s := serverstore.New(newMem(b), opts...)
			token, err := s.Save(context.Background(), "", newRecord(time.Hour))
			require.NoError(b, err)
			rec := newRecord(time.Hour)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Save(context.Background(), token, rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Example wires an in-memory server-side store into a Manager, and logs a
// user in and out everywhere.
func Example() {
	store := serverstore.New(memstore.New())
	m := session.New(store)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if err := s.Renew(); err != nil { // a new token at login, against fixation
			http.Error(w, "session unavailable", http.StatusInternalServerError)
			return
		}
		s.SetUser("alice") // index the session under its user
		s.Put("name", "Alice")
	})
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		name := m.Get(r).GetString("name")
		if name == "" {
			name = "stranger"
		}
		fmt.Fprintf(w, "hello %s", name)
	})
	mux.HandleFunc("POST /logout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		n, err := store.DestroyUser(r.Context(), m.Get(r).UserID())
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ended %d sessions", n)
	})
	h := m.Handler(mux)

	// Two browsers log in as alice.
	laptop, phone := browsertest.InProcess(nil, h), browsertest.InProcess(nil, h)
	laptop.Post("/login", nil)
	phone.Post("/login", nil)
	_, page := laptop.Get("/hello")
	fmt.Println(page)

	infos, _ := store.ListUser(context.Background(), "alice")
	fmt.Println(len(infos), "sessions")

	_, page = phone.Post("/logout-everywhere", nil)
	fmt.Println(page)
	_, page = laptop.Get("/hello")
	fmt.Println(page)
	// Output:
	// hello Alice
	// 2 sessions
	// ended 2 sessions
	// hello stranger
}

// inFlight serves the routes through a Manager over store and returns a
// function that sends one request with a session cookie (token, or none)
// and returns the cookie the response leaves, "" if it expires it or sets
// none, and the body.
func inFlight(t *testing.T, store *serverstore.Store, routes map[string]func(m *session.Manager, s *session.Session)) func(path, token string) (string, string) {
	m := session.New(store)
	mux := http.NewServeMux()
	for path, route := range routes {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			route(m, s)
			_, _ = io.WriteString(w, s.UserID()+"|"+strings.Join(s.Keys(), ","))
		})
	}
	h := m.Handler(mux)
	return func(path, token string) (string, string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if token != "" {
			req.AddCookie(&http.Cookie{Name: "session", Value: token})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		require.Equal(t, http.StatusOK, w.Code, path)
		for _, c := range w.Result().Cookies() {
			if c.Name == "session" && c.MaxAge >= 0 {
				return c.Value, w.Body.String()
			}
		}
		return "", w.Body.String()
	}
}

// TestInFlightRequestsDoNotReviveDestroyedSessions checks "log out
// everywhere" against a request of the session that is in flight when it
// runs, and saves afterwards with a Renew or a Clear: neither brings the
// session back, under its old token or a new one. (The Store's part, for
// every backend, is storetest's RenewGone.)
func TestInFlightRequestsDoNotReviveDestroyedSessions(t *testing.T) {
	for _, change := range []string{"renew", "clear", "renew and clear", "put"} {
		store := serverstore.New(newMem(t))
		do := inFlight(t, store, map[string]func(*session.Manager, *session.Session){
			"/login": func(_ *session.Manager, s *session.Session) { s.SetUser("alice"); s.Put("cart", "apple") },
			"/change": func(_ *session.Manager, s *session.Session) {
				_ = s.Keys() // loaded
				_, err := store.DestroyUser(context.Background(), "alice")
				require.NoError(t, err)
				if strings.Contains(change, "renew") {
					require.NoError(t, s.Renew())
				}
				if strings.Contains(change, "clear") {
					s.Clear()
				}
				s.Put("after", "x")
			},
			"/": func(*session.Manager, *session.Session) {},
		})
		old, _ := do("/login", "")
		require.NotEmpty(t, old)
		renewed, _ := do("/change", old)
		require.Empty(t, renewed, "%s: the response hands out a token for a destroyed session", change)
		_, body := do("/", old)
		require.Equal(t, "|", body, "%s: the old token serves the session again", change)
		list, err := store.ListUser(t.Context(), "alice")
		require.NoError(t, err)
		require.Empty(t, list, "%s: the session is listed again", change)
	}
}

// TestLoginWritesOnlyTheNewToken checks that a login (SetUser, then
// Renew) writes once, to the new token: nothing of the logged-in session
// is ever written under the token the request came with, which an
// attacker may have planted before the login.
func TestLoginWritesOnlyTheNewToken(t *testing.T) {
	b, counts := storetest.Count(newMem(t))
	do := inFlight(t, serverstore.New(b), map[string]func(*session.Manager, *session.Session){
		"/visit": func(_ *session.Manager, s *session.Session) { s.Put("csrf", "x") },
		"/login": func(_ *session.Manager, s *session.Session) {
			s.SetUser("alice")
			require.NoError(t, s.Renew())
		},
		"/": func(*session.Manager, *session.Session) {},
	})
	planted, _ := do("/visit", "")
	counts.Reset()
	renewed, _ := do("/login", planted)
	require.NotEmpty(t, renewed)
	require.EqualValues(t, 1, counts.Writes.Load(), "the login wrote more than the move to its new token")
	_, body := do("/", planted)
	require.Equal(t, "|", body, "the planted token loads a session")
	_, body = do("/", renewed)
	require.Equal(t, "alice|csrf", body)
}

// racingRenew is a backend whose first DeleteUser stands for one whose
// view of the user's sessions was taken just before a Renew moved one of
// them: the renewal runs, and the pass deletes nothing, since the key it
// saw is gone and the new one is not in its view.
type racingRenew struct {
	*memstore.Backend
	renew func()
	calls int
}

func (b *racingRenew) DeleteUser(ctx context.Context, userID string) (int, error) {
	if b.calls++; b.calls == 1 {
		b.renew()
		return 0, nil
	}
	return b.Backend.DeleteUser(ctx, userID)
}

// TestDestroyUserCatchesARacingRenew checks DestroyUser's second pass: a
// session that a Renew moved past the first pass is ended all the same.
func TestDestroyUserCatchesARacingRenew(t *testing.T) {
	b := &racingRenew{Backend: newMem(t)}
	store := serverstore.New(b)
	do := inFlight(t, store, map[string]func(*session.Manager, *session.Session){
		"/login": func(_ *session.Manager, s *session.Session) { s.SetUser("alice"); s.Put("cart", "apple") },
		"/renew": func(_ *session.Manager, s *session.Session) { require.NoError(t, s.Renew()) },
		"/":      func(*session.Manager, *session.Session) {},
	})
	old, _ := do("/login", "")
	var renewed string
	b.renew = func() { renewed, _ = do("/renew", old) }
	n, err := store.DestroyUser(t.Context(), "alice")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NotEmpty(t, renewed, "the renewal ran during the first pass")
	_, body := do("/", renewed)
	require.Equal(t, "|", body, "the renewed session survived DestroyUser")
}

// load returns the record token names, or nil when it names none: then
// Load's error must say why, wrapping session.ErrInvalidToken.
func load(t testing.TB, s *serverstore.Store, token string) *session.Record {
	t.Helper()
	rec, err := s.Load(t.Context(), token)
	if err != nil {
		require.ErrorIs(t, err, session.ErrInvalidToken)
		require.Nil(t, rec)
	}
	return rec
}

func TestWithoutSealing(t *testing.T) {
	b := newMem(t)
	sealed, plain := serverstore.New(b), serverstore.New(b, serverstore.WithoutSealing())
	rec := newRecord(time.Hour)
	rec.Data = []byte("readable by other programs")
	token, _, data := stored(t, plain, b, rec)
	require.Contains(t, string(data), "readable by other programs", "WithoutSealing stores the data as it is")
	require.NotNil(t, load(t, sealed, token), "a store that seals reads plain records")

	// A record sealed earlier loads, and is written unsealed at its next
	// save.
	token, key, data := stored(t, sealed, b, rec)
	require.NotContains(t, string(data), "readable by other programs")
	got := load(t, plain, token)
	require.NotNil(t, got)
	_, err := plain.Save(t.Context(), token, got)
	require.NoError(t, err)
	data, _, err = b.Find(t.Context(), key)
	require.NoError(t, err)
	require.Contains(t, string(data), "readable by other programs")
}

func TestWithSealedOnly(t *testing.T) {
	b := newMem(t)
	plain, strict := serverstore.New(b, serverstore.WithoutSealing()), serverstore.New(b, serverstore.WithSealedOnly())
	token, _, _ := stored(t, plain, b, newRecord(time.Hour))
	rec, err := strict.Load(t.Context(), token)
	require.ErrorIs(t, err, session.ErrInvalidToken, "an unsealed record, planted or old, is refused")
	require.Nil(t, rec)
	sealedToken, _, _ := stored(t, strict, b, newRecord(time.Hour))
	require.NotNil(t, load(t, strict, sealedToken))
	require.Panics(t, func() { serverstore.New(b, serverstore.WithoutSealing(), serverstore.WithSealedOnly()) })
}
