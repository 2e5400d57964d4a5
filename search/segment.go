package search

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/RoaringBitmap/roaring"
	"github.com/blugelabs/bluge/index"
	segment "github.com/blugelabs/bluge_segment_api"
	"github.com/blugelabs/ice"
)

// Segments: the index stores Bluge's "ice" segments with our columns
// appended. A segment plugin (index.SegmentPlugin, Bluge's own extension
// point) wraps ice: New builds the ice segment and the columns of the same
// documents; WriteTo writes the ice bytes, then the encoded columns, then a
// trailer; Load splits a file back; Merge lets ice merge the postings and
// merges the columns with the document numbering ice reports
// (segment.Merger.DocumentNumbers). So the columns are exact for every
// segment, persisted with it and never rebuilt by scanning. New writes
// the ice bytes itself, as ice.New would (see iceWriter).
//
// File layout: [ice segment][columns][crc32(columns) u32][len(columns) u64]
// [len(ice) u64][trailerMagic u32], integers little-endian.

// segmentType names our format in Bluge's snapshot files; a change of the
// columns encoding bumps segmentVersion (and schemaVersion, see index.go).
const (
	segmentType    = "colligo-ice"
	segmentVersion = 3
	trailerMagic   = 0xC011160A
	trailerLen     = 4 + 8 + 8 + 4
)

// columnsField is the pseudo field name under which a colSegment hands out
// its columns through DocumentValueReader, the one segment method that can
// carry them through Bluge's segment wrapper.
const columnsField = "\x00colligo.columns"

type colSegment struct {
	segment.Segment // *ice.Segment
	cols            *columns
	crc             uint32 // of cols.blob
}

// columnsReader carries a segment's columns out of DocumentValueReader.
type columnsReader struct{ cols *columns }

func (columnsReader) VisitDocumentValues(uint64, segment.DocumentValueVisitor) error { return nil }

func (s *colSegment) DocumentValueReader(fields []string) (segment.DocumentValueReader, error) {
	if len(fields) == 1 && fields[0] == columnsField {
		return columnsReader{s.cols}, nil
	}
	return s.Segment.DocumentValueReader(fields)
}

// DocsMatchingTerms returns the documents whose record id is one of
// terms: Bluge's way of finding the versions an update or a deletion
// replaces. The ids are lookup keys of the columns, not ice terms (see
// lookupSeed); each candidate's id is compared, so a hash collision
// cannot drop another record.
func (s *colSegment) DocsMatchingTerms(terms []segment.Term) (*roaring.Bitmap, error) {
	out := roaring.New()
	seed := lookupSeed(fieldID)
	for _, t := range terms {
		if t.Field() != fieldID {
			return nil, fmt.Errorf("search: documents matching a term of %q, not the id", t.Field())
		}
		id := t.Term()
		it := s.cols.lookup(lookupKey(seed, string(id))).Iterator()
		for it.HasNext() {
			if d := it.Next(); s.cols.id(d) == string(id) {
				out.Add(d)
			}
		}
	}
	return out, nil
}

func (s *colSegment) Type() string    { return segmentType }
func (s *colSegment) Version() uint32 { return segmentVersion }
func (s *colSegment) Size() int       { return s.Segment.Size() + s.cols.size() }

func (s *colSegment) WriteTo(w io.Writer, closeCh chan struct{}) (int64, error) {
	n, err := s.Segment.WriteTo(w, closeCh)
	if err != nil {
		return n, err
	}
	m, err := w.Write(s.cols.blob)
	if err != nil {
		return n + int64(m), err
	}
	k, err := writeTrailer(w, s.crc, int64(m), n)
	return n + int64(m) + k, err
}

func writeTrailer(w io.Writer, crc uint32, colLen, iceLen int64) (int64, error) {
	b := make([]byte, 0, trailerLen)
	b = binary.LittleEndian.AppendUint32(b, crc)
	b = binary.LittleEndian.AppendUint64(b, uint64(colLen))
	b = binary.LittleEndian.AppendUint64(b, uint64(iceLen))
	b = binary.LittleEndian.AppendUint32(b, trailerMagic)
	n, err := w.Write(b)
	return int64(n), err
}

// segmentOf returns the columns of a segment in a snapshot.
func columnsOf(seg segment.Segment) (*columns, error) {
	r, err := seg.DocumentValueReader([]string{columnsField})
	if err != nil {
		return nil, err
	}
	cr, ok := r.(columnsReader)
	if !ok {
		return nil, errors.New("search: segment has no columns (not a colligo segment)")
	}
	return cr.cols, nil
}

// plugin returns the segment plugin of an index whose facet values intern
// into ds.
func plugin(ds *dicts, tn *turns, g *gate) *index.SegmentPlugin {
	return &index.SegmentPlugin{
		Type:    segmentType,
		Version: segmentVersion,
		New: func(docs []segment.Document, normCalc func(string, int) float32) (segment.Segment, uint64, error) {
			rows := make(docRows, len(docs))
			for i, d := range docs {
				doc, ok := d.(*document)
				if !ok {
					return nil, 0, fmt.Errorf("search: segment of a %T", d)
				}
				rows[i] = doc
			}
			// The token is released before waiting for an earlier turn.
			release := g.enter()
			blob, crc, err := encodeColumns(rows, ds)
			if err != nil {
				release()
				return nil, 0, err
			}
			cols, err := openColumns(blob, ds)
			if err != nil {
				release()
				return nil, 0, err
			}
			seg, n, err := newIceSegment(docs, rows, normCalc)
			release()
			if err != nil {
				return nil, 0, err
			}
			cs := &colSegment{Segment: seg, cols: cols, crc: crc}
			if len(docs) > 0 {
				if err := tn.wait(docs[0].(*document).turn); err != nil {
					return nil, 0, fmt.Errorf("search: an earlier batch failed: %w", err)
				}
			}
			return cs, n, nil
		},
		Load: func(data *segment.Data) (segment.Segment, error) {
			size := data.Len()
			if size < trailerLen {
				return nil, fmt.Errorf("search: segment of %d bytes has no trailer", size)
			}
			tr, err := data.Read(size-trailerLen, size)
			if err != nil {
				return nil, err
			}
			if binary.LittleEndian.Uint32(tr[20:]) != trailerMagic {
				return nil, errors.New("search: segment trailer has a bad magic number")
			}
			crc := binary.LittleEndian.Uint32(tr[0:])
			colLen := binary.LittleEndian.Uint64(tr[4:])
			iceLen := binary.LittleEndian.Uint64(tr[12:])
			if iceLen+colLen+trailerLen != uint64(size) {
				return nil, fmt.Errorf("search: segment trailer says %d+%d bytes, file has %d", iceLen, colLen, size)
			}
			blob, err := data.Read(int(iceLen), int(iceLen+colLen))
			if err != nil {
				return nil, err
			}
			if crc32.ChecksumIEEE(blob) != crc {
				return nil, errors.New("search: segment columns fail their checksum")
			}
			cols, err := openColumns(blob, ds)
			if err != nil {
				return nil, err
			}
			seg, err := ice.Load(data.Slice(0, int(iceLen)))
			if err != nil {
				return nil, err
			}
			if seg.Count() != uint64(cols.n) {
				return nil, fmt.Errorf("search: segment has %d documents but %d column rows", seg.Count(), cols.n)
			}
			return &colSegment{Segment: seg, cols: cols, crc: crc}, nil
		},
		Merge: func(segs []segment.Segment, drops []*roaring.Bitmap, bufSize int) segment.Merger {
			inner := make([]segment.Segment, len(segs))
			cols := make([]*columns, len(segs))
			for i, s := range segs {
				cs := s.(*colSegment) // the index only holds segments this plugin made
				inner[i], cols[i] = cs.Segment, cs.cols
			}
			return &colMerger{ice: ice.Merge(inner, drops, bufSize), cols: cols, ds: ds, gate: g}
		},
	}
}

type colMerger struct {
	ice  segment.Merger
	cols []*columns
	ds   *dicts
	gate *gate
}

// WriteTo writes the merged ice segment, then streams the merged columns
// from the sources' (no merged copy is built in memory).
func (m *colMerger) WriteTo(w io.Writer, closeCh chan struct{}) (int64, error) {
	defer m.gate.enter()()
	n, err := m.ice.WriteTo(w, closeCh)
	if err != nil {
		return n, err
	}
	rows, err := newMergeRows(m.cols, m.ice.DocumentNumbers())
	if err != nil {
		return n, err
	}
	k, crc, err := writeColumns(w, rows, m.ds)
	if err != nil {
		return n + k, err
	}
	t, err := writeTrailer(w, crc, k, n)
	return n + k + t, err
}

func (m *colMerger) DocumentNumbers() [][]uint64 { return m.ice.DocumentNumbers() }
