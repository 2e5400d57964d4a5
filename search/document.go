package search

import (
	"hash/fnv"
	"strconv"
	"strings"

	segment "github.com/blugelabs/bluge_segment_api"

	"github.com/colligo/colligo/store"
)

// Index fields. Text fields are analysed (see analyze.go) and keep term
// positions for phrases; keyword fields hold exact, normalised values.
const (
	fieldID          = "_id" // Bluge's update and delete key
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

// positionGap separates the values of a multi-valued field, so that a
// phrase does not match across two titles or two subjects.
const positionGap = 100

// document is one record as the index takes it: fields already analysed
// (Analyze is a no-op; the indexer analyses in its own workers) and the
// column values of the record.
type document struct {
	fields []*docField

	id        string
	seq       uint64
	date      int32
	cluster   uint64
	flags     uint8
	turn      uint64 // the batch's number (see turns)
	facets    [numFacets][]string
	facetOrds [numFacets][]uint32
}

func (d *document) Analyze() {}

func (d *document) EachField(vf segment.VisitField) {
	for _, f := range d.fields {
		vf(f)
	}
}

type docField struct {
	name   string
	length int
	terms  []*docTerm
}

func (f *docField) Name() string         { return f.name }
func (f *docField) Length() int          { return f.length }
func (f *docField) Value() []byte        { return nil }
func (f *docField) Index() bool          { return true }
func (f *docField) Store() bool          { return false }
func (f *docField) IndexDocValues() bool { return false }
func (f *docField) EachTerm(vt segment.VisitTerm) {
	for _, t := range f.terms {
		vt(t)
	}
}

type docTerm struct {
	term []byte
	freq int
	locs []docLoc
}

func (t *docTerm) Term() []byte   { return t.term }
func (t *docTerm) Frequency() int { return t.freq }
func (t *docTerm) EachLocation(vl segment.VisitLocation) {
	for i := range t.locs {
		vl(&t.locs[i])
	}
}

// docLoc is a term position. Offsets are not kept: snippets are made from
// the stored record, not from the index.
type docLoc struct{ pos int }

func (l *docLoc) Field() string { return "" }
func (l *docLoc) Start() int    { return 0 }
func (l *docLoc) End() int      { return 0 }
func (l *docLoc) Pos() int      { return l.pos }
func (l *docLoc) Size() int     { return 8 }

// builder makes documents; one per goroutine (it owns a tokenizer).
type builder struct {
	tk *tokenizer
	ds *dicts
	// scratch for the field being built
	idx map[string]int
}

func newBuilder(ds *dicts) *builder {
	return &builder{tk: newTokenizer(), ds: ds, idx: make(map[string]int, 256)}
}

// textField analyses values into one positional field.
func (b *builder) textField(name string, values ...string) *docField {
	f := &docField{name: name}
	clear(b.idx)
	pos := 0
	for i, v := range values {
		if i > 0 {
			pos += positionGap
		}
		b.tk.each(v, func(term []byte) {
			pos++
			f.length++
			k, ok := b.idx[string(term)]
			if !ok {
				k = len(f.terms)
				b.idx[string(term)] = k
				f.terms = append(f.terms, &docTerm{term: []byte(string(term))})
			}
			t := f.terms[k]
			t.freq++
			t.locs = append(t.locs, docLoc{pos})
		})
	}
	if f.length == 0 {
		return nil
	}
	return f
}

// keywordField indexes exact values, once each.
func keywordField(name string, values ...string) *docField {
	f := &docField{name: name}
	for _, v := range values {
		if v == "" {
			continue
		}
		dup := false
		for _, t := range f.terms {
			if string(t.term) == v {
				dup = true
				break
			}
		}
		if !dup {
			f.terms = append(f.terms, &docTerm{term: []byte(v), freq: 1})
			f.length++
		}
	}
	if f.length == 0 {
		return nil
	}
	return f
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
	add := func(f *docField) {
		if f != nil {
			d.fields = append(d.fields, f)
		}
	}
	add(keywordField(fieldID, r.ID))
	add(b.textField(fieldTitle, titles...))
	add(b.textField(fieldCreator, creators...))
	add(b.textField(fieldSubject, subjects...))
	add(b.textField(fieldDescription, descriptions...))
	add(keywordField(fieldSubjectURI, subjectURIs...))
	add(keywordField(fieldType, b.keyword(m.Type)))
	add(keywordField(fieldTypeURI, m.TypeURI))
	add(keywordField(fieldLanguage, m.Languages...))
	year := yearOf(m)
	add(keywordField(fieldYear, year))
	add(keywordField(fieldLicense, strings.ToLower(m.LicenseSPDX), m.License))
	add(keywordField(fieldOrigin, r.Origin))
	add(keywordField(fieldSet, withAncestors(r.OAISets, r.Sets)...))
	var ids, orcids []string
	for _, id := range m.Identifiers {
		ids = append(ids, identifierTerm(id.Scheme, id.Value))
	}
	for _, p := range m.Creators {
		if p.ORCID != "" {
			orcids = append(orcids, p.ORCID)
		}
	}
	add(keywordField(fieldIdentifier, ids...))
	add(keywordField(fieldORCID, orcids...))
	if key := ClusterKey(r); key != "" {
		d.cluster = clusterHash(key)
		add(keywordField(fieldCluster, clusterTerm(d.cluster)))
	}

	d.date = dateOf(m)
	// Concept facets: a value mapped to a vocabulary counts under its
	// concept, whatever words and language it was catalogued with.
	typ := m.Type
	if m.TypeURI != "" {
		typ = m.TypeURI
	}
	d.facets[FacetType] = nonEmpty(typ)
	subjectFacet := make([]string, 0, len(m.Subjects))
	for _, s := range m.Subjects {
		if s.URI != "" {
			subjectFacet = append(subjectFacet, s.URI)
		} else {
			subjectFacet = append(subjectFacet, s.Value)
		}
	}
	d.facets[FacetSubject] = dedupe(subjectFacet)
	d.facets[FacetYear] = nonEmpty(year)
	d.facets[FacetLanguage] = dedupe(m.Languages)
	lic := m.LicenseSPDX
	if lic == "" {
		lic = m.License
	}
	d.facets[FacetLicense] = nonEmpty(lic)
	d.facets[FacetOrigin] = nonEmpty(r.Origin)
	for f, vs := range d.facets {
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
	return &document{
		id: metaDocID, seq: seq, flags: flagMeta,
		fields: []*docField{keywordField(fieldID, metaDocID)},
	}
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
