package search

import (
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	segment "github.com/blugelabs/bluge_segment_api"
	"github.com/zeebo/xxh3"

	"github.com/colligo/colligo/store"
)

// Index fields. Text fields are analysed (see analyze.go) and keep term
// positions for phrases; keyword fields hold exact, normalised values.
const (
	fieldID          = "_id" // Bluge's update and delete key (a lookup field)
	fieldTitle       = "title"
	fieldCreator     = "creator"
	fieldSubject     = "subject"
	fieldDescription = "description"
	fieldSubjectURI  = "subject_uri"
	fieldType        = "type"
	fieldTypeURI     = "type_uri"
	fieldLanguage    = "language"
	fieldYear        = "year"
	fieldLicense     = "license"
	fieldOrigin      = "origin"
	fieldSet         = "set"
	fieldIdentifier  = "identifier"
	fieldORCID       = "orcid"
	fieldCluster     = "cluster"
)

// Lookup fields are exact values that identify a record or a work and are
// only ever looked up whole: identifiers, ORCIDs, cluster keys. Nearly
// every value is one record's own, and ice pays for each distinct term of
// a segment (a postings list, a bitmap, a dictionary entry, again at every
// merge): a generated record's cluster, identifier and ORCID terms (about
// five) cost ~25 µs of the ~130 µs its indexing took. They are kept out of ice instead, as 64-bit
// hashes in the segment's columns (columns.lookup), which a lookup
// searches by bisection. The record id (Bluge's update key) is one too:
// colSegment.DocsMatchingTerms answers Bluge from the keys and checks the
// ids, so that an update never drops another record's document.
//
// lookupSeed returns the hash seed of a lookup field, or 0 when field is
// not one.
func lookupSeed(field string) uint64 {
	switch field {
	case fieldID:
		return 4
	case fieldIdentifier:
		return 1
	case fieldORCID:
		return 2
	case fieldCluster:
		return 3
	}
	return 0
}

// lookupKey returns the key of value in the lookup field of seed. Two
// values share a key with a probability of 2^-64: an identifier lookup in
// an index of ten million keys finds a record it should not with a chance
// of one in 10^12.
func lookupKey(seed uint64, value string) uint64 { return xxh3.HashStringSeed(value, seed) }

// positionGap separates the values of a multi-valued field, so that a
// phrase does not match across two titles or two subjects.
const positionGap = 100

// document is one record as the index takes it: fields already analysed
// (Analyze is a no-op; the indexer analyses in its own workers) and the
// column values of the record.
//
// A batch holds thousands of documents until Bluge has built its segment,
// so a document keeps its fields, terms, positions and term bytes in four
// flat arrays rather than an object per term: a few allocations per
// record instead of hundreds, a third of the memory, and little for the
// collector to scan.
type document struct {
	fields []docField
	terms  []docTerm
	locs   []docLoc
	text   []byte // the bytes of every term

	lens      [numText]uint32 // the text fields' lengths
	id        string
	seq       uint64
	date      int32
	cluster   uint64
	flags     uint8
	turn      uint64 // the batch's number (see turns)
	facetOrds [numFacets][]uint32
	keys      []uint64 // the lookup keys (lookupKey), each once
	cur       termCursor
}

func (d *document) Analyze() {}

func (d *document) EachField(vf segment.VisitField) {
	for i := range d.fields {
		vf(&d.fields[i])
	}
}

// docField is a field: its terms are d.terms[lo:hi].
type docField struct {
	d      *document
	name   string
	length int
	lo, hi uint32
}

func (f *docField) Name() string         { return f.name }
func (f *docField) Length() int          { return f.length }
func (f *docField) Value() []byte        { return nil }
func (f *docField) Index() bool          { return true }
func (f *docField) Store() bool          { return false }
func (f *docField) IndexDocValues() bool { return false }
func (f *docField) EachTerm(vt segment.VisitTerm) {
	c := &f.d.cur
	for i := f.lo; i < f.hi; i++ {
		c.t = &f.d.terms[i]
		vt(c)
	}
}

// docTerm is a term of a field: its bytes are d.text[off:end], its
// positions d.locs[lo:hi] (none for a keyword). It holds no pointer, so
// that the collector need not scan the terms of the documents a batch
// holds.
type docTerm struct {
	off, end uint32
	freq     uint32
	lo, hi   uint32
}

// termCursor is the term EachTerm hands Bluge, one per document and moved
// from term to term: Bluge reads a term (its bytes stay valid) and its
// locations during the visit, and keeps nothing else of it.
type termCursor struct {
	d *document
	t *docTerm
}

func (c *termCursor) Term() []byte   { return c.d.text[c.t.off:c.t.end] }
func (c *termCursor) Frequency() int { return int(c.t.freq) }
func (c *termCursor) EachLocation(vl segment.VisitLocation) {
	for i := c.t.lo; i < c.t.hi; i++ {
		vl(&c.d.locs[i])
	}
}

// docLoc is a term position. Offsets are not kept: snippets are made from
// the stored record, not from the index.
type docLoc struct{ pos int32 }

func (l *docLoc) Field() string { return "" }
func (l *docLoc) Start() int    { return 0 }
func (l *docLoc) End() int      { return 0 }
func (l *docLoc) Pos() int      { return int(l.pos) }
func (l *docLoc) Size() int     { return 4 }

// builder makes documents; one per goroutine (it owns a tokenizer). It
// gathers a document in its scratch arrays and copies them out, sized
// exactly, when the document is done.
type builder struct {
	tk *tokenizer
	ds *dicts

	fields []docField
	terms  []docTerm
	locs   []docLoc
	text   []byte
	lens   [numText]uint32
	keys   []uint64
	// the field being built: its terms by bytes (see termTable), and
	// each occurrence (term index, position) in text order
	idx termTable
	occ []occurrence
	cnt []uint32
}

type occurrence struct{ term, pos uint32 }

func newBuilder(ds *dicts) *builder {
	return &builder{tk: newTokenizer(), ds: ds}
}

// reset starts a document.
func (b *builder) reset() {
	b.fields, b.terms, b.locs, b.text, b.keys = b.fields[:0], b.terms[:0], b.locs[:0], b.text[:0], b.keys[:0]
	b.lens = [numText]uint32{}
}

// textField analyses values into one positional field.
func (b *builder) textField(name string, values ...string) {
	b.idx.reset()
	b.occ = b.occ[:0]
	first := uint32(len(b.terms))
	pos := uint32(0)
	for i, v := range values {
		if i > 0 {
			pos += positionGap
		}
		b.tk.each(v, func(term []byte) {
			pos++
			slot, k, ok := b.idx.find(term, b.text, b.terms[first:])
			if !ok {
				k = uint32(len(b.terms)) - first
				b.idx.put(slot, k)
				off := uint32(len(b.text))
				b.text = append(b.text, term...)
				b.terms = append(b.terms, docTerm{off: off, end: uint32(len(b.text))})
			}
			b.terms[first+k].freq++
			b.occ = append(b.occ, occurrence{k, pos})
		})
	}
	if len(b.occ) == 0 {
		return
	}
	// Each term's positions, contiguous and in order (a counting sort of
	// the occurrences by term).
	terms := b.terms[first:]
	base := uint32(len(b.locs))
	next := base
	for i := range terms {
		terms[i].lo, terms[i].hi = next, next
		next += terms[i].freq
	}
	b.locs = slices.Grow(b.locs, len(b.occ))[:next]
	for _, o := range b.occ {
		t := &terms[o.term]
		b.locs[t.hi] = docLoc{int32(o.pos)}
		t.hi++
	}
	b.fields = append(b.fields, docField{name: name, length: len(b.occ), lo: first, hi: uint32(len(b.terms))})
	if t := textIndex(name); t >= 0 {
		b.lens[t] = uint32(len(b.occ))
	}
}

// termTable finds the terms of the field being built by their bytes: an
// open-addressing table of term indexes, emptied by a new generation
// rather than cleared. A map cleared for every field and looked up for
// every token took over a third of the builder's time (0.76 of 2.0 s in a
// profile of 100,000 records).
type termTable struct {
	slots []termSlot
	gen   uint32
	n     int // terms in the current generation
}

type termSlot struct {
	gen  uint32 // the generation the slot was filled in
	hash uint32
	term uint32 // the term's index among the field's terms
}

func (t *termTable) reset() {
	t.gen++
	t.n = 0
	if len(t.slots) == 0 {
		t.slots = make([]termSlot, 256)
	}
	if t.gen == 0 { // wrapped: old generations would look current
		clear(t.slots)
		t.gen = 1
	}
}

func termHash(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// find returns the index of term among terms (whose bytes are in text),
// or the slot where put must record it.
func (t *termTable) find(term, text []byte, terms []docTerm) (slot int, idx uint32, ok bool) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	h := termHash(term)
	mask := len(t.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.gen != t.gen {
			s.hash = h
			return i, 0, false
		}
		if s.hash == h {
			if tm := terms[s.term]; string(text[tm.off:tm.end]) == string(term) {
				return i, s.term, true
			}
		}
	}
}

// put records term index idx in the slot find returned.
func (t *termTable) put(slot int, idx uint32) {
	t.slots[slot].gen, t.slots[slot].term = t.gen, idx
	t.n++
}

// grow doubles the table, keeping the current generation's terms.
func (t *termTable) grow() {
	old := t.slots
	t.slots = make([]termSlot, 2*len(old))
	mask := len(t.slots) - 1
	for _, s := range old {
		if s.gen != t.gen {
			continue
		}
		i := int(s.hash) & mask
		for t.slots[i].gen == t.gen {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

// keywordField indexes exact values, once each.
func (b *builder) keywordField(name string, values ...string) {
	first := uint32(len(b.terms))
	for _, v := range values {
		if v == "" {
			continue
		}
		dup := false
		for _, t := range b.terms[first:] {
			if string(b.text[t.off:t.end]) == v {
				dup = true
				break
			}
		}
		if !dup {
			off := uint32(len(b.text))
			b.text = append(b.text, v...)
			b.terms = append(b.terms, docTerm{off: off, end: uint32(len(b.text)), freq: 1})
		}
	}
	if n := uint32(len(b.terms)) - first; n > 0 {
		b.fields = append(b.fields, docField{name: name, length: int(n), lo: first, hi: uint32(len(b.terms))})
	}
}

// lookupField adds the keys of values of a lookup field, once each.
func (b *builder) lookupField(name string, values ...string) {
	seed := lookupSeed(name)
	for _, v := range values {
		if v == "" {
			continue
		}
		if k := lookupKey(seed, v); !slices.Contains(b.keys, k) {
			b.keys = append(b.keys, k)
		}
	}
}

// finish copies the document's fields into d.
func (b *builder) finish(d *document) {
	d.fields = slices.Clone(b.fields)
	d.terms = slices.Clone(b.terms)
	d.locs = slices.Clone(b.locs)
	d.text = slices.Clone(b.text)
	d.lens = b.lens
	d.keys = slices.Clone(b.keys)
	for i := range d.fields {
		d.fields[i].d = d
	}
	d.cur.d = d
}

// keyword normalises a catalogued value for exact matching: the folded,
// unstemmed words joined by single spaces ("Jeu de Données" → "jeu de
// donnees").
func (b *builder) keyword(s string) string { return keywordOf(b.tk, s) }

func keywordOf(tk *tokenizer, s string) string {
	var sb strings.Builder
	tk.eachUnstemmed(s, func(term []byte) {
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.Write(term)
	})
	return sb.String()
}

// build makes the document of a live record stored at seq.
func (b *builder) build(r *store.Record, seq uint64) *document {
	m := &r.Metadata
	d := &document{id: r.ID, seq: seq}
	var titles, creators, subjects, descriptions []string
	for _, t := range m.Titles {
		titles = append(titles, t.Value)
	}
	for _, p := range m.Creators {
		creators = append(creators, p.Name)
	}
	for _, p := range m.Contributors {
		creators = append(creators, p.Name)
	}
	var subjectURIs []string
	for _, s := range m.Subjects {
		subjects = append(subjects, s.Value)
		if s.URI != "" {
			subjectURIs = append(subjectURIs, s.URI)
		}
	}
	for _, t := range m.Descriptions {
		descriptions = append(descriptions, t.Value)
	}
	b.reset()
	b.lookupField(fieldID, r.ID)
	b.textField(fieldTitle, titles...)
	b.textField(fieldCreator, creators...)
	b.textField(fieldSubject, subjects...)
	b.textField(fieldDescription, descriptions...)
	b.keywordField(fieldSubjectURI, subjectURIs...)
	b.keywordField(fieldType, b.keyword(m.Type))
	b.keywordField(fieldTypeURI, m.TypeURI)
	b.keywordField(fieldLanguage, m.Languages...)
	year := yearOf(m)
	b.keywordField(fieldYear, year)
	b.keywordField(fieldLicense, strings.ToLower(m.LicenseSPDX), m.License)
	b.keywordField(fieldOrigin, r.Origin)
	b.keywordField(fieldSet, withAncestors(r.OAISets, r.Sets)...)
	var ids, orcids []string
	for _, id := range m.Identifiers {
		ids = append(ids, identifierTerm(id.Scheme, id.Value))
	}
	for _, p := range m.Creators {
		if p.ORCID != "" {
			orcids = append(orcids, p.ORCID)
		}
	}
	b.lookupField(fieldIdentifier, ids...)
	b.lookupField(fieldORCID, orcids...)
	if key := ClusterKey(r); key != "" {
		d.cluster = clusterHash(key)
		b.lookupField(fieldCluster, clusterTerm(d.cluster))
	}
	b.finish(d)

	d.date = dateOf(m)
	// Concept facets: a value mapped to a vocabulary counts under its
	// concept, whatever words and language it was catalogued with.
	var facets [numFacets][]string
	typ := m.Type
	if m.TypeURI != "" {
		typ = m.TypeURI
	}
	facets[FacetType] = nonEmpty(typ)
	subjectFacet := make([]string, 0, len(m.Subjects))
	for _, s := range m.Subjects {
		if s.URI != "" {
			subjectFacet = append(subjectFacet, s.URI)
		} else {
			subjectFacet = append(subjectFacet, s.Value)
		}
	}
	facets[FacetSubject] = dedupe(subjectFacet)
	facets[FacetYear] = nonEmpty(year)
	facets[FacetLanguage] = dedupe(m.Languages)
	lic := m.LicenseSPDX
	if lic == "" {
		lic = m.License
	}
	facets[FacetLicense] = nonEmpty(lic)
	facets[FacetOrigin] = nonEmpty(r.Origin)
	for f, vs := range facets {
		for _, v := range vs {
			d.facetOrds[f] = append(d.facetOrds[f], b.ds[f].ord(v))
		}
	}
	return d
}

// metaDocID is the id of the checkpoint document; no record id can take it
// (store.ValidID allows no NUL).
const metaDocID = "\x00checkpoint"

// checkpointDoc is written with every batch: its seq column is the highest
// change seq the batch covers. Being in the same segment as the batch's
// records, it cannot be ahead of them after a crash.
func checkpointDoc(seq uint64) *document {
	d := &document{id: metaDocID, seq: seq, flags: flagMeta}
	var b builder
	b.lookupField(fieldID, metaDocID)
	b.finish(d)
	return d
}

func nonEmpty(s string) []string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return []string{s}
}

func dedupe(vs []string) []string {
	var out []string
	for _, v := range vs {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		dup := false
		for _, o := range out {
			if o == v {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

// withAncestors returns the sets and their ancestors ("a:b:c" is also in
// "a:b" and "a"), as OAI-PMH selective harvesting treats them.
func withAncestors(lists ...[]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, s := range l {
			for {
				if !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
				i := strings.LastIndexByte(s, ':')
				if i < 0 {
					break
				}
				s = s[:i]
			}
		}
	}
	return out
}

// yearOf returns the publication year: of Issued, else of Created.
func yearOf(m *store.Metadata) string {
	for _, s := range []string{m.Issued, m.Created} {
		if len(s) >= 4 && isDigits(s[:4]) {
			return s[:4]
		}
	}
	return ""
}

// dateOf returns the publication date as YYYYMMDD (00 for a missing month
// or day), or 0.
func dateOf(m *store.Metadata) int32 {
	for _, s := range []string{m.Issued, m.Created} {
		if len(s) < 4 || !isDigits(s[:4]) {
			continue
		}
		v := atoi(s[:4]) * 10000
		if len(s) >= 7 && s[4] == '-' && isDigits(s[5:7]) {
			v += atoi(s[5:7]) * 100
			if len(s) >= 10 && s[7] == '-' && isDigits(s[8:10]) {
				v += atoi(s[8:10])
			}
		}
		return int32(v)
	}
	return 0
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// identifierTerm is the index term of an identifier: its normalised value,
// lower-cased (identifier schemes compare case-insensitively in practice:
// DOIs by definition, handles and URNs mostly).
func identifierTerm(scheme, value string) string {
	if id, ok := store.NormalizeIdentifier(scheme, value); ok {
		value = id.Value
	}
	return strings.ToLower(strings.TrimSpace(value))
}

// clusterSchemes are the identifiers strong enough to say that two records
// describe the same work, strongest first.
var clusterSchemes = []string{"doi", "handle", "arxiv", "isbn", "urn", "pmid", "pmcid"}

// ClusterKey returns the key that groups the copies of one work held by
// several origins: "doi:10.1234/abc" from the record's strongest
// identifier, or "" when it has none.
func ClusterKey(r *store.Record) string {
	for _, scheme := range clusterSchemes {
		for _, id := range r.Metadata.Identifiers {
			if id.Scheme != scheme {
				continue
			}
			n, ok := store.NormalizeIdentifier(id.Scheme, id.Value)
			if !ok {
				continue
			}
			return scheme + ":" + strings.ToLower(n.Value)
		}
	}
	return ""
}

func clusterHash(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	v := h.Sum64()
	if v == 0 {
		v = 1
	}
	return v
}

// clusterTerm is the index term of a cluster hash: members of a cluster
// are found by looking it up.
func clusterTerm(h uint64) string { return strconv.FormatUint(h, 16) }
