package cookiesession

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/go-sealed/session"
)

// benchRecord is a typical session: ID, user, and 300 bytes of values.
func benchRecord() *session.Record {
	r := testRecord()
	r.Data = bytes.Repeat([]byte("session-values-"), 20) // 300 bytes
	return r
}

func BenchmarkSeal(b *testing.B) {
	s := newStore(b, seqKey(1))
	rec := benchRecord()
	b.SetBytes(int64(len(rec.Data)))
	b.ReportAllocs()
	var tok string
	for b.Loop() {
		tok, _ = s.Save(ctx, "", rec)
	}
	b.ReportMetric(float64(len(tok)), "token-chars")
}

func BenchmarkOpen(b *testing.B) {
	s := newStore(b, seqKey(1))
	rec := benchRecord()
	tok := mustSave(b, s, rec)
	b.SetBytes(int64(len(rec.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if r, _ := s.Load(ctx, tok); r == nil {
			b.Fatal("token did not open")
		}
	}
}

// BenchmarkOpenForged measures the cost of rejecting a forged token of the
// same size: the key ID matches, so it is a full AEAD attempt.
func BenchmarkOpenForged(b *testing.B) {
	s := newStore(b, seqKey(1))
	raw, _ := base64.RawURLEncoding.DecodeString(mustSave(b, s, benchRecord()))
	raw[len(raw)/2] ^= 1 // in the ciphertext
	forged := base64.RawURLEncoding.EncodeToString(raw)
	b.ReportAllocs()
	for b.Loop() {
		if r, _ := s.Load(ctx, forged); r != nil {
			b.Fatal("forged token opened")
		}
	}
}
