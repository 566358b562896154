package session

import (
	"fmt"
	"math"
	"reflect"

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
// that Decode would refuse (a list or map over that length, a time beyond
// the range of Unix seconds time.Unix represents, a zone offset of a day
// or more), values it cannot encode (a func, a channel) and cycles
// through []any and map[string]any, naming the key at fault.
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

var errCBORTooDeep = fmt.Errorf("nested deeper than %d levels (a cycle?)", cborMaxDepth)
