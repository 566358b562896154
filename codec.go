package session

// Codec turns a session's values into bytes and back. Stores never see the
// values, only these bytes (Record.Data).
//
// The default codec, CBOR, keeps every value's Go type: string, bool, int,
// int64, float64, []byte, time.Time, []string, []any, map[string]any and
// nested combinations come back exactly as they were put. JSON and Gob are
// provided for interoperability and comparison; see docs/codec.md for the
// measurements behind the default.
type Codec interface {
	// Encode encodes values. It must accept every value a Decode of the
	// same codec produced, including Raw values.
	Encode(values map[string]any) ([]byte, error)

	// Decode decodes data produced by Encode. Values whose Go type the codec
	// cannot restore by itself (a user's struct that was not registered) may
	// be returned as Raw.
	Decode(data []byte) (map[string]any, error)
}

// Raw is a decoded value whose Go type the codec could not restore on its
// own, typically a user's struct type that was not registered with
// Register. Session.Get returns its generic form (Value), and GetAs and
// PopAs decode it into the type asked for, so a struct always comes back
// into its own type through GetAs. Nested in an []any or a map[string]any
// (only CBOR puts one there), it is given back in its generic form by
// Get, Pop, Flashes, GetAs and PopAs alike.
type Raw interface {
	// Value returns the value in its generic form: map[string]any for a
	// struct, for example.
	Value() any

	// DecodeInto decodes the value into the value ptr points to.
	DecodeInto(ptr any) error
}
