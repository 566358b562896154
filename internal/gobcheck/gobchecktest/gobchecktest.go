// Package gobchecktest helps tests show what gobcheck guards against:
// gob streams that declare more than they hold, and how much decoding
// them allocates.
package gobchecktest

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"runtime"
)

// Marker is the string Declare looks for: put map[string]any{Marker: 1},
// []string{Marker} or [1]string{Marker} somewhere in the value.
const Marker = "gobchecktest: this container declares another size"

// Declare returns the gob encoding of v in which the containers that
// directly precede the string Marker declare counts instead of one
// element each: with one count, the map, slice or array holding Marker
// (as its only key or element); with two, also the slice or array holding
// that one as its only element, and so on. The stream keeps its length,
// so every message count stays right: only the containers' counts lie,
// as in a stream forged by someone who can sign or store one. v must be
// encodable by gob (its types registered).
func Declare(v any, counts ...uint64) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	old := append(append(bytes.Repeat([]byte{1}, len(counts)), byte(len(Marker))), Marker...)
	i := bytes.Index(data, old)
	if i < 0 || bytes.Count(data, old) != 1 {
		return nil, fmt.Errorf("gobchecktest: the encoding of %T does not hold Marker in %d nested single-element containers", v, len(counts))
	}
	var repl []byte
	for _, n := range counts {
		repl = AppendUint(repl, n)
	}
	keyLen := len(old) - len(repl) - 1
	if keyLen < 0 {
		return nil, fmt.Errorf("gobchecktest: the counts take more room than Marker")
	}
	repl = append(append(repl, byte(keyLen)), Marker[:keyLen]...)
	copy(data[i:], repl)
	return data, nil
}

// AppendUint appends x in gob's encoding of unsigned integers: one byte
// below 128, else the negated byte count and the big-endian bytes.
func AppendUint(b []byte, x uint64) []byte {
	if x < 128 {
		return append(b, byte(x))
	}
	var be []byte
	for ; x > 0; x >>= 8 {
		be = append([]byte{byte(x)}, be...)
	}
	return append(append(b, byte(-len(be))), be...)
}

// Allocated returns how many bytes f allocates on the heap (all
// goroutines together: run it where nothing else runs).
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
