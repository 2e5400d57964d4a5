package search

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/RoaringBitmap/roaring"
	segment "github.com/blugelabs/bluge_segment_api"

	"github.com/colligo/colligo/store"
)

// Searching bypasses Bluge's searchers and collectors, which cost about a
// microsecond per matching document (measured: 6 ms for 8,400 matches of a
// two-word query on 100,000 records, before any facet). Instead, per
// segment:
//
//  1. the query is evaluated on roaring bitmaps of the postings (AND, OR,
//     AND NOT; phrases check positions only for documents holding every
//     word);
//  2. one pass over the matches applies the filters and counts the facets
//     from the columns (drill-sideways: a facet that is filtered is counted
//     without its own filter);
//  3. for relevance, each query term's postings are read with their
//     frequencies and norms only at the matching documents, adding BM25
//     scores (k1 1.2, b 0.75) into an array; fields weigh differently
//     (fieldWeights);
//  4. a bounded heap keeps the best documents; copies of one work collapse
//     to the best-ranked one.

// Expander widens a query word to concepts: the vocabulary layer (issue 9)
// implements it to make a word that matches a SKOS concept label in any
// language also match records tagged with that concept or a narrower one.
// Implementations must be safe for concurrent use and fast: Expand runs
// once per query word, during the search.
type Expander interface {
	// Expand returns the concept URIs that word stands for in field
	// ("" for the default fields, "subject" or "type"), or nil. Records
	// whose subject or type concept is one of them match the word.
	Expand(ctx context.Context, field, word string) []string
}

// defaultFields are the fields a word without a field searches, with the
// weight of a match in each.
var defaultFields = []string{fieldTitle, fieldSubject, fieldCreator, fieldDescription}

var fieldWeights = map[string]float64{fieldTitle: 3, fieldSubject: 2, fieldCreator: 1.5, fieldDescription: 1}

const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// scoreTerm is a term whose BM25 score counts towards relevance.
type scoreTerm struct {
	field  string
	term   string
	weight float64
	idf    float64
	avgLen float64
}

type segEval struct {
	vs    *viewSeg
	dicts map[string]segment.Dictionary
	pls   map[string]segment.PostingsList // by field NUL term
	match *roaring.Bitmap                 // documents matching the query
	hits  *roaring.Bitmap                 // and the filters
	score []float32                       // by document, for relevance; nil otherwise
}

func (s *segEval) dict(field string) (segment.Dictionary, error) {
	if d, ok := s.dicts[field]; ok {
		return d, nil
	}
	d, err := s.vs.seg.Dictionary(field)
	if err != nil {
		return nil, err
	}
	s.dicts[field] = d
	return d, nil
}

var emptyBitmap = roaring.New()

// postingsList returns the postings of term in field, looked up once per
// search.
func (s *segEval) postingsList(field string, term []byte) (segment.PostingsList, error) {
	key := field + "\x00" + string(term)
	if pl, ok := s.pls[key]; ok {
		return pl, nil
	}
	d, err := s.dict(field)
	if err != nil {
		return nil, err
	}
	pl, err := d.PostingsList(term, nil, nil)
	if err != nil {
		return nil, err
	}
	if s.pls == nil {
		s.pls = map[string]segment.PostingsList{}
	}
	s.pls[key] = pl
	return pl, nil
}

// postings returns the documents holding term in field. The bitmap may be
// the segment's own: never modify it.
func (s *segEval) postings(field string, term []byte) (*roaring.Bitmap, error) {
	if seed := lookupSeed(field); seed != 0 {
		return s.vs.cols.lookup(lookupKey(seed, string(term))), nil
	}
	pl, err := s.postingsList(field, term)
	if err != nil {
		return nil, err
	}
	if pl.Count() == 0 {
		return emptyBitmap, nil
	}
	it, err := pl.Iterator(false, false, false, nil)
	if err != nil {
		return nil, err
	}
	if oi, ok := it.(segment.OptimizablePostingsIterator); ok {
		if bm := oi.ActualBitmap(); bm != nil {
			return bm, nil
		}
		if doc, ok := oi.DocNum1Hit(); ok {
			return roaring.BitmapOf(uint32(doc)), nil
		}
	}
	bm := roaring.New()
	for p, err := it.Next(); p != nil || err != nil; p, err = it.Next() {
		if err != nil {
			return nil, err
		}
		bm.Add(uint32(p.Number()))
	}
	return bm, nil
}

// evaluator evaluates one query on one view.
type evaluator struct {
	ctx   context.Context
	v     *view
	exp   Expander
	segs  []*segEval
	terms []scoreTerm
}

func newEvaluator(ctx context.Context, v *view, exp Expander) *evaluator {
	e := &evaluator{ctx: ctx, v: v, exp: exp}
	for _, vs := range v.segs {
		e.segs = append(e.segs, &segEval{vs: vs, dicts: map[string]segment.Dictionary{}})
	}
	return e
}

// match evaluates n on segment s; the result holds live records only and
// is the caller's to modify.
func (e *evaluator) match(s *segEval, n node) (*roaring.Bitmap, error) {
	if n == nil {
		return s.vs.live.Clone(), nil
	}
	switch x := n.(type) {
	case *andNode:
		var pos *roaring.Bitmap
		var negs []node
		for _, k := range x.kids {
			if nk, ok := k.(*notNode); ok {
				negs = append(negs, nk.kid)
				continue
			}
			b, err := e.match(s, k)
			if err != nil {
				return nil, err
			}
			if pos == nil {
				pos = b
			} else {
				pos.And(b)
			}
			if pos.IsEmpty() {
				return pos, nil
			}
		}
		if pos == nil {
			pos = s.vs.live.Clone()
		}
		for _, k := range negs {
			b, err := e.match(s, k)
			if err != nil {
				return nil, err
			}
			pos.AndNot(b)
		}
		return pos, nil
	case *orNode:
		out := roaring.New()
		for _, k := range x.kids {
			b, err := e.match(s, k)
			if err != nil {
				return nil, err
			}
			out.Or(b)
		}
		return out, nil
	case *notNode:
		b, err := e.match(s, x.kid)
		if err != nil {
			return nil, err
		}
		out := s.vs.live.Clone()
		out.AndNot(b)
		return out, nil
	case *rangeNode:
		return e.matchYears(s, x)
	case *wordNode:
		b, err := e.matchWord(s, x)
		if err != nil {
			return nil, err
		}
		b.And(s.vs.live)
		return b, nil
	}
	return nil, fmt.Errorf("search: unknown query node %T", n)
}

func (e *evaluator) matchYears(s *segEval, r *rangeNode) (*roaring.Bitmap, error) {
	d, err := s.dict(fieldYear)
	if err != nil {
		return nil, err
	}
	lo := []byte(fmt.Sprintf("%04d", r.lo))
	var hi []byte
	if r.hi < 9999 {
		hi = []byte(fmt.Sprintf("%04d", r.hi+1))
	}
	it := d.Iterator(nil, lo, hi)
	defer it.Close()
	var terms []string
	for de, err := it.Next(); de != nil || err != nil; de, err = it.Next() {
		if err != nil {
			return nil, err
		}
		terms = append(terms, de.Term())
	}
	out := roaring.New()
	for _, t := range terms {
		b, err := s.postings(fieldYear, []byte(t))
		if err != nil {
			return nil, err
		}
		out.Or(b)
	}
	out.And(s.vs.live)
	return out, nil
}

// matchWord evaluates a word or phrase; the result may hold deleted
// documents, and is the caller's.
func (e *evaluator) matchWord(s *segEval, w *wordNode) (*roaring.Bitmap, error) {
	switch {
	case w.field == "":
		out := roaring.New()
		terms := w.terms
		for _, f := range defaultFields {
			b, err := e.matchTerms(s, f, terms, w.phrase || len(terms) > 1)
			if err != nil {
				return nil, err
			}
			out.Or(b)
		}
		if id := identifierInQuery(w.text); id != "" {
			b, err := s.postings(fieldIdentifier, []byte(id))
			if err != nil {
				return nil, err
			}
			out.Or(b)
		}
		if err := e.expand(s, out, "", w.text); err != nil {
			return nil, err
		}
		return out, nil
	case w.field == fieldSubject && isURI(w.text):
		return e.keyword(s, fieldSubjectURI, w.text)
	case isTextField(w.field):
		terms := w.terms
		b, err := e.matchTerms(s, w.field, terms, w.phrase || len(terms) > 1)
		if err != nil {
			return nil, err
		}
		if w.field == fieldSubject {
			b = b.Clone()
			if err := e.expand(s, b, "subject", w.text); err != nil {
				return nil, err
			}
		}
		return b, nil
	case w.field == fieldType:
		if isURI(w.text) {
			return e.keyword(s, fieldTypeURI, w.text)
		}
		tk := tokenizers.Get().(*tokenizer)
		kw := keywordOf(tk, w.text)
		tokenizers.Put(tk)
		b, err := e.keyword(s, fieldType, kw)
		if err != nil {
			return nil, err
		}
		return b, e.expand(s, b, "type", w.text)
	case w.field == fieldLanguage:
		return e.keyword(s, fieldLanguage, strings.ToLower(strings.TrimSpace(w.text)))
	case w.field == fieldLicense:
		if uri, spdx, ok := store.NormalizeLicense(w.text); ok {
			b, err := e.keyword(s, fieldLicense, uri)
			if err != nil {
				return nil, err
			}
			c, err := e.keyword(s, fieldLicense, strings.ToLower(spdx))
			if err != nil {
				return nil, err
			}
			b.Or(c)
			return b, nil
		}
		return e.keyword(s, fieldLicense, strings.ToLower(strings.TrimSpace(w.text)))
	case w.field == fieldOrigin || w.field == fieldSet:
		return e.keyword(s, w.field, strings.TrimSpace(w.text))
	case w.field == fieldORCID:
		o, _ := store.NormalizeORCID(w.text)
		if o == "" {
			o = strings.TrimSpace(w.text)
		}
		return e.keyword(s, fieldORCID, o)
	case w.field == fieldIdentifier:
		return e.keyword(s, fieldIdentifier, identifierTerm("", w.text))
	default: // doi, handle, arxiv, isbn
		return e.keyword(s, fieldIdentifier, identifierTerm(w.field, w.text))
	}
}

func (e *evaluator) keyword(s *segEval, field, value string) (*roaring.Bitmap, error) {
	b, err := s.postings(field, []byte(value))
	if err != nil {
		return nil, err
	}
	return b.Clone(), nil
}

// expand adds to out the records tagged with the concepts the Expander
// finds for word.
func (e *evaluator) expand(s *segEval, out *roaring.Bitmap, field, word string) error {
	if e.exp == nil {
		return nil
	}
	for _, uri := range e.exp.Expand(e.ctx, field, word) {
		for _, f := range []string{fieldSubjectURI, fieldTypeURI} {
			b, err := s.postings(f, []byte(uri))
			if err != nil {
				return err
			}
			out.Or(b)
		}
	}
	return nil
}

// matchTerms returns the documents with every term in field, in sequence
// when phrase is set.
func (e *evaluator) matchTerms(s *segEval, field string, terms []string, phrase bool) (*roaring.Bitmap, error) {
	if len(terms) == 0 {
		return roaring.New(), nil
	}
	var out *roaring.Bitmap
	for _, t := range terms {
		b, err := s.postings(field, []byte(t))
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = b.Clone()
		} else {
			out.And(b)
		}
		if out.IsEmpty() {
			return out, nil
		}
	}
	if !phrase || len(terms) == 1 {
		return out, nil
	}
	return e.verifyPhrase(s, field, terms, out)
}

// verifyPhrase keeps the candidates where the terms occur in sequence.
func (e *evaluator) verifyPhrase(s *segEval, field string, terms []string, cand *roaring.Bitmap) (*roaring.Bitmap, error) {
	d, err := s.dict(field)
	if err != nil {
		return nil, err
	}
	its := make([]segment.PostingsIterator, len(terms))
	for i, t := range terms {
		pl, err := d.PostingsList([]byte(t), nil, nil)
		if err != nil {
			return nil, err
		}
		if its[i], err = pl.Iterator(false, false, true, nil); err != nil {
			return nil, err
		}
	}
	out := roaring.New()
	positions := make([]map[int]bool, len(terms))
	it := cand.Iterator()
	n := 0
	for it.HasNext() {
		doc := uint64(it.Next())
		if n++; n%4096 == 0 {
			if err := e.ctx.Err(); err != nil {
				return nil, err
			}
		}
		ok := true
		for i, pi := range its {
			p, err := pi.Advance(doc)
			if err != nil {
				return nil, err
			}
			if p == nil || p.Number() != doc {
				ok = false
				break
			}
			m := positions[i]
			if m == nil {
				m = map[int]bool{}
				positions[i] = m
			}
			clear(m)
			for _, l := range p.Locations() {
				m[l.Pos()] = true
			}
		}
		if !ok {
			continue
		}
		for start := range positions[0] {
			all := true
			for i := 1; i < len(terms); i++ {
				if !positions[i][start+i] {
					all = false
					break
				}
			}
			if all {
				out.Add(uint32(doc))
				break
			}
		}
	}
	return out, nil
}

// collectTerms lists the positive words of text fields for scoring and
// highlighting.
func collectTerms(n node, neg bool, out *[]scoreTerm, words *[]string) {
	switch x := n.(type) {
	case *andNode:
		for _, k := range x.kids {
			collectTerms(k, neg, out, words)
		}
	case *orNode:
		for _, k := range x.kids {
			collectTerms(k, neg, out, words)
		}
	case *notNode:
		collectTerms(x.kid, !neg, out, words)
	case *wordNode:
		if neg || !isTextField(x.field) {
			return
		}
		fields := defaultFields
		if x.field != "" {
			fields = []string{x.field}
		}
		for _, t := range x.terms {
			*words = append(*words, t)
			for _, f := range fields {
				st := scoreTerm{field: f, term: t, weight: fieldWeights[f]}
				if !slices.Contains(*out, st) {
					*out = append(*out, st)
				}
			}
		}
	}
}

// stats fills the BM25 statistics of the scoring terms from the view:
// document frequencies from the postings, average field lengths from the
// columns. Both count the documents of records updated or deleted until a
// merge drops them, as Lucene's do.
func (e *evaluator) stats() error {
	n := float64(e.v.records)
	if n == 0 {
		n = 1
	}
	for i := range e.terms {
		t := &e.terms[i]
		ti := textIndex(t.field)
		if ti < 0 {
			return fmt.Errorf("search: score of %s, not a text field", t.field)
		}
		var docs, tokens float64
		for _, s := range e.segs {
			tc := &s.vs.cols.text[ti]
			docs += float64(tc.withField)
			tokens += float64(tc.tokens)
		}
		t.avgLen = 1
		if docs > 0 {
			t.avgLen = tokens / docs
		}
		var df float64
		for _, s := range e.segs {
			pl, err := s.postingsList(t.field, []byte(t.term))
			if err != nil {
				return err
			}
			df += float64(pl.Count())
		}
		df = min(df, n)
		t.idf = math.Log(1 + (n-df+0.5)/(df+0.5))
	}
	return nil
}

var scorePool = sync.Pool{New: func() any { return new([]float32) }}

// score adds the BM25 scores of the scoring terms at the hits of s. The
// documents holding a term come from its postings bitmap; the frequency is
// 1 but for the few documents the columns list, and the field length comes
// from the columns (see columns): ice's postings are not decoded.
func (e *evaluator) score(s *segEval) error {
	if len(e.terms) == 0 || s.hits.IsEmpty() {
		return nil
	}
	p := scorePool.Get().(*[]float32)
	if cap(*p) < int(s.vs.n) {
		*p = make([]float32, s.vs.n)
	}
	s.score = (*p)[:s.vs.n]
	buf := make([]uint32, 256)
	for _, t := range e.terms {
		ti := textIndex(t.field)
		if ti < 0 {
			return fmt.Errorf("search: score of %s, not a text field", t.field)
		}
		all, err := s.postings(t.field, []byte(t.term))
		if err != nil {
			return err
		}
		at := roaring.And(all, s.hits)
		if at.IsEmpty() {
			continue
		}
		tc := &s.vs.cols.text[ti]
		docs, tfs := tc.freqs(t.term)
		lens := tc.lens
		w := t.weight * t.idf * (bm25K1 + 1)
		k := bm25K1 * (1 - bm25B)
		kl := bm25K1 * bm25B / t.avgLen
		next := uint32(math.MaxUint32) // the next document with a frequency above 1
		if len(tfs) > 0 {
			next = le32(docs)
		}
		x := 0
		mi := at.ManyIterator()
		for {
			got := mi.NextMany(buf)
			if got == 0 {
				break
			}
			for _, doc := range buf[:got] {
				tf := 1.0
				if doc >= next {
					for next < doc {
						x++
						next = math.MaxUint32
						if x < len(tfs) {
							next = le32(docs[4*x:])
						}
					}
					if next == doc {
						tf = float64(tfs[x])
					}
				}
				l := float64(lens.at(doc))
				s.score[doc] += float32(w * tf / (tf + k + kl*l))
			}
		}
	}
	return nil
}

// release returns the score arrays to the pool, cleared at the hits.
func (e *evaluator) release() {
	for _, s := range e.segs {
		if s.score == nil {
			continue
		}
		it := s.hits.ManyIterator()
		buf := make([]uint32, 256)
		for {
			n := it.NextMany(buf)
			if n == 0 {
				break
			}
			for _, d := range buf[:n] {
				s.score[d] = 0
			}
		}
		sc := s.score
		s.score = nil
		scorePool.Put(&sc)
	}
}

// runSegments evaluates the query on every segment, applies the filters,
// counts the facets into fc and, when scoring, scores the hits: segments
// are split between two goroutines, one per core of the machines we aim
// at, each counting into its own copy of fc.
func (e *evaluator) runSegments(root node, fc *facetCounter, scoring bool) error {
	const workers = 2
	var wg sync.WaitGroup
	errs := make([]error, workers)
	fcs := make([]*facetCounter, workers)
	for w := 0; w < workers; w++ {
		fcs[w] = fc.clone()
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(e.segs); i += workers {
				s := e.segs[i]
				m, err := e.match(s, root)
				if err == nil {
					s.match = m
					fcs[w].run(s)
					if scoring {
						err = e.score(s)
					}
				}
				if err == nil {
					err = e.ctx.Err()
				}
				if err != nil {
					errs[w] = err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	for w := 0; w < workers; w++ {
		if errs[w] != nil {
			return errs[w]
		}
		fc.add(fcs[w])
	}
	return nil
}

// clone returns a counter with the same wants and filters and zero counts.
func (fc *facetCounter) clone() *facetCounter {
	c := &facetCounter{want: fc.want, filters: fc.filters}
	for f := range fc.counts {
		if fc.counts[f] != nil {
			c.counts[f] = make([]uint32, len(fc.counts[f]))
		}
	}
	return c
}

func (fc *facetCounter) add(o *facetCounter) {
	for f := range fc.counts {
		for i, c := range o.counts[f] {
			fc.counts[f][i] += c
		}
	}
}

// facetCounter counts facet values and applies filters in one pass.
type facetCounter struct {
	want    [numFacets]bool
	counts  [numFacets][]uint32
	filters []facetFilter
}

type facetFilter struct {
	facet Facet
	ords  []uint32 // any of them; empty matches nothing
}

// run walks the matches of s, fills s.hits and counts.
func (fc *facetCounter) run(s *segEval) {
	cols := s.vs.cols
	if len(fc.filters) == 0 {
		s.hits = s.match
		fc.countAll(s.match, cols)
		return
	}
	// The filters' values as the segment's local ordinals.
	local := make([][]uint32, len(fc.filters))
	for i, f := range fc.filters {
		col := &cols.facets[f.facet]
		for _, o := range f.ords {
			if l := col.local(o); l != 0 {
				local[i] = append(local[i], l)
			}
		}
	}
	full := uint32(1)<<len(fc.filters) - 1
	hits := make([]uint32, 0, 1024)
	buf := make([]uint32, 256)
	it := s.match.ManyIterator()
	for {
		n := it.NextMany(buf)
		if n == 0 {
			break
		}
		for _, d := range buf[:n] {
			var mask uint32
			for i, f := range fc.filters {
				col := &cols.facets[f.facet]
				for _, o := range local[i] {
					if col.has(d, o) {
						mask |= 1 << i
						break
					}
				}
			}
			fail := full &^ mask
			switch {
			case fail == 0:
				hits = append(hits, d)
				fc.countDoc(d, cols, -1)
			case fail&(fail-1) == 0: // one filter fails: its facet counts
				i := 0
				for fail>>i != 1 {
					i++
				}
				fc.countDoc(d, cols, int(fc.filters[i].facet))
			}
		}
	}
	s.hits = roaring.New()
	s.hits.AddMany(hits)
}

// countDoc counts d in every wanted facet (only), or in facet only when
// only is >= 0.
func (fc *facetCounter) countDoc(d uint32, cols *columns, only int) {
	for f := range fc.want {
		if !fc.want[f] || (only >= 0 && f != only) {
			continue
		}
		cnt := fc.counts[f]
		col := &cols.facets[f]
		col.each(d, func(o uint32) {
			if g := col.glob[o]; int(g) < len(cnt) {
				cnt[g]++
			}
		})
	}
}

func (fc *facetCounter) filtered(f Facet) bool {
	for _, ff := range fc.filters {
		if ff.facet == f {
			return true
		}
	}
	return false
}

// countAll counts the documents of b: per segment into counts by local
// ordinal, added to the index's ordinals at the end.
func (fc *facetCounter) countAll(b *roaring.Bitmap, cols *columns) {
	buf := make([]uint32, 256)
	for f := range fc.want {
		if !fc.want[f] {
			continue
		}
		col := &cols.facets[f]
		lc := make([]uint32, len(col.glob))
		it := b.ManyIterator()
		for {
			n := it.NextMany(buf)
			if n == 0 {
				break
			}
			switch {
			case col.offs == nil && col.vals.width == 1:
				vals := col.vals.b
				for _, d := range buf[:n] {
					lc[vals[d]]++
				}
			case col.offs == nil:
				for _, d := range buf[:n] {
					lc[col.at(d)]++
				}
			default:
				for _, d := range buf[:n] {
					lo, hi := col.span(d)
					for i := lo; i < hi; i++ {
						lc[col.at(i)]++
					}
				}
			}
		}
		cnt := fc.counts[f]
		for l, c := range lc[1:] {
			if g := col.glob[l+1]; c > 0 && int(g) < len(cnt) {
				cnt[g] += c
			}
		}
	}
}

// top returns the limit most frequent values of facet f.
func (fc *facetCounter) top(f Facet, d *dict, limit int) []FacetValue {
	type oc struct {
		o uint32
		c uint32
	}
	var all []oc
	for o, c := range fc.counts[f] {
		if c > 0 {
			all = append(all, oc{uint32(o), c})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].c != all[j].c {
			return all[i].c > all[j].c
		}
		return d.name(all[i].o) < d.name(all[j].o)
	})
	if len(all) > limit {
		all = all[:limit]
	}
	out := make([]FacetValue, len(all))
	for i, x := range all {
		out[i] = FacetValue{Value: d.name(x.o), Count: int64(x.c)}
	}
	return out
}

// rank is a document's place in the sort order.
type rank struct {
	key float64
	seq uint64
	seg int
	doc uint32
}

// before reports whether a comes before b (descending key, then seq).
func (a rank) before(b rank) bool {
	if a.key != b.key {
		return a.key > b.key
	}
	return a.seq > b.seq
}

func (e *evaluator) keyOf(si int, doc uint32, sortBy string) rank {
	s := e.segs[si]
	cols := s.vs.cols
	r := rank{seq: cols.seq(doc), seg: si, doc: doc}
	switch sortBy {
	case SortDate:
		r.key = float64(cols.date(doc))
	case SortUpdated:
		r.key = float64(r.seq)
	default:
		if s.score != nil {
			r.key = float64(s.score[doc])
		}
	}
	return r
}

// topN returns the n first hits after the cursor, in order.
func (e *evaluator) topN(n int, sortBy string, after *cursor) []rank {
	h := make(rankHeap, 0, n)
	buf := make([]uint32, 256)
	for si, s := range e.segs {
		if s.hits == nil {
			continue
		}
		it := s.hits.ManyIterator()
		for {
			got := it.NextMany(buf)
			if got == 0 {
				break
			}
			for _, d := range buf[:got] {
				r := e.keyOf(si, d, sortBy)
				if after != nil && !(rank{key: after.key, seq: after.seq}).before(r) {
					continue
				}
				if len(h) < n {
					h.push(r)
				} else if r.before(h[0]) {
					h[0] = r
					h.down(0)
				}
			}
		}
	}
	out := []rank(h)
	sort.Slice(out, func(i, j int) bool { return out[i].before(out[j]) })
	return out
}

// rankHeap is a min-heap: the root is the last in sort order.
type rankHeap []rank

func (h *rankHeap) push(r rank) {
	*h = append(*h, r)
	i := len(*h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !(*h)[p].before((*h)[i]) {
			break
		}
		(*h)[p], (*h)[i] = (*h)[i], (*h)[p]
		i = p
	}
}

func (h rankHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[l].before(h[r]) {
			m = r
		}
		if !h[i].before(h[m]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// member is a copy of a work in the view.
type member struct {
	seg int
	doc uint32
}

// clusterMembers returns the live documents with cluster hash c.
func (e *evaluator) clusterMembers(c uint64) ([]member, error) {
	term := []byte(clusterTerm(c))
	var out []member
	for si, s := range e.segs {
		b, err := s.postings(fieldCluster, term)
		if err != nil {
			return nil, err
		}
		it := b.Iterator()
		for it.HasNext() {
			d := it.Next()
			if s.vs.live.Contains(d) {
				out = append(out, member{si, d})
			}
		}
	}
	return out, nil
}

// representative reports whether r is the best-ranked hit of its cluster.
func (e *evaluator) representative(r rank, members []member, sortBy string) bool {
	for _, m := range members {
		if m.seg == r.seg && m.doc == r.doc {
			continue
		}
		s := e.segs[m.seg]
		if s.hits == nil || !s.hits.Contains(m.doc) {
			continue
		}
		if e.keyOf(m.seg, m.doc, sortBy).before(r) {
			return false
		}
	}
	return true
}

// identifierInQuery returns the index term of a query word that is an
// identifier (a DOI, handle, arXiv id, URN, ISBN or a URL), or "".
func identifierInQuery(text string) string {
	switch scheme := store.DetectScheme(text); scheme {
	case "doi", "handle", "arxiv", "urn", "isbn", "url", "issn":
		if id, ok := store.NormalizeIdentifier(scheme, text); ok {
			return strings.ToLower(id.Value)
		}
	}
	return ""
}

// isURI reports whether a query value is a URI (a concept), not a label.
func isURI(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "urn:")
}
