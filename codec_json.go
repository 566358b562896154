package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// JSON is a Codec that stores the values as one JSON object, with
// encoding/json, for payloads other programs must read.
//
// JSON does not keep Go types. Decode returns every value as a Raw: Get
// gives its generic JSON decoding, in which numbers are float64, times
// are RFC 3339 strings, byte slices are base64 strings and structs are
// map[string]any; GetAs decodes the JSON into the type asked for, so
// GetAs[int], GetAs[time.Time] or GetAs[Cart] give back what was put.
// Values must be something encoding/json can encode; Register is not
// needed.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

// jsonRaw is one top-level value as it was read. It is decoded on use,
// which also makes Decode cheap for the values a request does not read.
type jsonRaw json.RawMessage

func (r jsonRaw) Value() any {
	var v any
	if json.Unmarshal(r, &v) != nil {
		return nil // Decode checked r: not reached
	}
	return v
}

func (r jsonRaw) DecodeInto(ptr any) error {
	if err := json.Unmarshal(r, ptr); err != nil {
		return fmt.Errorf("session: json: %w", err)
	}
	return nil
}

// MarshalJSON writes the value out as it was read.
func (r jsonRaw) MarshalJSON() ([]byte, error) { return r, nil }

var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (jsonCodec) Encode(values map[string]any) ([]byte, error) {
	values = genericForeignRaws(values, func(r Raw) bool { _, ok := r.(jsonRaw); return ok })
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer jsonBuffers.Put(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	// Escaping <, > and & serves JSON embedded in HTML, which a session is
	// not, and would cost 5 bytes each in a cookie.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(values); err != nil {
		return nil, blameKey("json", values, err, func(v any) error {
			_, err := json.Marshal(v)
			return err
		})
	}
	return bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

func (jsonCodec) Decode(data []byte) (map[string]any, error) {
	var raws map[string]json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, fmt.Errorf("session: json: %w", err)
	}
	if raws == nil {
		return nil, errors.New("session: json: null instead of an object")
	}
	values := make(map[string]any, len(raws))
	for k, r := range raws {
		values[k] = jsonRaw(r)
	}
	return values, nil
}

// genericForeignRaws returns values with each Raw that own does not claim
// replaced by its generic form: a Raw from another codec, met when a
// session changes codec, cannot be carried over any better. values itself
// is returned, not a copy, when it holds no such Raw. Only the top level
// is searched: Raw values appear nowhere else.
func genericForeignRaws(values map[string]any, own func(Raw) bool) map[string]any {
	var out map[string]any
	for k, v := range values {
		if r, ok := v.(Raw); ok && !own(r) {
			if out == nil {
				out = maps.Clone(values)
			}
			out[k] = r.Value()
		}
	}
	if out == nil {
		return values
	}
	return out
}

// blameKey turns the error err of encoding values with a codec named name
// into one that names the key at fault, found by encoding each value
// alone with encode. The search only runs once encoding has failed.
func blameKey(name string, values map[string]any, err error, encode func(any) error) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if kerr := encode(values[k]); kerr != nil {
			return fmt.Errorf("session: %s: cannot encode key %q: %w", name, k, kerr)
		}
	}
	return fmt.Errorf("session: %s: %w", name, err)
}
