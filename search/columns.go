package search

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
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
// facet ordinals. They are built with the segment, stored at the end of its
// file, and merged with it (see segment.go), so they are always exactly
// aligned with the segment's document numbers and immutable.
type columns struct {
	n       int
	idOffs  []uint32 // n+1 offsets into idData
	idData  []byte
	seq     []uint64
	date    []int32 // YYYYMMDD, with 00 for unknown month or day; 0 when undated
	cluster []uint64
	flags   []uint8
	facets  [numFacets]facetCol
	// meta lists the documents with flagMeta.
	meta []uint32
}

func (c *columns) findMeta() {
	c.meta = nil
	for d, f := range c.flags {
		if f&flagMeta != 0 {
			c.meta = append(c.meta, uint32(d))
		}
	}
}

// facetCol holds one facet's ordinals per document: one value per document
// in vals when offs is nil (0 for none), else vals[offs[d]:offs[d+1]].
type facetCol struct {
	offs []uint32
	vals []uint32
}

func (c *facetCol) each(d uint32, fn func(o uint32)) {
	if c.offs == nil {
		if o := c.vals[d]; o != 0 {
			fn(o)
		}
		return
	}
	for _, o := range c.vals[c.offs[d]:c.offs[d+1]] {
		fn(o)
	}
}

func (c *facetCol) has(d uint32, o uint32) bool {
	if c.offs == nil {
		return c.vals[d] == o
	}
	return slices.Contains(c.vals[c.offs[d]:c.offs[d+1]], o)
}

func (c *columns) id(d uint32) string { return string(c.idData[c.idOffs[d]:c.idOffs[d+1]]) }

func (c *columns) size() int {
	s := len(c.idOffs)*4 + len(c.idData) + len(c.seq)*8 + len(c.date)*4 + len(c.cluster)*8 + len(c.flags)
	for _, f := range c.facets {
		s += len(f.offs)*4 + len(f.vals)*4
	}
	return s
}

// colBuilder accumulates columns document by document, facets in flat
// arrays (no slice per document: merges build millions of rows).
type colBuilder struct {
	c     columns
	offs  [numFacets][]uint32
	vals  [numFacets][]uint32
	multi [numFacets]bool
}

func (b *colBuilder) add(id string, seq uint64, date int32, cluster uint64, flags uint8, facets *[numFacets][]uint32) {
	c := &b.c
	if c.idOffs == nil {
		c.idOffs = []uint32{0}
	}
	c.idData = append(c.idData, id...)
	c.idOffs = append(c.idOffs, uint32(len(c.idData)))
	c.seq = append(c.seq, seq)
	c.date = append(c.date, date)
	c.cluster = append(c.cluster, cluster)
	c.flags = append(c.flags, flags)
	for f := range b.offs {
		if b.offs[f] == nil {
			b.offs[f] = []uint32{0}
		}
		if facets != nil {
			b.vals[f] = append(b.vals[f], facets[f]...)
			if len(facets[f]) > 1 {
				b.multi[f] = true
			}
		}
		b.offs[f] = append(b.offs[f], uint32(len(b.vals[f])))
	}
	c.n++
}

func (b *colBuilder) finish() *columns {
	c := &b.c
	if c.idOffs == nil {
		c.idOffs = []uint32{0}
	}
	for f := range b.offs {
		c.facets[f] = flatColumn(b.offs[f], b.vals[f], b.multi[f], c.n)
	}
	c.findMeta()
	return c
}

// flatColumn makes a facet column of n documents from CSR arrays.
func flatColumn(offs, vals []uint32, multi bool, n int) facetCol {
	if multi {
		return facetCol{offs: offs, vals: vals}
	}
	single := make([]uint32, n)
	for d := 0; d < n && d+1 < len(offs); d++ {
		if offs[d+1] > offs[d] {
			single[d] = vals[offs[d]]
		}
	}
	return facetCol{vals: single}
}

// appendDoc copies document d of src into b.
func (b *colBuilder) appendDoc(src *columns, d uint32, scratch *[numFacets][]uint32) {
	for i := range scratch {
		scratch[i] = scratch[i][:0]
		src.facets[i].each(d, func(o uint32) { scratch[i] = append(scratch[i], o) })
	}
	b.add(src.id(d), src.seq[d], src.date[d], src.cluster[d], src.flags[d], scratch)
}

// mergeColumns builds the columns of a merged segment: the documents of
// each source in order, without the dropped ones, which is how the segment
// merge numbers them (newDocNums[i][old] is the new number, or a value past
// the end for a dropped document).
func mergeColumns(srcs []*columns, newDocNums [][]uint64) (*columns, error) {
	var b colBuilder
	var scratch [numFacets][]uint32
	next := uint64(0)
	for i, src := range srcs {
		nums := newDocNums[i]
		if len(nums) != src.n {
			return nil, fmt.Errorf("merge columns: segment %d has %d documents, the merge numbered %d", i, src.n, len(nums))
		}
		for old, nw := range nums {
			if nw >= 1<<62 {
				continue // dropped
			}
			if nw != next {
				return nil, fmt.Errorf("merge columns: document %d of segment %d became %d, expected %d", old, i, nw, next)
			}
			b.appendDoc(src, uint32(old), &scratch)
			next++
		}
	}
	return b.finish(), nil
}

const columnsMagic = "CLC1"

var errColumns = errors.New("corrupt search columns")

// encode serialises the columns with per-segment facet dictionaries, so
// the file does not depend on the ordinals of the process that wrote it.
func (c *columns) encode(ds *dicts) []byte {
	b := make([]byte, 0, 64+c.n*32+len(c.idData))
	b = append(b, columnsMagic...)
	b = binary.AppendUvarint(b, uint64(c.n))
	for d := 0; d < c.n; d++ {
		id := c.idData[c.idOffs[d]:c.idOffs[d+1]]
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	}
	for d := 0; d < c.n; d++ {
		b = binary.AppendUvarint(b, c.seq[d])
	}
	for d := 0; d < c.n; d++ {
		b = binary.AppendVarint(b, int64(c.date[d]))
	}
	for d := 0; d < c.n; d++ {
		b = binary.LittleEndian.AppendUint64(b, c.cluster[d])
	}
	b = append(b, c.flags...)
	for f := range c.facets {
		col := &c.facets[f]
		local := map[uint32]uint32{}
		var names []string
		for _, o := range col.vals {
			if _, ok := local[o]; !ok && o != 0 {
				local[o] = uint32(len(names) + 1)
				names = append(names, ds[f].name(o))
			}
		}
		b = binary.AppendUvarint(b, uint64(len(names)))
		for _, s := range names {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
		for d := 0; d < c.n; d++ {
			var vs []uint32
			if col.offs == nil {
				if col.vals[d] != 0 {
					vs = col.vals[d : d+1]
				}
			} else {
				vs = col.vals[col.offs[d]:col.offs[d+1]]
			}
			b = binary.AppendUvarint(b, uint64(len(vs)))
			for _, o := range vs {
				b = binary.AppendUvarint(b, uint64(local[o]))
			}
		}
	}
	return b
}

type decoder struct {
	b   []byte
	err error
}

func (r *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errColumns
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *decoder) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errColumns
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *decoder) bytes(n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.err = errColumns
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// decodeColumns reads encoded columns, interning facet values into ds.
func decodeColumns(b []byte, ds *dicts) (*columns, error) {
	if len(b) < len(columnsMagic) || string(b[:len(columnsMagic)]) != columnsMagic {
		return nil, fmt.Errorf("%w: bad magic", errColumns)
	}
	r := &decoder{b: b[len(columnsMagic):]}
	n := r.uvarint()
	if n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: %d documents in %d bytes", errColumns, n, len(b))
	}
	c := &columns{n: int(n), idOffs: make([]uint32, 1, n+1), seq: make([]uint64, n), date: make([]int32, n), cluster: make([]uint64, n)}
	for d := uint64(0); d < n && r.err == nil; d++ {
		c.idData = append(c.idData, r.bytes(r.uvarint())...)
		c.idOffs = append(c.idOffs, uint32(len(c.idData)))
	}
	for d := uint64(0); d < n && r.err == nil; d++ {
		c.seq[d] = r.uvarint()
	}
	for d := uint64(0); d < n && r.err == nil; d++ {
		c.date[d] = int32(r.varint())
	}
	raw := r.bytes(8 * n)
	for d := uint64(0); d < n && r.err == nil; d++ {
		c.cluster[d] = binary.LittleEndian.Uint64(raw[8*d:])
	}
	c.flags = slices.Clone(r.bytes(n))
	for f := range c.facets {
		if r.err != nil {
			break
		}
		nn := r.uvarint()
		if nn > uint64(len(r.b)) {
			return nil, fmt.Errorf("%w: facet %s dictionary of %d values", errColumns, Facet(f), nn)
		}
		global := make([]uint32, nn+1)
		for i := uint64(1); i <= nn && r.err == nil; i++ {
			global[i] = ds[f].ord(string(r.bytes(r.uvarint())))
		}
		offs := make([]uint32, 1, n+1)
		var vals []uint32
		multi := false
		for d := uint64(0); d < n && r.err == nil; d++ {
			k := r.uvarint()
			if k > nn {
				r.err = errColumns
				break
			}
			if k > 1 {
				multi = true
			}
			for j := uint64(0); j < k && r.err == nil; j++ {
				l := r.uvarint()
				if l == 0 || l > nn {
					r.err = errColumns
					break
				}
				vals = append(vals, global[l])
			}
			offs = append(offs, uint32(len(vals)))
		}
		if r.err == nil {
			c.facets[f] = flatColumn(offs, vals, multi, int(n))
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes left over", errColumns, len(r.b))
	}
	c.findMeta()
	return c, nil
}
