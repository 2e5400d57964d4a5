package vocab

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/colligo/colligo/store"
)

// Registry holds the concept schemes of a node in memory and maps record
// values onto their concepts. It is safe for concurrent use: writers map
// records in parallel while a scheme is loaded.
type Registry struct {
	mu       sync.RWMutex
	schemes  map[string]*Scheme
	concepts map[string]*conceptRef // by URI
	// labels maps field -> normalised label -> the best concept for it.
	labels map[string]map[string]labelHit
	// words maps a normalised label -> concepts of any field (for search).
	words map[string][]string
	// sourceMaps are per-source mapping tables: source -> value -> URI.
	sourceMaps map[string]map[string]string

	unmapped *unmappedTracker
}

type conceptRef struct {
	*Concept
	scheme *Scheme
}

// labelHit is the concept a label maps to; rank orders prefLabel (0) over
// altLabel (1) over hiddenLabel (2) when several concepts share a label.
type labelHit struct {
	uri  string
	rank int
}

// NewRegistry returns an empty registry. mappings are per-source mapping
// tables (source id -> record value -> concept URI), from configuration.
func NewRegistry(mappings map[string]map[string]string) *Registry {
	r := &Registry{schemes: map[string]*Scheme{}, unmapped: newUnmappedTracker()}
	r.sourceMaps = map[string]map[string]string{}
	for src, m := range mappings {
		t := map[string]string{}
		for v, uri := range m {
			t[Normalize(v)] = uri
		}
		r.sourceMaps[src] = t
	}
	r.rebuild()
	return r
}

// Add adds or replaces a scheme.
func (r *Registry) Add(s *Scheme) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.schemes[s.ID] = s
	r.rebuild()
}

// Remove drops a scheme.
func (r *Registry) Remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.schemes, id)
	r.rebuild()
}

// rebuild recomputes the indexes; r.mu is held (or r is new).
func (r *Registry) rebuild() {
	r.concepts = map[string]*conceptRef{}
	r.labels = map[string]map[string]labelHit{}
	r.words = map[string][]string{}
	ids := make([]string, 0, len(r.schemes))
	for id := range r.schemes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := r.schemes[id]
		idx := r.labels[s.Field]
		if idx == nil {
			idx = map[string]labelHit{}
			r.labels[s.Field] = idx
		}
		uris := make([]string, 0, len(s.Concepts))
		for uri := range s.Concepts {
			uris = append(uris, uri)
		}
		slices.Sort(uris)
		for _, uri := range uris {
			c := s.Concepts[uri]
			r.concepts[uri] = &conceptRef{c, s}
			add := func(label string, rank int) {
				k := Normalize(label)
				if k == "" {
					return
				}
				if h, ok := idx[k]; !ok || rank < h.rank {
					idx[k] = labelHit{uri, rank}
				}
				if !slices.Contains(r.words[k], uri) {
					r.words[k] = append(r.words[k], uri)
				}
			}
			for _, l := range c.PrefLabels {
				add(l, 0)
			}
			for _, ls := range c.AltLabels {
				for _, l := range ls {
					add(l, 1)
				}
			}
			for _, ls := range c.HiddenLabels {
				for _, l := range ls {
					add(l, 2)
				}
			}
			// The concept's own id ("c_6501") finds it too.
			add(c.LocalID(), 3)
		}
	}
}

// Schemes returns the schemes, sorted by id.
func (r *Registry) Schemes() []*Scheme {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Scheme, 0, len(r.schemes))
	for _, s := range r.schemes {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Scheme returns a scheme by id, or nil.
func (r *Registry) Scheme(id string) *Scheme {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.schemes[id]
}

// Concept returns a concept by URI and the id of its scheme.
func (r *Registry) Concept(uri string) (*Concept, string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if c, ok := r.concepts[uri]; ok {
		return c.Concept, c.scheme.ID
	}
	return nil, ""
}

// Label returns the label of a concept URI in lang (falling back to
// English), or "" when the URI is no known concept.
func (r *Registry) Label(uri, lang string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if c, ok := r.concepts[uri]; ok {
		return c.Label(lang)
	}
	return ""
}

// Normalize makes a label comparable across spellings: Unicode
// compatibility decomposition without combining marks (é -> e), lower
// case, punctuation as spaces, white space collapsed.
func Normalize(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	emit := func(c rune) {
		switch {
		case unicode.IsLetter(c) || unicode.IsDigit(c):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(c))
		case unicode.Is(unicode.Mn, c):
		default:
			space = true
		}
	}
	if ascii {
		for i := 0; i < len(s); i++ {
			emit(rune(s[i]))
		}
	} else {
		for _, c := range norm.NFKD.String(s) {
			emit(c)
		}
	}
	return b.String()
}

// Lookup maps a value of a field to a concept URI: through the source's
// mapping table first, then by any label of the field's schemes, in any
// language. ok is false when nothing matches.
func (r *Registry) Lookup(source, field, value string) (uri string, ok bool) {
	k := Normalize(value)
	if k == "" {
		return "", false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if m := r.sourceMaps[source]; m != nil {
		if u, ok := m[k]; ok {
			return u, true
		}
	}
	if h, ok := r.labels[field][k]; ok {
		return h.uri, true
	}
	return "", false
}

// Map fills in the concept URIs of a record's resource type, access rights
// and subjects from their values, where a scheme of that field or the
// source's mapping table knows them. Values that map to nothing are
// counted per source (see Unmapped). Existing URIs are kept. It is the
// vocabulary step of the store's Derive.
func (r *Registry) Map(rec *store.Record) {
	if rec.Deleted {
		return
	}
	m := &rec.Metadata
	src := rec.Origin
	var misses []unmappedKey
	if m.Type != "" && m.TypeURI == "" {
		if uri, ok := r.Lookup(src, FieldType, m.Type); ok {
			m.TypeURI = uri
		} else if r.hasField(FieldType) {
			misses = append(misses, unmappedKey{src, FieldType, m.Type})
		}
	}
	if m.AccessRights != "" && m.AccessRightsURI == "" {
		if uri, ok := r.Lookup(src, FieldAccessRights, m.AccessRights); ok {
			m.AccessRightsURI = uri
		} else if r.hasField(FieldAccessRights) {
			misses = append(misses, unmappedKey{src, FieldAccessRights, m.AccessRights})
		}
	}
	if r.hasField(FieldSubject) {
		for i := range m.Subjects {
			s := &m.Subjects[i]
			if s.URI != "" || s.Value == "" {
				continue
			}
			if uri, ok := r.Lookup(src, FieldSubject, s.Value); ok {
				s.URI = uri
				if _, id := r.Concept(uri); id != "" {
					s.Scheme = id
				}
			} else {
				misses = append(misses, unmappedKey{src, FieldSubject, s.Value})
			}
		}
	}
	r.unmapped.record(rec.ID, misses)
}

func (r *Registry) hasField(field string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.labels[field]) > 0
}

// Expand returns the concepts a query word or phrase stands for, by any
// label in any language, with their narrower concepts (transitively): a
// search for the word also finds records tagged with any of them. field
// limits the concepts to schemes of one field (FieldType, FieldSubject);
// "" takes every scheme.
func (r *Registry) Expand(field, word string) []string {
	k := Normalize(word)
	if k == "" {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	var start []string
	for _, u := range r.words[k] {
		if c := r.concepts[u]; field == "" || (c != nil && c.scheme.Field == field) {
			start = append(start, u)
		}
	}
	if len(start) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	var walk func(uri string)
	walk = func(uri string) {
		if seen[uri] {
			return
		}
		seen[uri] = true
		out = append(out, uri)
		if c, ok := r.concepts[uri]; ok {
			for _, n := range c.Narrower {
				walk(n)
			}
		}
	}
	for _, u := range start {
		walk(u)
	}
	slices.Sort(out)
	return out
}

// Unmapped returns the values that mapped to no concept since the node
// started (or since ResetUnmapped), per source.
func (r *Registry) Unmapped() []UnmappedValue { return r.unmapped.list() }

// ResetUnmapped forgets what was counted (a re-mapping counts afresh).
func (r *Registry) ResetUnmapped() { r.unmapped.reset() }

// UnmappedValue is a record value no concept matched.
type UnmappedValue struct {
	Source string `json:"source"`
	Field  string `json:"field"`
	Value  string `json:"value"`
	// Records is the number of distinct records with the value (at least).
	Records int `json:"records"`
}

type unmappedKey struct{ source, field, value string }

// unmappedTracker counts distinct records per unmapped value; record ids
// are kept (up to a bound per value) so that re-storing a record does not
// count it twice.
type unmappedTracker struct {
	mu     sync.Mutex
	values map[unmappedKey]map[string]struct{}
	extra  map[unmappedKey]int
	byID   map[string][]unmappedKey
}

const maxIDsPerValue = 10000

func newUnmappedTracker() *unmappedTracker {
	t := &unmappedTracker{}
	t.reset()
	return t
}

func (t *unmappedTracker) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.values = map[unmappedKey]map[string]struct{}{}
	t.extra = map[unmappedKey]int{}
	t.byID = map[string][]unmappedKey{}
}

// record notes that record id has exactly these unmapped values now.
func (t *unmappedTracker) record(id string, keys []unmappedKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range t.byID[id] {
		delete(t.values[k], id)
		if len(t.values[k]) == 0 && t.extra[k] == 0 {
			delete(t.values, k)
		}
	}
	if len(keys) == 0 {
		delete(t.byID, id)
		return
	}
	var kept []unmappedKey
	for _, k := range keys {
		ids := t.values[k]
		if ids == nil {
			ids = map[string]struct{}{}
			t.values[k] = ids
		}
		if len(ids) >= maxIDsPerValue {
			t.extra[k]++
			continue
		}
		ids[id] = struct{}{}
		kept = append(kept, k)
	}
	t.byID[id] = kept
}

func (t *unmappedTracker) list() []UnmappedValue {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]UnmappedValue, 0, len(t.values))
	for k, ids := range t.values {
		out = append(out, UnmappedValue{Source: k.source, Field: k.field, Value: k.value, Records: len(ids) + t.extra[k]})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Records != b.Records {
			return a.Records > b.Records
		}
		return a.Field+a.Value < b.Field+b.Value
	})
	return out
}
