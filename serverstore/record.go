package serverstore

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	session "github.com/go-sealed/session"
)

// The serialized record (Entry.Data), version 2:
//
//	byte     version, 2
//	byte     flags: bit 0 Persistent, bit 1 Deadline, bit 2 sealed;
//	         the other bits must be 0
//	varint   Created, Unix seconds     uvarint  its nanoseconds, < 1e9
//	varint   Touched, Unix seconds     uvarint  its nanoseconds, < 1e9
//	varint   Expires, Unix seconds     uvarint  its nanoseconds, < 1e9
//	varint   Deadline, Unix seconds    uvarint  its nanoseconds (if bit 1)
//	uvarint  len(ID)       ID bytes
//	uvarint  len(UserID)   UserID bytes
//
// then, if sealed (bit 2), a 24-byte nonce and the rest of the entry: Data
// sealed with XChaCha20-Poly1305 under the token's seal key (see secret),
// with every byte before the nonce as additional data; if not, uvarint
// len(Data) and Data, and nothing after. Version 1 is the same without
// bit 2: records written before sealing still load, and a save writes
// version 2.
//
// What stays readable by design is the header: the times, the ID and the
// user tag, so that expiry, ListUser, All and DestroyUser work without any
// token; the header is authenticated with the data, so a record whose
// header was changed does not open either. Varints are encoding/binary's.
// Every length is checked against what is left and trailing bytes are
// refused, so a truncated or corrupted entry is rejected as a whole, never
// half read. Times come back in UTC, without a monotonic reading.
// Record.Reissue is not stored: it is a hint from Load for one response,
// not session state. A reader that meets a version it does not know
// treats the entry as absent: after a downgrade, sessions written by a
// newer version start over rather than being misread.

const (
	recordV1       = 1
	recordVersion  = 2
	flagPersistent = 1 << 0
	flagDeadline   = 1 << 1
	flagSealed     = 1 << 2
	knownFlags     = flagPersistent | flagDeadline | flagSealed

	nonceLen = chacha20poly1305.NonceSizeX
	tagLen   = chacha20poly1305.Overhead
)

var (
	errCorrupt = errors.New("serverstore: corrupt session record")
	// errUnsealed is a sealed record that does not open under the token's
	// key: tampered with, or copied from under another token.
	errUnsealed = errors.New("serverstore: session record does not open under its token")
)

// encodeRecord serializes rec, sealing its Data under sec's key if sec is
// not nil.
func encodeRecord(rec *session.Record, sec *secret) []byte {
	size := 2 + 4*(binary.MaxVarintLen64+5) +
		3*binary.MaxVarintLen64 + len(rec.ID) + len(rec.UserID) + nonceLen + len(rec.Data) + tagLen
	b := make([]byte, 0, size)
	var flags byte
	if rec.Persistent {
		flags |= flagPersistent
	}
	if sec != nil {
		flags |= flagSealed
	}
	times := []time.Time{rec.Created, rec.Touched, rec.Expires, rec.Deadline}
	if rec.Deadline.IsZero() {
		times = times[:3]
	} else {
		flags |= flagDeadline
	}
	b = append(b, recordVersion, flags)
	for _, t := range times {
		b = binary.AppendVarint(b, t.Unix())
		b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	}
	for _, s := range [...]string{rec.ID, rec.UserID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if sec == nil {
		b = binary.AppendUvarint(b, uint64(len(rec.Data)))
		return append(b, rec.Data...)
	}
	header := len(b)
	b = b[:header+nonceLen]
	nonce := b[header:]
	_, _ = rand.Read(nonce) // never fails since Go 1.24; it crashes the program instead
	return sec.aead().Seal(b, nonce, rec.Data, b[:header])
}

// sealed reports whether the record data holds has its data sealed.
func sealed(data []byte) bool {
	return len(data) >= 2 && data[0] == recordVersion && data[1]&flagSealed != 0
}

// decodeRecord parses what encodeRecord made, opening sealed Data with
// sec's key; sec nil parses the header alone, leaving Data nil. The
// returned record's Data shares b's memory when it was not sealed; callers
// pass bytes they own.
func decodeRecord(b []byte, sec *secret) (*session.Record, error) {
	d := decoder{b: b}
	version := d.byte()
	flags := d.byte()
	if version == recordV1 && flags&flagSealed != 0 || version != recordV1 && version != recordVersion || flags&^knownFlags != 0 {
		return nil, errCorrupt
	}
	rec := &session.Record{Persistent: flags&flagPersistent != 0}
	rec.Created = d.time()
	rec.Touched = d.time()
	rec.Expires = d.time()
	if flags&flagDeadline != 0 {
		rec.Deadline = d.time()
	}
	rec.ID = string(d.bytes())
	rec.UserID = string(d.bytes())
	if d.bad {
		return nil, errCorrupt
	}
	if flags&flagSealed == 0 {
		if rec.Data = d.bytes(); d.bad || len(d.b) != 0 {
			return nil, errCorrupt
		}
		return rec, nil
	}
	if len(d.b) < nonceLen+tagLen {
		return nil, errCorrupt
	}
	if sec == nil {
		return rec, nil // the header is all the caller wants
	}
	header := b[:len(b)-len(d.b)]
	nonce, sealed := d.b[:nonceLen], d.b[nonceLen:]
	data, err := sec.aead().Open(nil, nonce, sealed, header)
	if err != nil {
		return nil, errUnsealed
	}
	rec.Data = data
	return rec, nil
}

// decoder reads the fields of a record. Its first failure sets bad and
// empties b, so the reads after it are harmless and return zero values;
// the caller checks bad once at the end.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) fail() {
	d.bad, d.b = true, nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) time() time.Time {
	sec, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return time.Time{}
	}
	d.b = d.b[n:]
	nsec := d.uvarint()
	if nsec >= uint64(time.Second) {
		d.fail()
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}
