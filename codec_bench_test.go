package session

import (
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"
)

// typicalSession is what a logged-in user's session of a shop holds: the
// same keys and values as the typical session of the bench module, so that
// docs/codec.md and docs/performance.md report the same sizes.
func typicalSession() map[string]any {
	csrf := make([]byte, 32)
	_, _ = rand.Read(csrf)
	return map[string]any{
		"user_id":    4217,
		"name":       "Ada Lovelace",
		"role":       "admin",
		"csrf_token": base64.StdEncoding.EncodeToString(csrf),
		"last_login": time.Date(2025, time.November, 24, 18, 30, 15, 123456789, time.UTC),
		"cart":       []string{"SKU-000123", "SKU-004217", "SKU-010001", "SKU-000042", "SKU-123456"},
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
