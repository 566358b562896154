package session

import (
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// The values of a session: reading, typed getters, writing, flashes.

// Get returns the value stored under key, or nil. A struct value of a type
// the codec could not restore (see Register) comes back in its generic
// form, at the top level or inside an []any or a map[string]any; GetAs
// returns a top-level one in its own type.
func (s *Session) Get(key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return generic(s.values[key])
}

// generic returns v as the user is to see it: with every Raw, v itself or
// one nested in []any and map[string]any, replaced by its generic form. A
// Raw is of no use to the user, who cannot tell its type, while the
// session must keep it, so that a value nobody read is saved unchanged:
// the containers holding one are copied, and only those, so that reading
// a value that holds no Raw costs no allocation.
func generic(v any) any {
	if g, ok := withoutRaws(v, 1); ok {
		return g
	}
	return v
}

// withoutRaws returns v with its Raw values replaced by their generic
// forms, and true, or false if v holds none. depth counts as CBOR's Encode
// does: CBOR, the only codec that nests Raws, decodes no container nested
// deeper than cborMaxDepth, so there is no Raw to find below, and
// stopping there bounds the walk of a cyclic value that the user put.
func withoutRaws(v any, depth int) (any, bool) {
	switch x := v.(type) {
	case []any:
		if depth >= cborMaxDepth {
			return nil, false
		}
		var out []any
		for i, item := range x {
			if g, ok := withoutRaws(item, depth+1); ok {
				if out == nil {
					out = slices.Clone(x)
				}
				out[i] = g
			}
		}
		return out, out != nil
	case map[string]any:
		if depth >= cborMaxDepth {
			return nil, false
		}
		var out map[string]any
		for k, item := range x {
			if g, ok := withoutRaws(item, depth+1); ok {
				if out == nil {
					out = maps.Clone(x)
				}
				out[k] = g
			}
		}
		return out, out != nil
	case Raw:
		return x.Value(), true
	}
	return nil, false
}

// GetString returns the string stored under key, or "" if there is none or
// the value is not a string.
func (s *Session) GetString(key string) string {
	v, _ := s.Get(key).(string)
	return v
}

// GetBool returns the bool stored under key, or false.
func (s *Session) GetBool(key string) bool {
	v, _ := s.Get(key).(bool)
	return v
}

// GetInt returns the integer stored under key, or 0. Any integer type is
// accepted, and so is a float64 with no fractional part (what a JSON codec
// gives back for numbers), as long as the value fits in an int: one that
// does not also gives 0, rather than a wrapped-around number.
func (s *Session) GetInt(key string) int {
	switch v := s.Get(key).(type) {
	case int:
		return v
	case int8:
		return int(v)
	case int16:
		return int(v)
	case int32:
		return int(v)
	case int64:
		if int64(int(v)) == v { // false only where int has 32 bits
			return int(v)
		}
	case uint:
		if v <= math.MaxInt {
			return int(v)
		}
	case uint8:
		return int(v)
	case uint16:
		return int(v)
	case uint32:
		if uint64(v) <= math.MaxInt {
			return int(v)
		}
	case uint64:
		if v <= math.MaxInt {
			return int(v)
		}
	case float64:
		// The range is checked before converting: out of range, the
		// conversion's result depends on the processor, and where it
		// saturates, float64(int(v)) == v would take 2⁶³ for a fit.
		// -math.MinInt (2⁶³, or 2³¹) is exact in a float64, unlike
		// MaxInt on 64 bits.
		if v >= math.MinInt && v < -math.MinInt && v == math.Trunc(v) {
			return int(v)
		}
	}
	return 0
}

// GetTime returns the time stored under key, or the zero time. A string in
// RFC 3339 form (what a JSON codec gives back) is parsed.
func (s *Session) GetTime(key string) time.Time {
	switch v := s.Get(key).(type) {
	case time.Time:
		return v
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err == nil {
			return t
		}
	}
	return time.Time{}
}

// Put stores v under key, replacing any value there. v must be something
// the Manager's codec can encode; with the default codec that is any value
// made of the basic types, slices, maps and structs with exported fields.
// Keys starting with a NUL byte are reserved.
func (s *Session) Put(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	s.values[key] = v
	s.mark(key)
	s.lateChange("Put")
}

// Delete removes key. Deleting a missing key is a no-op.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if _, ok := s.values[key]; ok {
		delete(s.values, key)
		s.mark(key)
		s.lateChange("Delete")
	}
}

// Has reports whether key holds a value.
func (s *Session) Has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	_, ok := s.values[key]
	return ok
}

// Keys returns the keys holding values, sorted.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		if !strings.HasPrefix(k, "\x00") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Clear removes every value, pending flashes included, but keeps the
// session itself: its ID, creation time and owner. To end a session, use
// Destroy.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if len(s.values) > 0 {
		s.values = map[string]any{}
		s.cleared = true
		s.lateChange("Clear")
	}
}

// Pop returns the value stored under key and removes it, in one step.
func (s *Session) Pop(key string) any { return generic(s.pop("Pop", key)) }

// pop removes key and returns its value as stored; op names the caller
// in the report of a change after the response began.
func (s *Session) pop(op, key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	v, ok := s.values[key]
	if ok {
		delete(s.values, key)
		s.mark(key)
		s.lateChange(op)
	}
	return v
}

// AddFlash queues a one-time message, returned by the next call to Flashes
// (typically on the next request).
func (s *Session) AddFlash(v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	queued := s.values[flashKey]
	// A codec that defers decoding (JSON) holds the queue as a Raw. Only
	// that is looked through: the queue's items stay as decoded, so that a
	// CBOR Raw among them is saved back unchanged.
	if r, ok := queued.(Raw); ok {
		queued = r.Value()
	}
	flashes, _ := queued.([]any)
	s.values[flashKey] = append(flashes, v)
	s.mark(flashKey)
	s.lateChange("AddFlash")
}

// Flashes returns the queued flash messages, oldest first, and removes
// them: each is seen once. A message of a type the codec could not
// restore (see Register) comes back in its generic form, as from Get.
func (s *Session) Flashes() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	v, ok := s.values[flashKey]
	if !ok {
		return nil
	}
	delete(s.values, flashKey)
	s.mark(flashKey)
	s.lateChange("Flashes")
	flashes, _ := generic(v).([]any)
	return flashes
}
