package session

import (
	"encoding/gob"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// Register makes the concrete type of v known to the codecs, so that a
// value of that type put in a session comes back from Get as that exact
// type, pointer or not as it was put: Register(Cart{}) covers Cart values,
// Register(&Cart{}) covers *Cart values.
//
// The type is recorded under a name made of its package path and type
// name, the name the encoded value carries, so the program that reads a
// session must register the type too (a program that does not still gets
// the value through GetAs, and saves it back unchanged; see CBOR). Register
// also calls gob.Register, which the Gob codec needs for every type held
// in a session value; as gob sees pointers through, with Gob the first of
// T and *T to be registered is the one decoded.
//
// Register is meant to be called from init functions, before sessions are
// decoded, but is safe for concurrent use. Registering a type again does
// nothing; registering two different types with the same name (two local
// types of one package, say) panics, as does registering nil.
func Register(v any) {
	if v == nil {
		panic("session: Register(nil)")
	}
	registerType(v)
}

// typeRegistry maps registered types to their names and back. It is never
// changed once published: Register installs a modified copy, so that the
// lookups made on every encode and decode take no lock.
type typeRegistry struct {
	names map[reflect.Type]string
	types map[string]reflect.Type
	// gobBases holds the types registered with gob, pointers removed:
	// gob panics on registering both T and *T, which are two types here.
	gobBases map[reflect.Type]bool
}

var (
	registryMu sync.Mutex // serializes Register calls
	// registry is set up by its initializer, not by an init function, so
	// that it is ready for package-level variables and init functions of
	// any file that call Register.
	registry = newRegistry()
)

func newRegistry() *atomic.Pointer[typeRegistry] {
	r := &typeRegistry{
		names:    map[reflect.Type]string{},
		types:    map[string]reflect.Type{},
		gobBases: map[reflect.Type]bool{},
	}
	// The basic types that the CBOR envelope has no tag of its own for:
	// they are rare enough in sessions to take the typed form, named.
	// Gob knows them already.
	for _, v := range []any{
		int8(0), int16(0), int32(0),
		uint(0), uint8(0), uint16(0), uint32(0),
		float32(0), time.Duration(0),
	} {
		t := reflect.TypeOf(v)
		r.names[t] = typeName(t)
		r.types[typeName(t)] = t
	}
	p := new(atomic.Pointer[typeRegistry])
	p.Store(r)
	return p
}

// registerType records v's type, and registers it with gob unless gob
// knows it already. Both happen under registryMu, gob first: a Register
// that finds the type recorded returns at once, and the type must by then
// be usable with every codec. (If gob panics, nothing is recorded.)
func registerType(v any) {
	t := reflect.TypeOf(v)
	name := typeName(t)
	registryMu.Lock()
	defer registryMu.Unlock()
	old := registry.Load()
	base := t
	for base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	if prev, ok := old.types[name]; ok {
		if prev != t {
			panic(fmt.Sprintf("session: Register: types %v and %v have the same name %q", prev, t, name))
		}
		return
	}
	if !old.gobBases[base] {
		gob.Register(v)
	}
	next := &typeRegistry{
		names:    maps.Clone(old.names),
		types:    maps.Clone(old.types),
		gobBases: maps.Clone(old.gobBases),
	}
	next.names[t] = name
	next.types[name] = t
	next.gobBases[base] = true
	registry.Store(next)
}

// typeName names t as gob does: package path and type name for a named
// type, with a star per pointer, and t.String() for the others.
func typeName(t reflect.Type) string {
	if t.Name() == "" && t.Kind() == reflect.Pointer {
		return "*" + typeName(t.Elem())
	}
	if t.Name() != "" && t.PkgPath() != "" {
		return t.PkgPath() + "." + t.Name()
	}
	return t.String()
}

// registeredName returns the name t was registered under, or "".
func registeredName(t reflect.Type) string {
	return registry.Load().names[t]
}

// registeredType returns the type registered under name, or nil.
func registeredType(name string) reflect.Type {
	return registry.Load().types[name]
}
