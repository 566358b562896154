// Package gobcheck bounds what an encoding/gob stream may declare before
// encoding/gob decodes it.
//
// encoding/gob trusts the element counts a stream declares: a map count
// goes straight to reflect.MakeMapWithSize (decode.go, decodeMap), so a
// stream of a few dozen bytes declaring 2^40 entries makes the decoder
// allocate until the process dies, and a slice count preallocates up to
// 10 MB per slice (saferio). Strings, byte slices and interface type
// names are checked against the bytes left, and a declared array length
// must match the destination's. That is so up to Go 1.26 at least.
//
// Check walks the stream as gob's decoder will, without building any
// value, and refuses it when a map, slice or array declares more elements
// than bytes remain: every element takes at least one byte (a map entry
// two), so no honest stream does. The budget is shared by the containers
// being read at the same time (a count is checked against the bytes left
// less the elements its enclosing containers still expect), so what gob
// preallocates is bounded by the length of the input times the size of
// an element.
//
// Why a walk rather than something smaller: a count is only a count in
// the context of its type, and gob's types are defined in the stream
// itself; no scan of the raw bytes can tell a map count from a string's
// content or an int, and decoding with a size limit does not help, since
// the allocation comes before the data it is for is read. The walk
// mirrors the decoder function for function (decodeTypeSequence,
// recvType, decodeStruct, decodeSingle, decodeInterface and the op of
// each wire kind), so both read the same bytes as the same things. It
// checks what gob checks and a little more (anything gob's encoder never
// writes is refused), and builds nothing but the table of wire types.
//
// One place needs care. gob skips a struct field that the destination
// type lacks, and skips an interface value in it by the length the value
// declares (ignoreInterface) instead of parsing it; after an empty type
// name (a nil interface) it even reads a type and a length, where
// decoding reads nothing more. The destination types are not known here,
// and a forger picks the field names, so inside a struct field Check
// requires an interface value to be non-nil and its declared length to
// match its content: then skipping and decoding read the same bytes, and
// gob cannot be led to resume inside a value the walk read as a string.
// gob's encoder writes otherwise in two cases, which Check therefore
// refuses although gob decodes them when no field is skipped: a nil
// interface value in a slice or map inside a struct field, and an
// interface value inside a struct field holding another whose type the
// stream sends for the first time there (see ErrSplitValue).
package gobcheck

import (
	"errors"
	"fmt"
	"math"
)

// MaxDepth bounds how deeply the values of a stream Check accepts nest
// (each map, slice, array, struct and interface value is a level), so
// that neither the walk nor gob's recursive decoder can exhaust the stack.
const MaxDepth = 1000

// Check returns nil when encoding/gob can decode the first value of the
// stream data without trusting a declared size, and an error saying what
// is wrong otherwise. A nil error does not promise that gob decodes the
// stream (it may name a type this program never registered, say), only
// that it will not allocate more than the input's length justifies.
func Check(data []byte) (err error) {
	w := walker{rest: data, types: map[int32]*wireType{}}
	defer func() {
		if e := recover(); e != nil {
			ce, ok := e.(checkError)
			if !ok {
				panic(e)
			}
			err = ce.error
		}
	}()
	w.value(w.typeSequence(false), false, true)
	return nil
}

// checkError carries a refusal up the walk, as gob's decoder does with
// its own errors: every read would otherwise need an error check.
type checkError struct{ error }

func fail(format string, args ...any) {
	panic(checkError{fmt.Errorf("gob stream refused: "+format, args...)})
}

var errTruncated = errors.New("gob stream refused: truncated")

// ErrSplitValue is wrapped by the error of Check for an interface value
// inside a struct field whose declared length does not match its content.
// gob's encoder writes one when a value nested in it has a type sent for
// the first time in the stream, so an encoder can avoid it by sending the
// definitions of those types first, as messages of their own (the
// decoder reads any number of them before a value).
var ErrSplitValue = errors.New("an interface value inside a struct field is split by a type definition")

// The predefined type ids of gob's wire format (encoding/gob/type.go).
// Ids 9 to 63 are gob's own internal types, never those of a user value.
const (
	tBool      = 1
	tInt       = 2
	tUint      = 3
	tFloat     = 4
	tBytes     = 5
	tString    = 6
	tComplex   = 7
	tInterface = 8

	firstUserID = 64
)

type kind uint8

const (
	kArray kind = iota + 1
	kSlice
	kStruct
	kMap
	kOpaque // GobEncoder, BinaryMarshaler, TextMarshaler: a byte string
)

// wireType is what the walk keeps of a type definition.
type wireType struct {
	kind      kind
	elem, key int32
	len       int64
	fields    []int32
}

// walker is gob's Decoder without the values: buf is the message being
// read (dec.buf), rest the stream after it (dec.r).
type walker struct {
	buf, rest []byte
	messages  int // messages read: a reload inside an interface value shows
	types     map[int32]*wireType
	depth     int
	// pending is how many elements the containers being read still
	// expect, each at least a byte of what remains.
	pending int
}

func (w *walker) enter() {
	w.depth++
	if w.depth > MaxDepth {
		fail("values nested deeper than %d levels", MaxDepth)
	}
}

func (w *walker) leave() { w.depth-- }

// uint reads an unsigned integer of the current message (decodeUint).
func (w *walker) uint() uint64 {
	if len(w.buf) == 0 {
		panic(checkError{errTruncated})
	}
	b := w.buf[0]
	w.buf = w.buf[1:]
	if b <= 0x7f {
		return uint64(b)
	}
	n := -int(int8(b))
	if n > 8 {
		fail("unsigned integer of %d bytes", n)
	}
	if len(w.buf) < n {
		panic(checkError{errTruncated})
	}
	var x uint64
	for _, c := range w.buf[:n] {
		x = x<<8 | uint64(c)
	}
	w.buf = w.buf[n:]
	return x
}

// int reads a signed integer (decodeInt, nextInt).
func (w *walker) int() int64 {
	x := w.uint()
	if x&1 != 0 {
		return ^int64(x >> 1)
	}
	return int64(x >> 1)
}

// bytes skips a byte string (a string, a []byte, a GobEncoder's data:
// getLength, then that many bytes) and returns its length.
func (w *walker) bytes() uint64 {
	n := w.uint()
	if n > uint64(len(w.buf)) {
		fail("byte string of %d bytes, longer than its message", n)
	}
	w.buf = w.buf[n:]
	return n
}

// count reads the element count of a map, slice or array whose elements
// take at least per bytes each, and reserves them in the budget.
func (w *walker) count(what string, per uint64) int {
	n := w.uint()
	left := len(w.buf) + len(w.rest) - w.pending
	if left < 0 || n > uint64(left)/per {
		fail("%s declares %d elements; %d bytes remain", what, n, left)
	}
	w.pending += int(n * per)
	return int(n)
}

// element starts reading the next of the elements count reserved: there
// must be a byte for it in the message, as gob checks for slices and
// arrays (decodeArrayHelper) and every honest map entry has.
func (w *walker) element(per int) {
	w.pending -= per
	if len(w.buf) == 0 {
		panic(checkError{errTruncated})
	}
}

// recvMessage reads the next message of the stream into buf.
func (w *walker) recvMessage() {
	// The count is read as decodeUintReader reads it from the stream.
	w.buf, w.rest = w.rest, nil
	n := w.uint()
	if n > uint64(len(w.buf)) {
		fail("message of %d bytes; %d remain", n, len(w.buf))
	}
	w.buf, w.rest = w.buf[:n], w.buf[n:]
	w.messages++
}

// typeSequence reads type definitions up to the id of the value that
// follows, and returns that id (decodeTypeSequence).
func (w *walker) typeSequence(inInterface bool) int32 {
	for {
		if len(w.buf) == 0 {
			w.recvMessage()
		}
		id := int32(w.int()) // gob's typeId is an int32; it truncates the same way
		if id >= 0 {
			return id
		}
		id = -id
		if id < firstUserID || w.types[id] != nil {
			fail("type %d defined twice or reserved", id)
		}
		w.types[id] = w.wireType()
		if len(w.buf) > 0 {
			if !inInterface {
				fail("extra data after a type definition")
			}
			w.uint() // the count of the delimited value that follows
		}
	}
}

// fields reads a struct (decodeStruct): field deltas and values until a
// zero delta or the end of the message. field reads field i.
func (w *walker) fields(n int, field func(i int)) {
	num := -1
	for len(w.buf) > 0 {
		delta := w.uint()
		if delta == 0 {
			return
		}
		if delta > uint64(n) || num >= n-int(delta) {
			fail("field number out of range")
		}
		num += int(delta)
		field(num)
	}
}

// typeID reads a field of type typeId, an int32.
func (w *walker) typeID() int32 {
	v := w.int()
	if v < math.MinInt32 || v > math.MaxInt32 {
		fail("type id %d out of range", v)
	}
	return int32(v)
}

// commonType reads a CommonType: Name string, Id typeId.
func (w *walker) commonType() {
	w.fields(2, func(i int) {
		if i == 0 {
			w.bytes()
		} else {
			w.typeID()
		}
	})
}

// wireType reads a type definition, a gob wireType struct: ArrayT,
// SliceT, StructT, MapT, GobEncoderT, BinaryMarshalerT, TextMarshalerT,
// each a pointer to a struct embedding CommonType. Exactly one is set in
// what gob's encoder writes; anything else is refused.
func (w *walker) wireType() *wireType {
	t := &wireType{}
	kinds := 0
	w.fields(7, func(i int) {
		kinds++
		switch i {
		case 0: // arrayType: CommonType, Elem typeId, Len int
			t.kind = kArray
			w.fields(3, func(j int) {
				switch j {
				case 0:
					w.commonType()
				case 1:
					t.elem = w.typeID()
				default:
					t.len = w.int()
				}
			})
		case 1: // sliceType: CommonType, Elem typeId
			t.kind = kSlice
			w.fields(2, func(j int) {
				if j == 0 {
					w.commonType()
				} else {
					t.elem = w.typeID()
				}
			})
		case 2: // structType: CommonType, Field []fieldType
			t.kind = kStruct
			w.fields(2, func(j int) {
				if j == 0 {
					w.commonType()
					return
				}
				n := w.count("struct type", 1)
				for range n {
					w.element(1)
					named := false
					var id int32
					w.fields(2, func(k int) { // fieldType: Name string, Id typeId
						if k == 0 {
							named = w.bytes() > 0
						} else {
							id = w.typeID()
						}
					})
					if !named {
						fail("struct field without a name")
					}
					t.fields = append(t.fields, id)
				}
			})
		case 3: // mapType: CommonType, Key, Elem typeId
			t.kind = kMap
			w.fields(3, func(j int) {
				switch j {
				case 0:
					w.commonType()
				case 1:
					t.key = w.typeID()
				default:
					t.elem = w.typeID()
				}
			})
		default: // gobEncoderType: CommonType
			t.kind = kOpaque
			w.fields(1, func(int) { w.commonType() })
		}
	})
	if kinds != 1 {
		fail("type definition of %d kinds", kinds)
	}
	return t
}

// value reads a value of type id. top is true for a value that stands
// alone (the stream's value, an interface's): gob frames those that are
// not structs as a struct with a single field 0 (decodeSingle). skippable
// is true inside a struct field, which gob skips when the destination
// type has no such field.
func (w *walker) value(id int32, skippable, top bool) {
	t := w.types[id]
	if top && (t == nil || t.kind != kStruct) {
		if w.uint() != 0 {
			fail("non-zero field delta before a single value")
		}
	}
	switch id {
	case tBool, tInt, tUint, tFloat:
		w.uint()
		return
	case tComplex:
		w.uint()
		w.uint()
		return
	case tBytes, tString:
		w.bytes()
		return
	case tInterface:
		w.iface(skippable)
		return
	}
	if t == nil {
		fail("undefined type %d", id)
	}
	w.enter()
	defer w.leave()
	switch t.kind {
	case kArray:
		if n := w.count("array", 1); int64(n) != t.len {
			fail("array of %d elements for a type of %d", n, t.len)
		} else {
			for range n {
				w.element(1)
				w.value(t.elem, skippable, false)
			}
		}
	case kSlice:
		for range w.count("slice", 1) {
			w.element(1)
			w.value(t.elem, skippable, false)
		}
	case kMap:
		for range w.count("map", 2) { // a key and a value
			w.element(2)
			w.value(t.key, skippable, false)
			w.value(t.elem, skippable, false)
		}
	case kStruct:
		w.fields(len(t.fields), func(i int) { w.value(t.fields[i], true, false) })
	case kOpaque:
		w.bytes()
	}
}

// iface reads an interface value (decodeInterface): the concrete type's
// name, its type id with any definitions, the value's length, the value.
func (w *walker) iface(skippable bool) {
	n := w.uint()
	if n > uint64(len(w.buf)) {
		fail("interface type name longer than its message")
	}
	w.buf = w.buf[n:]
	if n == 0 {
		if skippable {
			fail("nil interface value inside a struct field")
		}
		return
	}
	if n > 1024 {
		fail("interface type name of %d bytes", n)
	}
	w.enter()
	defer w.leave()
	id := w.typeSequence(true)
	size := w.uint()
	if skippable && size > uint64(len(w.buf)) {
		fail("interface value longer than its message")
	}
	start, messages := len(w.buf), w.messages
	w.value(id, false, true)
	if skippable && (w.messages != messages || uint64(start-len(w.buf)) != size) {
		fail("%w: its declared length does not match its content", ErrSplitValue)
	}
}
