package session

import "context"

// GetAs returns the value stored under key as a T. It returns the zero T and
// false when the key is missing or holds a value of another type; it never
// panics. A struct the codec could not restore by itself (see Register) is
// decoded into T here; inside an []any or a map[string]any, it is in its
// generic form, as Get gives it.
func GetAs[T any](s *Session, key string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return as[T](s.values[key])
}

// PopAs is GetAs that also removes the key, whatever its value's type.
func PopAs[T any](s *Session, key string) (T, bool) {
	return as[T](s.pop("PopAs", key))
}

func as[T any](v any) (T, bool) {
	if r, ok := v.(Raw); ok {
		return decodeRaw[T](r)
	}
	t, ok := generic(v).(T)
	return t, ok
}

// decodeRaw is as's slow path, kept apart because its t escapes (through
// DecodeInto's pointer): declared in as, t would be allocated on the heap
// on every call, even when v is already a T.
func decodeRaw[T any](r Raw) (T, bool) {
	var t T
	if err := r.DecodeInto(&t); err != nil {
		var zero T // DecodeInto may have filled t in part
		return zero, false
	}
	return t, true
}

// contextKey is the context key under which Handler stores the request's
// innermost *Session.
type contextKey struct{}

// FromContext returns the session of the request that ctx belongs to, for
// code that has only the context. Outside Manager.Handler it returns nil.
// With several Managers nested on one request it returns the innermost
// one's session; use Manager.Get to pick one.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(contextKey{}).(*Session)
	return s
}
