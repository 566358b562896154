package session

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"strings"
	"time"
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
// descriptions) and slower to produce; see docs/codec.md. encoding/gob is
// not hardened against hostile input, so use Gob only with stores whose
// data clients cannot forge: sealed cookies or server-side stores.
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
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(values); err != nil {
		return nil, blameKey("gob", values, gobError(err), func(v any) error {
			return gobError(gob.NewEncoder(&bytes.Buffer{}).Encode(map[string]any{"": v}))
		})
	}
	return buf.Bytes(), nil
}

func (gobCodec) Decode(data []byte) (map[string]any, error) {
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
