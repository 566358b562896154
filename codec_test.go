package session

import (
	"bytes"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/go-sealed/session/internal/gobcheck"
	"github.com/go-sealed/session/internal/gobcheck/gobchecktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testUser is never registered: it comes back from CBOR as a Raw.
type testUser struct {
	Name  string
	Age   int
	Tags  []string
	Since time.Time
}

// testPoint is registered by value, testAccount by pointer.
type testPoint struct{ X, Y int }

type testAccount struct {
	ID    int64
	Owner string
}

// testRole is a named basic type, never registered.
type testRole string

func init() {
	Register(testPoint{})
	Register(&testAccount{})
}

var testSince = time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.UTC)

// roundTrip encodes values with c and decodes them back.
func roundTrip(t testing.TB, c Codec, values map[string]any) map[string]any {
	t.Helper()
	data, err := c.Encode(values)
	require.NoError(t, err)
	got, err := c.Decode(data)
	require.NoError(t, err)
	return got
}

func TestCBORRoundTripKeepsTypes(t *testing.T) {
	cases := map[string]any{
		"string":        "héllo, wörld",
		"empty string":  "",
		"true":          true,
		"false":         false,
		"nil":           nil,
		"int":           42,
		"int 0":         0,
		"negative int":  -7,
		"int max":       math.MaxInt,
		"int min":       math.MinInt,
		"int8":          int8(-8),
		"int16":         int16(-1600),
		"int32":         int32(-320000),
		"int64":         int64(-64),
		"int64 small":   int64(2),
		"int64 max":     int64(math.MaxInt64),
		"int64 min":     int64(math.MinInt64),
		"uint":          uint(1),
		"uint8":         uint8(255),
		"uint16":        uint16(65535),
		"uint32":        uint32(math.MaxUint32),
		"uint64":        uint64(7),
		"uint64 max":    uint64(math.MaxUint64),
		"float32":       float32(1.5),
		"float32 pi":    float32(math.Pi),
		"float64":       3.141592653589793,
		"float64 whole": 2.0,
		"float64 tiny":  math.SmallestNonzeroFloat64,
		"float64 inf":   math.Inf(-1),
		"duration":      90 * time.Second,
		"bytes":         []byte{0, 1, 2, 255},
		"empty bytes":   []byte{},
		"strings":       []string{"a", "", "ç"},
		"ints":          []int{1, -2, math.MaxInt},
		"string map":    map[string]string{"k": "v", "": "empty key"},
		"list":          []any{"a", 1, true, []any{int64(2)}},
		"empty list":    []any{},
		"map": map[string]any{
			"a": 1,
			"b": map[string]any{"c": []any{float32(1), uint8(2), nil}},
			"d": []string{"x"},
		},
		"registered struct":      testPoint{X: 1, Y: -2},
		"registered pointer":     &testAccount{ID: 1 << 40, Owner: "ada"},
		"registered nil pointer": (*testAccount)(nil),
		"struct in list":         []any{testPoint{X: 3}, map[string]any{"p": testPoint{Y: 4}}},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			got := roundTrip(t, CBOR, map[string]any{"v": want})
			require.Contains(t, got, "v")
			assert.Equal(t, reflect.TypeOf(want), reflect.TypeOf(got["v"]))
			assert.Equal(t, want, got["v"])
		})
	}
	t.Run("all at once", func(t *testing.T) {
		assert.Equal(t, cases, roundTrip(t, CBOR, cases))
	})
}

func TestCBORNilSlicesAndMapsComeBackEmpty(t *testing.T) {
	got := roundTrip(t, CBOR, map[string]any{
		"bytes":   []byte(nil),
		"strings": []string(nil),
		"ints":    []int(nil),
		"smap":    map[string]string(nil),
		"list":    []any(nil),
		"map":     map[string]any(nil),
	})
	assert.Equal(t, map[string]any{
		"bytes":   []byte{},
		"strings": []string{},
		"ints":    []int{},
		"smap":    map[string]string{},
		"list":    []any{},
		"map":     map[string]any{},
	}, got)
}

func TestCBORTimeKeepsInstantAndOffset(t *testing.T) {
	cases := map[string]time.Time{
		"utc":                 testSince,
		"utc whole second":    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		"zero":                {},
		"positive offset":     time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.FixedZone("IST", 5*3600+1800)),
		"negative offset":     time.Date(1969, 7, 20, 20, 17, 40, 0, time.FixedZone("PDT", -7*3600)),
		"odd offset":          time.Date(1890, 1, 1, 0, 0, 0, 1, time.FixedZone("LMT", 561)),
		"before year 1":       time.Date(-500, 1, 1, 0, 0, 0, 0, time.UTC),
		"year 9999":           time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		"with monotonic":      time.Now(),
		"in a named location": time.Date(2025, 7, 1, 12, 0, 0, 0, mustLoadLocation(t, "Europe/Paris")),
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := roundTrip(t, CBOR, map[string]any{"t": want})["t"].(time.Time)
			require.True(t, ok, "not a time.Time")
			assert.True(t, want.Equal(got), "want %v, got %v", want, got)
			assert.Equal(t, want.Nanosecond(), got.Nanosecond())
			_, wantOff := want.Zone()
			_, gotOff := got.Zone()
			assert.Equal(t, wantOff, gotOff)
			if wantOff == 0 {
				assert.Equal(t, time.UTC, got.Location())
			}
		})
	}
}

func mustLoadLocation(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("CEST", 2*3600) // no tzdata on this machine
	}
	return loc
}

func TestCBORUnregisteredStructIsRaw(t *testing.T) {
	u := testUser{Name: "Ada", Age: 36, Tags: []string{"admin"}, Since: testSince}
	for name, put := range map[string]any{"value": u, "pointer": &u} {
		t.Run(name, func(t *testing.T) {
			v := roundTrip(t, CBOR, map[string]any{"user": put})["user"]
			raw, ok := v.(Raw)
			require.True(t, ok, "%T is not a Raw", v)

			assert.Equal(t, map[string]any{
				"Name":  "Ada",
				"Age":   int64(36),
				"Tags":  []any{"admin"},
				"Since": testSince,
			}, raw.Value())
			assert.Equal(t, raw.Value(), generic(v), "Session.Get returns the generic form")

			var back testUser
			require.NoError(t, raw.DecodeInto(&back))
			assert.Equal(t, u, back)

			// What GetAs does, for either pointer-ness.
			got, ok := as[testUser](v)
			require.True(t, ok)
			assert.Equal(t, u, got)
			gotPtr, ok := as[*testUser](v)
			require.True(t, ok)
			assert.Equal(t, &u, gotPtr)
			_, ok = as[int](v)
			assert.False(t, ok, "a struct does not decode into an int")
		})
	}
}

func TestCBORUnregisteredNamedType(t *testing.T) {
	v := roundTrip(t, CBOR, map[string]any{"role": testRole("admin")})["role"]
	require.Implements(t, (*Raw)(nil), v)
	assert.Equal(t, "admin", generic(v))
	role, ok := as[testRole](v)
	require.True(t, ok)
	assert.Equal(t, testRole("admin"), role)
}

func TestCBORRawSurvivesReencoding(t *testing.T) {
	u := testUser{Name: "Ada", Since: testSince}
	first, err := CBOR.Encode(map[string]any{"user": u})
	require.NoError(t, err)
	decoded, err := CBOR.Decode(first)
	require.NoError(t, err)

	// A request that did not touch the value saves it back.
	again, err := CBOR.Encode(decoded)
	require.NoError(t, err)
	assert.Equal(t, first, again, "a Raw is written out byte for byte")

	redecoded, err := CBOR.Decode(again)
	require.NoError(t, err)
	got, ok := as[testUser](redecoded["user"])
	require.True(t, ok)
	assert.Equal(t, u, got)

	// Once a program registers the type, the same bytes give the type.
	registered := roundTrip(t, CBOR, map[string]any{"p": testPoint{X: 5}})
	assert.Equal(t, testPoint{X: 5}, registered["p"])
}

func TestCBORRawKeepsAnUnknownTypeName(t *testing.T) {
	payload, err := cbor.Marshal(map[string]any{"Field": "x"})
	require.NoError(t, err)
	// As written by a program that registered a type this one does not know.
	data := appendTypedHead([]byte{0xa1, 0x61, 'v'}, "example.com/other.Thing")
	data = append(data, payload...)

	values, err := CBOR.Decode(data)
	require.NoError(t, err)
	assert.Equal(t, cborRaw{name: "example.com/other.Thing", payload: string(payload)}, values["v"])
	assert.Equal(t, map[string]any{"Field": "x"}, generic(values["v"]))
	again, err := CBOR.Encode(values)
	require.NoError(t, err)
	assert.Equal(t, data, again, "the name is kept for the program that knows it")
}

func TestCBORPayloadNotFittingItsRegisteredTypeIsRaw(t *testing.T) {
	// A testPoint field that was a string in an earlier version.
	payload, err := cbor.Marshal(map[string]any{"X": "one"})
	require.NoError(t, err)
	data := appendTypedHead([]byte{0xa1, 0x61, 'p'}, typeName(reflect.TypeOf(testPoint{})))
	data = append(data, payload...)

	values, err := CBOR.Decode(data)
	require.NoError(t, err, "one stale value does not cost the whole session")
	assert.Equal(t, map[string]any{"X": "one"}, generic(values["p"]))
	_, ok := as[testPoint](values["p"])
	assert.False(t, ok)
}

func TestCBORRawValueWithNonStringKeys(t *testing.T) {
	type withIntKeys struct{ M map[int]string }
	v := roundTrip(t, CBOR, map[string]any{"v": withIntKeys{M: map[int]string{1: "a"}}})["v"]
	assert.Equal(t, map[any]any{"M": map[any]any{int64(1): "a"}}, generic(v),
		"a map with non-string keys has no map[string]any form")
	got, ok := as[withIntKeys](v)
	require.True(t, ok)
	assert.Equal(t, map[int]string{1: "a"}, got.M)
}

// TestCBORWireFormat pins the encoding described in docs/codec.md.
func TestCBORWireFormat(t *testing.T) {
	cases := []struct {
		value any
		hex   string // of the encoding of {"v": value}
	}{
		{"hi", "a16176" + "626869"},
		{true, "a16176" + "f5"},
		{nil, "a16176" + "f6"},
		{5, "a16176" + "05"},
		{-500, "a16176" + "3901f3"},
		{int64(5), "a16176" + "c605"},
		{uint64(5), "a16176" + "c705"},
		{1.5, "a16176" + "fa3fc00000"},
		{0.1, "a16176" + "fb3fb999999999999a"},
		{[]byte{1, 2}, "a16176" + "420102"},
		{[]any{1, "a"}, "a16176" + "82016161"},
		{map[string]any{"a": 1}, "a16176" + "a1616101"},
		{[]string{"a"}, "a16176" + "c9816161"},
		{[]int{1, 2}, "a16176" + "ca820102"},
		{map[string]string{"a": "b"}, "a16176" + "cba161616162"},
		{time.Unix(1700000000, 0).UTC(), "a16176" + "c8811a6553f100"},
		{time.Unix(1700000000, 5).UTC(), "a16176" + "c8821a6553f10005"},
		{time.Unix(1700000000, 0).In(time.FixedZone("", 3600)), "a16176" + "c8831a6553f10000190e10"},
		{time.Time{}, "a16176" + "c8813b0000000e7791f6ff"},
		{int8(-1), "a16176" + "cc82" + "64696e7438" + "20"},
		{testRole("x"), "a16176" + "cc82" + "60" + "6178"},
		{"caf\xe9", "a16176" + "cd44636166e9"},
		{[]string{"\xff", "a"}, "a16176" + "c982" + "cd41ff" + "6161"},
		{map[string]string{"\xff": "\xfe"}, "a16176" + "cba1" + "cd41ff" + "cd41fe"},
		{map[string]any{"\xff": 1}, "a16176" + "a1" + "cd41ff" + "01"},
	}
	for _, c := range cases {
		data, err := CBOR.Encode(map[string]any{"v": c.value})
		require.NoError(t, err)
		assert.Equal(t, c.hex, hex.EncodeToString(data), "%#v", c.value)
	}
	data, err := CBOR.Encode(map[string]any{"\xff": 1})
	require.NoError(t, err)
	assert.Equal(t, "a1"+"cd41ff"+"01", hex.EncodeToString(data), "a top-level key")
}

// TestCBORInvalidUTF8RoundTrips checks that a Go string that is not valid
// UTF-8 comes back byte for byte wherever CBOR keeps strings.
func TestCBORInvalidUTF8RoundTrips(t *testing.T) {
	const bad = "caf\xe9"  // Latin-1 é
	const cut = "\xe2\x82" // a UTF-8 sequence cut short
	values := map[string]any{
		"value":      bad,
		bad:          "under an invalid key",
		"cut":        cut,
		"only bad":   "\xff",
		"strings":    []string{"ok", bad, "", cut},
		"string map": map[string]string{bad: "v", "k": bad, cut: cut},
		"list":       []any{"ok", bad, []any{cut}, map[string]any{bad: bad}},
		"map":        map[string]any{bad: map[string]any{"k": []any{bad}}, "k": bad},
		"valid":      "héllo",
	}
	got := roundTrip(t, CBOR, values)
	assert.Equal(t, values, got)

	// assert.Equal compares strings byte for byte already; this says so
	// for the one the bug report was about, with its type.
	s, ok := got["value"].(string)
	require.True(t, ok)
	assert.Equal(t, []byte{'c', 'a', 'f', 0xe9}, []byte(s))
	assert.Contains(t, got, bad)

	again := roundTrip(t, CBOR, got)
	assert.Equal(t, values, again, "and again, as the next request saves it")

	// Deep inside []any, where the nesting limit is.
	v := any(bad)
	for range cborMaxDepth - 1 {
		v = []any{v}
	}
	assert.Equal(t, v, roundTrip(t, CBOR, map[string]any{"deep": v})["deep"])
}

// TestCBORStructWithInvalidUTF8RoundTrips: the cbor package writes a
// struct's strings as text whatever their bytes, and reads them back as
// they were, so a struct holding a string that is not UTF-8 (a field
// filled from a form) comes back byte for byte, registered or not.
func TestCBORStructWithInvalidUTF8RoundTrips(t *testing.T) {
	user := testUser{Name: "caf\xe9", Tags: []string{"ok", "\xff"}}
	got := roundTrip(t, CBOR, map[string]any{
		"u":   user,
		"acc": &testAccount{Owner: "\xff"},
		"r":   testRole("\xff"),
		"m":   struct{ M map[string]int }{map[string]int{"\xff": 1}},
		"l":   []any{1, user},
	})
	u, ok := as[testUser](got["u"])
	require.True(t, ok, "got %T", got["u"])
	assert.Equal(t, user, u)
	acc, ok := as[*testAccount](got["acc"])
	require.True(t, ok, "got %T", got["acc"])
	assert.Equal(t, "\xff", acc.Owner)
	r, ok := as[testRole](got["r"])
	require.True(t, ok, "got %T", got["r"])
	assert.Equal(t, testRole("\xff"), r)
	m, ok := as[struct{ M map[string]int }](got["m"])
	require.True(t, ok, "got %T", got["m"])
	assert.Equal(t, 1, m.M["\xff"])
	l := generic(got["l"]).([]any)
	assert.Equal(t, "caf\xe9", l[1].(map[string]any)["Name"], "in generic form too")
}

func TestCBOREncodeErrorsNameTheKey(t *testing.T) {
	cyclic := []any{nil}
	cyclic[0] = cyclic
	cyclicMap := map[string]any{}
	cyclicMap["self"] = cyclicMap

	cases := []struct {
		name   string
		values map[string]any
		want   []string
	}{
		{"func", map[string]any{"ok": 1, "f": func() {}}, []string{`key "f"`, "unsupported type: func()"}},
		{"channel", map[string]any{"c": make(chan int)}, []string{`key "c"`, "unsupported type: chan int"}},
		{"nested", map[string]any{"cart": []any{1, map[string]any{"x": func() {}}}}, []string{`key "cart" at [1]["x"]`, "func()"}},
		{"struct field", map[string]any{"s": struct{ F func() }{}}, []string{`key "s"`, "func()"}},
		{"cyclic slice", map[string]any{"loop": cyclic}, []string{`key "loop"`, "nested deeper than 32 levels"}},
		{"cyclic map", map[string]any{"loop": cyclicMap}, []string{`key "loop"`, "nested deeper"}},
		{"time offset", map[string]any{"t": time.Now().In(time.FixedZone("", 86400))}, []string{`key "t"`, "offset"}},
		{"too deep struct", map[string]any{"deep": nest(40)}, []string{`key "deep"`, "does not encode to CBOR that Decode accepts"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var data []byte
			var err error
			require.NotPanics(t, func() { data, err = CBOR.Encode(c.values) })
			require.Error(t, err)
			assert.Nil(t, data)
			assert.True(t, strings.HasPrefix(err.Error(), "session: cbor: "), err.Error())
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

type nestedBox struct{ In *nestedBox }

func nest(n int) *nestedBox {
	var b *nestedBox
	for range n {
		b = &nestedBox{In: b}
	}
	return b
}

func TestCBORDecodeRefusesBadInput(t *testing.T) {
	valid, err := CBOR.Encode(map[string]any{
		"s": "str", "t": testSince, "l": []any{1, int64(2), "x"}, "u": testUser{Name: "n"},
	})
	require.NoError(t, err)

	h := func(s string) []byte {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		require.NoError(t, err)
		return b
	}
	deep := []byte{0xa1, 0x61, 'v'}
	for range 40 {
		deep = append(deep, 0x81)
	}
	deep = append(deep, 0x01)
	deepTyped := appendTypedHead([]byte{0xa1, 0x61, 'v'}, "")
	for range 40 {
		deepTyped = append(deepTyped, 0x81)
	}
	deepTyped = append(deepTyped, 0x01)

	cases := map[string][]byte{
		"nil":                  nil,
		"empty":                {},
		"not a map":            h("01"),
		"garbage":              []byte("not cbor at all"),
		"extra data":           append(append([]byte{}, valid...), 0x00),
		"indefinite map":       h("bf 6176 01 ff"),
		"indefinite string":    h("a1 6176 7f 6161 ff"),
		"non-text key":         h("a1 01 01"),
		"duplicate key":        h("a2 6176 01 6176 02"),
		"invalid UTF-8":        h("a1 6176 61 ff"),
		"huge map":             h("bb ffffffffffffffff"),
		"huge array":           h("a1 6176 9b ffffffffffffffff"),
		"huge string":          h("a1 6176 7b 7fffffffffffffff"),
		"array too long":       append(h("a1 6176 9a 00020001"), make([]byte, 131073)...),
		"reserved byte":        h("a1 6176 1c"),
		"half float":           h("a1 6176 f9 3c00"),
		"undefined":            h("a1 6176 f7"),
		"int overflows":        h("a1 6176 1b ffffffffffffffff"),
		"int64 overflows":      h("a1 6176 c6 3b ffffffffffffffff"),
		"uint64 negative":      h("a1 6176 c7 20"),
		"unknown tag":          h("a1 6176 d9 d9f7 01"),
		"bignum tag":           h("a1 6176 c2 41 01"),
		"time empty":           h("a1 6176 c8 80"),
		"time not array":       h("a1 6176 c8 01"),
		"time nanos":           h("a1 6176 c8 82 00 1a 3b9aca00"),
		"time offset":          h("a1 6176 c8 83 00 00 1a 00015180"),
		"time seconds":         h("a1 6176 c8 81 1b 7fffffffffffffff"),
		"strings bad item":     h("a1 6176 c9 81 01"),
		"string map bad value": h("a1 6176 cb a1 6161 01"),
		"string map dup key":   h("a1 6176 cb a2 6161 6162 6161 6162"),
		"typed not array":      h("a1 6176 cc 01"),
		"typed one field":      h("a1 6176 cc 81 60"),
		"typed name not text":  h("a1 6176 cc 82 01 01"),
		"typed no payload":     h("a1 6176 cc 82 60"),
		"typed bad payload":    h("a1 6176 cc 82 60 1c"),
		"deep arrays":          deep,
		"deep typed payload":   deepTyped,

		"invalid UTF-8 key":            h("a1 61 ff 01"),
		"invalid UTF-8 in strings":     h("a1 6176 c9 81 61 ff"),
		"invalid UTF-8 map key":        h("a1 6176 a1 61 ff 01"),
		"invalid UTF-8 smap key":       h("a1 6176 cb a1 61 ff 6161"),
		"invalid UTF-8 smap value":     h("a1 6176 cb a1 6161 61 ff"),
		"invalid UTF-8 in a list":      h("a1 6176 81 61 ff"),
		"tag 13 valid UTF-8":           h("a1 6176 cd 43 616263"),
		"tag 13 empty":                 h("a1 6176 cd 40"),
		"tag 13 valid UTF-8 key":       h("a1 cd 41 76 01"),
		"tag 13 valid UTF-8 in list":   h("a1 6176 81 cd 41 61"),
		"tag 13 valid UTF-8 map key":   h("a1 6176 a1 cd 41 61 01"),
		"tag 13 valid UTF-8 strings":   h("a1 6176 c9 81 cd 41 61"),
		"tag 13 valid UTF-8 smap key":  h("a1 6176 cb a1 cd 41 61 6162"),
		"tag 13 valid UTF-8 smap val":  h("a1 6176 cb a1 6161 cd 41 62"),
		"tag 13 text":                  h("a1 6176 cd 61 ff"),
		"tag 13 valid text":            h("a1 6176 cd 61 61"),
		"tag 13 integer":               h("a1 6176 cd 01"),
		"tag 13 array":                 h("a1 6176 cd 81 41 ff"),
		"tag 13 nested tag":            h("a1 6176 cd cd 41 ff"),
		"tag 13 text key":              h("a1 cd 61 ff 01"),
		"tag 13 bytes in strings":      h("a1 6176 c9 81 cd 61 ff"),
		"tag 13 truncated":             h("a1 6176 cd 42 ff"),
		"tag 13 missing":               h("a1 6176 cd"),
		"tag 13 indefinite":            h("a1 6176 cd 5f 41 ff ff"),
		"tag 13 typed name":            h("a1 6176 cc 82 cd 41 ff 01"),
		"bytes as key":                 h("a1 41 ff 01"),
		"bytes in strings":             h("a1 6176 c9 81 41 ff"),
		"duplicate tag 13 key":         h("a2 cd 41 ff 01 cd 41 ff 02"),
		"duplicate tag 13 map key":     h("a1 6176 a2 cd 41 ff 01 cd 41 ff 02"),
		"duplicate tag 13 smap key":    h("a1 6176 cb a2 cd 41 ff 6161 cd 41 ff 6162"),
		"other tag around bad bytes":   h("a1 6176 ce 41 ff"),
		"tag 13 in a typed value name": h("a1 6176 cc 82 cd 41 ff 60"),
	}
	for i := range len(valid) {
		cases[fmt.Sprintf("truncated to %d bytes", i)] = valid[:i]
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = CBOR.Decode(data) })
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "session: cbor: "), err.Error())
		})
	}
}

func TestCBORRawWithDuplicateKeysFailsOnUse(t *testing.T) {
	// Decode only checks that a Raw's payload is well-formed, which
	// leaves duplicate keys to be found when the payload is decoded.
	values, err := CBOR.Decode([]byte("\xa1\x61v\xcc\x82\x60\xa2\x61a\x01\x61a\x02"))
	require.NoError(t, err)
	assert.Nil(t, generic(values["v"]))
	_, ok := as[map[string]any](values["v"])
	assert.False(t, ok)
}

func TestCBORDeepButAllowedNesting(t *testing.T) {
	v := any(1)
	for range cborMaxDepth - 1 {
		v = []any{v}
	}
	got := roundTrip(t, CBOR, map[string]any{"v": v})
	assert.Equal(t, v, got["v"])

	_, err := CBOR.Encode(map[string]any{"v": []any{v}})
	assert.ErrorContains(t, err, "nested deeper")
}

// TestCBOREncodeRefusesWhatDecodeRefuses: a value Encode writes but Decode
// refuses would wipe the whole session on the next request. At each of
// Decode's limits, the last value accepted round-trips and the first one
// past it fails Encode, naming the key.
func TestCBOREncodeRefusesWhatDecodeRefuses(t *testing.T) {
	plus1h := time.FixedZone("", 3600)
	for name, tm := range map[string]time.Time{
		"last instant":        time.Unix(cborMaxUnix, 999_999_999),
		"last instant, +1h":   time.Unix(cborMaxUnix, 999_999_999).In(plus1h),
		"first instant":       time.Unix(math.MinInt64, 0),
		"first instant, +1h":  time.Unix(math.MinInt64, 0).In(plus1h),
		"year 1, a day later": time.Time{}.Add(24 * time.Hour),
	} {
		t.Run(name, func(t *testing.T) {
			got := roundTrip(t, CBOR, map[string]any{"t": tm})["t"]
			requireSameValue(t, tm, got, "t")
		})
	}
	for name, tm := range map[string]time.Time{
		"a second past the last":        time.Unix(cborMaxUnix+1, 0),
		"Unix MaxInt64":                 time.Unix(math.MaxInt64, 0),
		"a nanosecond before the first": time.Unix(math.MinInt64, -1),
		"long before the first":         time.Unix(math.MinInt64, 0).Add(-1000 * time.Hour),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := CBOR.Encode(map[string]any{"when": tm})
			require.EqualError(t, err, `session: cbor: cannot encode key "when": time out of range: Decode reads Unix times from -9223372036854775808 s to 9223371974719179007 s`)
		})
	}

	long := func(n int) map[string]any {
		l := make([]any, n)
		ss := make([]string, n)
		is := make([]int, n)
		m := make(map[string]any, n)
		sm := make(map[string]string, n)
		for i := range n {
			k := strconv.Itoa(i)
			ss[i], m[k], sm[k] = k, i, k
		}
		return map[string]any{"l": l, "ss": ss, "is": is, "m": m, "sm": sm}
	}
	// DeepEqual rather than requireSameValue, quadratic on maps this big;
	// every type here comes back exactly.
	require.True(t, reflect.DeepEqual(long(cborMaxItems), roundTrip(t, CBOR, long(cborMaxItems))), "the longest lists and maps round-trip")
	tooLong := long(cborMaxItems + 1)
	for k, v := range tooLong {
		_, err := CBOR.Encode(map[string]any{k: v})
		require.EqualError(t, err, fmt.Sprintf("session: cbor: cannot encode key %q: array or map of more than 131072 items", k))
		_, err = CBOR.Encode(map[string]any{"nested": []any{1, map[string]any{k: v}}})
		require.EqualError(t, err, fmt.Sprintf(`session: cbor: cannot encode key "nested" at [1][%q]: array or map of more than 131072 items`, k))
	}
	_, err := CBOR.Encode(tooLong["m"].(map[string]any))
	require.EqualError(t, err, "session: cbor: array or map of more than 131072 items")
}

// FuzzCBOREncode checks, for values built from the fuzzer's input, that
// whatever Encode accepts Decode accepts too and gives back the same
// value: times anywhere in their range (Unix seconds, nanoseconds outside
// [0, 1e9) that time.Unix normalizes, any offset), integers, floats bit for
// bit, strings that need not be UTF-8, and lists around the length limit.
func FuzzCBOREncode(f *testing.F) {
	f.Add(int64(0), int64(0), int32(0), uint32(0), "", []byte{}, uint64(0))
	f.Add(testSince.Unix(), int64(5), int32(3600), uint32(3), "café", []byte("x"), math.Float64bits(1.5))
	f.Add(int64(cborMaxUnix), int64(999_999_999), int32(-86399), uint32(1<<31|2), "k", []byte{0xff}, uint64(0x7ff8000000000001))
	f.Add(int64(cborMaxUnix), int64(1e9), int32(86399), uint32(1), "k", []byte{}, uint64(1))
	f.Add(int64(1), int64(2), int32(-3), uint32(1<<31), "", []byte{}, uint64(1)) // one item too many
	f.Add(int64(math.MaxInt64), int64(0), int32(0), uint32(1<<31|1), "ÿ", []byte(nil), uint64(math.MaxUint64))
	f.Add(int64(math.MinInt64), int64(-1), int32(-900), uint32(7), "a", []byte{1}, uint64(1<<63))
	f.Fuzz(func(t *testing.T, sec, nsec int64, off int32, n uint32, s string, b []byte, bits uint64) {
		tm := time.Unix(sec, nsec)
		if off != 0 {
			tm = tm.In(time.FixedZone("", int(off)))
		}
		// Lists are short, or around the limit when the top bit says so.
		length := int(n % 8)
		if n&(1<<31) != 0 {
			length = cborMaxItems - 1 + int(n%3)
		}
		if b == nil {
			b = []byte{} // a nil []byte comes back empty
		}
		values := map[string]any{
			"t": tm, "s": s, "b": b, "f": math.Float64frombits(bits), "i": int(sec), "i64": nsec, "u64": bits,
			s:     []any{tm, s, map[string]any{s: int64(off)}},
			"ss":  []string{s, s},
			"sm":  map[string]string{s: s},
			"is":  make([]int, length),
			"p":   testPoint{X: int(off), Y: int(sec)},
			"acc": &testAccount{ID: nsec, Owner: s},
		}
		data, err := CBOR.Encode(values)
		if err != nil {
			return
		}
		got, err := CBOR.Decode(data)
		require.NoError(t, err, "Decode refused what Encode wrote")
		requireSameValue(t, values, got, "")
	})
}

// FuzzCBORDecode checks that Decode never panics, accepts nothing that is
// not well-formed CBOR, and that what it accepts encodes and decodes again
// to the same values.
func FuzzCBORDecode(f *testing.F) {
	seeds := []map[string]any{
		{},
		{"s": "str", "i": 1, "b": true, "n": nil, "f": 1.5, "f32": float32(2.5)},
		{"i64": int64(-1), "u64": uint64(math.MaxUint64), "i8": int8(3), "u": uint(4)},
		{"t": testSince, "tz": time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("", -3600)), "zero": time.Time{}},
		{"bytes": []byte("xyz"), "ss": []string{"a"}, "is": []int{-1}, "sm": map[string]string{"a": "b"}},
		{"l": []any{"a", 1, true, []any{int64(2)}, map[string]any{"k": []any{}}}},
		{"user": testUser{Name: "n", Since: testSince}, "p": testPoint{1, 2}, "acc": &testAccount{ID: 9}},
		{"role": testRole("r"), "list": []any{testPoint{}, testUser{}}},
		{"bad": "caf\xe9", "\xff": 1, "ss": []string{"\xfe", "a"}, "sm": map[string]string{"\xff": "\xe2\x82"}},
		{"l": []any{"\xff", map[string]any{"\xfe": []any{"\xfd"}}}},
	}
	for _, s := range seeds {
		data, err := CBOR.Encode(s)
		require.NoError(f, err)
		f.Add(data)
	}
	// Tag 13 holding what it must not, and a key made of tag 13 twice.
	for _, s := range []string{
		"a1 6176 cd 43 616263", "a1 6176 cd 40", "a1 6176 cd 61 ff", "a1 6176 cd 01",
		"a1 cd 41 76 01", "a2 cd 41 ff 01 cd 41 ff 02", "a1 6176 cb a1 cd 41 ff cd 41 fe",
	} {
		data, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte{0xa1, 0x61, 'v', 0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1}) // a NaN
	wellformed := mustDecMode(cbor.DecOptions{
		MaxNestedLevels:  65535,
		MaxArrayElements: math.MaxInt32,
		MaxMapPairs:      math.MaxInt32,
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		values, err := CBOR.Decode(data)
		if err != nil {
			return
		}
		require.NoError(t, wellformed.Wellformed(data), "Decode accepted ill-formed CBOR")
		encoded, err := CBOR.Encode(values)
		require.NoError(t, err, "Decode returned what Encode refuses")
		again, err := CBOR.Decode(encoded)
		require.NoError(t, err, "Decode refused what Encode wrote")
		requireSameValue(t, values, again, "")
	})
}

// canonicalCBOR encodes with sorted map keys, so that values can be
// compared by their encodings whatever their maps and NaNs.
var canonicalCBOR = mustEncMode(cbor.CanonicalEncOptions())

// requireSameValue compares values decoded by CBOR: types exactly, floats
// bit for bit (NaN included), times by instant and offset.
func requireSameValue(t *testing.T, want, got any, path string) {
	t.Helper()
	require.Equal(t, reflect.TypeOf(want), reflect.TypeOf(got), path)
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		require.Len(t, g, len(w), path)
		for k, v := range w {
			require.Contains(t, g, k, path)
			requireSameValue(t, v, g[k], path+"."+k)
		}
	case []any:
		g := got.([]any)
		require.Len(t, g, len(w), path)
		for i := range w {
			requireSameValue(t, w[i], g[i], fmt.Sprintf("%s[%d]", path, i))
		}
	case float64:
		require.Equal(t, math.Float64bits(w), math.Float64bits(got.(float64)), path)
	case time.Time:
		g := got.(time.Time)
		require.True(t, w.Equal(g), path)
		_, wo := w.Zone()
		_, gotOff := g.Zone()
		require.Equal(t, wo, gotOff, path)
	case cborRaw:
		require.Equal(t, w, got, path)
	default:
		wb, err := canonicalCBOR.Marshal(want)
		require.NoError(t, err)
		gb, err := canonicalCBOR.Marshal(got)
		require.NoError(t, err)
		require.Equal(t, wb, gb, path)
	}
}

func TestRegister(t *testing.T) {
	assert.Equal(t, "github.com/go-sealed/session.testPoint", typeName(reflect.TypeOf(testPoint{})))
	assert.Equal(t, "*github.com/go-sealed/session.testAccount", typeName(reflect.TypeOf(&testAccount{})))
	assert.Equal(t, "[]int64", typeName(reflect.TypeOf([]int64{})))
	assert.Equal(t, "time.Duration", typeName(reflect.TypeOf(time.Second)))

	assert.NotPanics(t, func() { Register(testPoint{}) }, "registering again is fine")
	assert.PanicsWithValue(t, "session: Register(nil)", func() { Register(nil) })

	a, b := localType("a"), localType("b")
	Register(a)
	assert.PanicsWithValue(t,
		`session: Register: types session.sameName and session.sameName have the same name "github.com/go-sealed/session.sameName"`,
		func() { Register(b) })

	// An unnamed type registered by the program.
	Register(map[string][]int{})
	got := roundTrip(t, CBOR, map[string]any{"m": map[string][]int{"a": {1}}})
	assert.Equal(t, map[string][]int{"a": {1}}, got["m"])
}

// localType returns values of two different types of the same name.
func localType(which string) any {
	if which == "a" {
		type sameName struct{ A int }
		return sameName{}
	}
	type sameName struct{ B int }
	return sameName{}
}

// TestRegisterConcurrently registers one type from several goroutines at
// once, each of which uses it with every codec as soon as its own Register
// returns. (The type is new to the process only in the first run of the
// test: -count runs it once more, without a race.)
func TestRegisterConcurrently(t *testing.T) {
	type concurrent struct{ N int }
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			Register(concurrent{})
			Register(&concurrent{})
			for j := range 50 {
				values := map[string]any{"c": concurrent{N: i*100 + j}, "p": &concurrent{N: j}}
				for _, c := range []Codec{CBOR, JSON, Gob} {
					data, err := c.Encode(values)
					assert.NoError(t, err)
					_, err = c.Decode(data)
					assert.NoError(t, err)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	got := roundTrip(t, CBOR, map[string]any{"c": concurrent{N: 1}, "p": &concurrent{N: 2}})
	assert.Equal(t, concurrent{N: 1}, got["c"])
	assert.Equal(t, &concurrent{N: 2}, got["p"])
}

func TestJSONRoundTrip(t *testing.T) {
	u := testUser{Name: "Ada", Age: 36, Tags: []string{"x"}, Since: testSince}
	at := time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.FixedZone("", 3600))
	values := map[string]any{
		"s": "<str & more>", "i": 42, "big": int64(1<<53 + 1), "f": 1.5, "b": true, "n": nil,
		"t": at, "u": u, "l": []any{"a", 1}, "bytes": []byte{1, 2},
	}
	data, err := JSON.Encode(values)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"<str & more>"`, "no HTML escaping")
	got, err := JSON.Decode(data)
	require.NoError(t, err)
	for k, v := range got {
		require.Implements(t, (*Raw)(nil), v, k)
	}

	// Get: the generic JSON forms.
	assert.Equal(t, "<str & more>", generic(got["s"]))
	assert.Equal(t, float64(42), generic(got["i"]), "JSON numbers are float64")
	assert.Equal(t, float64(1<<53), generic(got["big"]), "and lose precision beyond 2^53")
	assert.Equal(t, true, generic(got["b"]))
	assert.Nil(t, generic(got["n"]))
	assert.Equal(t, "2025-03-14T09:26:53.589793238+01:00", generic(got["t"]))
	assert.Equal(t, []any{"a", float64(1)}, generic(got["l"]))
	assert.Equal(t, "AQI=", generic(got["bytes"]))
	assert.Equal(t, map[string]any{"Name": "Ada", "Age": float64(36), "Tags": []any{"x"}, "Since": "2024-02-29T23:59:58.123456789Z"}, generic(got["u"]))

	// GetAs: the types asked for.
	i, ok := as[int](got["i"])
	assert.True(t, ok)
	assert.Equal(t, 42, i)
	big, ok := as[int64](got["big"])
	assert.True(t, ok)
	assert.Equal(t, int64(1<<53+1), big, "exact through GetAs")
	gotU, ok := as[testUser](got["u"])
	assert.True(t, ok)
	assert.Equal(t, u, gotU)
	gotT, ok := as[time.Time](got["t"])
	assert.True(t, ok)
	assert.True(t, at.Equal(gotT))
	_, off := gotT.Zone()
	assert.Equal(t, 3600, off)
	b, ok := as[[]byte](got["bytes"])
	assert.True(t, ok)
	assert.Equal(t, []byte{1, 2}, b)
	_, ok = as[int](got["s"])
	assert.False(t, ok)

	// Untouched values are written back as they were read.
	again, err := JSON.Encode(got)
	require.NoError(t, err)
	assert.JSONEq(t, string(data), string(again))
}

func TestJSONErrors(t *testing.T) {
	_, err := JSON.Encode(map[string]any{"ok": 1, "f": func() {}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `session: json: cannot encode key "f"`)
	_, err = JSON.Encode(map[string]any{"nan": math.NaN()})
	assert.ErrorContains(t, err, `key "nan"`)

	for _, data := range []string{"", "null", "[]", `{"a":`, `{"a":1}x`, "\xff"} {
		_, err := JSON.Decode([]byte(data))
		require.Error(t, err, "%q", data)
		assert.True(t, strings.HasPrefix(err.Error(), "session: json: "), err.Error())
	}
}

func TestGobRoundTrip(t *testing.T) {
	values := map[string]any{
		"s": "str", "i": 42, "i64": int64(-1), "u8": uint8(3), "f32": float32(1.5), "f": 1.5,
		"b": true, "n": nil, "bytes": []byte{1}, "ss": []string{"a"}, "is": []int{1},
		"sm": map[string]string{"a": "b"}, "l": []any{"a", 1, testPoint{X: 1}},
		"m": map[string]any{"k": int64(2)}, "p": testPoint{X: 1, Y: 2}, "acc": &testAccount{ID: 7},
		"t": time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.FixedZone("", 3600)),
	}
	got := roundTrip(t, Gob, values)
	for k, want := range values {
		if k == "t" {
			continue
		}
		assert.Equal(t, want, got[k], k)
	}
	gotT := got["t"].(time.Time)
	assert.True(t, values["t"].(time.Time).Equal(gotT))
	_, off := gotT.Zone()
	assert.Equal(t, 3600, off)

	// Gob sees pointers through: testAccount was registered as a pointer.
	assert.Equal(t, &testAccount{ID: 8}, roundTrip(t, Gob, map[string]any{"a": testAccount{ID: 8}})["a"])
}

func TestGobNeedsRegister(t *testing.T) {
	_, err := Gob.Encode(map[string]any{"ok": 1, "user": testUser{Name: "x"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `session: gob: cannot encode key "user": type session.testUser not registered; call session.Register`)
	_, err = Gob.Encode(map[string]any{"l": []any{testUser{}}})
	assert.ErrorContains(t, err, "call session.Register", "inside an []any too")

	// A payload naming a type this program did not register: made by
	// renaming, in place, one that it did.
	type gobGhostA struct{ N int }
	Register(gobGhostA{})
	data, err := Gob.Encode(map[string]any{"g": gobGhostA{N: 1}})
	require.NoError(t, err)
	data = bytes.ReplaceAll(data, []byte("gobGhostA"), []byte("gobGhostB"))
	_, err = Gob.Decode(data)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "session: gob: type github.com/go-sealed/session.gobGhostB not registered; call session.Register")

	truncated := data[:len(data)-1]
	for _, bad := range [][]byte{nil, {0x01}, []byte("garbage!"), truncated, append(data, 0)} {
		var err error
		require.NotPanics(t, func() { _, err = Gob.Decode(bad) })
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "session: gob: "), err.Error())
	}
}

// gobHolder holds any value in a struct field; gobForm a map of them.
type gobHolder struct{ V any }

type gobForm struct{ Values map[string]any }

func init() {
	Register(gobHolder{})
	Register(gobForm{})
}

// TestGobDecodeRefusesDeclaredSizes: whoever can write a record (with
// access to a server-side store's database) must not be able to make gob
// allocate what a map in it claims: 2^22 entries here, a few hundred MB
// from a record of about a hundred bytes.
func TestGobDecodeRefusesDeclaredSizes(t *testing.T) {
	data, err := gobchecktest.Declare(map[string]any{"cart": map[string]any{gobchecktest.Marker: 1}}, 1<<22)
	require.NoError(t, err)
	allocated := gobchecktest.Allocated(func() { _, err = Gob.Decode(data) })
	require.Less(t, allocated, uint64(1<<20), "bytes allocated by decoding %d bytes", len(data))
	require.ErrorContains(t, err, "session: gob: gob stream refused: map declares 4194304 elements")
}

// TestGobEncodeSendsTypesBeforeSplitValues: a value whose type gob sends
// inside another value held in a struct field would make a payload Decode
// refuses; Encode sends the type first instead, and the session loads.
func TestGobEncodeSendsTypesBeforeSplitValues(t *testing.T) {
	values := map[string]any{"h": gobHolder{V: gobHolder{V: []any{"x", gobHolder{V: 2}}}}}
	var plain bytes.Buffer
	require.NoError(t, gob.NewEncoder(&plain).Encode(values))
	require.ErrorIs(t, gobcheck.Check(plain.Bytes()), gobcheck.ErrSplitValue, "what gob writes by itself")
	assert.Equal(t, values, roundTrip(t, Gob, values))
}

func TestGobEncodeRefusesWhatDecodeRefuses(t *testing.T) {
	deep := any("bottom")
	for range gobcheck.MaxDepth {
		deep = []any{deep}
	}
	for _, tt := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"nil in a struct field's map", map[string]any{"ok": 1, "form": gobForm{Values: map[string]any{"a": nil}}},
			`session: gob: cannot encode key "form": Decode would refuse the encoding: gob stream refused: nil interface value inside a struct field`},
		{"too deep", map[string]any{"deep": deep},
			`session: gob: cannot encode key "deep": Decode would refuse the encoding: gob stream refused: values nested deeper than 1000 levels`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Gob.Encode(tt.values)
			require.EqualError(t, err, tt.want)
		})
	}
	// A nil value held otherwise is fine.
	values := map[string]any{"n": nil, "l": []any{nil}, "h": gobHolder{V: map[string]any{"a": nil}}}
	assert.Equal(t, values, roundTrip(t, Gob, values))
}

func TestGobErrorRewording(t *testing.T) {
	assert.NoError(t, gobError(nil))
	plain := gob.NewDecoder(bytes.NewReader(nil)).Decode(new(int))
	assert.Equal(t, plain, gobError(plain), "other errors are kept as they are")
}

func TestForeignRawIsEncodedInGenericForm(t *testing.T) {
	fromJSON, err := JSON.Decode([]byte(`{"u":{"Name":"Ada"},"n":1}`))
	require.NoError(t, err)
	got := roundTrip(t, CBOR, fromJSON)
	assert.Equal(t, map[string]any{"u": map[string]any{"Name": "Ada"}, "n": float64(1)}, got)

	fromCBOR := roundTrip(t, CBOR, map[string]any{"u": testUser{Name: "Ada"}})
	for _, c := range []Codec{JSON, Gob} {
		got := roundTrip(t, c, fromCBOR)
		name, ok := generic(got["u"]).(map[string]any)["Name"]
		assert.True(t, ok)
		assert.Equal(t, "Ada", name)
	}
}

func ExampleRegister() {
	type Cart struct {
		Items []string
		Total float64
	}
	// Once, at init: Decode then returns Cart values as Carts.
	Register(Cart{})

	data, _ := CBOR.Encode(map[string]any{"cart": Cart{Items: []string{"book"}, Total: 12.5}})
	values, _ := CBOR.Decode(data)
	cart := values["cart"].(Cart)
	fmt.Println(cart.Items, cart.Total)
	// Output: [book] 12.5
}

func ExampleRaw() {
	type Prefs struct{ Theme string }
	// Prefs is not registered: Decode returns a Raw.
	data, _ := CBOR.Encode(map[string]any{"prefs": Prefs{Theme: "dark"}})
	values, _ := CBOR.Decode(data)
	raw := values["prefs"].(Raw)

	fmt.Println(raw.Value()) // what Session.Get returns
	var p Prefs
	_ = raw.DecodeInto(&p) // what GetAs[Prefs] does
	fmt.Println(p.Theme)
	// Output:
	// map[Theme:dark]
	// dark
}

// TestGenericReplacesNestedRaws: what Get gives back holds no Raw, at any
// depth of []any and map[string]any, while the decoded values keep theirs,
// so that a request that read them but put nothing saves them unchanged.
func TestGenericReplacesNestedRaws(t *testing.T) {
	u := testUser{Name: "Ada", Age: 36, Since: testSince}
	userMap := map[string]any{"Name": "Ada", "Age": int64(36), "Tags": nil, "Since": testSince}
	values := map[string]any{
		"list": []any{u, testPoint{X: 1}, "s", []any{1, u}},
		"map":  map[string]any{"u": u, "l": []any{map[string]any{"u": u}}, "n": 1},
	}
	data, err := CBOR.Encode(values)
	require.NoError(t, err)
	decoded, err := CBOR.Decode(data)
	require.NoError(t, err)
	require.IsType(t, cborRaw{}, decoded["list"].([]any)[0], "the test needs a nested Raw")

	assert.Equal(t, []any{userMap, testPoint{X: 1}, "s", []any{1, userMap}}, generic(decoded["list"]))
	assert.Equal(t, map[string]any{"u": userMap, "l": []any{map[string]any{"u": userMap}}, "n": 1}, generic(decoded["map"]))
	l, ok := as[[]any](decoded["list"])
	require.True(t, ok)
	assert.Equal(t, userMap, l[0], "GetAs too")
	m, ok := as[map[string]any](decoded["map"])
	require.True(t, ok)
	assert.Equal(t, userMap, m["u"])

	// The decoded values still hold their Raws: written out, they are the
	// same bytes as before.
	again, err := CBOR.Decode(data)
	require.NoError(t, err)
	requireSameValue(t, again, decoded, "")
	reencoded, err := CBOR.Encode(decoded)
	require.NoError(t, err)
	redecoded, err := CBOR.Decode(reencoded)
	require.NoError(t, err)
	requireSameValue(t, again, redecoded, "")

	// A container with no Raw is returned as it is, not copied.
	plain := []any{"a", map[string]any{"b": []any{1}}}
	assert.Same(t, &plain[0], &generic(plain).([]any)[0])
	// And one with a Raw is copied only along the way to it.
	shared := map[string]any{"x": 1}
	mixed := []any{shared, []any{cborRaw{payload: "\x01"}}}
	got := generic(mixed).([]any)
	assert.Equal(t, []any{shared, []any{int64(1)}}, got)
	got[0].(map[string]any)["y"] = 2
	assert.Contains(t, shared, "y", "the map holding no Raw was not copied")
	assert.Equal(t, cborRaw{payload: "\x01"}, mixed[1].([]any)[0], "the original keeps its Raw")
}

func TestGenericFindsRawsAtTheDepthLimitAndStopsThere(t *testing.T) {
	// The deepest place Encode puts a Raw.
	v := any(testUser{Name: "deep"})
	for range cborMaxDepth - 1 {
		v = []any{v}
	}
	got := generic(roundTrip(t, CBOR, map[string]any{"v": v})["v"])
	for range cborMaxDepth - 1 {
		require.IsType(t, []any{}, got)
		got = got.([]any)[0]
	}
	require.IsType(t, map[string]any{}, got)
	assert.Equal(t, "deep", got.(map[string]any)["Name"])

	// A cycle, which only a user can put, ends the walk at the same depth.
	cyclic := []any{nil, cborRaw{payload: "\x01"}}
	cyclic[0] = cyclic
	var out any
	require.NotPanics(t, func() { out = generic(cyclic) })
	require.IsType(t, []any{}, out)
	assert.Equal(t, int64(1), out.([]any)[1])
}

func TestGetDoesNotAllocate(t *testing.T) {
	m := New(newNopStore())
	s := m.newSession(httpRequest())
	s.Put("s", "str")
	s.Put("l", []any{"a", 1, []any{true}, map[string]any{"k": "v"}})
	s.Put("m", map[string]any{"k": []any{"v"}})
	allocs := testing.AllocsPerRun(100, func() {
		_ = s.Get("s")
		_ = s.Get("l")
		_ = s.Get("m")
		_ = s.GetString("s")
		_, _ = GetAs[[]any](s, "l")
		_, _ = GetAs[map[string]any](s, "m")
	})
	assert.Zero(t, allocs)
}
