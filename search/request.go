package search

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/colligo/colligo/store"
)

// Request is a search. Its fields are the parameters of GET /api/search;
// a peer's node takes the same request when a search fans out (issue 8).
type Request struct {
	// Query is the query string (see ParseQuery); "" matches every record.
	Query string `json:"q"`
	// Filters narrow the results to records with a facet value: AND
	// across facets, OR among the values of one facet.
	Filters []Filter `json:"filters,omitempty"`
	// Sort is SortRelevance (default for a query), SortDate (publication
	// date, newest first) or SortUpdated (last change on the node, newest
	// first; the default for an empty query).
	Sort string `json:"sort,omitempty"`
	// Cursor continues a search from the Next of an earlier answer.
	Cursor string `json:"cursor,omitempty"`
	// Limit is the number of hits, 1 to MaxLimit. Default 20.
	Limit int `json:"limit,omitempty"`
	// Facets are the facets to count; nil counts all of them.
	Facets []Facet `json:"-"`
	// NoFacets skips facet counting.
	NoFacets bool `json:"-"`
	// FacetLimit is the number of values per facet, 1 to 1000. Default 10.
	FacetLimit int `json:"facet_limit,omitempty"`
	// AllCopies lists every copy of a work as its own hit; by default the
	// copies that origins hold of one work (same DOI or other strong
	// identifier, see ClusterKey) make one hit with AlsoHeldBy.
	AllCopies bool `json:"all_copies,omitempty"`
	// Lang is the user's language (BCP 47), for the labels of concept
	// facet values (lang=, else Accept-Language).
	Lang string `json:"lang,omitempty"`
	// Scope is "" (or "local": this node's index, which holds every
	// institution's records) or "live" (also ask live peers; see
	// SearchLive).
	Scope string `json:"scope,omitempty"`
}

// Sort orders.
const (
	SortRelevance = "relevance"
	SortDate      = "date"
	SortUpdated   = "updated"
)

// Limits of a request.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Filter is a facet value a result must have.
type Filter struct {
	Facet Facet  `json:"facet"`
	Value string `json:"value"`
}

// ParseFilter reads "type:Dataset".
func ParseFilter(s string) (Filter, error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok || value == "" {
		return Filter{}, fmt.Errorf("filter %q: write facet:value, e.g. type:Dataset", s)
	}
	f, ok := ParseFacet(strings.ToLower(strings.TrimSpace(name)))
	if !ok {
		return Filter{}, fmt.Errorf("filter %q: unknown facet %q; facets are %s", s, name, strings.Join(facetNames[:], ", "))
	}
	return Filter{Facet: f, Value: value}, nil
}

func (f Filter) String() string { return f.Facet.String() + ":" + f.Value }

// Result is the answer to a search: GET /api/search's JSON. A peer's
// answer has the same form, so that a federated search can merge them
// (issue 8).
type Result struct {
	// Total is the number of matching records.
	Total int64 `json:"total"`
	// TotalCounts says what Total counts: always "records". Hits are
	// clusters (one per work) unless the request asked for all copies, so
	// a page may hold fewer hits than records.
	TotalCounts string `json:"total_counts"`
	Hits        []Hit  `json:"hits"`
	// Facets maps a facet name to its most frequent values among the
	// results. The counts of a facet that the request filters on ignore
	// that facet's own filter, so that the other values stay choosable.
	Facets map[string][]FacetValue `json:"facets"`
	// Next is the cursor of the next page, empty on the last one.
	Next string `json:"next,omitempty"`
	// Query is the query in canonical form.
	Query string `json:"query"`
	Sort  string `json:"sort"`
	// TookMS is the time the search took, in milliseconds.
	TookMS float64 `json:"took_ms"`
	// Scope is "live" for a search fanned out to live peers; Partial is
	// set when a peer did not answer in time (its records came from this
	// node's index), and Peers says how each peer answered.
	Scope   string       `json:"scope,omitempty"`
	Partial bool         `json:"partial,omitempty"`
	Peers   []PeerAnswer `json:"peers,omitempty"`
}

// FacetValue is a facet value and the number of matching records that
// have it.
type FacetValue struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
	// Label names a value that is a concept (type and subject facets hold
	// concept URIs where records were mapped to a vocabulary), in the
	// language the request asked for, falling back to English.
	Label string `json:"label,omitempty"`
}

// Hit is one work found.
type Hit struct {
	ID string `json:"id"`
	// Origin is the node id or harvest source id whose record this is.
	Origin    string    `json:"origin"`
	Title     string    `json:"title"`
	Creators  []string  `json:"creators,omitempty"`
	Year      string    `json:"year,omitempty"`
	Issued    string    `json:"issued,omitempty"`
	Type      string    `json:"type,omitempty"`
	Languages []string  `json:"languages,omitempty"`
	License   string    `json:"license,omitempty"`
	DOI       string    `json:"doi,omitempty"`
	URL       string    `json:"url"`
	Updated   time.Time `json:"updated"`
	// Snippet is an HTML fragment of the description with the matching
	// words in <mark>; everything else is escaped.
	Snippet string `json:"snippet,omitempty"`
	// Highlights maps a field (title, description) to an HTML fragment
	// with the matching words in <mark>.
	Highlights map[string]string `json:"highlights,omitempty"`
	Score      float64           `json:"score,omitempty"`
	// AlsoHeldBy lists the other copies of the same work.
	AlsoHeldBy []Copy `json:"also_held_by,omitempty"`
	// OriginState is set when the record's origin is a peer that is not
	// alive (suspect, dead, left); OriginConfirmed is when it was last
	// known alive. Its records stay searchable.
	OriginState     string     `json:"origin_state,omitempty"`
	OriginConfirmed *time.Time `json:"origin_confirmed,omitempty"`
}

// Copy is another origin's record of a hit's work.
type Copy struct {
	ID         string             `json:"id"`
	Origin     string             `json:"origin"`
	URL        string             `json:"url"`
	Provenance []store.Provenance `json:"provenance,omitempty"`
}

// BadRequestError is a request the search cannot answer: a query syntax
// error (with a position), an unknown filter, a foreign cursor.
type BadRequestError struct {
	// Param is the request parameter at fault ("q", "filter", "cursor").
	Param string
	// Pos is the character offset of a query error, or -1.
	Pos int
	Msg string
}

func (e *BadRequestError) Error() string {
	if e.Pos >= 0 {
		return fmt.Sprintf("bad %s at character %d: %s", e.Param, e.Pos, e.Msg)
	}
	return fmt.Sprintf("bad %s: %s", e.Param, e.Msg)
}

func badParam(param, format string, args ...any) error {
	return &BadRequestError{Param: param, Pos: -1, Msg: fmt.Sprintf(format, args...)}
}

// cursor is a position in a sort order: the key of the last hit given.
type cursor struct {
	sort string
	key  float64
	seq  uint64
}

func (c cursor) encode() string {
	b := make([]byte, 0, 18)
	b = append(b, sortCode(c.sort))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(c.key))
	b = binary.AppendUvarint(b, c.seq)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sortCode(s string) byte {
	switch s {
	case SortDate:
		return 'd'
	case SortUpdated:
		return 'u'
	}
	return 'r'
}

var errCursor = errors.New("not a cursor this node gave for this sort order")

func decodeCursor(s, sort string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 10 || b[0] != sortCode(sort) {
		return cursor{}, errCursor
	}
	key := math.Float64frombits(binary.BigEndian.Uint64(b[1:9]))
	seq, n := binary.Uvarint(b[9:])
	if n <= 0 || 9+n != len(b) || math.IsNaN(key) {
		return cursor{}, errCursor
	}
	return cursor{sort: sort, key: key, seq: seq}, nil
}
