package session

import (
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"
)

// typicalSession is what a logged-in user's session of a shop holds.
func typicalSession() map[string]any {
	token := make([]byte, 32)
	_, _ = rand.Read(token)
	cart := make([]any, 5)
	for i := range cart {
		cart[i] = map[string]any{"sku": "SKU-" + string(rune('A'+i)) + "1042", "qty": i + 1}
	}
	return map[string]any{
		"user_id":    48213,
		"name":       "Ada Lovelace",
		"role":       "admin",
		"csrf":       base64.StdEncoding.EncodeToString(token),
		"last_login": time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.FixedZone("", 3600)),
		"cart":       cart,
		"theme":      "dark",
	}
}

// BenchmarkCodec measures each codec on typicalSession. decode+get also
// reads every value as Session.Get does, which is where JSON does the
// work its Decode defers.
func BenchmarkCodec(b *testing.B) {
	values := typicalSession()
	for _, c := range []struct {
		name  string
		codec Codec
	}{{"cbor", CBOR}, {"json", JSON}, {"gob", Gob}} {
		data, err := c.codec.Encode(values)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/encode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.codec.Encode(values); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data)), "bytes")
		})
		b.Run(c.name+"/decode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.codec.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data)), "bytes")
		})
		b.Run(c.name+"/decode+get", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				decoded, err := c.codec.Decode(data)
				if err != nil {
					b.Fatal(err)
				}
				for _, v := range decoded {
					_ = generic(v)
				}
			}
			b.ReportMetric(float64(len(data)), "bytes")
		})
	}
}
