package search

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"slices"
	"sort"
	"sync"

	"github.com/RoaringBitmap/roaring"
)

// Facet names a facet: a field whose values the search answer counts.
type Facet int

// The facets, in the order the answer lists them.
const (
	FacetType Facet = iota
	FacetSubject
	FacetYear
	FacetLanguage
	FacetLicense
	FacetOrigin
	numFacets
)

var facetNames = [numFacets]string{"type", "subject", "year", "language", "license", "origin"}

// String returns the facet's name as the API spells it.
func (f Facet) String() string {
	if f < 0 || f >= numFacets {
		return fmt.Sprintf("Facet(%d)", int(f))
	}
	return facetNames[f]
}

// ParseFacet returns the facet of a name, and false when there is none.
func ParseFacet(name string) (Facet, bool) {
	for i, n := range facetNames {
		if n == name {
			return Facet(i), true
		}
	}
	return 0, false
}

// Facets lists every facet.
func Facets() []Facet {
	out := make([]Facet, numFacets)
	for i := range out {
		out[i] = Facet(i)
	}
	return out
}

// dict interns the values of one facet: ordinal 0 means "no value", so the
// first value gets 1. Ordinals are dense, never reused and valid for the
// life of an Index; every segment's columns hold them, so facet counting
// adds into one array indexed by ordinal.
type dict struct {
	mu    sync.Mutex
	ords  map[string]uint32
	names []string
}

func newDict() *dict { return &dict{ords: map[string]uint32{}, names: []string{""}} }

func (d *dict) ord(s string) uint32 {
	d.mu.Lock()
	o, ok := d.ords[s]
	if !ok {
		o = uint32(len(d.names))
		d.ords[s] = o
		d.names = append(d.names, s)
	}
	d.mu.Unlock()
	return o
}

// lookup returns the ordinal of s, or 0 when no segment ever held it.
func (d *dict) lookup(s string) uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ords[s]
}

func (d *dict) name(o uint32) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if int(o) >= len(d.names) {
		return ""
	}
	return d.names[o]
}

func (d *dict) size() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.names)
}

// dicts are the facet dictionaries of one Index.
type dicts [numFacets]*dict

func newDicts() *dicts {
	var d dicts
	for i := range d {
		d[i] = newDict()
	}
	return &d
}

// Document flags.
const (
	// flagMeta marks the checkpoint document, which is not a record.
	flagMeta uint8 = 1 << iota
)

// columns are the per-document values of one segment that searching needs
// besides the inverted index: the record id, the change seq of the indexed
// version (sort and cursor tie-break, and "updated" order since seq order is
// datestamp order), the publication date, the cluster key's hash and the
// facet values. They are written with the segment, at the end of its file,
// and merged with it (see segment.go), so they are always exactly aligned
// with the segment's document numbers and immutable.
//
// The encoding has fixed-width arrays that searches read in place, from
// the segment file Bluge maps into memory (or, for a segment not yet
// persisted, from the buffer it was encoded into): opening a segment
// decodes nothing, and a million records' columns cost no heap, only
// pages of a mapped file the kernel can drop and read again.
//
// The columns also hold what BM25 needs of the four text fields besides
// the postings (which documents hold a term): each document's field length
// and the term frequencies above 1. Most postings have a frequency of 1
// (77% in descriptions, 99% in titles), so scoring reads the frequency of
// the few others from these tables instead of decoding ice's
// frequency-and-norm stream for every posting of every query term, which
// was two thirds of the time of a query matching 100,000 records.
//
// Encoding (integers little-endian): the magic "CLC2", then the sections
// one after the other, then a footer.
//
//	ids       n+1 uint32 offsets, then the id bytes
//	seq       n uint64
//	date      n int32: YYYYMMDD, 00 for an unknown month or day; 0 undated
//	cluster   n uint64
//	flags     n uint8
//	per facet its dictionary: k+1 uint32 offsets, then the value bytes
//	          (local ordinal i, 1 to k, is the i-th value); then, when
//	          multi-valued, n+1 uint32 offsets into the values; then the
//	          values: local ordinals of width bytes (1, 2 or 4), one per
//	          document when single-valued (0 for none)
//	per text field (textFields) the field lengths, n of width bytes; the
//	          terms with a frequency above 1 in some document, sorted:
//	          k+1 uint32 offsets, then the term bytes; per term, k+1
//	          uint32 offsets into the entries; the entries' documents
//	          (uint32, ascending per term) and frequencies (uint8, 255 at
//	          most)
//	keys      the lookup keys of the documents (see lookupSeed), sorted:
//	          k uint64; then their documents, k uint32 (ascending per key)
//	footer    n uint32; per facet k uint32, width uint8, multi uint8; per
//	          text field the lengths' width uint8, k uint32; the length of
//	          each section uint64; the footer's length uint32; the magic
//	          "CLCF"
//
// Local ordinals keep the file independent of the ordinals of the process
// that wrote it; on opening, each segment maps its own to the index's
// (facetCol.glob).
type columns struct {
	n        int
	keys     []byte // k uint64, sorted
	keyDocs  []byte // k uint32
	blob     []byte // the encoded columns
	idOffs   []byte
	idData   []byte
	seqs     []byte
	dates    []byte
	clusters []byte
	flags    []byte
	facets   [numFacets]facetCol
	text     [numText]textCol
	// meta lists the documents with flagMeta.
	meta []uint32
}

// textFields are the fields that relevance scores: a word without a field
// searches them all.
var textFields = [...]string{fieldTitle, fieldCreator, fieldSubject, fieldDescription}

const numText = len(textFields)

// textIndex returns the index of a text field in textFields, or -1.
func textIndex(field string) int {
	for i, f := range textFields {
		if f == field {
			return i
		}
	}
	return -1
}

// uints are unsigned integers of width bytes (1, 2 or 4).
type uints struct {
	width int
	b     []byte
}

func (u uints) at(i uint32) uint32 {
	switch u.width {
	case 1:
		return uint32(u.b[i])
	case 2:
		return uint32(binary.LittleEndian.Uint16(u.b[2*i:]))
	}
	return le32(u.b[4*i:])
}

// widthFor returns the width of uints whose largest value is max.
func widthFor(max uint32) int {
	switch {
	case max < 1<<8:
		return 1
	case max < 1<<16:
		return 2
	}
	return 4
}

// textCol is what scoring reads of one text field: the field length of
// every document and the term frequencies above 1.
type textCol struct {
	// withField and tokens are the number of documents with the field
	// and the sum of their lengths, for BM25's average length. (ice's
	// CollectionStats can't give it: a merged segment's sum counts
	// postings, not tokens.)
	withField, tokens uint64
	lens              uints
	termOffs          []byte // k+1 uint32
	termData          []byte
	entryOffs         []byte // k+1 uint32
	docs              []byte // uint32
	tfs               []byte
}

// freqs returns the documents (ascending, uint32 each) in which term
// occurs more than once, and the frequency in each.
func (c *textCol) freqs(term string) (docs, tfs []byte) {
	k := len(c.termOffs)/4 - 1
	i := sort.Search(k, func(i int) bool {
		return string(c.termData[le32(c.termOffs[4*i:]):le32(c.termOffs[4*i+4:])]) >= term
	})
	if i == k || string(c.termData[le32(c.termOffs[4*i:]):le32(c.termOffs[4*i+4:])]) != term {
		return nil, nil
	}
	lo, hi := le32(c.entryOffs[4*i:]), le32(c.entryOffs[4*i+4:])
	return c.docs[4*lo : 4*hi], c.tfs[lo:hi]
}

func (c *columns) id(d uint32) string {
	return string(c.idData[le32(c.idOffs[4*d:]):le32(c.idOffs[4*d+4:])])
}

func (c *columns) seq(d uint32) uint64     { return binary.LittleEndian.Uint64(c.seqs[8*d:]) }
func (c *columns) date(d uint32) int32     { return int32(le32(c.dates[4*d:])) }
func (c *columns) cluster(d uint32) uint64 { return binary.LittleEndian.Uint64(c.clusters[8*d:]) }

func (c *columns) size() int { return len(c.blob) }

func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

// facetCol is one facet's values: local ordinals (see columns).
type facetCol struct {
	offs []byte // n+1 uint32 when multi-valued, else nil
	vals uints
	// glob maps a local ordinal to the index's (dict) ordinal; glob[0] is 0.
	glob []uint32
}

// at returns value i.
func (c *facetCol) at(i uint32) uint32 { return c.vals.at(i) }

// span returns the indexes of document d's values (a single-valued
// column's one value may be 0, none).
func (c *facetCol) span(d uint32) (lo, hi uint32) {
	if c.offs == nil {
		return d, d + 1
	}
	return le32(c.offs[4*d:]), le32(c.offs[4*d+4:])
}

// each calls fn with the local ordinal of each of document d's values.
func (c *facetCol) each(d uint32, fn func(o uint32)) {
	lo, hi := c.span(d)
	for i := lo; i < hi; i++ {
		if o := c.at(i); o != 0 {
			fn(o)
		}
	}
}

// has reports whether document d has the value of local ordinal o.
func (c *facetCol) has(d uint32, o uint32) bool {
	lo, hi := c.span(d)
	for i := lo; i < hi; i++ {
		if c.at(i) == o {
			return true
		}
	}
	return false
}

// local returns the local ordinal of the index's ordinal g, or 0 when no
// document of the segment has that value.
func (c *facetCol) local(g uint32) uint32 {
	if g == 0 {
		return 0
	}
	for l, x := range c.glob {
		if x == g {
			return uint32(l)
		}
	}
	return 0
}

// colRows are the documents that columns are written from, in order.
type colRows interface {
	len() int
	id(j int) string
	seq(j int) uint64
	date(j int) int32
	cluster(j int) uint64
	flags(j int) uint8
	// facet appends to out the index's ordinals of row j's values of f.
	facet(f Facet, j int, out []uint32) []uint32
	// length returns the length of text field t in row j.
	length(t, j int) uint32
	// keys returns the rows' lookup keys, sorted by key, then row.
	keys() []keyEntry
	// freqs calls fn with each term of text field t that occurs more
	// than once in some row, in term order, with those rows (ascending)
	// and the frequencies. fn must not keep the slices.
	freqs(t int, fn func(term []byte, rows []uint32, tfs []uint8))
}

// keyEntry is a lookup key of a row.
type keyEntry struct {
	key uint64
	row uint32
}

func sortKeys(es []keyEntry) []keyEntry {
	slices.SortFunc(es, func(a, b keyEntry) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.row, b.row)
	})
	return es
}

// lookup returns the documents with lookup key k (dropped ones
// included, as in ice's postings).
func (c *columns) lookup(k uint64) *roaring.Bitmap {
	n := len(c.keys) / 8
	i := sort.Search(n, func(i int) bool { return binary.LittleEndian.Uint64(c.keys[8*i:]) >= k })
	out := roaring.New()
	for ; i < n && binary.LittleEndian.Uint64(c.keys[8*i:]) == k; i++ {
		out.Add(le32(c.keyDocs[4*i:]))
	}
	return out
}

// freqTable is what freqs yields for one text field, gathered: the
// terms' bytes and end offsets, and each term's rows and frequencies.
type freqTable struct {
	terms    []byte
	termEnds []uint32
	rows     []uint32
	tfs      []uint8
	rowEnds  []uint32
}

func (ft *freqTable) add(term []byte, rows []uint32, tfs []uint8) {
	ft.terms = append(ft.terms, term...)
	ft.termEnds = append(ft.termEnds, uint32(len(ft.terms)))
	ft.rows = append(ft.rows, rows...)
	ft.tfs = append(ft.tfs, tfs...)
	ft.rowEnds = append(ft.rowEnds, uint32(len(ft.rows)))
}

// docRows are the documents of a new segment.
type docRows []*document

func (r docRows) len() int             { return len(r) }
func (r docRows) id(j int) string      { return r[j].id }
func (r docRows) seq(j int) uint64     { return r[j].seq }
func (r docRows) date(j int) int32     { return r[j].date }
func (r docRows) cluster(j int) uint64 { return r[j].cluster }
func (r docRows) flags(j int) uint8    { return r[j].flags }
func (r docRows) facet(f Facet, j int, out []uint32) []uint32 {
	return append(out, r[j].facetOrds[f]...)
}
func (r docRows) length(t, j int) uint32 { return r[j].lens[t] }

func (r docRows) keys() []keyEntry {
	var es []keyEntry
	for j, d := range r {
		for _, k := range d.keys {
			es = append(es, keyEntry{k, uint32(j)})
		}
	}
	return sortKeys(es)
}

func (r docRows) freqs(t int, fn func(term []byte, rows []uint32, tfs []uint8)) {
	// Grouped by term through a map, then the few distinct terms sorted:
	// sorting every entry by its term's bytes took 8 µs a record.
	type group struct {
		term []byte
		rows []uint32
		tfs  []uint8
	}
	var groups []group
	at := map[string]int{}
	for j, d := range r {
		for fi := range d.fields {
			f := &d.fields[fi]
			if f.name != textFields[t] {
				continue
			}
			for _, tm := range d.terms[f.lo:f.hi] {
				if tm.freq < 2 {
					continue
				}
				term := d.text[tm.off:tm.end]
				g, ok := at[string(term)]
				if !ok {
					g = len(groups)
					at[string(term)] = g
					groups = append(groups, group{term: term})
				}
				// Rows come in order, so each group's are ascending.
				groups[g].rows = append(groups[g].rows, uint32(j))
				groups[g].tfs = append(groups[g].tfs, uint8(min(tm.freq, 255)))
			}
		}
	}
	slices.SortFunc(groups, func(a, b group) int { return bytes.Compare(a.term, b.term) })
	for _, g := range groups {
		fn(g.term, g.rows, g.tfs)
	}
}

// mergeRows are the documents of a merged segment: each is a document of
// one of the merged segments.
type mergeRows struct {
	srcs []*columns
	rows []srcDoc
	nums [][]uint64 // per source, old document number to new
}

type srcDoc struct {
	src int32
	doc uint32
}

func (r *mergeRows) len() int { return len(r.rows) }
func (r *mergeRows) at(j int) (*columns, uint32) {
	x := r.rows[j]
	return r.srcs[x.src], x.doc
}
func (r *mergeRows) id(j int) string      { c, d := r.at(j); return c.id(d) }
func (r *mergeRows) seq(j int) uint64     { c, d := r.at(j); return c.seq(d) }
func (r *mergeRows) date(j int) int32     { c, d := r.at(j); return c.date(d) }
func (r *mergeRows) cluster(j int) uint64 { c, d := r.at(j); return c.cluster(d) }
func (r *mergeRows) flags(j int) uint8    { c, d := r.at(j); return c.flags[d] }
func (r *mergeRows) facet(f Facet, j int, out []uint32) []uint32 {
	c, d := r.at(j)
	col := &c.facets[f]
	col.each(d, func(o uint32) { out = append(out, col.glob[o]) })
	return out
}
func (r *mergeRows) length(t, j int) uint32 { c, d := r.at(j); return c.text[t].lens.at(d) }

// keys renumbers the sources' keys, without dropped documents.
func (r *mergeRows) keys() []keyEntry {
	var es []keyEntry
	for i, c := range r.srcs {
		for e := 0; e < len(c.keyDocs)/4; e++ {
			if nw := r.nums[i][le32(c.keyDocs[4*e:])]; nw < 1<<62 {
				es = append(es, keyEntry{binary.LittleEndian.Uint64(c.keys[8*e:]), uint32(nw)})
			}
		}
	}
	return sortKeys(es)
}

// freqs merges the sources' tables: for each term in order, the entries
// of every source holding it, renumbered, without dropped documents.
func (r *mergeRows) freqs(t int, fn func(term []byte, rows []uint32, tfs []uint8)) {
	next := make([]int, len(r.srcs)) // each source's next term
	term := func(i int) ([]byte, bool) {
		c := &r.srcs[i].text[t]
		k := len(c.termOffs)/4 - 1
		if next[i] >= k {
			return nil, false
		}
		return c.termData[le32(c.termOffs[4*next[i]:]):le32(c.termOffs[4*next[i]+4:])], true
	}
	var rows []uint32
	var tfs []uint8
	for {
		var min []byte
		found := false
		for i := range r.srcs {
			if tm, ok := term(i); ok && (!found || bytes.Compare(tm, min) < 0) {
				min, found = tm, true
			}
		}
		if !found {
			return
		}
		rows, tfs = rows[:0], tfs[:0]
		for i := range r.srcs {
			tm, ok := term(i)
			if !ok || !bytes.Equal(tm, min) {
				continue
			}
			c := &r.srcs[i].text[t]
			lo, hi := le32(c.entryOffs[4*next[i]:]), le32(c.entryOffs[4*next[i]+4:])
			for e := lo; e < hi; e++ {
				if nw := r.nums[i][le32(c.docs[4*e:])]; nw < 1<<62 {
					rows = append(rows, uint32(nw))
					tfs = append(tfs, c.tfs[e])
				}
			}
			next[i]++
		}
		if len(rows) > 0 {
			fn(min, rows, tfs)
		}
	}
}

// newMergeRows lists the documents of a merge of srcs: the documents of
// each source in order, without the dropped ones, which is how the segment
// merge numbers them (newDocNums[i][old] is the new number, or a value past
// the end for a dropped document).
func newMergeRows(srcs []*columns, newDocNums [][]uint64) (*mergeRows, error) {
	r := &mergeRows{srcs: srcs, nums: newDocNums}
	for i, src := range srcs {
		nums := newDocNums[i]
		if len(nums) != src.n {
			return nil, fmt.Errorf("merge columns: segment %d has %d documents, the merge numbered %d", i, src.n, len(nums))
		}
		for old, nw := range nums {
			if nw >= 1<<62 {
				continue // dropped
			}
			if nw != uint64(len(r.rows)) {
				return nil, fmt.Errorf("merge columns: document %d of segment %d became %d, expected %d", old, i, nw, len(r.rows))
			}
			r.rows = append(r.rows, srcDoc{int32(i), uint32(old)})
		}
	}
	return r, nil
}

const (
	columnsMagic       = "CLC3"
	columnsFooterMagic = "CLCF"
	// numSections: ids offsets, id bytes, seq, date, cluster, flags; per
	// facet dictionary offsets, dictionary bytes, value offsets, values;
	// per text field lengths, term offsets, term bytes, entry offsets,
	// entry documents, entry frequencies; lookup keys, their documents.
	textSections = 6 + 4*int(numFacets)
	keySections  = textSections + 6*numText
	numSections  = keySections + 2
	footerLen    = 4 + int(numFacets)*6 + numText*5 + numSections*8 + 4 + 4
)

var errColumns = errors.New("corrupt search columns")

// colEncoder writes columns through a buffer, summing their CRC-32.
type colEncoder struct {
	w    io.Writer
	buf  []byte
	crc  hash.Hash32
	n    int64
	err  error
	lens []uint64
	mark int64
}

func (e *colEncoder) flush() {
	if e.err != nil || len(e.buf) == 0 {
		e.buf = e.buf[:0]
		return
	}
	e.crc.Write(e.buf)
	_, e.err = e.w.Write(e.buf)
	e.n += int64(len(e.buf))
	e.buf = e.buf[:0]
}

func (e *colEncoder) grow() {
	if len(e.buf) >= 64<<10 {
		e.flush()
	}
}

func (e *colEncoder) offset() int64 { return e.n + int64(len(e.buf)) }

// section ends a section.
func (e *colEncoder) section() {
	at := e.offset()
	e.lens = append(e.lens, uint64(at-e.mark))
	e.mark = at
}

func (e *colEncoder) u8(v uint8)   { e.buf = append(e.buf, v); e.grow() }
func (e *colEncoder) u32(v uint32) { e.buf = binary.LittleEndian.AppendUint32(e.buf, v); e.grow() }
func (e *colEncoder) u64(v uint64) { e.buf = binary.LittleEndian.AppendUint64(e.buf, v); e.grow() }
func (e *colEncoder) str(s string) { e.buf = append(e.buf, s...); e.grow() }

// uint writes v in width bytes.
func (e *colEncoder) uint(width int, v uint32) {
	switch width {
	case 1:
		e.buf = append(e.buf, uint8(v))
	case 2:
		e.buf = binary.LittleEndian.AppendUint16(e.buf, uint16(v))
	default:
		e.buf = binary.LittleEndian.AppendUint32(e.buf, v)
	}
	e.grow()
}

func maxOf(a, b uint32) uint32 {
	if a > b {
		return a
	}
	return b
}

// writeColumns encodes the columns of rows to w and returns the bytes
// written and their CRC-32. Facet values are named through ds.
func writeColumns(w io.Writer, rows colRows, ds *dicts) (int64, uint32, error) {
	n := rows.len()
	e := &colEncoder{w: w, buf: make([]byte, 0, 72<<10), crc: crc32.NewIEEE()}
	e.str(columnsMagic)
	e.mark = e.offset()
	off := uint32(0)
	e.u32(0)
	for j := 0; j < n; j++ {
		off += uint32(len(rows.id(j)))
		e.u32(off)
	}
	e.section()
	for j := 0; j < n; j++ {
		e.str(rows.id(j))
	}
	e.section()
	for j := 0; j < n; j++ {
		e.u64(rows.seq(j))
	}
	e.section()
	for j := 0; j < n; j++ {
		e.u32(uint32(rows.date(j)))
	}
	e.section()
	for j := 0; j < n; j++ {
		e.u64(rows.cluster(j))
	}
	e.section()
	for j := 0; j < n; j++ {
		e.u8(rows.flags(j))
	}
	e.section()
	type facetInfo struct {
		k     uint32
		width uint8
		multi bool
	}
	var infos [numFacets]facetInfo
	var vals []uint32
	for f := range numFacets {
		// The dictionary: the values the rows use, numbered in order of
		// first use.
		local := map[uint32]uint32{}
		var names []uint32
		multi := false
		for j := 0; j < n; j++ {
			vals = rows.facet(Facet(f), j, vals[:0])
			if len(vals) > 1 {
				multi = true
			}
			for _, g := range vals {
				if _, ok := local[g]; !ok && g != 0 {
					names = append(names, g)
					local[g] = uint32(len(names))
				}
			}
		}
		k := uint32(len(names))
		width := widthFor(k)
		infos[f] = facetInfo{k, uint8(width), multi}
		off := uint32(0)
		e.u32(0)
		for _, g := range names {
			off += uint32(len(ds[f].name(g)))
			e.u32(off)
		}
		e.section()
		for _, g := range names {
			e.str(ds[f].name(g))
		}
		e.section()
		put := func(o uint32) { e.uint(width, o) }
		if multi {
			off := uint32(0)
			e.u32(0)
			for j := 0; j < n; j++ {
				off += uint32(len(rows.facet(Facet(f), j, vals[:0])))
				e.u32(off)
			}
		}
		e.section()
		for j := 0; j < n; j++ {
			vals = rows.facet(Facet(f), j, vals[:0])
			if !multi {
				if len(vals) == 0 {
					put(0)
				} else {
					put(local[vals[0]])
				}
				continue
			}
			for _, g := range vals {
				put(local[g])
			}
		}
		e.section()
	}
	type textInfo struct {
		width uint8
		k     uint32
	}
	var texts [numText]textInfo
	for t := range numText {
		max := uint32(0)
		for j := 0; j < n; j++ {
			max = maxOf(max, rows.length(t, j))
		}
		width := widthFor(max)
		for j := 0; j < n; j++ {
			e.uint(width, rows.length(t, j))
		}
		e.section()
		// The frequencies: gathered once (for new documents that means a
		// sort, for a merge a pass over its sources), written in five
		// sections.
		var ft freqTable
		rows.freqs(t, ft.add)
		k := uint32(len(ft.termEnds))
		e.u32(0)
		for _, end := range ft.termEnds {
			e.u32(end)
		}
		e.section()
		e.buf = append(e.buf, ft.terms...)
		e.grow()
		e.section()
		e.u32(0)
		for _, end := range ft.rowEnds {
			e.u32(end)
		}
		e.section()
		for _, r := range ft.rows {
			e.u32(r)
		}
		e.section()
		e.buf = append(e.buf, ft.tfs...)
		e.grow()
		e.section()
		texts[t] = textInfo{uint8(width), k}
	}
	keys := rows.keys()
	for _, k := range keys {
		e.u64(k.key)
	}
	e.section()
	for _, k := range keys {
		e.u32(k.row)
	}
	e.section()
	start := e.offset()
	e.u32(uint32(n))
	for _, in := range infos {
		e.u32(in.k)
		e.u8(in.width)
		if in.multi {
			e.u8(1)
		} else {
			e.u8(0)
		}
	}
	for _, in := range texts {
		e.u8(in.width)
		e.u32(in.k)
	}
	for _, l := range e.lens {
		e.u64(l)
	}
	e.u32(uint32(e.offset() - start + 8))
	e.str(columnsFooterMagic)
	e.flush()
	if e.err != nil {
		return e.n, 0, e.err
	}
	return e.n, e.crc.Sum32(), nil
}

// encodeColumns returns the encoded columns of rows.
func encodeColumns(rows colRows, ds *dicts) ([]byte, uint32, error) {
	var b bytes.Buffer
	_, crc, err := writeColumns(&b, rows, ds)
	return b.Bytes(), crc, err
}

// openColumns reads encoded columns in place (b must stay unchanged while
// they are used), checking that every offset and value is in range and
// mapping the facet values to the ordinals of ds.
func openColumns(b []byte, ds *dicts) (*columns, error) {
	if len(b) < len(columnsMagic)+footerLen || string(b[:len(columnsMagic)]) != columnsMagic || string(b[len(b)-4:]) != columnsFooterMagic {
		return nil, fmt.Errorf("%w: bad magic", errColumns)
	}
	ft := b[len(b)-footerLen:]
	if le32(ft[footerLen-8:]) != uint32(footerLen) {
		return nil, fmt.Errorf("%w: footer of %d bytes, want %d", errColumns, le32(ft[footerLen-8:]), footerLen)
	}
	n := uint64(le32(ft))
	c := &columns{n: int(n), blob: b}
	type facetInfo struct {
		k     uint64
		width int
		multi bool
	}
	var infos [numFacets]facetInfo
	p := ft[4:]
	for f := range infos {
		infos[f] = facetInfo{uint64(le32(p)), int(p[4]), p[5] == 1}
		p = p[6:]
	}
	type textInfo struct {
		width int
		k     uint64
	}
	var texts [numText]textInfo
	for t := range texts {
		texts[t] = textInfo{int(p[0]), uint64(le32(p[1:]))}
		p = p[5:]
	}
	sections := make([][]byte, numSections)
	at := uint64(len(columnsMagic))
	end := uint64(len(b) - footerLen)
	for i := range sections {
		l := binary.LittleEndian.Uint64(p[8*i:])
		if l > end-at {
			return nil, fmt.Errorf("%w: section %d of %d bytes overruns the columns", errColumns, i, l)
		}
		sections[i] = b[at : at+l]
		at += l
	}
	if at != end {
		return nil, fmt.Errorf("%w: %d bytes between the sections and the footer", errColumns, end-at)
	}
	want := func(i int, size uint64) error {
		if uint64(len(sections[i])) != size {
			return fmt.Errorf("%w: section %d has %d bytes, want %d", errColumns, i, len(sections[i]), size)
		}
		return nil
	}
	for i, size := range []uint64{4 * (n + 1), 0, 8 * n, 4 * n, 8 * n, n} {
		if i == 1 {
			continue
		}
		if err := want(i, size); err != nil {
			return nil, err
		}
	}
	c.idOffs, c.idData, c.seqs, c.dates, c.clusters, c.flags = sections[0], sections[1], sections[2], sections[3], sections[4], sections[5]
	if err := checkOffsets(c.idOffs, uint64(len(c.idData))); err != nil {
		return nil, fmt.Errorf("%w: ids: %v", errColumns, err)
	}
	for f := range c.facets {
		in := infos[f]
		if in.width != 1 && in.width != 2 && in.width != 4 || in.k >= 1<<(8*in.width) {
			return nil, fmt.Errorf("%w: facet %s: %d values of width %d", errColumns, Facet(f), in.k, in.width)
		}
		s := sections[6+4*f:]
		if err := want(6+4*f, 4*(in.k+1)); err != nil {
			return nil, err
		}
		if err := checkOffsets(s[0], uint64(len(s[1]))); err != nil {
			return nil, fmt.Errorf("%w: facet %s dictionary: %v", errColumns, Facet(f), err)
		}
		col := &c.facets[f]
		col.vals.width = in.width
		col.glob = make([]uint32, in.k+1)
		for i := uint64(1); i <= in.k; i++ {
			col.glob[i] = ds[f].ord(string(s[1][le32(s[0][4*i-4:]):le32(s[0][4*i:])]))
		}
		count := n
		if in.multi {
			if err := want(6+4*f+2, 4*(n+1)); err != nil {
				return nil, err
			}
			col.offs = s[2]
			count = uint64(le32(col.offs[4*n:]))
			if err := checkOffsets(col.offs, count); err != nil {
				return nil, fmt.Errorf("%w: facet %s: %v", errColumns, Facet(f), err)
			}
		} else if err := want(6+4*f+2, 0); err != nil {
			return nil, err
		}
		if err := want(6+4*f+3, count*uint64(in.width)); err != nil {
			return nil, err
		}
		col.vals.b = s[3]
		for i := uint32(0); i < uint32(count); i++ {
			if o := col.at(i); uint64(o) > in.k || o == 0 && in.multi {
				return nil, fmt.Errorf("%w: facet %s: value %d of a dictionary of %d", errColumns, Facet(f), o, in.k)
			}
		}
	}
	for t := range c.text {
		in := texts[t]
		i := textSections + 6*t
		if in.width != 1 && in.width != 2 && in.width != 4 {
			return nil, fmt.Errorf("%w: text field %s: lengths of width %d", errColumns, textFields[t], in.width)
		}
		for j, size := range []uint64{n * uint64(in.width), 4 * (in.k + 1), 0, 4 * (in.k + 1)} {
			if j != 2 {
				if err := want(i+j, size); err != nil {
					return nil, err
				}
			}
		}
		tc := &c.text[t]
		tc.lens = uints{in.width, sections[i]}
		tc.termOffs, tc.termData, tc.entryOffs = sections[i+1], sections[i+2], sections[i+3]
		if err := checkOffsets(tc.termOffs, uint64(len(tc.termData))); err != nil {
			return nil, fmt.Errorf("%w: text field %s terms: %v", errColumns, textFields[t], err)
		}
		m := uint64(le32(tc.entryOffs[4*in.k:]))
		if err := checkOffsets(tc.entryOffs, m); err != nil {
			return nil, fmt.Errorf("%w: text field %s entries: %v", errColumns, textFields[t], err)
		}
		if err := want(i+4, 4*m); err != nil {
			return nil, err
		}
		if err := want(i+5, m); err != nil {
			return nil, err
		}
		tc.docs, tc.tfs = sections[i+4], sections[i+5]
		for d := uint32(0); d < uint32(n); d++ {
			if l := tc.lens.at(d); l > 0 {
				tc.withField++
				tc.tokens += uint64(l)
			}
		}
		for e := uint64(0); e < m; e++ {
			if uint64(le32(tc.docs[4*e:])) >= n {
				return nil, fmt.Errorf("%w: text field %s: entry of document %d of %d", errColumns, textFields[t], le32(tc.docs[4*e:]), n)
			}
		}
	}
	c.keys, c.keyDocs = sections[keySections], sections[keySections+1]
	k := uint64(len(c.keys) / 8)
	if uint64(len(c.keys)) != 8*k || uint64(len(c.keyDocs)) != 4*k {
		return nil, fmt.Errorf("%w: %d bytes of lookup keys, %d of their documents", errColumns, len(c.keys), len(c.keyDocs))
	}
	for e := uint64(0); e < k; e++ {
		if e > 0 && binary.LittleEndian.Uint64(c.keys[8*e:]) < binary.LittleEndian.Uint64(c.keys[8*e-8:]) {
			return nil, fmt.Errorf("%w: lookup key %d out of order", errColumns, e)
		}
		if d := le32(c.keyDocs[4*e:]); uint64(d) >= n {
			return nil, fmt.Errorf("%w: lookup key of document %d of %d", errColumns, d, n)
		}
	}
	for d, fl := range c.flags {
		if fl&flagMeta != 0 {
			c.meta = append(c.meta, uint32(d))
		}
	}
	return c, nil
}

// checkOffsets checks that offs holds non-decreasing uint32 offsets from 0
// to at most limit.
func checkOffsets(offs []byte, limit uint64) error {
	prev := uint32(0)
	if le32(offs) != 0 {
		return errors.New("first offset is not 0")
	}
	for i := 4; i < len(offs); i += 4 {
		o := le32(offs[i:])
		if o < prev {
			return fmt.Errorf("offset %d decreases", i/4)
		}
		prev = o
	}
	if uint64(prev) > limit {
		return fmt.Errorf("offset %d past the end (%d)", prev, limit)
	}
	return nil
}
