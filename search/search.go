package search

import (
	"context"
	"errors"
	"html"
	"strings"
	"time"

	"github.com/colligo/colligo/store"
)

// Search answers a request from the current index. Request errors are
// *BadRequestError; a record the index still holds but the store has
// deleted meanwhile is left out of the page.
func (s *Service) Search(ctx context.Context, req Request) (*Result, error) {
	start := time.Now()
	q, err := ParseQuery(req.Query)
	if err == nil {
		if wider := s.conceptQuery(ctx, req.Query); wider != req.Query {
			q, err = ParseQuery(wider)
		}
	}
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			return nil, &BadRequestError{Param: "q", Pos: pe.Pos, Msg: pe.Msg}
		}
		return nil, err
	}
	sortBy := req.Sort
	switch sortBy {
	case "":
		sortBy = SortRelevance
		if q.IsEmpty() {
			sortBy = SortUpdated
		}
	case SortRelevance, SortDate, SortUpdated:
	default:
		return nil, badParam("sort", "%q is not relevance, date or updated", req.Sort)
	}
	limit := req.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return nil, badParam("limit", "%d is not 1 to %d", req.Limit, MaxLimit)
	}
	facetLimit := req.FacetLimit
	if facetLimit == 0 {
		facetLimit = 10
	}
	if facetLimit < 1 || facetLimit > 1000 {
		return nil, badParam("facet_limit", "%d is not 1 to 1000", req.FacetLimit)
	}
	var after *cursor
	if req.Cursor != "" {
		c, err := decodeCursor(req.Cursor, sortBy)
		if err != nil {
			return nil, badParam("cursor", "%v", err)
		}
		after = &c
	}
	sh, err := s.shard()
	if err != nil {
		return nil, err
	}
	v, err := sh.acquire()
	if err != nil {
		return nil, err
	}
	defer v.release()

	e := newEvaluator(ctx, v, s.opt.Expander)
	defer e.release()
	fc := &facetCounter{}
	if !req.NoFacets {
		if req.Facets == nil {
			for f := range fc.want {
				fc.want[f] = true
			}
		}
		for _, f := range req.Facets {
			if f >= 0 && f < numFacets {
				fc.want[f] = true
			}
		}
	}
	for f := range fc.want {
		if fc.want[f] {
			fc.counts[f] = make([]uint32, sh.ds[f].size())
		}
	}
	byFacet := map[Facet]*facetFilter{}
	for _, f := range req.Filters {
		if f.Facet < 0 || f.Facet >= numFacets {
			return nil, badParam("filter", "unknown facet %d", int(f.Facet))
		}
		ff := byFacet[f.Facet]
		if ff == nil {
			if len(byFacet) == 31 {
				return nil, badParam("filter", "too many facets filtered")
			}
			ff = &facetFilter{facet: f.Facet}
			byFacet[f.Facet] = ff
		}
		for _, v := range s.filterValues(ctx, f) {
			if o := sh.ds[f.Facet].lookup(v); o != 0 {
				ff.ords = append(ff.ords, o)
			}
		}
	}
	for _, f := range Facets() {
		if ff := byFacet[f]; ff != nil {
			fc.filters = append(fc.filters, *ff)
		}
	}

	var words []string
	if q.root != nil {
		collectTerms(q.root, false, &e.terms, &words)
	}
	scoring := sortBy == SortRelevance && len(e.terms) > 0
	if scoring {
		if err := e.stats(); err != nil {
			return nil, err
		}
	}
	if err := e.runSegments(q.root, fc, scoring); err != nil {
		return nil, err
	}
	var total int64
	for _, seg := range e.segs {
		total += int64(seg.hits.GetCardinality())
	}

	res := &Result{Total: total, TotalCounts: "records", Hits: []Hit{}, Facets: map[string][]FacetValue{}, Query: q.String(), Sort: sortBy}
	for _, f := range Facets() {
		if fc.want[f] {
			res.Facets[f.String()] = fc.top(f, sh.ds[f], facetLimit)
		}
	}
	s.label(res, req.Lang)

	// Take the best hits after the cursor, skipping copies whose work a
	// better-ranked copy represents; widen the window until the page (and
	// one more, to know there is a next page) is full.
	var page []rank
	var clusters [][]member
	window := limit + 1 + limit/2
	for {
		cands := e.topN(window, sortBy, after)
		page, clusters = page[:0], clusters[:0]
		for _, r := range cands {
			var members []member
			if c := e.segs[r.seg].vs.cols.cluster(r.doc); c != 0 {
				if members, err = e.clusterMembers(c); err != nil {
					return nil, err
				}
				if !req.AllCopies && !e.representative(r, members, sortBy) {
					continue
				}
			}
			page = append(page, r)
			clusters = append(clusters, members)
			if len(page) == limit+1 {
				break
			}
		}
		if len(page) == limit+1 || len(cands) < window {
			break
		}
		window *= 4
	}
	if len(page) > limit {
		last := page[limit-1]
		res.Next = cursor{sort: sortBy, key: last.key, seq: last.seq}.encode()
		page, clusters = page[:limit], clusters[:limit]
	}
	hl := newHighlighter(words)
	for i, r := range page {
		cols := e.segs[r.seg].vs.cols
		id := cols.id(r.doc)
		rec, head, err := s.st.GetWithHead(ctx, id)
		if err != nil || rec.Deleted {
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			continue
		}
		h := s.hit(rec, head, hl)
		if sortBy == SortRelevance {
			h.Score = r.key
		}
		if !req.AllCopies {
			for _, m := range clusters[i] {
				if m.seg == r.seg && m.doc == r.doc {
					continue
				}
				mid := e.segs[m.seg].vs.cols.id(m.doc)
				c := Copy{ID: mid, URL: s.opt.RecordURL(mid)}
				if mr, _, err := s.st.GetWithHead(ctx, mid); err == nil && !mr.Deleted {
					c.Origin, c.Provenance = mr.Origin, mr.Provenance
				} else {
					continue
				}
				h.AlsoHeldBy = append(h.AlsoHeldBy, c)
			}
		}
		res.Hits = append(res.Hits, h)
	}
	took := time.Since(start)
	res.TookMS = float64(took.Microseconds()) / 1000
	if s.metrics != nil {
		s.metrics.latency.Observe(took.Seconds())
	}
	return res, nil
}

// hit renders a record as a search hit.
func (s *Service) hit(r *store.Record, head store.Head, hl *highlighter) Hit {
	m := &r.Metadata
	h := Hit{ID: r.ID, Origin: r.Origin, URL: s.opt.RecordURL(r.ID), Updated: head.Datestamp,
		Year: yearOf(m), Issued: m.Issued, Type: m.Type, Languages: m.Languages, License: m.LicenseSPDX}
	if h.License == "" {
		h.License = m.License
	}
	if h.Issued == "" {
		h.Issued = m.Created
	}
	if len(m.Titles) > 0 {
		h.Title = m.Titles[0].Value
	} else {
		h.Title = r.ID
	}
	for _, c := range m.Creators {
		h.Creators = append(h.Creators, c.Name)
	}
	for _, id := range m.Identifiers {
		if id.Scheme == "doi" {
			h.DOI = id.Value
			break
		}
	}
	if hl.active() {
		if t, ok := hl.fragment(h.Title, 0); ok {
			h.Highlights = map[string]string{"title": t}
		}
		for _, d := range m.Descriptions {
			if frag, ok := hl.fragment(d.Value, snippetLen); ok {
				h.Snippet = frag
				if h.Highlights == nil {
					h.Highlights = map[string]string{}
				}
				h.Highlights["description"] = frag
				break
			}
		}
	}
	if h.Snippet == "" && len(m.Descriptions) > 0 {
		h.Snippet = html.EscapeString(cut(m.Descriptions[0].Value, snippetLen))
	}
	return h
}

// snippetLen is the length of a snippet in bytes, about.
const snippetLen = 240

// cut shortens s to about n bytes at a word boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := strings.LastIndexByte(s[:n], ' ')
	if i < n/2 {
		i = n
		for i > 0 && !isRuneStart(s[i]) {
			i--
		}
	}
	return strings.TrimSpace(s[:i]) + " …"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
