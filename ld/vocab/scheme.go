package vocab

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/knakk/rdf"
)

// SKOS and related vocabularies.
const (
	nsSKOS    = "http://www.w3.org/2004/02/skos/core#"
	nsRDF     = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsDCTerms = "http://purl.org/dc/terms/"
	nsDC      = "http://purl.org/dc/elements/1.1/"
	nsRDFS    = "http://www.w3.org/2000/01/rdf-schema#"
)

// Fields a scheme's concepts are mapped onto.
const (
	FieldSubject      = "subject"
	FieldType         = "type"
	FieldAccessRights = "access_rights"
)

// Concept is a SKOS concept.
type Concept struct {
	URI string
	// PrefLabels maps a language tag ("" when none) to the preferred label.
	PrefLabels   map[string]string
	AltLabels    map[string][]string
	HiddenLabels map[string][]string
	Definitions  map[string]string
	Broader      []string
	Narrower     []string
	ExactMatch   []string
	CloseMatch   []string
	Related      []string
	// Top is set for a top concept of the scheme.
	Top bool
}

// Label returns the preferred label in lang, falling back to English, then
// to a label without language, then to any label (in tag order), then to
// the URI.
func (c *Concept) Label(lang string) string {
	for _, l := range []string{strings.ToLower(lang), primary(lang), "en", ""} {
		if v, ok := c.PrefLabels[l]; ok {
			return v
		}
	}
	langs := make([]string, 0, len(c.PrefLabels))
	for l := range c.PrefLabels {
		langs = append(langs, l)
	}
	slices.Sort(langs)
	if len(langs) > 0 {
		return c.PrefLabels[langs[0]]
	}
	return c.URI
}

func primary(lang string) string {
	l, _, _ := strings.Cut(strings.ToLower(lang), "-")
	return l
}

// LocalID is the last segment of the concept URI: the {concept} of
// /vocab/{scheme}/{concept}.
func (c *Concept) LocalID() string { return LocalID(c.URI) }

// LocalID returns the last path segment (or fragment) of a concept URI.
func LocalID(uri string) string { return uri[strings.LastIndexAny(uri, "/#")+1:] }

// Scheme is a SKOS concept scheme as a node holds it.
type Scheme struct {
	// ID names the scheme on this node and in the federation
	// ("coar-resource-types").
	ID string
	// URI is the skos:ConceptScheme IRI (empty when the file declares none).
	URI string
	// Titles are the scheme's titles by language.
	Titles map[string]string
	// Field is the record field its concepts map: subject, type or
	// access_rights.
	Field string
	// Concepts by URI.
	Concepts map[string]*Concept
	// NTriples is the scheme as sorted N-Triples: what is stored, served at
	// /vocab/{id}.nt and sent to peers. Hash is its SHA-256.
	NTriples []byte
	Hash     string
	// Loaded is when the scheme was loaded where it was first loaded: a
	// peer that copies it keeps the time, so that "newer" means the same
	// on every node.
	Loaded time.Time
}

// Title returns the scheme's title in lang (falling back like labels).
func (s *Scheme) Title(lang string) string {
	for _, l := range []string{strings.ToLower(lang), primary(lang), "en", ""} {
		if v, ok := s.Titles[l]; ok {
			return v
		}
	}
	return s.ID
}

// Concept returns the concept whose local id (last URI segment) is id.
func (s *Scheme) Concept(id string) *Concept {
	for uri, c := range s.Concepts {
		if LocalID(uri) == id {
			return c
		}
	}
	return nil
}

// Format is an RDF serialisation a scheme can be read from.
type Format string

// Formats of scheme files.
const (
	Turtle   Format = "turtle"
	NTriples Format = "ntriples"
	RDFXML   Format = "rdfxml"
)

// FormatOf guesses a file's format from its name: .ttl, .nt, .rdf/.xml/.owl.
func FormatOf(name string) (Format, bool) {
	switch strings.ToLower(filepath.Ext(strings.TrimSuffix(name, ".gz"))) {
	case ".ttl", ".turtle":
		return Turtle, true
	case ".nt", ".ntriples":
		return NTriples, true
	case ".rdf", ".xml", ".owl", ".skos":
		return RDFXML, true
	}
	return "", false
}

// IDFromName derives a scheme id from a file name: "coar_resourcetypes_v1.1_skos.ttl"
// becomes "coar-resourcetypes-v1.1-skos".
func IDFromName(name string) string {
	base := filepath.Base(name)
	for {
		ext := filepath.Ext(base)
		if ext == "" || len(ext) > 8 || strings.ContainsAny(ext[1:], "0123456789") {
			break
		}
		base = strings.TrimSuffix(base, ext)
	}
	return strings.Trim(idUnsafe.ReplaceAllString(strings.ToLower(base), "-"), "-.")
}

var (
	idUnsafe  = regexp.MustCompile(`[^a-z0-9.]+`)
	idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,63}$`)
)

// ValidID reports whether id can name a scheme (lower case letters,
// digits, '.', '-'; 1 to 64; it is used in URLs and federation state).
func ValidID(id string) bool { return idPattern.MatchString(id) && !strings.HasSuffix(id, ".nt") }

// MaxSchemeBytes bounds a scheme file.
const MaxSchemeBytes = 64 << 20

// Parse reads a concept scheme in Turtle, N-Triples or RDF/XML (a UTF-8
// byte order mark is skipped) and builds its concepts. id names it, field
// says which record field it maps. Errors name the line where the RDF is
// malformed and the scheme id.
func Parse(r io.Reader, format Format, id, field string) (*Scheme, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("vocab.Parse: scheme id %q: use 1 to 64 of a-z 0-9 . - (starting with a letter or digit)", id)
	}
	switch field {
	case FieldSubject, FieldType, FieldAccessRights:
	default:
		return nil, fmt.Errorf("vocab.Parse %s: field %q is not subject, type or access_rights", id, field)
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxSchemeBytes+1))
	if err != nil {
		return nil, fmt.Errorf("vocab.Parse %s: %w", id, err)
	}
	if len(b) > MaxSchemeBytes {
		return nil, fmt.Errorf("vocab.Parse %s: file exceeds %d bytes", id, MaxSchemeBytes)
	}
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	var rf rdf.Format
	switch format {
	case Turtle:
		rf = rdf.Turtle
	case NTriples:
		rf = rdf.NTriples
	case RDFXML:
		rf = rdf.RDFXML
		if bytes.Contains(b, []byte("<!ENTITY")) {
			return nil, fmt.Errorf("vocab.Parse %s: RDF/XML with entity declarations is not accepted", id)
		}
	default:
		return nil, fmt.Errorf("vocab.Parse %s: unknown format %q", id, format)
	}
	dec := rdf.NewTripleDecoder(bytes.NewReader(b), rf)
	var triples []rdf.Triple
	for {
		t, err := dec.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("vocab.Parse %s: %w", id, err)
		}
		triples = append(triples, t)
	}
	return build(id, field, triples)
}

// build makes a scheme from its triples.
func build(id, field string, triples []rdf.Triple) (*Scheme, error) {
	s := &Scheme{ID: id, Field: field, Concepts: map[string]*Concept{}, Titles: map[string]string{}}
	concept := func(uri string) *Concept {
		c := s.Concepts[uri]
		if c == nil {
			c = &Concept{URI: uri, PrefLabels: map[string]string{}, AltLabels: map[string][]string{},
				HiddenLabels: map[string][]string{}, Definitions: map[string]string{}}
			s.Concepts[uri] = c
		}
		return c
	}
	var schemes []string
	var tops []string
	typed := map[string]bool{}
	kept := make([]rdf.Triple, 0, len(triples))
	for _, t := range triples {
		subj, ok := t.Subj.(rdf.IRI)
		if !ok {
			continue // blank-node structure is not part of SKOS labelling
		}
		kept = append(kept, t)
		su, pred := subj.String(), t.Pred.(rdf.IRI).String()
		obj := t.Obj
		lit, isLit := obj.(rdf.Literal)
		iri, isIRI := obj.(rdf.IRI)
		switch {
		case pred == nsRDF+"type" && isIRI && iri.String() == nsSKOS+"ConceptScheme":
			schemes = append(schemes, su)
		case pred == nsRDF+"type" && isIRI && iri.String() == nsSKOS+"Concept":
			concept(su)
			typed[su] = true
		case pred == nsSKOS+"prefLabel" && isLit:
			concept(su).PrefLabels[strings.ToLower(lit.Lang())] = strings.TrimSpace(lit.String())
		case pred == nsSKOS+"altLabel" && isLit:
			c := concept(su)
			l := strings.ToLower(lit.Lang())
			c.AltLabels[l] = append(c.AltLabels[l], strings.TrimSpace(lit.String()))
		case pred == nsSKOS+"hiddenLabel" && isLit:
			c := concept(su)
			l := strings.ToLower(lit.Lang())
			c.HiddenLabels[l] = append(c.HiddenLabels[l], strings.TrimSpace(lit.String()))
		case pred == nsSKOS+"definition" && isLit:
			concept(su).Definitions[strings.ToLower(lit.Lang())] = strings.TrimSpace(lit.String())
		case pred == nsSKOS+"broader" && isIRI:
			concept(su).Broader = append(concept(su).Broader, iri.String())
		case pred == nsSKOS+"narrower" && isIRI:
			concept(su).Narrower = append(concept(su).Narrower, iri.String())
		case pred == nsSKOS+"exactMatch" && isIRI:
			concept(su).ExactMatch = append(concept(su).ExactMatch, iri.String())
		case pred == nsSKOS+"closeMatch" && isIRI:
			concept(su).CloseMatch = append(concept(su).CloseMatch, iri.String())
		case pred == nsSKOS+"related" && isIRI:
			concept(su).Related = append(concept(su).Related, iri.String())
		case pred == nsSKOS+"topConceptOf" && isIRI:
			concept(su).Top = true
		case pred == nsSKOS+"hasTopConcept" && isIRI:
			tops = append(tops, iri.String())
		case pred == nsSKOS+"inScheme" && isIRI:
			concept(su)
		case (pred == nsDCTerms+"title" || pred == nsDC+"title" || pred == nsRDFS+"label") && isLit:
			s.Titles[strings.ToLower(lit.Lang())] = strings.TrimSpace(lit.String())
		}
	}
	// Only resources typed skos:Concept are concepts, when the file types
	// any (COAR 3.2 labels a retired concept it no longer types).
	for _, su := range schemes {
		delete(s.Concepts, su)
	}
	if len(typed) > 0 {
		for uri := range s.Concepts {
			if !typed[uri] {
				delete(s.Concepts, uri)
			}
		}
	}
	if len(schemes) > 0 {
		slices.Sort(schemes)
		s.URI = schemes[0]
	}
	for _, t := range tops {
		if c, ok := s.Concepts[t]; ok {
			c.Top = true
		}
	}
	// broader and narrower are inverses (SKOS §8.6.2): complete both.
	for uri, c := range s.Concepts {
		for _, b := range c.Broader {
			if p, ok := s.Concepts[b]; ok && !slices.Contains(p.Narrower, uri) {
				p.Narrower = append(p.Narrower, uri)
			}
		}
		for _, n := range c.Narrower {
			if ch, ok := s.Concepts[n]; ok && !slices.Contains(ch.Broader, uri) {
				ch.Broader = append(ch.Broader, uri)
			}
		}
	}
	for _, c := range s.Concepts {
		for _, l := range [][]string{c.Broader, c.Narrower, c.ExactMatch, c.CloseMatch, c.Related} {
			slices.Sort(l)
		}
		c.Broader, c.Narrower = slices.Compact(c.Broader), slices.Compact(c.Narrower)
	}
	if len(s.Concepts) == 0 {
		return nil, fmt.Errorf("vocab.Parse %s: no skos:Concept in the file", s.ID)
	}
	s.NTriples = canonical(kept)
	sum := sha256.Sum256(s.NTriples)
	s.Hash = hex.EncodeToString(sum[:])
	return s, nil
}

// canonical writes triples as sorted, de-duplicated N-Triples: the same
// scheme from any serialisation has the same bytes and hash.
func canonical(ts []rdf.Triple) []byte {
	lines := make([]string, 0, len(ts))
	for _, t := range ts {
		lines = append(lines, t.Serialize(rdf.NTriples))
	}
	sort.Strings(lines)
	lines = slices.Compact(lines)
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(strings.TrimRight(l, "\n"))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseNTriples reads a scheme stored or sent as N-Triples.
func ParseNTriples(b []byte, id, field string) (*Scheme, error) {
	return Parse(bufio.NewReader(bytes.NewReader(b)), NTriples, id, field)
}

var errNoScheme = errors.New("no such scheme")
