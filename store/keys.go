package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Key space. Every key starts with one byte naming its table:
//
//	R<id>                    head (seq, datestamp, hash, flags, origin, sets)
//	V<seq:8>                 the record's JSON document at that version
//	D<seq:8>                 entry: the OAI view of the record's current version
//	S<set>\x00<seq:8>        set index (every set and all its ancestors)
//	O<origin>\x00<seq:8>     origin index
//	C<seq:8>                 change log, append-only: record id
//	T<unix:8>                first seq stored at that second (datestamp index)
//	N<scope>\x00<block:8>    live entries per 4096 seqs per scope (merge: add)
//	P<id>\x00<prefix>        original payload
//	M<name>                  node state (token key, checkpoints, ...)
//
// Datestamps are assigned with the seq under one lock and never decrease, so
// seq order is datestamp order; D, V, S and O are keyed by seq alone and the
// small T table turns a from/until datestamp into a seq. Each write deletes
// the previous version's D, V, S and O entries in the same batch, so those
// tables hold exactly one entry per record. The bulky values (documents,
// renditions) are keyed by seq, so new ones always append at the end of
// their table and compactions move them instead of rewriting them; only
// the small heads are keyed by record id, in random order.
const (
	tableHead    = 'R'
	tableEntry   = 'D'
	tableDoc     = 'V'
	tableSet     = 'S'
	tableOrigin  = 'O'
	tableChange  = 'C'
	tableTime    = 'T'
	tableCount   = 'N'
	tablePayload = 'P'
	tableMeta    = 'M'
)

// blockShift sets the size of a counting block: 4096 seqs. Count sums block
// counters and scans at most two partial blocks.
const blockShift = 12

func headKey(id string) []byte { return append([]byte{tableHead}, id...) }

func seqKey(table byte, seq uint64) []byte {
	k := make([]byte, 9)
	k[0] = table
	binary.BigEndian.PutUint64(k[1:], seq)
	return k
}

func entryKey(seq uint64) []byte  { return seqKey(tableEntry, seq) }
func docKey(seq uint64) []byte    { return seqKey(tableDoc, seq) }
func changeKey(seq uint64) []byte { return seqKey(tableChange, seq) }

func timeKey(unix int64) []byte { return seqKey(tableTime, uint64(unix)) }

// scopedKey builds S<name>\x00<seq> and O<name>\x00<seq> keys; seq 0 with
// the prefix alone is the start of the scope.
func scopedKey(table byte, name string, seq uint64) []byte {
	k := make([]byte, 0, len(name)+10)
	k = append(k, table)
	k = append(k, name...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

func countKey(scope string, block uint64) []byte { return scopedKey(tableCount, scope, block) }

func payloadKey(id, prefix string) []byte {
	k := make([]byte, 0, len(id)+len(prefix)+2)
	k = append(k, tablePayload)
	k = append(k, id...)
	k = append(k, 0)
	return append(k, prefix...)
}

func metaKey(name string) []byte { return append([]byte{tableMeta}, name...) }

// prefixEnd returns the first key after every key that starts with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// head is the fixed-size part of an R value.
type head struct {
	seq       uint64
	datestamp int64 // unix seconds
	hash      [16]byte
	deleted   bool
	// legacyHash: hash is the SHA-256 content hash of a head written
	// before the XXH3 one (headLegacy); see contentHash.
	legacyHash bool
}

const headSize = 1 + 8 + 8 + 16 + 1

// codecVersion is the first byte of entries, and of heads written before
// the content hash became XXH3 (headLegacy). headVersion heads hold XXH3.
const (
	codecVersion = 1
	headLegacy   = 1
	headVersion  = 2
)

func (h head) append(b []byte) []byte {
	v := byte(headVersion)
	if h.legacyHash {
		v = headLegacy
	}
	b = append(b, v)
	b = binary.BigEndian.AppendUint64(b, h.seq)
	b = binary.BigEndian.AppendUint64(b, uint64(h.datestamp))
	b = append(b, h.hash[:]...)
	if h.deleted {
		return append(b, 1)
	}
	return append(b, 0)
}

var errCorrupt = errors.New("corrupt value")

func decodeHead(v []byte) (head, []byte, error) {
	if len(v) < headSize || v[0] != headVersion && v[0] != headLegacy {
		return head{}, nil, fmt.Errorf("record head: %w (%d bytes)", errCorrupt, len(v))
	}
	h := head{legacyHash: v[0] == headLegacy}
	h.seq = binary.BigEndian.Uint64(v[1:])
	h.datestamp = int64(binary.BigEndian.Uint64(v[9:]))
	copy(h.hash[:], v[17:33])
	h.deleted = v[33] == 1
	return h, v[headSize:], nil
}

// Entry is the OAI view of one record version, as a Scan yields it: what a
// provider needs to write a header, plus the renditions made at write time.
// Its slices point into the iterator's buffers and are valid until the next
// call to Next; copy what must outlive it.
type Entry struct {
	Seq       uint64
	Datestamp time.Time
	ID        string
	Deleted   bool
	Origin    string
	// Sets are the record's leaf set memberships, for OAI headers.
	Sets       []string
	renditions []rendition
}

type rendition struct {
	name string
	data []byte
}

// Rendition returns the bytes the configured Render function made for the
// named format when the record was stored, or nil.
func (e *Entry) Rendition(name string) []byte {
	for _, r := range e.renditions {
		if r.name == name {
			return r.data
		}
	}
	return nil
}

// RenditionNames lists the formats rendered for this entry.
func (e *Entry) RenditionNames() []string {
	names := make([]string, len(e.renditions))
	for i, r := range e.renditions {
		names[i] = r.name
	}
	return names
}

// entry value: version, flags, datestamp, id, origin, sets, renditions.
func appendEntry(b []byte, datestamp int64, id string, deleted bool, origin string, sets []string, rs []rendition) []byte {
	b = append(b, codecVersion)
	if deleted {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(datestamp))
	b = appendString(b, id)
	b = appendString(b, origin)
	b = binary.AppendUvarint(b, uint64(len(sets)))
	for _, s := range sets {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(rs)))
	for _, r := range rs {
		b = appendString(b, r.name)
		b = binary.AppendUvarint(b, uint64(len(r.data)))
		b = append(b, r.data...)
	}
	return b
}

// entrySize is the length of the entry appendEntry writes.
func entrySize(id, origin string, sets []string, rs []rendition) int {
	n := 10 + stringSize(id) + stringSize(origin) + uvarintSize(len(sets)) + uvarintSize(len(rs))
	for _, s := range sets {
		n += stringSize(s)
	}
	for _, r := range rs {
		n += stringSize(r.name) + uvarintSize(len(r.data)) + len(r.data)
	}
	return n
}

func stringSize(s string) int { return uvarintSize(len(s)) + len(s) }

func uvarintSize(n int) int {
	size := 1
	for ; n >= 0x80; n >>= 7 {
		size++
	}
	return size
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeEntry fills e from an entry value. Strings are converted once per
// entry; the rendition bytes alias v.
func decodeEntry(e *Entry, seq uint64, v []byte) error {
	if len(v) < 10 || v[0] != codecVersion {
		return fmt.Errorf("entry %d: %w", seq, errCorrupt)
	}
	e.Seq = seq
	e.Deleted = v[1] == 1
	e.Datestamp = time.Unix(int64(binary.BigEndian.Uint64(v[2:])), 0).UTC()
	rest := v[10:]
	var ok bool
	var b []byte
	if b, rest, ok = readBytes(rest); !ok {
		return fmt.Errorf("entry %d id: %w", seq, errCorrupt)
	}
	e.ID = string(b)
	if b, rest, ok = readBytes(rest); !ok {
		return fmt.Errorf("entry %d origin: %w", seq, errCorrupt)
	}
	e.Origin = string(b)
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)) {
		return fmt.Errorf("entry %d sets: %w", seq, errCorrupt)
	}
	rest = rest[k:]
	e.Sets = e.Sets[:0]
	for i := uint64(0); i < n; i++ {
		if b, rest, ok = readBytes(rest); !ok {
			return fmt.Errorf("entry %d set: %w", seq, errCorrupt)
		}
		e.Sets = append(e.Sets, string(b))
	}
	n, k = binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)) {
		return fmt.Errorf("entry %d renditions: %w", seq, errCorrupt)
	}
	rest = rest[k:]
	e.renditions = e.renditions[:0]
	for i := uint64(0); i < n; i++ {
		var name, data []byte
		if name, rest, ok = readBytes(rest); !ok {
			return fmt.Errorf("entry %d rendition name: %w", seq, errCorrupt)
		}
		if data, rest, ok = readBytes(rest); !ok {
			return fmt.Errorf("entry %d rendition %q: %w", seq, name, errCorrupt)
		}
		e.renditions = append(e.renditions, rendition{name: internName(name), data: data})
	}
	return nil
}

// internName avoids an allocation per entry for the few format names a node
// renders.
func internName(b []byte) string {
	switch string(b) {
	case "oai_dc":
		return "oai_dc"
	case "oai_datacite":
		return "oai_datacite"
	}
	return string(b)
}

func readBytes(b []byte) (val, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	return b[k : k+int(n)], b[k+int(n):], true
}
