package serverstore

import (
	"encoding/binary"
	"errors"
	"time"

	session "github.com/go-sealed/session"
)

// The serialized record (Entry.Data), version 1:
//
//	byte     version, 1
//	byte     flags: bit 0 Persistent, bit 1 Deadline; the other bits must be 0
//	varint   Created, Unix seconds     uvarint  its nanoseconds, < 1e9
//	varint   Touched, Unix seconds     uvarint  its nanoseconds, < 1e9
//	varint   Expires, Unix seconds     uvarint  its nanoseconds, < 1e9
//	varint   Deadline, Unix seconds    uvarint  its nanoseconds (if bit 1)
//	uvarint  len(ID)       ID bytes
//	uvarint  len(UserID)   UserID bytes
//	uvarint  len(Data)     Data bytes
//
// and nothing after. Varints are encoding/binary's. Every length is
// checked against what is left and trailing bytes are refused, so a
// truncated or corrupted entry is rejected as a whole, never half read.
// Times come back in UTC, without a monotonic reading. Record.Reissue is
// not stored: it is a hint from Load for one response, not session state.
//
// A typical record costs 30-odd bytes of framing around its ID, UserID
// and Data. A reader that meets a version it does not know treats the
// entry as absent: after a downgrade, sessions written by a newer version
// start over rather than being misread.

const (
	recordVersion  = 1
	flagPersistent = 1 << 0
	flagDeadline   = 1 << 1
	knownFlags     = flagPersistent | flagDeadline
)

var errCorrupt = errors.New("serverstore: corrupt session record")

func encodeRecord(rec *session.Record) []byte {
	size := 2 + 4*(binary.MaxVarintLen64+5) +
		3*binary.MaxVarintLen64 + len(rec.ID) + len(rec.UserID) + len(rec.Data)
	b := make([]byte, 0, size)
	var flags byte
	if rec.Persistent {
		flags |= flagPersistent
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
	b = binary.AppendUvarint(b, uint64(len(rec.Data)))
	return append(b, rec.Data...)
}

// decodeRecord parses what encodeRecord made. The returned record's Data
// shares b's memory; callers pass bytes they own.
func decodeRecord(b []byte) (*session.Record, error) {
	d := decoder{b: b}
	if d.byte() != recordVersion {
		return nil, errCorrupt
	}
	flags := d.byte()
	if flags&^knownFlags != 0 {
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
	rec.Data = d.bytes()
	if d.bad || len(d.b) != 0 {
		return nil, errCorrupt
	}
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
