package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// CBOR is the default Codec. It keeps the Go type of every value: string,
// bool, nil, int, int8 to int64, uint to uint64, float32, float64, []byte,
// time.Time (instant, nanoseconds and zone offset), []string, []int, []any,
// map[string]any, map[string]string, and any nesting of []any and
// map[string]any, come back from Decode exactly as they were given to
// Encode. A nil slice or map of these types comes back empty, not nil.
// Strings come back byte for byte, those that are not valid UTF-8 too.
//
// Any other value (a struct, a pointer to one, a named type, a slice of
// structs) is encoded as plain CBOR, struct fields by name, together with
// the name it was given by Register. Decode returns a value of that type if
// the name is registered in the decoding program, and a Raw otherwise, so
// GetAs works for such values without registration but Get returns them
// in generic form (map[string]any for a struct). A Raw given back to
// Encode is written out unchanged, so a value survives a request that did
// not read it even in a program that does not know its type.
//
// Decode refuses, with an error, anything outside the format Encode
// writes, and limits nesting (32 levels) and the length of arrays and maps
// (131072 items), so it is safe on untrusted input. Encode refuses values
// that Decode would refuse, values it cannot encode (a func, a channel)
// and cycles through []any and map[string]any, naming the key at fault.
// A cycle through pointers inside a struct is not detected: the cbor
// package recurses until the stack overflows, which crashes the program.
//
// The format is described in docs/codec.md.
var CBOR Codec = cborCodec{}

type cborCodec struct{}

// The tag numbers that mark the values whose Go type plain CBOR cannot
// tell: a bare integer decodes as int, a bare float as float64, a bare
// array as []any and a bare map as map[string]any. The numbers fall in the
// one-byte range that the IANA registry leaves unassigned (6 to 15); they
// are private to this format, which only this package reads.
const (
	tagInt64     = 6  // content: integer
	tagUint64    = 7  // content: unsigned integer
	tagTime      = 8  // content: [unix seconds, nanoseconds?, UTC offset in seconds?]
	tagStrings   = 9  // content: array of strings (text, or tagBadText), a []string
	tagInts      = 10 // content: array of integers, an []int
	tagStringMap = 11 // content: map of strings to strings (text, or tagBadText), a map[string]string
	tagTyped     = 12 // content: [registered type name or "", plain CBOR of the value]
	tagBadText   = 13 // content: byte string, a Go string that is not valid UTF-8
)

// CBOR major types and the simple values this format uses.
const (
	majorUint  = 0
	majorNeg   = 1
	majorBytes = 2
	majorText  = 3
	majorArray = 4
	majorMap   = 5
	majorTag   = 6

	cborFalse   = 0xf4
	cborTrue    = 0xf5
	cborNull    = 0xf6
	cborFloat32 = 0xfa
	cborFloat64 = 0xfb
)

const (
	// cborMaxDepth bounds the nesting of []any and map[string]any, in
	// Encode and Decode alike, so that whatever Encode writes Decode reads.
	cborMaxDepth = 32
	// cborMaxItems bounds the length of any array or map. A sealed cookie
	// is far smaller; the bound is for server-side stores.
	cborMaxItems = 128 * 1024
	// cborMaxOffset bounds time zone offsets, which keeps the zone cache
	// small and every decoded time re-encodable.
	cborMaxOffset = 24 * 60 * 60
	// cborMaxUnix is the largest Unix time time.Unix represents without
	// overflowing: time.Time counts seconds from year 1 in an int64.
	cborMaxUnix = math.MaxInt64 - 62135596800
)

// The modes for the plain CBOR of values under tagTyped. They are built
// once: building one is costly and using one is safe for concurrent use.
var (
	cborEnc = mustEncMode(cbor.EncOptions{
		// RFC 3339 text keeps a time's nanoseconds and zone offset, and the
		// tag lets Raw.Value decode it back into a time.Time.
		Time:          cbor.TimeRFC3339Nano,
		TimeTag:       cbor.EncTagRequired,
		ShortestFloat: cbor.ShortestFloat16,
		// Decode refuses indefinite lengths; a MarshalCBOR method that
		// writes them is caught by the check in cborEncoder.typed.
		IndefLength: cbor.IndefLengthForbidden,
	})
	cborDecOptions = cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  cborMaxDepth,
		MaxArrayElements: cborMaxItems,
		MaxMapPairs:      cborMaxItems,
		IndefLength:      cbor.IndefLengthForbidden,
		// Generic forms (Raw.Value, struct fields of type any) get maps
		// with string keys, like encoding/json, and integers as int64
		// whatever their sign, rather than uint64 for positive ones.
		DefaultMapType: reflect.TypeOf(map[string]any(nil)),
		IntDec:         cbor.IntDecConvertSignedOrBigInt,
		// The cbor package writes a Go string as text whatever its bytes
		// (a struct field filled from a form, say); read such text back
		// as it was, so that the value round-trips instead of failing.
		// Tag-12 payloads come only from Encode, inside a sealed or
		// server-side record, never straight from a client.
		UTF8: cbor.UTF8DecodeInvalid,
	}
	cborDec = mustDecMode(cborDecOptions)
	// cborAnyKeyDec is the fallback of Raw.Value for a value holding a map
	// whose keys are not strings, which has no map[string]any form.
	cborAnyKeyDec = mustDecMode(func(o cbor.DecOptions) cbor.DecOptions {
		o.DefaultMapType = nil
		return o
	}(cborDecOptions))
)

func mustEncMode(o cbor.EncOptions) cbor.EncMode {
	m, err := o.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}

func mustDecMode(o cbor.DecOptions) cbor.DecMode {
	m, err := o.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}

// cborRaw is a value under tagTyped whose type name is not registered in
// this program (or whose payload no longer fits the registered type). The
// payload is kept as it was read, so that Encode writes it out unchanged.
type cborRaw struct {
	name    string // the registered name it was encoded under, or ""
	payload string // exactly one well-formed CBOR data item
}

// Value decodes the payload afresh on every call, so that changing the
// result does not silently change what is saved: only Put does. It is nil
// for a payload that does not decode (one with duplicate map keys).
func (r cborRaw) Value() any {
	b := []byte(r.payload)
	var v any
	if cborDec.Unmarshal(b, &v) == nil {
		return v
	}
	var w any // v may hold part of the value
	if cborAnyKeyDec.Unmarshal(b, &w) == nil {
		return w
	}
	return nil
}

func (r cborRaw) DecodeInto(ptr any) error {
	if err := cborDec.Unmarshal([]byte(r.payload), ptr); err != nil {
		return fmt.Errorf("session: cbor: %w", err)
	}
	return nil
}

// cborSkip is a decoding target that only lets the cbor package check an
// item and find where it ends, without copying or decoding it.
type cborSkip struct{}

func (*cborSkip) UnmarshalCBOR([]byte) error { return nil }

// Encode buffers are reused, so that an encode allocates only its result
// rather than every size the buffer grows through.
var cborEncoders = sync.Pool{New: func() any { return &cborEncoder{buf: make([]byte, 0, 512)} }}

// cborMaxPooled keeps one huge session from pinning its buffer forever.
const cborMaxPooled = 64 << 10

type cborEncoder struct {
	buf []byte
}

func (cborCodec) Encode(values map[string]any) ([]byte, error) {
	e := cborEncoders.Get().(*cborEncoder)
	defer func() {
		if cap(e.buf) <= cborMaxPooled {
			e.buf = e.buf[:0]
			cborEncoders.Put(e)
		}
	}()
	e.buf = appendHead(e.buf[:0], majorMap, uint64(len(values)))
	for k, v := range values {
		// The ASCII check is written out in the three commonest places,
		// where it is inlined; see appendString.
		if isASCII(k) {
			e.buf = appendText(e.buf, k)
		} else {
			e.buf = appendNonASCII(e.buf, k)
		}
		if err := e.value(v, 1); err != nil {
			var pe *pathError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("session: cbor: cannot encode key %q at %s: %w", k, pe.path, pe.err)
			}
			return nil, fmt.Errorf("session: cbor: cannot encode key %q: %w", k, err)
		}
	}
	return slices.Clone(e.buf), nil
}

// pathError locates an encoding error inside nested []any and
// map[string]any; the path is built as the recursion unwinds, so it costs
// nothing when encoding succeeds.
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

func atPath(err error, step string) error {
	if pe, ok := err.(*pathError); ok {
		pe.path = step + pe.path
		return pe
	}
	return &pathError{path: step, err: err}
}

var errCBORTooDeep = fmt.Errorf("nested deeper than %d levels (a cycle?)", cborMaxDepth)

// value appends v at the given nesting depth. The cases are ordered by how
// common the types are in sessions.
func (e *cborEncoder) value(v any, depth int) error {
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, cborNull)
	case string:
		if isASCII(v) {
			e.buf = appendText(e.buf, v)
		} else {
			e.buf = appendNonASCII(e.buf, v)
		}
	case int:
		e.buf = appendInt(e.buf, int64(v))
	case bool:
		if v {
			e.buf = append(e.buf, cborTrue)
		} else {
			e.buf = append(e.buf, cborFalse)
		}
	case time.Time:
		return e.time(v)
	case int64:
		e.buf = appendInt(appendTag(e.buf, tagInt64), v)
	case float64:
		e.buf = appendFloat(e.buf, v)
	case []byte:
		e.buf = appendHead(e.buf, majorBytes, uint64(len(v)))
		e.buf = append(e.buf, v...)
	case []string:
		e.buf = appendHead(appendTag(e.buf, tagStrings), majorArray, uint64(len(v)))
		for _, s := range v {
			if isASCII(s) {
				e.buf = appendText(e.buf, s)
			} else {
				e.buf = appendNonASCII(e.buf, s)
			}
		}
	case []int:
		e.buf = appendHead(appendTag(e.buf, tagInts), majorArray, uint64(len(v)))
		for _, i := range v {
			e.buf = appendInt(e.buf, int64(i))
		}
	case map[string]string:
		e.buf = appendHead(appendTag(e.buf, tagStringMap), majorMap, uint64(len(v)))
		for k, s := range v {
			e.buf = appendString(appendString(e.buf, k), s)
		}
	case uint64:
		e.buf = appendHead(appendTag(e.buf, tagUint64), majorUint, v)
	case []any:
		if depth >= cborMaxDepth {
			return errCBORTooDeep
		}
		e.buf = appendHead(e.buf, majorArray, uint64(len(v)))
		for i, x := range v {
			if err := e.value(x, depth+1); err != nil {
				return atPath(err, "["+strconv.Itoa(i)+"]")
			}
		}
	case map[string]any:
		if depth >= cborMaxDepth {
			return errCBORTooDeep
		}
		e.buf = appendHead(e.buf, majorMap, uint64(len(v)))
		for k, x := range v {
			e.buf = appendString(e.buf, k)
			if err := e.value(x, depth+1); err != nil {
				return atPath(err, "["+strconv.Quote(k)+"]")
			}
		}
	case cborRaw:
		e.buf = appendTypedHead(e.buf, v.name)
		e.buf = append(e.buf, v.payload...)
	case Raw:
		// Another codec's Raw, met when a session changes codec: its
		// generic form is all that can be carried over.
		if depth >= cborMaxDepth {
			return errCBORTooDeep
		}
		return e.value(v.Value(), depth+1)
	default:
		return e.typed(v)
	}
	return nil
}

func (e *cborEncoder) time(t time.Time) error {
	sec, nsec := t.Unix(), int64(t.Nanosecond())
	_, off := t.Zone()
	if off <= -cborMaxOffset || off >= cborMaxOffset {
		return fmt.Errorf("time zone offset %ds is a day or more", off)
	}
	// Trailing zero fields are left out: most times are in UTC.
	n := uint64(3)
	if off == 0 {
		n = 2
		if nsec == 0 {
			n = 1
		}
	}
	e.buf = appendHead(appendTag(e.buf, tagTime), majorArray, n)
	e.buf = appendInt(e.buf, sec)
	if n > 1 {
		e.buf = appendInt(e.buf, nsec)
	}
	if n > 2 {
		e.buf = appendInt(e.buf, int64(off))
	}
	return nil
}

// typed appends a value of a type the envelope does not know, as plain
// CBOR under its registered name.
func (e *cborEncoder) typed(v any) error {
	payload, err := cborEnc.Marshal(v)
	if err != nil {
		return err
	}
	// A payload Decode would refuse (nested too deeply, say) would make
	// the whole session undecodable on the next request: refuse it now,
	// while the error can still be reported to the code that put it.
	if err := cborDec.Wellformed(payload); err != nil {
		return fmt.Errorf("%T does not encode to CBOR that Decode accepts: %w", v, err)
	}
	e.buf = appendTypedHead(e.buf, registeredName(reflect.TypeOf(v)))
	e.buf = append(e.buf, payload...)
	return nil
}

func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

// appendTag appends the head of one of this format's tags, all below 24.
func appendTag(b []byte, tag byte) []byte {
	return append(b, majorTag<<5|tag)
}

func appendTypedHead(b []byte, name string) []byte {
	return appendText(append(appendTag(b, tagTyped), majorArray<<5|2), name)
}

func appendInt(b []byte, i int64) []byte {
	if i < 0 {
		return appendHead(b, majorNeg, uint64(^i)) // CBOR stores -1-i
	}
	return appendHead(b, majorUint, uint64(i))
}

func appendText(b []byte, s string) []byte {
	return append(appendHead(b, majorText, uint64(len(s))), s...)
}

// appendString appends a Go string. CBOR text must be UTF-8, and a Go
// string need not be (bytes from a form or a header, say): one that is
// not is written as tag 13 around a byte string, so that it comes back
// byte for byte instead of making the whole payload undecodable.
//
// Most strings in a session are short and ASCII: isASCII, inlined, tells
// them for less than a call to utf8.ValidString costs, which added a
// quarter to Encode's time on the typical session.
func appendString(b []byte, s string) []byte {
	if isASCII(s) {
		return appendText(b, s)
	}
	return appendNonASCII(b, s)
}

// appendNonASCII is appendString for a string that is not all ASCII.
func appendNonASCII(b []byte, s string) []byte {
	if utf8.ValidString(s) {
		return appendText(b, s)
	}
	return append(appendHead(appendTag(b, tagBadText), majorBytes, uint64(len(s))), s...)
}

// isASCII reports whether s is all ASCII, and so valid UTF-8. It is small
// enough to be inlined.
func isASCII(s string) bool {
	var or byte
	for i := 0; i < len(s); i++ {
		or |= s[i]
	}
	return or < utf8.RuneSelf
}

// appendFloat writes f in 4 bytes when that loses nothing, in 8 otherwise.
func appendFloat(b []byte, f float64) []byte {
	if f32 := float32(f); float64(f32) == f {
		return binary.BigEndian.AppendUint32(append(b, cborFloat32), math.Float32bits(f32))
	}
	return binary.BigEndian.AppendUint64(append(b, cborFloat64), math.Float64bits(f))
}

func (cborCodec) Decode(data []byte) (map[string]any, error) {
	// Keys and string values are sliced out of one copy of the input
	// instead of being copied one by one: most of a session is strings.
	d := cborDecoder{data: data, str: string(data)}
	values, err := d.top()
	if err != nil {
		return nil, fmt.Errorf("session: cbor: %w (at byte %d)", err, d.off)
	}
	return values, nil
}

// cborDecoder reads the format Encode writes, and nothing else: no
// indefinite lengths, half floats, bignums or tags of other formats.
// Every length is checked against the input left before anything is
// allocated for it.
type cborDecoder struct {
	data []byte
	str  string // data as a string
	off  int    // of the next byte to read
}

var (
	errCBORTruncated = errors.New("unexpected end of data")
	errCBORTooLong   = errors.New("array or map longer than the data left or than the limit")
)

func (d *cborDecoder) top() (map[string]any, error) {
	major, n, err := d.head()
	if err != nil {
		return nil, err
	}
	if major != majorMap {
		return nil, fmt.Errorf("expected a map, found major type %d", major)
	}
	values, err := d.stringMap(n, 0)
	if err != nil {
		return nil, err
	}
	if d.off != len(d.data) {
		return nil, errors.New("extra data after the values")
	}
	return values, nil
}

// head reads an item's initial byte and argument.
func (d *cborDecoder) head() (major byte, arg uint64, err error) {
	if d.off >= len(d.data) {
		return 0, 0, errCBORTruncated
	}
	ib := d.data[d.off]
	d.off++
	major, ai := ib>>5, ib&0x1f
	if ai < 24 {
		return major, uint64(ai), nil
	}
	if ai > 27 {
		return 0, 0, fmt.Errorf("unsupported initial byte 0x%02x", ib)
	}
	size := 1 << (ai - 24)
	if len(d.data)-d.off < size {
		return 0, 0, errCBORTruncated
	}
	b := d.data[d.off : d.off+size]
	d.off += size
	switch size {
	case 1:
		arg = uint64(b[0])
	case 2:
		arg = uint64(binary.BigEndian.Uint16(b))
	case 4:
		arg = uint64(binary.BigEndian.Uint32(b))
	default:
		arg = binary.BigEndian.Uint64(b)
	}
	return major, arg, nil
}

// count checks the length n of an array or map whose items take at least
// size bytes each.
func (d *cborDecoder) count(n uint64, size int) (int, error) {
	if n > cborMaxItems || n > uint64((len(d.data)-d.off)/size) {
		return 0, errCBORTooLong
	}
	return int(n), nil
}

// value reads one item of the envelope, at the nesting depth Encode gave
// it: the top-level values are at depth 1.
func (d *cborDecoder) value(depth int) (any, error) {
	if d.off >= len(d.data) {
		return nil, errCBORTruncated
	}
	switch d.data[d.off] {
	case cborFalse:
		d.off++
		return false, nil
	case cborTrue:
		d.off++
		return true, nil
	case cborNull:
		d.off++
		return nil, nil
	case cborFloat32:
		_, bits, err := d.head()
		return float64(math.Float32frombits(uint32(bits))), err
	case cborFloat64:
		_, bits, err := d.head()
		return math.Float64frombits(bits), err
	}
	major, arg, err := d.head()
	if err != nil {
		return nil, err
	}
	switch major {
	case majorUint, majorNeg:
		i, err := intFromHead(major, arg)
		if err == nil && int64(int(i)) != i {
			err = fmt.Errorf("integer %d overflows int", i)
		}
		return int(i), err
	case majorText:
		return d.textBody(arg)
	case majorBytes:
		s, err := d.body(arg)
		return []byte(s), err
	case majorArray:
		return d.list(arg, depth)
	case majorMap:
		return d.stringMap(arg, depth)
	case majorTag:
		return d.tagged(arg)
	}
	return nil, fmt.Errorf("unsupported simple value or float 0x%02x", d.data[d.off-1])
}

func (d *cborDecoder) list(n uint64, depth int) ([]any, error) {
	if depth >= cborMaxDepth {
		return nil, errCBORTooDeep
	}
	l, err := d.count(n, 1)
	if err != nil {
		return nil, err
	}
	list := make([]any, l)
	for i := range list {
		if list[i], err = d.value(depth + 1); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// stringMap reads the n pairs of a map[string]any at the given depth; the
// top-level map is at depth 0.
func (d *cborDecoder) stringMap(n uint64, depth int) (map[string]any, error) {
	if depth >= cborMaxDepth {
		return nil, errCBORTooDeep
	}
	l, err := d.count(n, 2)
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, l)
	for range l {
		k, err := key(d, m)
		if err != nil {
			return nil, err
		}
		if m[k], err = d.value(depth + 1); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// key reads a map key, which must be a text string not already in m:
// with duplicates allowed, two readers of one payload could disagree on
// its values.
func key[V any](d *cborDecoder, m map[string]V) (string, error) {
	k, err := d.string()
	if err != nil {
		return "", err
	}
	if _, dup := m[k]; dup {
		return "", fmt.Errorf("duplicate map key %q", k)
	}
	return k, nil
}

func (d *cborDecoder) tagged(tag uint64) (any, error) {
	switch tag {
	case tagInt64:
		return d.int64()
	case tagUint64:
		major, arg, err := d.head()
		if err == nil && major != majorUint {
			err = errors.New("expected an unsigned integer")
		}
		return arg, err
	case tagTime:
		return d.time()
	case tagStrings:
		return d.strings()
	case tagInts:
		return d.ints()
	case tagStringMap:
		return d.stringStringMap()
	case tagTyped:
		return d.typed()
	case tagBadText:
		return d.badText()
	}
	return nil, fmt.Errorf("unknown tag %d", tag)
}

// strings reads an array of text strings into a []string. It and ints
// are written out rather than made one generic function over an item
// reader: a function value called with d would make d escape, and every
// Decode would allocate its decoder on the heap.
func (d *cborDecoder) strings() ([]string, error) {
	n, err := d.arrayHead()
	if err != nil {
		return nil, err
	}
	s := make([]string, n)
	for i := range s {
		if s[i], err = d.string(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ints reads an array of integers into an []int.
func (d *cborDecoder) ints() ([]int, error) {
	n, err := d.arrayHead()
	if err != nil {
		return nil, err
	}
	s := make([]int, n)
	for i := range s {
		if s[i], err = d.int(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (d *cborDecoder) arrayHead() (int, error) {
	major, n, err := d.head()
	if err != nil {
		return 0, err
	}
	if major != majorArray {
		return 0, fmt.Errorf("expected an array, found major type %d", major)
	}
	return d.count(n, 1)
}

func (d *cborDecoder) stringStringMap() (map[string]string, error) {
	major, n, err := d.head()
	if err != nil {
		return nil, err
	}
	if major != majorMap {
		return nil, fmt.Errorf("expected a map, found major type %d", major)
	}
	l, err := d.count(n, 2)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, l)
	for range l {
		k, err := key(d, m)
		if err != nil {
			return nil, err
		}
		if m[k], err = d.string(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (d *cborDecoder) text() (string, error) {
	major, n, err := d.head()
	if err != nil {
		return "", err
	}
	if major != majorText {
		return "", fmt.Errorf("expected a text string, found major type %d", major)
	}
	return d.textBody(n)
}

// string reads a Go string, in either of the forms appendString writes.
func (d *cborDecoder) string() (string, error) {
	major, n, err := d.head()
	if err != nil {
		return "", err
	}
	switch {
	case major == majorText:
		return d.textBody(n)
	case major == majorTag && n == tagBadText:
		return d.badText()
	}
	return "", fmt.Errorf("expected a string, found major type %d", major)
}

// badText reads the content of tag 13. Valid UTF-8 is refused there, so
// that every string has exactly one encoding: two payloads differing only
// in the form of a string must not both be accepted.
func (d *cborDecoder) badText() (string, error) {
	major, n, err := d.head()
	if err != nil {
		return "", err
	}
	if major != majorBytes {
		return "", fmt.Errorf("tag %d holds major type %d, not a byte string", tagBadText, major)
	}
	s, err := d.body(n)
	if err == nil && utf8.ValidString(s) {
		err = fmt.Errorf("tag %d holds valid UTF-8, which is written as a text string", tagBadText)
	}
	return s, err
}

func (d *cborDecoder) textBody(n uint64) (string, error) {
	s, err := d.body(n)
	if err == nil && !utf8.ValidString(s) {
		err = errors.New("text string is not valid UTF-8")
	}
	return s, err
}

// body returns the next n bytes, as a string that shares d.str's memory.
func (d *cborDecoder) body(n uint64) (string, error) {
	if n > uint64(len(d.data)-d.off) {
		return "", errCBORTruncated
	}
	s := d.str[d.off : d.off+int(n)]
	d.off += int(n)
	return s, nil
}

func intFromHead(major byte, arg uint64) (int64, error) {
	if major != majorUint && major != majorNeg {
		return 0, fmt.Errorf("expected an integer, found major type %d", major)
	}
	if arg > math.MaxInt64 {
		return 0, errors.New("integer overflows int64")
	}
	if major == majorNeg {
		return ^int64(arg), nil
	}
	return int64(arg), nil
}

func (d *cborDecoder) int64() (int64, error) {
	major, arg, err := d.head()
	if err != nil {
		return 0, err
	}
	return intFromHead(major, arg)
}

func (d *cborDecoder) int() (int, error) {
	i, err := d.int64()
	if err == nil && int64(int(i)) != i {
		err = fmt.Errorf("integer %d overflows int", i)
	}
	return int(i), err
}

func (d *cborDecoder) time() (time.Time, error) {
	n, err := d.arrayHead()
	if err != nil {
		return time.Time{}, err
	}
	if n < 1 || n > 3 {
		return time.Time{}, fmt.Errorf("time has %d fields", n)
	}
	var fields [3]int64
	for i := range n {
		if fields[i], err = d.int64(); err != nil {
			return time.Time{}, err
		}
	}
	sec, nsec, off := fields[0], fields[1], fields[2]
	if sec > cborMaxUnix || nsec < 0 || nsec >= 1e9 || off <= -cborMaxOffset || off >= cborMaxOffset {
		return time.Time{}, errors.New("time out of range")
	}
	t := time.Unix(sec, nsec)
	if off == 0 {
		return t.UTC(), nil
	}
	return t.In(fixedZone(int(off))), nil
}

// quarterHourZones caches the locations of the offsets in use today, all
// multiples of 15 minutes, so that decoding a time does not allocate one.
var quarterHourZones [2*cborMaxOffset/900 + 1]atomic.Pointer[time.Location]

func fixedZone(off int) *time.Location {
	if off%900 != 0 {
		return time.FixedZone("", off)
	}
	slot := &quarterHourZones[off/900+cborMaxOffset/900]
	if loc := slot.Load(); loc != nil {
		return loc
	}
	loc := time.FixedZone("", off)
	slot.Store(loc) // a race stores equal locations: harmless
	return loc
}

func (d *cborDecoder) typed() (any, error) {
	n, err := d.arrayHead()
	if err != nil {
		return nil, err
	}
	if n != 2 {
		return nil, fmt.Errorf("typed value has %d fields, not 2", n)
	}
	name, err := d.text()
	if err != nil {
		return nil, err
	}
	start := d.off
	if t := registeredType(name); t != nil {
		ptr := reflect.New(t)
		if rest, err := cborDec.UnmarshalFirst(d.data[start:], ptr.Interface()); err == nil {
			d.off = len(d.data) - len(rest)
			return ptr.Elem().Interface(), nil
		}
		// A payload that no longer fits its type (a field whose type
		// changed between two deployments, say) is kept as a Raw, rather
		// than losing the whole session over one value.
	}
	var skip cborSkip
	rest, err := cborDec.UnmarshalFirst(d.data[start:], &skip)
	if err != nil {
		return nil, err
	}
	d.off = len(d.data) - len(rest)
	return cborRaw{name: name, payload: d.str[start:d.off]}, nil
}
