package gobcheck_test

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/go-sealed/session/internal/gobcheck"
	"github.com/go-sealed/session/internal/gobcheck/gobchecktest"
	"github.com/stretchr/testify/require"
)

type point struct{ X, Y int }

type user struct {
	Name   string
	Tags   []string
	Scores map[string]float64
	Home   *point
	Grid   [2][2]int8
	Since  time.Time
	Notes  map[point][]byte
	Empty  struct{}
	hidden int
}

type list struct {
	Value int
	Next  *list
}

// victim is a type the program registered; attack is what a forger
// encodes under victim's name: the same fields and one more.
type victim struct{ M map[string]int }

type attack struct {
	Zzz any
	M   map[string]int
}

func init() {
	for _, v := range []any{[]any(nil), map[string]any(nil), time.Time{}, point{}, user{}, &list{}, map[point]string(nil), [1]string{}} {
		gob.Register(v)
	}
	gob.RegisterName("gobcheck.victim", victim{})
	gob.RegisterName("gobcheck.attack", attack{}) // same length: renamed in place
}

func encode(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(v))
	return buf.Bytes()
}

// honest are values as sessions hold them, gorilla's map[any]any included.
func honest() []any {
	u := user{Name: "ada", Tags: []string{"a", "b"}, Scores: map[string]float64{"x": 0.1}, Home: &point{1, 2},
		Grid: [2][2]int8{{1, -1}, {0, 5}}, Since: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), Notes: map[point][]byte{{1, 1}: {0xff}}, hidden: 1}
	many := map[string]any{}
	for i := range 300 {
		many[fmt.Sprint("k", i)] = i
	}
	return []any{
		map[string]any{},
		map[string]any{"s": "x", "i": -7, "u": uint64(1 << 60), "f": 1.5, "c": complex(1, 2), "b": true, "bytes": []byte{0, 1},
			"t": time.Now(), "l": []any{1, "a", []any{u, map[string]any{"n": nil}}}, "n": nil},
		map[string]any{"u": u, "p": &point{3, 4}, "list": &list{1, &list{2, &list{3, nil}}}, "pm": map[point]string{{1, 2}: "x"}},
		map[string]any{"deep": []any{[]any{[]any{map[string]any{"x": []any{u}}}}}},
		map[any]any{"user": "alice", 42: true, "_flash": []any{"welcome back"}},
		many,
		[]string{"top", "level"},
		u,
	}
}

func TestCheckAcceptsWhatGobWrites(t *testing.T) {
	for i, v := range honest() {
		data := encode(t, v)
		require.NoError(t, gobcheck.Check(data), "value %d: %#v", i, v)
		// Every strict prefix is refused, never a panic.
		for n := range len(data) {
			require.Error(t, gobcheck.Check(data[:n]), "value %d cut at %d", i, n)
		}
	}
}

// TestCheckAcceptsRandomValues encodes random nestings of the types
// sessions hold; Check must accept every one.
func TestCheckAcceptsRandomValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var gen func(depth int) any
	gen = func(depth int) any {
		switch n := r.IntN(10); {
		case n < 2 && depth < 6:
			l := make([]any, r.IntN(4))
			for i := range l {
				l[i] = gen(depth + 1)
			}
			return l
		case n < 4 && depth < 6:
			m := map[string]any{}
			for i := range r.IntN(4) {
				m[fmt.Sprint(i)] = gen(depth + 1)
			}
			return m
		case n == 4:
			return point{r.IntN(1000) - 500, r.Int()}
		case n == 5:
			return strings.Repeat("é", r.IntN(200))
		case n == 6:
			return time.Unix(r.Int64N(1<<40), r.Int64N(1e9))
		case n == 7:
			return nil
		case n == 8:
			return user{Name: "u", Tags: make([]string, r.IntN(3)), Scores: map[string]float64{"s": r.Float64()}}
		default:
			return r.Int64() - r.Int64()
		}
	}
	for range 500 {
		v := map[string]any{"a": gen(0), "b": gen(0)}
		require.NoError(t, gobcheck.Check(encode(t, v)), "%#v", v)
	}
}

func TestCheckRefusesDeclaredSizes(t *testing.T) {
	marked := map[string]any{gobchecktest.Marker: 1}
	tests := []struct {
		name   string
		v      any
		counts []uint64
		want   string
	}{
		{"map", map[string]any{"m": marked}, []uint64{1 << 40}, "map declares 1099511627776 elements"},
		{"map just too big", map[string]any{"m": marked}, []uint64{40}, "map declares 40 elements"},
		{"gorilla map", map[any]any{"m": marked}, []uint64{1 << 22}, "map declares 4194304 elements"},
		{"slice", map[string]any{"l": []string{gobchecktest.Marker}}, []uint64{1 << 30}, "slice declares 1073741824 elements"},
		{"array", map[string]any{"a": [1]string{gobchecktest.Marker}}, []uint64{2}, "array of 2 elements for a type of 1"},
		// Each count alone fits in the bytes left; both together do not.
		{"nested", [][]string{{gobchecktest.Marker}}, []uint64{40, 40}, "slice declares 40 elements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := gobchecktest.Declare(tt.v, tt.counts...)
			require.NoError(t, err)
			err = gobcheck.Check(data)
			require.ErrorContains(t, err, "gob stream refused: "+tt.want)
		})
	}
}

func TestCheckRefusesMalformedTypes(t *testing.T) {
	data := encode(t, map[string]int{"a": 1})
	// The stream is one type definition, then the value.
	n, idAndBody := data[0], data[1:1+int(data[0])]
	require.Less(t, n, byte(128))
	var body []byte
	switch {
	case idAndBody[0] < 128:
		body = idAndBody[1:]
	default:
		body = idAndBody[1+int(-int8(idAndBody[0])):]
	}
	message := func(id int64, body []byte) []byte {
		m := gobchecktest.AppendUint(nil, uint64(id<<1)^uint64(id>>63)) // gob's signed encoding
		m = append(m, body...)
		return append(gobchecktest.AppendUint(nil, uint64(len(m))), m...)
	}
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"defined twice", append(append([]byte{}, data[:1+n]...), data...), "defined twice"},
		{"reserved id", append(message(-10, body), data[1+n:]...), "type 10 defined twice or reserved"},
		{"message longer than the stream", append([]byte{0x7f}, data[1:]...), "message of 127 bytes"},
		{"undefined type", message(100, []byte{0, 0}), "undefined type 100"},
		{"two kinds", message(-100, []byte{1, 0, 1, 0, 0}), "type definition of 2 kinds"},
		{"bad unsigned integer", []byte{1, 0xf0}, "unsigned integer of 16 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorContains(t, gobcheck.Check(tt.data), tt.want)
		})
	}
}

func TestCheckRefusesDeepNesting(t *testing.T) {
	deep := any(1)
	for range gobcheck.MaxDepth / 2 {
		deep = []any{deep}
	}
	require.ErrorContains(t, gobcheck.Check(encode(t, map[string]any{"d": deep})), "nested deeper than 1000 levels")
}

// TestCheckSkippedFieldAttack: a field the destination type lacks is
// skipped by gob, and an interface value in it by its declared length.
// A forger who lies about that length makes gob resume inside the value,
// where it finds a field of the destination type and a huge map count,
// while a walk that parses the value sees only a string. Check refuses an
// interface value in a struct field whose length does not match.
func TestCheckSkippedFieldAttack(t *testing.T) {
	const n = 1 << 20
	payload := append(append([]byte("pad!"), 1), gobchecktest.AppendUint(nil, n)...) // field delta 1 (M), then the count
	payload = append(payload, "to be skipped"...)
	data := encode(t, map[string]any{"v": attack{Zzz: string(payload), M: map[string]int{"a": 1}}})
	data = bytes.Replace(data, []byte("gobcheck.attack"), []byte("gobcheck.victim"), 1)
	// Zzz holds a string: name, type id 6 (12 signed), then the length of
	// the value, a zero delta, the string's length and bytes. Make gob
	// skip only the zero delta, the string's length and "pad!".
	header := append([]byte{6}, "string\x0c"...)
	i := bytes.Index(data, header) + len(header)
	require.Equal(t, byte(2+len(payload)), data[i])
	data[i] = 2 + 4

	require.ErrorIs(t, gobcheck.Check(data), gobcheck.ErrSplitValue)

	// What gob does with it unchecked.
	var got map[string]any
	allocated := gobchecktest.Allocated(func() { _ = gob.NewDecoder(bytes.NewReader(data)).Decode(&got) })
	require.Greater(t, allocated, uint64(16<<20), "gob allocates the map the skipped field hid")
}

// TestCheckLimits: what Check refuses although gob may decode it, since a
// destination type without the struct field would make gob misread it.
// gob's encoder writes these for values Gob's Encode avoids or refuses.
func TestCheckLimits(t *testing.T) {
	type form struct{ Values map[string]any }
	type holder struct{ V any }
	gob.Register(form{})
	gob.Register(holder{})
	err := gobcheck.Check(encode(t, map[string]any{"f": form{Values: map[string]any{"a": nil}}}))
	require.ErrorContains(t, err, "nil interface value inside a struct field")
	// []any is sent for the first time inside the inner holder, which is
	// inside the outer one's field V.
	err = gobcheck.Check(encode(t, map[string]any{"h": holder{V: holder{V: []any{1}}}}))
	require.ErrorIs(t, err, gobcheck.ErrSplitValue)
	// Sent before, it is fine.
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	require.NoError(t, enc.Encode([]any{}))
	buf.Reset()
	require.NoError(t, enc.Encode(map[string]any{"h": holder{V: holder{V: []any{1}}}}))
	require.Error(t, gobcheck.Check(buf.Bytes()), "the stream lacks the definitions sent before")
}

// FuzzCheck: Check never panics, and gob, given what Check accepts,
// allocates no more than the input's length justifies.
func FuzzCheck(f *testing.F) {
	for _, v := range honest() {
		f.Add(encode(f, v))
	}
	for _, counts := range [][]uint64{{1 << 40}, {3}, {0}} {
		data, err := gobchecktest.Declare(map[string]any{"m": map[string]any{gobchecktest.Marker: 1}}, counts...)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if gobcheck.Check(data) != nil {
			return
		}
		for _, dst := range []any{new(map[string]any), new(map[any]any), new(any), new(user)} {
			allocated := gobchecktest.Allocated(func() { _ = gob.NewDecoder(bytes.NewReader(data)).Decode(dst) })
			if limit := uint64(64<<10 + 1024*len(data)); allocated > limit {
				t.Fatalf("decoding %d bytes into %T allocated %d bytes, more than %d", len(data), dst, allocated, limit)
			}
		}
	})
}
