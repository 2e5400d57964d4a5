package search

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/RoaringBitmap/roaring"
	"github.com/blevesearch/vellum"
	segment "github.com/blugelabs/bluge_segment_api"
	"github.com/blugelabs/ice"
)

// Building segments: ice.New is general. It takes any document, so it
// groups each document's terms through a map per field, allocates an
// object per term and per position, and looks every term up twice by
// string; in a profile of the cross-index of 100,000 records that was
// 5.2 of the 6.4 s ice.New took, over a quarter of all the CPU. Our
// documents come with each field's terms unique and their positions in
// order, so iceWriter writes the same segment from them directly: the
// terms of each field interned in a table, the postings of each term
// gathered by a counting sort, and the file written in one buffer
// (BenchmarkNewSegment: 7.5-8.3 µs a record against 48-52 for ice.New). The
// bytes are ice's, version 1 in chunk mode 1025, exactly what ice.New
// writes for the same documents (TestIceWriterMatchesIce checks it on
// generated batches); the segment is then opened with ice.Load, so reads
// and merges stay ice's own.
//
// A batch it was not made for (a field named twice in a document, a term
// twice in a field, more than 64 fields, no documents) goes to ice.New.

// ice's format constants (ice/chunk.go, ice/write.go).
const (
	iceChunkMode       = 1025 // chunkModeV1
	iceScanSequential  = 1024 // maxDocsToScanSequentially
	iceNotUninverted   = math.MaxUint64
	iceIDField         = "_id" // ice's field 0, present in every segment
	iceFooterLen       = 8*4 + 4*3
	iceMaxWriterFields = 64
)

var errIceFallback = errors.New("search: batch left to ice.New")

// iceWriter holds what writing a segment needs; pooled, since two
// writers build segments at once.
type iceWriter struct {
	fieldIdx map[string]int
	fields   []iceField
	docField []uint8  // the field number of each (document, field), in order
	occ      []uint32 // the term number (within its field) of each (document, field, term)
	text     []byte   // the bytes of every distinct term
	posts    []icePosting
	locs     []byte // the encoded positions of each posting
	buf      []byte
	payload  []byte
	lens     []uint64
	docs     []uint32
	bm       *roaring.Bitmap
	vbuf     bytes.Buffer
	fst      *vellum.Builder
	order    []uint32
	perDoc   int    // the bytes per document of the last segment written
	dataCRC  uint32 // the CRC of the last segment's data (before the footer)
}

type iceField struct {
	name       string
	docs, freq uint64
	table      termTable
	terms      []docTerm // off/end in text; freq: documents; lo/hi: postings
	last       []uint32  // the last document (+1) each term was seen in
	dictOffset uint64
}

// icePosting is a term's occurrence in a document: the document's
// number, its field's norm, the term's frequency and whether it has
// positions (ice's encoding: freq<<1 | has), and where its encoded
// positions are in iceWriter.locs. Gathering them while reading the
// documents in order, rather than reaching into each document again
// while writing term by term, saved two thirds of the writing time
// (cache misses).
type icePosting struct {
	doc, norm, freqHas uint32
	locOff, locLen     uint32
}

var iceWriters = sync.Pool{New: func() any {
	return &iceWriter{fieldIdx: map[string]int{}, bm: roaring.New()}
}}

// newIceSegment returns the ice segment of docs and its size without
// the footer (as ice.New does).
func newIceSegment(docs []segment.Document, rows docRows, normCalc func(string, int) float32) (segment.Segment, uint64, error) {
	w := iceWriters.Get().(*iceWriter)
	data, err := w.write(rows, normCalc)
	if errors.Is(err, errIceFallback) {
		iceWriters.Put(w)
		return ice.New(docs, normCalc)
	}
	if err != nil {
		return nil, 0, err
	}
	w.buf, w.perDoc = nil, len(data)/len(rows)
	dataCRC := w.dataCRC
	iceWriters.Put(w)
	// A segment writes its footer anew when persisted (ice's WriteTo),
	// carrying on the CRC it holds over the footer's fields: ice.New's
	// holds the CRC of the data alone, and so must this one, or the file
	// would carry a CRC of nothing in particular.
	binary.BigEndian.PutUint32(data[len(data)-4:], dataCRC)
	seg, err := ice.Load(segment.NewDataBytes(data))
	if err != nil {
		return nil, 0, err
	}
	return seg, uint64(len(data) - iceFooterLen), nil
}

// write encodes rows as an ice segment file, footer included.
func (w *iceWriter) write(rows docRows, normCalc func(string, int) float32) ([]byte, error) {
	if len(rows) == 0 {
		return nil, errIceFallback
	}
	if err := w.defineFields(rows); err != nil {
		return nil, err
	}
	if err := w.intern(rows); err != nil {
		return nil, err
	}
	w.gather(rows, normCalc)

	n := len(rows)
	// The buffer becomes the segment's: each segment gets its own, sized
	// from the last one's bytes per document.
	w.buf = make([]byte, 0, (w.perDoc+w.perDoc/8)*n+4096)
	// Stored fields: none of ours is stored, so each document has an
	// empty entry of three bytes at the start of the file (no meta, and
	// the snappy encoding of nothing, one 0), then the index of their
	// offsets.
	for range n {
		w.buf = append(w.buf, 0, 1, 0)
	}
	storedIndex := uint64(len(w.buf))
	for i := range n {
		w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(3*i))
	}

	for f := range w.fields {
		if err := w.writeDict(f, uint64(n)); err != nil {
			return nil, err
		}
	}
	// No field keeps doc values.
	docValueIndex := uint64(len(w.buf))
	for range w.fields {
		w.buf = binary.AppendUvarint(w.buf, iceNotUninverted)
		w.buf = binary.AppendUvarint(w.buf, iceNotUninverted)
	}
	fieldOffsets := make([]uint64, len(w.fields))
	for i := range w.fields {
		f := &w.fields[i]
		fieldOffsets[i] = uint64(len(w.buf))
		w.buf = binary.AppendUvarint(w.buf, f.dictOffset)
		w.buf = binary.AppendUvarint(w.buf, uint64(len(f.name)))
		w.buf = append(w.buf, f.name...)
		w.buf = binary.AppendUvarint(w.buf, f.docs)
		w.buf = binary.AppendUvarint(w.buf, f.freq)
	}
	fieldsIndex := uint64(len(w.buf))
	for _, off := range fieldOffsets {
		w.buf = binary.BigEndian.AppendUint64(w.buf, off)
	}
	foot := len(w.buf)
	w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(n))
	w.buf = binary.BigEndian.AppendUint64(w.buf, storedIndex)
	w.buf = binary.BigEndian.AppendUint64(w.buf, fieldsIndex)
	w.buf = binary.BigEndian.AppendUint64(w.buf, docValueIndex)
	w.buf = binary.BigEndian.AppendUint32(w.buf, iceChunkMode)
	w.buf = binary.BigEndian.AppendUint32(w.buf, ice.Version)
	w.dataCRC = crc32.ChecksumIEEE(w.buf[:foot])
	crc := crc32.Update(w.dataCRC, crc32.IEEETable, w.buf[foot:])
	w.buf = binary.BigEndian.AppendUint32(w.buf, crc)
	return w.buf, nil
}

// defineFields numbers the fields as ice does: _id first, then the
// others' names in order.
func (w *iceWriter) defineFields(rows docRows) error {
	clear(w.fieldIdx)
	w.fieldIdx[iceIDField] = 0
	names := []string{iceIDField}
	for _, d := range rows {
		for i := range d.fields {
			name := d.fields[i].name
			if _, ok := w.fieldIdx[name]; !ok {
				w.fieldIdx[name] = len(names)
				names = append(names, name)
			}
		}
	}
	if len(names) > iceMaxWriterFields {
		return errIceFallback
	}
	slices.Sort(names[1:])
	if cap(w.fields) < len(names) {
		w.fields = append(w.fields[:cap(w.fields)], make([]iceField, len(names)-cap(w.fields))...)
	}
	w.fields = w.fields[:len(names)]
	for i, name := range names {
		w.fieldIdx[name] = i
		f := &w.fields[i]
		f.name, f.docs, f.freq, f.dictOffset = name, 0, 0, 0
		f.table.reset()
		f.terms, f.last = f.terms[:0], f.last[:0]
	}
	return nil
}

// intern numbers each field's distinct terms and counts their documents.
func (w *iceWriter) intern(rows docRows) error {
	w.docField, w.occ, w.text = w.docField[:0], w.occ[:0], w.text[:0]
	for i, d := range rows {
		doc := uint32(i + 1)
		var seen uint64
		for j := range d.fields {
			df := &d.fields[j]
			fi := w.fieldIdx[df.name]
			if seen&(1<<fi) != 0 {
				return errIceFallback
			}
			seen |= 1 << fi
			w.docField = append(w.docField, uint8(fi))
			f := &w.fields[fi]
			f.docs++
			f.freq += uint64(df.length)
			for _, t := range d.terms[df.lo:df.hi] {
				term := d.text[t.off:t.end]
				slot, k, ok := f.table.find(term, w.text, f.terms)
				if !ok {
					k = uint32(len(f.terms))
					f.table.put(slot, k)
					off := uint32(len(w.text))
					w.text = append(w.text, term...)
					f.terms = append(f.terms, docTerm{off: off, end: uint32(len(w.text))})
					f.last = append(f.last, 0)
				}
				if f.last[k] == doc {
					return errIceFallback
				}
				f.last[k] = doc
				f.terms[k].freq++
				w.occ = append(w.occ, k)
			}
		}
	}
	return nil
}

// gather places each term's postings together, in document order.
func (w *iceWriter) gather(rows docRows, normCalc func(string, int) float32) {
	// Each field's terms get a range of posts, in term number order.
	next := uint32(0)
	for fi := range w.fields {
		for k := range w.fields[fi].terms {
			t := &w.fields[fi].terms[k]
			t.lo, t.hi = next, next
			next += t.freq
		}
	}
	w.posts = slices.Grow(w.posts[:0], int(next))[:next]
	w.locs = w.locs[:0]
	o, df := 0, 0
	for i, d := range rows {
		for j := range d.fields {
			f := &d.fields[j]
			fi := w.docField[df]
			terms := w.fields[fi].terms
			df++
			norm := math.Float32bits(normCalc(f.name, f.length))
			for _, dt := range d.terms[f.lo:f.hi] {
				tm := &terms[w.occ[o]]
				o++
				p := icePosting{doc: uint32(i), norm: norm, freqHas: dt.freq << 1}
				if dt.hi > dt.lo {
					// Its positions: their byte count, then field,
					// position, start and end (0: offsets are not kept)
					// of each.
					p.freqHas |= 1
					p.locOff = uint32(len(w.locs))
					locs := d.locs[dt.lo:dt.hi]
					size := 0
					for _, l := range locs {
						size += uvarintLen(uint64(fi)) + uvarintLen(uint64(l.pos)) + 2
					}
					w.locs = binary.AppendUvarint(w.locs, uint64(size))
					for _, l := range locs {
						w.locs = binary.AppendUvarint(w.locs, uint64(fi))
						w.locs = binary.AppendUvarint(w.locs, uint64(l.pos))
						w.locs = append(w.locs, 0, 0)
					}
					p.locLen = uint32(len(w.locs)) - p.locOff
				}
				w.posts[tm.hi] = p
				tm.hi++
			}
		}
	}
}

// writeDict writes the postings of field fi's terms, in term order, and
// its dictionary (a vellum FST from term to postings offset).
func (w *iceWriter) writeDict(fi int, n uint64) error {
	f := &w.fields[fi]
	text := w.text
	w.order = w.order[:0]
	for k := range f.terms {
		w.order = append(w.order, uint32(k))
	}
	sort.Slice(w.order, func(a, b int) bool {
		ta, tb := &f.terms[w.order[a]], &f.terms[w.order[b]]
		return string(text[ta.off:ta.end]) < string(text[tb.off:tb.end])
	})
	if w.fst == nil {
		b, err := vellum.New(&w.vbuf, nil)
		if err != nil {
			return err
		}
		w.fst = b
	} else {
		w.vbuf.Reset()
		if err := w.fst.Reset(&w.vbuf); err != nil {
			return err
		}
	}
	for _, k := range w.order {
		t := &f.terms[k]
		posts := w.posts[t.lo:t.hi]
		chunkSize := n / (uint64(len(posts))/iceScanSequential + 1)
		chunks := int((n-1)/chunkSize + 1)

		// Frequencies and norms.
		w.startChunks(chunks)
		for _, p := range posts {
			before := len(w.payload)
			w.payload = binary.AppendUvarint(w.payload, uint64(p.freqHas))
			w.payload = binary.AppendUvarint(w.payload, uint64(p.norm))
			w.lens[uint64(p.doc)/chunkSize] += uint64(len(w.payload) - before)
		}
		tfOffset := w.endChunks()
		// Positions.
		w.startChunks(chunks)
		for _, p := range posts {
			if p.locLen > 0 {
				w.payload = append(w.payload, w.locs[p.locOff:p.locOff+p.locLen]...)
				w.lens[uint64(p.doc)/chunkSize] += uint64(p.locLen)
			}
		}
		locOffset := w.endChunks()

		postingsOffset := uint64(len(w.buf))
		w.buf = binary.AppendUvarint(w.buf, tfOffset)
		w.buf = binary.AppendUvarint(w.buf, locOffset)
		w.docs = w.docs[:0]
		for _, p := range posts {
			w.docs = append(w.docs, p.doc)
		}
		w.bm.Clear()
		w.bm.AddMany(w.docs)
		w.buf = binary.AppendUvarint(w.buf, w.bm.GetSerializedSizeInBytes())
		if _, err := w.bm.WriteTo((*appendWriter)(&w.buf)); err != nil {
			return err
		}
		if err := w.fst.Insert(text[t.off:t.end], postingsOffset); err != nil {
			return err
		}
	}
	if err := w.fst.Close(); err != nil {
		return err
	}
	f.dictOffset = uint64(len(w.buf))
	w.buf = binary.AppendUvarint(w.buf, uint64(w.vbuf.Len()))
	w.buf = append(w.buf, w.vbuf.Bytes()...)
	return nil
}

// startChunks begins a chunked stream of the given number of chunks.
func (w *iceWriter) startChunks(chunks int) {
	w.payload = w.payload[:0]
	w.lens = slices.Grow(w.lens[:0], chunks)[:chunks]
	clear(w.lens)
}

// endChunks writes the stream begun by startChunks (the number of
// chunks, each one's end offset, the payload) and returns its offset, or
// 0 when it holds nothing.
func (w *iceWriter) endChunks() uint64 {
	if len(w.payload) == 0 {
		return 0
	}
	off := uint64(len(w.buf))
	w.buf = binary.AppendUvarint(w.buf, uint64(len(w.lens)))
	end := uint64(0)
	for _, l := range w.lens {
		end += l
		w.buf = binary.AppendUvarint(w.buf, end)
	}
	w.buf = append(w.buf, w.payload...)
	return off
}

func boolBit(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// appendWriter is an io.Writer that appends to a byte slice.
type appendWriter []byte

func (a *appendWriter) Write(p []byte) (int, error) {
	*a = append(*a, p...)
	return len(p), nil
}
