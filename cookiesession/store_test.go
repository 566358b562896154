package cookiesession

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sealed/session"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

// t0 is the fake present of these tests.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return t0 }

// testRecord is a session alive at t0 with every field set.
func testRecord() *session.Record {
	return &session.Record{
		ID:         "N2s8hRk0xCqvQmU1bW9kZQ",
		Created:    t0.Add(-2 * time.Hour),
		Touched:    t0.Add(-time.Minute + 250*time.Millisecond),
		Expires:    t0.Add(22 * time.Hour),
		Persistent: true,
		UserID:     "user-42",
		Data:       []byte("\xa1husernamehjohn_doe"),
	}
}

// newStore returns a Store over keys whose clock stands at t0.
func newStore(t testing.TB, keys ...[]byte) *Store {
	t.Helper()
	s, err := New(keys...)
	require.NoError(t, err)
	s.Now = fixedNow
	return s
}

func mustSave(t testing.TB, s *Store, rec *session.Record) string {
	t.Helper()
	tok, err := s.Save(ctx, "", rec)
	require.NoError(t, err)
	return tok
}

// load loads tok, checking that Load fails only to say why the token did
// not open: with no record and an error wrapping session.ErrInvalidToken.
func load(t testing.TB, s *Store, tok string) *session.Record {
	t.Helper()
	rec, err := s.Load(ctx, tok)
	if err != nil {
		require.ErrorIs(t, err, session.ErrInvalidToken, "Load fails only on the token")
		require.Nil(t, rec, "and then with no record")
	}
	return rec
}

func TestRoundTrip(t *testing.T) {
	s := newStore(t, seqKey(1))
	want := testRecord()
	tok := mustSave(t, s, want)
	got := load(t, s, tok)
	require.Equal(t, want, got)

	// Every field on its own, including the zero and empty cases.
	variants := map[string]func(*session.Record){
		"not persistent": func(r *session.Record) { r.Persistent = false },
		"no user":        func(r *session.Record) { r.UserID = "" },
		"no ID":          func(r *session.Record) { r.ID = "" },
		"no data":        func(r *session.Record) { r.Data = nil },
		"binary data":    func(r *session.Record) { r.Data = bytes.Repeat([]byte{0, 0xff, 0x80}, 100) },
		"long strings": func(r *session.Record) {
			r.ID = strings.Repeat("i", 300)
			r.UserID = strings.Repeat("ü", 200)
		},
		"zero created": func(r *session.Record) { r.Created = time.Time{} },
		"pre-1970":     func(r *session.Record) { r.Created = time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC) },
		"reissue not sealed": func(r *session.Record) {
			r.Reissue = true
		},
	}
	for name, change := range variants {
		t.Run(name, func(t *testing.T) {
			in := testRecord()
			change(in)
			got := load(t, s, mustSave(t, s, in))
			want := in.Clone()
			want.Reissue = false
			require.Equal(t, want, got)
		})
	}
}

func TestTimesKeepMilliseconds(t *testing.T) {
	s := newStore(t, seqKey(1))
	in := testRecord()
	loc := time.FixedZone("UTC+5:30", 5*3600+1800)
	in.Touched = time.Date(2025, 6, 1, 17, 30, 0, 123_456_789, loc)
	in.Created = time.Now() // with a monotonic reading
	in.Expires = in.Created.Add(time.Hour)
	s.Now = time.Now
	got := load(t, s, mustSave(t, s, in))
	require.Equal(t, in.Touched.Truncate(time.Millisecond).UTC(), got.Touched)
	require.True(t, got.Touched.Equal(time.Date(2025, 6, 1, 12, 0, 0, 123_000_000, time.UTC)))
	require.Equal(t, in.Created.UnixMilli(), got.Created.UnixMilli())
	require.Equal(t, time.UTC, got.Created.Location())
}

func TestTokenIsCookieSafe(t *testing.T) {
	s := newStore(t, seqKey(1))
	tok := mustSave(t, s, testRecord())
	for _, c := range tok {
		require.True(t, 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_', "%q", c)
	}
	// Sealed size: fixed overhead plus the inner layout, base64-expanded.
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	require.NoError(t, err)
	require.Len(t, raw, overhead+len(appendPlaintext(nil, testRecord())))
}

func TestFreshNoncePerSave(t *testing.T) {
	s := newStore(t, seqKey(1))
	rec := testRecord()
	a, b := mustSave(t, s, rec), mustSave(t, s, rec)
	require.NotEqual(t, a, b)
	ra, _ := base64.RawURLEncoding.DecodeString(a)
	rb, _ := base64.RawURLEncoding.DecodeString(b)
	require.Equal(t, ra[:headerLen], rb[:headerLen], "same version and key ID")
	require.NotEqual(t, ra[headerLen:headerLen+nonceLen], rb[headerLen:headerLen+nonceLen])
}

func TestSaveIgnoresTokenAndDeleteIsNoop(t *testing.T) {
	s := newStore(t, seqKey(1))
	tok := mustSave(t, s, testRecord())
	tok2, err := s.Save(ctx, tok, testRecord())
	require.NoError(t, err)
	require.NotEqual(t, tok, tok2)
	require.NoError(t, s.Delete(ctx, tok))
	require.NotNil(t, load(t, s, tok), "a seal cannot be revoked")
}

func TestSaveErrors(t *testing.T) {
	s := newStore(t, seqKey(1))
	_, err := s.Save(ctx, "", nil)
	require.Error(t, err)

	rec := testRecord()
	rec.Expires = time.Time{}
	_, err = s.Save(ctx, "", rec)
	require.ErrorIs(t, err, errNoExpiry)

	var zero Store
	_, err = zero.Save(ctx, "", testRecord())
	require.ErrorContains(t, err, "make it with New")
	require.Nil(t, load(t, &zero, mustSave(t, s, testRecord())))
}

func TestSaveTooLarge(t *testing.T) {
	s := newStore(t, seqKey(1))
	rec := testRecord()
	// The largest Data whose token is exactly MaxTokenLen characters:
	// 3 bytes encode as 4 characters, so the sealed bytes may be 3/4 of it.
	fit := MaxTokenLen/4*3 - overhead - len(appendPlaintext(nil, rec)) + len(rec.Data)
	rec.Data = bytes.Repeat([]byte{'x'}, fit)
	tok := mustSave(t, s, rec)
	require.Len(t, tok, MaxTokenLen)
	require.Equal(t, rec, load(t, s, tok))

	rec.Data = append(rec.Data, 'x')
	tok, err := s.Save(ctx, "", rec)
	require.Empty(t, tok)
	require.ErrorIs(t, err, session.ErrTooLarge)
	require.ErrorContains(t, err, "MaxTokenLen")

	rec.Data = make([]byte, 1<<20)
	_, err = s.Save(ctx, "", rec)
	require.ErrorIs(t, err, session.ErrTooLarge)
}

func TestLoadRejectsOverlongWithoutDecoding(t *testing.T) {
	s := newStore(t, seqKey(1))
	tok := mustSave(t, s, testRecord())
	require.Nil(t, load(t, s, tok+strings.Repeat("A", MaxTokenLen)))
	require.Nil(t, load(t, s, strings.Repeat("A", MaxTokenLen+1)))
}

func TestRotation(t *testing.T) {
	oldKey, newKey := seqKey(1), seqKey(2)
	old := newStore(t, oldKey)
	tokOld := mustSave(t, old, testRecord())

	rotated := newStore(t, newKey, oldKey)
	got := load(t, rotated, tokOld)
	require.NotNil(t, got)
	require.True(t, got.Reissue, "opened with a retired key: must be re-sealed")
	got.Reissue = false
	require.Equal(t, testRecord(), got)

	// The re-seal is under keys[0] and no longer asks for reissue.
	tokNew := mustSave(t, rotated, got)
	got = load(t, rotated, tokNew)
	require.NotNil(t, got)
	require.False(t, got.Reissue)

	// Servers still on the old key alone reject the new seal; servers that
	// already know the new key as a second key accept it, with reissue.
	require.Nil(t, load(t, old, tokNew))
	staged := newStore(t, oldKey, newKey)
	got = load(t, staged, tokNew)
	require.NotNil(t, got)
	require.True(t, got.Reissue)

	// After the old key is dropped, its tokens are dead.
	require.Nil(t, load(t, newStore(t, newKey), tokOld))
}

func TestTamperEveryBit(t *testing.T) {
	s := newStore(t, seqKey(1))
	tok := mustSave(t, s, testRecord())
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	require.NoError(t, err)
	require.NotNil(t, load(t, s, tok))
	for i := range len(raw) * 8 {
		b := bytes.Clone(raw)
		b[i/8] ^= 1 << (i % 8)
		require.Nil(t, load(t, s, base64.RawURLEncoding.EncodeToString(b)), "bit %d flipped", i)
	}
}

func TestTruncatedAndExtended(t *testing.T) {
	s := newStore(t, seqKey(1))
	tok := mustSave(t, s, testRecord())
	raw, _ := base64.RawURLEncoding.DecodeString(tok)

	for n := range len(tok) {
		require.Nil(t, load(t, s, tok[:n]), "token cut to %d characters", n)
	}
	for n := range len(raw) {
		require.Nil(t, load(t, s, base64.RawURLEncoding.EncodeToString(raw[:n])), "sealed bytes cut to %d", n)
	}
	for _, extra := range []string{"A", "AA", "AAA", "AAAA", "-", "_", tok} {
		require.Nil(t, load(t, s, tok+extra), "appended %q", extra)
	}
	for _, extra := range [][]byte{{0}, {0, 0}, {0xff}, raw[:16], raw} {
		b := append(bytes.Clone(raw), extra...)
		require.Nil(t, load(t, s, base64.RawURLEncoding.EncodeToString(b)))
	}
}

func TestOnlyCanonicalEncodingAccepted(t *testing.T) {
	s := newStore(t, seqKey(1))
	tok := mustSave(t, s, testRecord())
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	variants := []string{
		tok[:10] + "\n" + tok[10:], // the base64 decoder would skip this
		tok[:10] + "\r\n" + tok[10:],
		" " + tok,
		tok + " ",
		tok + "=",
		base64.URLEncoding.EncodeToString(raw), // padded
		base64.StdEncoding.EncodeToString(raw),
	}
	// Non-zero trailing bits in the last character decode to the same
	// bytes unless decoding is strict.
	if len(raw)%3 != 0 {
		last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", tok[len(tok)-1])
		variants = append(variants, tok[:len(tok)-1]+string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last^1]))
	}
	for _, v := range variants {
		if v == tok {
			continue
		}
		require.Nil(t, load(t, s, v), "%q", v)
	}
}

func TestWrongNameAndForeignKey(t *testing.T) {
	s := newStore(t, seqKey(1))
	tok := mustSave(t, s, testRecord())

	other := newStore(t, seqKey(1))
	other.Name = "admin_session"
	require.Nil(t, load(t, other, tok), "token moved to another cookie name")
	tokOther := mustSave(t, other, testRecord())
	require.NotNil(t, load(t, other, tokOther))
	require.Nil(t, load(t, s, tokOther))

	// "session" is the default, so an explicit Name of "session" matches.
	explicit := newStore(t, seqKey(1))
	explicit.Name = DefaultName
	require.NotNil(t, load(t, explicit, tok))

	require.Nil(t, load(t, newStore(t, seqKey(99)), tok), "unrelated key")
	require.Nil(t, load(t, newStore(t, seqKey(99), seqKey(98)), tok), "unrelated keys")
}

func TestMalformedInput(t *testing.T) {
	s := newStore(t, seqKey(1))
	for _, in := range []string{
		"", "A", "AA", "AAAA", "null", "session=abc", "%00", "\x00\xff",
		strings.Repeat("A", 100),
		strings.Repeat("_", 1000),
		"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	} {
		require.Nil(t, load(t, s, in), "%q", in)
	}
}

// sealPlain seals arbitrary inner bytes under s's first key, as a token
// whose outer layer is perfectly valid.
func sealPlain(s *Store, plain []byte) string {
	k := &s.keys[0]
	buf := []byte{version}
	buf = append(buf, k.id[:]...)
	nonce := make([]byte, nonceLen)
	buf = append(buf, nonce...)
	buf = k.aead.Seal(buf, nonce, plain, aad(buf[:headerLen], s.name(ctx)))
	return base64.RawURLEncoding.EncodeToString(buf)
}

func TestBadInnerLayout(t *testing.T) {
	s := newStore(t, seqKey(1))
	good := appendPlaintext(nil, testRecord())
	require.Equal(t, testRecord(), load(t, s, sealPlain(s, good)))

	// times is a valid start of a layout: flags and three live times.
	rec := testRecord()
	times := []byte{flagPersistent}
	for _, tm := range []time.Time{rec.Created, rec.Touched, rec.Expires} {
		times = binary.AppendVarint(times, tm.UnixMilli())
	}
	with := func(tail ...byte) []byte { return append(bytes.Clone(times), tail...) }
	minimal := load(t, s, sealPlain(s, with(0, 0)))
	require.NotNil(t, minimal, "the shortest layout is valid")
	require.Equal(t, &session.Record{Created: rec.Created, Touched: rec.Touched, Expires: rec.Expires, Persistent: true}, minimal)

	withFlags := bytes.Clone(good)
	withFlags[0] |= 0x80
	overlongVarint := append([]byte{1}, bytes.Repeat([]byte{0xff}, 11)...)

	for name, plain := range map[string][]byte{
		"empty":           {},
		"flags only":      {1},
		"times only":      times,
		"no user length":  with(0),
		"unknown flag":    withFlags,
		"overlong varint": append(overlongVarint, good[1:]...),
		"ID past end":     with(5, 'a', 'b'),
		"user past end":   with(0, 9, 'a'),
		"huge length":     with(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		"overlong length": with(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
	} {
		require.Nil(t, load(t, s, sealPlain(s, plain)), name)
	}
	// Every truncation of a valid layout either fails to parse or, once it
	// reaches Data, only loses Data bytes: never a record with other fields.
	for n := range len(good) {
		rec := load(t, s, sealPlain(s, good[:n]))
		if rec != nil {
			want := testRecord()
			require.Equal(t, want.ID, rec.ID)
			require.Equal(t, want.UserID, rec.UserID)
			require.True(t, bytes.HasPrefix(want.Data, rec.Data))
		}
	}
	// A wrong version byte is refused even with a valid tag.
	raw, _ := base64.RawURLEncoding.DecodeString(sealPlain(s, good))
	k := &s.keys[0]
	raw[0] = version + 1
	sealed := k.aead.Seal(raw[:headerLen+nonceLen], raw[headerLen:headerLen+nonceLen], good, aad(raw[:headerLen], s.name(ctx)))
	require.Nil(t, load(t, s, base64.RawURLEncoding.EncodeToString(sealed)))
}

func TestExpiryAndSkew(t *testing.T) {
	s := newStore(t, seqKey(1))
	ms := time.Millisecond
	at := func(now time.Time, change func(*session.Record)) *session.Record {
		rec := testRecord()
		if change != nil {
			change(rec)
		}
		tok := mustSave(t, s, rec)
		s.Now = func() time.Time { return now }
		defer func() { s.Now = fixedNow }()
		return load(t, s, tok)
	}
	exp := testRecord().Expires

	require.NotNil(t, at(exp.Add(-ms), nil), "just before Expires")
	require.Nil(t, at(exp, nil), "at Expires")
	require.Nil(t, at(exp.Add(time.Second), nil), "past Expires: no allowance")

	// Created and Touched may lie up to ClockSkew in the future.
	for _, field := range []string{"Created", "Touched"} {
		set := func(d time.Duration) func(*session.Record) {
			return func(r *session.Record) {
				if field == "Created" {
					r.Created = t0.Add(d)
				} else {
					r.Touched = t0.Add(d)
				}
			}
		}
		require.NotNil(t, at(t0, set(DefaultClockSkew)), field)
		require.Nil(t, at(t0, set(DefaultClockSkew+ms)), field)

		s.ClockSkew = time.Minute
		require.NotNil(t, at(t0, set(time.Minute)), field)
		require.Nil(t, at(t0, set(time.Minute+ms)), field)

		s.ClockSkew = -1 // none
		require.NotNil(t, at(t0, set(0)), field)
		require.Nil(t, at(t0, set(ms)), field)
		s.ClockSkew = 0
	}
}

func TestNowDefaultsToClock(t *testing.T) {
	s, err := New(seqKey(1))
	require.NoError(t, err)
	now := time.Now()
	rec := &session.Record{ID: "x", Created: now, Touched: now, Expires: now.Add(time.Minute)}
	require.NotNil(t, load(t, s, mustSave(t, s, rec)))
	rec.Expires = now.Add(-time.Second)
	require.Nil(t, load(t, s, mustSave(t, s, rec)))
}

func TestLoadIgnoresCancelledContext(t *testing.T) {
	s := newStore(t, seqKey(1))
	tok := mustSave(t, s, testRecord())
	c, cancel := context.WithCancel(ctx)
	cancel()
	rec, err := s.Load(c, tok)
	require.NoError(t, err)
	require.NotNil(t, rec)
}

func TestNoKeyBytesInFormatting(t *testing.T) {
	k := seqKey(1)
	s := newStore(t, k)
	for _, out := range []string{fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s)} {
		requireNoKeyBytes(t, out, k, derive(k, labelSeal))
	}
}

func TestConcurrent(t *testing.T) {
	s := newStore(t, seqKey(2), seqKey(1))
	old := newStore(t, seqKey(1))
	oldTok := mustSave(t, old, testRecord())
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				rec := testRecord()
				rec.UserID = fmt.Sprintf("user-%d-%d", g, i)
				tok, err := s.Save(ctx, "", rec)
				if !assertNoError(t, err) {
					return
				}
				got, err := s.Load(ctx, tok)
				if !assertNoError(t, err) || got == nil || got.UserID != rec.UserID || got.Reissue {
					t.Errorf("goroutine %d, round %d: got %+v", g, i, got)
					return
				}
				if got, _ := s.Load(ctx, oldTok); got == nil || !got.Reissue {
					t.Errorf("old token: got %+v", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// assertNoError is require.NoError for goroutines other than the test's,
// where FailNow must not be called.
func assertNoError(t *testing.T, err error) bool {
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}
