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
	"time"
	"unicode/utf8"
)

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
	if len(values) > cborMaxItems {
		return nil, fmt.Errorf("session: cbor: %w", errCBORTooMany)
	}
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

// errCBORTooMany and errCBORTimeRange refuse what Decode would: its
// limit on the items of an array or map (cborDecoder.count), and the range
// of the Unix seconds of a time (cborDecoder.time).
var (
	errCBORTooMany   = fmt.Errorf("array or map of more than %d items", cborMaxItems)
	errCBORTimeRange = fmt.Errorf("time out of range: Decode reads Unix times from %d s to %d s", int64(math.MinInt64), int64(cborMaxUnix))
)

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
		if len(v) > cborMaxItems {
			return errCBORTooMany
		}
		e.buf = appendHead(appendTag(e.buf, tagStrings), majorArray, uint64(len(v)))
		for _, s := range v {
			if isASCII(s) {
				e.buf = appendText(e.buf, s)
			} else {
				e.buf = appendNonASCII(e.buf, s)
			}
		}
	case []int:
		if len(v) > cborMaxItems {
			return errCBORTooMany
		}
		e.buf = appendHead(appendTag(e.buf, tagInts), majorArray, uint64(len(v)))
		for _, i := range v {
			e.buf = appendInt(e.buf, int64(i))
		}
	case map[string]string:
		if len(v) > cborMaxItems {
			return errCBORTooMany
		}
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
		if len(v) > cborMaxItems {
			return errCBORTooMany
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
		if len(v) > cborMaxItems {
			return errCBORTooMany
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
	// t.Unix is past cborMaxUnix for the instants after the last one
	// time.Unix can make, and, wrapping around, for those more than
	// math.MaxInt64 s before 1970: Decode refuses both.
	if sec > cborMaxUnix {
		return errCBORTimeRange
	}
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
