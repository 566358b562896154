package session

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-sealed/session/internal/gobcheck"
)

// Gob is a Codec that stores the values with encoding/gob, as one
// map[string]any.
//
// Gob keeps Go types, but only of types registered with gob: the basic
// types and slices of them are, and this package registers []any,
// map[string]any, map[string]string and time.Time; every other type held
// in a session, at the top level or inside an []any or a map[string]any,
// must be registered with Register (which calls gob.Register), or Encode
// fails with an error saying so. Gob never returns Raw values. As gob
// sees pointers through, T and *T share one registration, the first one
// made: with Register(Cart{}) first, a *Cart put comes back as a Cart.
//
// Gob payloads are several times larger than CBOR's (each carries its type
// descriptions) and slower to produce; see docs/codec.md.
//
// encoding/gob is not hardened against hostile input: it allocates
// whatever sizes a payload declares. Decode therefore checks, before gob
// sees a payload, that no map, slice or array in it declares more elements
// than the payload has bytes left, and refuses it otherwise; Encode
// refuses values whose encoding Decode would refuse (values nested
// hundreds of levels deep, or a nil interface value in a slice or map
// held by a struct field, which gob could misread), so a saved session
// always loads. Even so, whoever can write a record (to the database of a
// server-side store, say) chooses what gob decodes and which registered
// types it builds: prefer CBOR, the default, or JSON.
var Gob Codec = gobCodec{}

type gobCodec struct{}

func init() {
	for _, v := range []any{[]any(nil), map[string]any(nil), map[string]string(nil), time.Time{}} {
		gob.Register(v)
	}
}

func (gobCodec) Encode(values map[string]any) ([]byte, error) {
	// gob cannot encode another codec's Raw, whose fields are unexported.
	values = genericForeignRaws(values, func(Raw) bool { return false })
	data, err := gobEncode(values)
	if err != nil {
		return nil, blameKey("gob", values, err, func(v any) error {
			_, err := gobEncode(map[string]any{"": v})
			return err
		})
	}
	return data, nil
}

// gobEncode encodes values and checks the result as Decode will, so that
// Encode never writes what Decode refuses.
func gobEncode(values map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(values); err != nil {
		return nil, gobError(err)
	}
	err := gobcheck.Check(buf.Bytes())
	if errors.Is(err, gobcheck.ErrSplitValue) {
		// A value whose type gob sends inside another one, within a
		// struct field: send the definitions of the types first, then
		// the values (what gob writes depends on map order, so this is
		// needed on some encodings of a session and not on others).
		var primed bytes.Buffer
		if perr := gobEncodePrimed(&primed, values); perr == nil {
			buf, err = primed, gobcheck.Check(primed.Bytes())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("Decode would refuse the encoding: %w", err)
	}
	return buf.Bytes(), nil
}

// gobEncodePrimed encodes values to w after the definitions of the types
// of every value held in an interface anywhere in them, each sent by
// encoding a zero value of the type and dropping the value's message
// (the last of those gob writes for it): only the definitions remain,
// which a decoder reads as it reads any definition before a value.
func gobEncodePrimed(w *bytes.Buffer, values map[string]any) error {
	log := &messageLog{Buffer: w}
	enc := gob.NewEncoder(log)
	for _, t := range heldTypes(values) {
		if err := enc.Encode(reflect.Zero(t).Interface()); err != nil {
			return err
		}
		w.Truncate(log.last)
	}
	return enc.Encode(values)
}

// messageLog is a bytes.Buffer that notes where the latest write starts:
// gob writes each message in one Write.
type messageLog struct {
	*bytes.Buffer
	last int
}

func (m *messageLog) Write(p []byte) (int, error) {
	m.last = m.Len()
	return m.Buffer.Write(p)
}

// heldTypes returns the types, pointers removed, of the values held in
// interfaces anywhere in values, in a fixed order.
func heldTypes(values map[string]any) []reflect.Type {
	seen := map[reflect.Type]bool{}
	var walk func(v reflect.Value, depth int)
	walk = func(v reflect.Value, depth int) {
		if depth > gobcheck.MaxDepth {
			return // gob refuses it anyway
		}
		switch v.Kind() {
		case reflect.Interface:
			if v.IsNil() {
				return
			}
			t := v.Elem().Type()
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			seen[t] = true
			walk(v.Elem(), depth+1)
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), depth+1)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i), depth+1)
				}
			}
		case reflect.Slice, reflect.Array:
			if v.Type().Elem().Kind() != reflect.Uint8 {
				for i := range v.Len() {
					walk(v.Index(i), depth+1)
				}
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				walk(it.Key(), depth+1)
				walk(it.Value(), depth+1)
			}
		}
	}
	walk(reflect.ValueOf(values), 0)
	types := slices.Collect(maps.Keys(seen))
	slices.SortFunc(types, func(a, b reflect.Type) int { return strings.Compare(a.String(), b.String()) })
	return types
}

func (gobCodec) Decode(data []byte) (map[string]any, error) {
	// Before gob trusts a size the data declares; see Gob.
	if err := gobcheck.Check(data); err != nil {
		return nil, fmt.Errorf("session: gob: %w", err)
	}
	var values map[string]any
	r := bytes.NewReader(data)
	if err := gob.NewDecoder(r).Decode(&values); err != nil {
		return nil, fmt.Errorf("session: gob: %w", gobError(err))
	}
	if r.Len() != 0 {
		return nil, errors.New("session: gob: extra data after the values")
	}
	if values == nil {
		values = map[string]any{}
	}
	return values, nil
}

// gobUnregistered are the starts of the messages of gob's errors for a
// type that is not registered, encoding and decoding. gob has no error
// type for them, so its messages are matched; if they change, the error is
// still returned, only not reworded.
var gobUnregistered = []string{
	"gob: type not registered for interface: ",
	"gob: name not registered for interface: ",
}

// gobError rewords gob's error for an unregistered type to say what to
// do about it, keeping the original in the chain.
func gobError(err error) error {
	if err == nil {
		return nil
	}
	for _, prefix := range gobUnregistered {
		if name, ok := strings.CutPrefix(err.Error(), prefix); ok {
			return fmt.Errorf("type %s not registered; call session.Register: %w", strings.Trim(name, `"`), err)
		}
	}
	return err
}
