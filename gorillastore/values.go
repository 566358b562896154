package gorillastore

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"maps"
	"reflect"
	"sync"

	"github.com/go-sealed/session"
)

// stringKeys returns values keyed by string, or an error naming the first
// key of another type.
func stringKeys(name string, values map[any]any) (map[string]any, error) {
	out := make(map[string]any, len(values))
	for k, v := range values {
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("gorillastore: session %q: Values key %#v is a %T, not a string; this library keys session values by string, so store it under a string key",
				name, k, k)
		}
		out[ks] = v
	}
	return out, nil
}

// copyValues returns a deep copy of values made by a round trip through
// codec, or values itself if that fails.
func copyValues(codec session.Codec, values map[string]any) map[string]any {
	if len(values) == 0 {
		return values
	}
	data, err := codec.Encode(values)
	if err != nil {
		return values
	}
	copied, err := codec.Decode(data)
	if err != nil {
		return values
	}
	for k, v := range copied {
		if raw, ok := v.(session.Raw); ok {
			copied[k] = raw.Value()
		}
	}
	return copied
}

func codecOf(m *session.Manager) session.Codec {
	if m.Codec != nil {
		return m.Codec
	}
	return session.CBOR
}

// checkTypes reports, naming the key and the type, a value of changed that
// the codec would not give back in its own type: one of a type not
// registered with session.Register, which CBOR keeps as a Raw (Values
// would hold its generic form, a map for a struct). Gorilla's gob refuses
// to save such a value, so that code that reads it back with a type
// assertion never fails quietly; so does Save.
func checkTypes(name string, codec session.Codec, changed map[string]any) error {
	if len(changed) == 0 {
		return nil
	}
	data, err := codec.Encode(changed)
	if err != nil {
		return fmt.Errorf("gorillastore: session %q: %w", name, err)
	}
	back, err := codec.Decode(data)
	if err != nil {
		return fmt.Errorf("gorillastore: session %q: %w", name, err)
	}
	for k, v := range back {
		if holdsRaw(v, 0) {
			return fmt.Errorf("gorillastore: session %q: the value under %q (a %T) holds a type not registered with session.Register, which would come back from Values in another type; call session.Register with a value of that type (in place of, or besides, gob.Register), and nothing was saved",
				name, k, changed[k])
		}
	}
	return nil
}

// holdsRaw reports whether v is a Raw or holds one in its []any and
// map[string]any, as far as the codecs nest them.
func holdsRaw(v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch x := v.(type) {
	case session.Raw:
		return true
	case []any:
		for _, e := range x {
			if holdsRaw(e, depth+1) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if holdsRaw(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// maxDepth bounds the walks through nested []any and map[string]any: the
// codecs refuse deeper nesting anyway, and a cyclic value the application
// put must not hang Save.
const maxDepth = 32

// gobVariant returns v as gob would give it back from a gorilla session,
// and whether that differs from v: gob registers a type and a pointer to
// it as one, and decodes either into the one registered, so a gorilla
// application that registered T{} and stored a *T read back a T, and the
// other way round. session.Register keeps T and *T apart, so Save stores
// the variant gob would have decoded, and the application reads back what
// it read under gorilla. Elements of []any and map[string]any are
// converted too, in a copy.
func gobVariant(v any, depth int) (any, bool) {
	if v == nil || depth > maxDepth {
		return v, false
	}
	switch x := v.(type) {
	case string, bool, int, int64, float64, []byte, []string:
		return v, false // the common case, which gob registers as it is
	case []any:
		var out []any
		for i, e := range x {
			g, changed := gobVariant(e, depth+1)
			if changed && out == nil {
				out = append(make([]any, 0, len(x)), x[:i]...)
			}
			if out != nil {
				out = append(out, g)
			}
		}
		return orig(out, v)
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			if g, changed := gobVariant(e, depth+1); changed {
				if out == nil {
					out = maps.Clone(x)
				}
				out[k] = g
			}
		}
		return orig(out, v)
	}
	t := reflect.TypeOf(v)
	want := gobType(t)
	rv := reflect.ValueOf(v)
	switch {
	case want == reflect.PointerTo(t):
		p := reflect.New(t)
		p.Elem().Set(rv)
		return p.Interface(), true
	case t.Kind() == reflect.Pointer && t.Elem() == want && !rv.IsNil():
		return rv.Elem().Interface(), true
	}
	return v, false
}

// orig returns out, changed, if gobVariant made a copy, and v otherwise.
func orig[T []any | map[string]any](out T, v any) (any, bool) {
	if out == nil {
		return v, false
	}
	return out, true
}

// gobTypes caches gobType's answers, per type.
var gobTypes sync.Map // reflect.Type -> reflect.Type

// gobType returns the type gob decodes a value of type t into, when the
// value sits in an interface (as gorilla's Values are): the one of T and
// *T registered with gob, or t itself when gob has neither (the codec
// check of Save then reports it) or t is neither a named type nor a
// pointer to one.
func gobType(t reflect.Type) reflect.Type {
	if c, ok := gobTypes.Load(t); ok {
		return c.(reflect.Type)
	}
	r := probeGob(t)
	gobTypes.Store(t, r)
	return r
}

// probeGob asks gob itself, which has no lookup of its registrations: it
// encodes a zero value of t's base type in an interface, which gob sends
// under the name registered for either variant, and decodes it into an
// interface, which gives the variant registered. A type gob cannot encode
// (no exported fields, a method that fails on a zero value) keeps t.
func probeGob(t reflect.Type) (r reflect.Type) {
	base := t
	if base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	if base.Name() == "" || base.Kind() == reflect.Pointer || base.Kind() == reflect.Interface {
		return t
	}
	defer func() {
		if recover() != nil {
			r = t // a GobEncode or MarshalBinary that panics on a zero value
		}
	}()
	var buf bytes.Buffer
	in := reflect.New(base).Interface()
	if err := gob.NewEncoder(&buf).Encode(&in); err != nil {
		return t
	}
	var out any
	if err := gob.NewDecoder(&buf).Decode(&out); err != nil || out == nil {
		return t
	}
	if got := reflect.TypeOf(out); got == base || got == reflect.PointerTo(base) {
		return got
	}
	return t
}
