package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

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

// cborSkip is a decoding target that only lets the cbor package check an
// item and find where it ends, without copying or decoding it.
type cborSkip struct{}

func (*cborSkip) UnmarshalCBOR([]byte) error { return nil }
