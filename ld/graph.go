package ld

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	jsonld "github.com/piprate/json-gold/ld"
)

// TermKind tells IRIs, blank nodes and literals apart.
type TermKind uint8

// Kinds of RDF terms, in the order triples sort by.
const (
	IRITerm TermKind = iota
	BlankTerm
	LiteralTerm
)

// Term is an RDF term. A blank node's Value is its label without "_:"; a
// literal's Datatype is always set (xsd:string or rdf:langString at least).
type Term struct {
	Kind     TermKind
	Value    string
	Datatype string
	Lang     string
}

// Triple is an RDF triple.
type Triple struct{ S, P, O Term }

// Graph is the RDF graph of one record: the triples, sorted so that every
// serialisation of the same graph is byte for byte the same (the record's
// own triples first, rdf:type first within a subject). Blank node labels
// are b0, b1, ... in document order.
type Graph struct {
	// Root is the IRI of the record the graph describes.
	Root    string
	Triples []Triple

	iris *iriCache        // while building
	seen map[string]uint8 // while building: IRIs of this graph checked
}

const (
	rdfType       = RDFNS + "type"
	rdfLangString = RDFNS + "langString"
	xsdString     = XSDNS + "string"
)

// processor expands descriptions with a context parsed once. json-gold
// parses a context on every call otherwise, and parsing is most of what an
// expansion of a record costs.
type processor struct {
	ctx  *jsonld.Context
	opts *jsonld.JsonLdOptions
	iris iriCache
}

func newProcessor(loader *Loader, contextURL string) (*processor, error) {
	opts := jsonld.NewJsonLdOptions("")
	opts.DocumentLoader = loader
	opts.ProcessingMode = jsonld.JsonLd_1_1
	ctx, err := jsonld.NewContext(nil, opts).Parse(contextURL)
	if err != nil {
		return nil, fmt.Errorf("ld: parse context %s: %w", contextURL, err)
	}
	return &processor{ctx: ctx, opts: opts}, nil
}

// graph turns a description (a node object without "@context") into its
// RDF graph: expansion against the parsed context (expandNode, with
// json-gold's term and value expansion), json-gold's node map generation,
// then the last step of the JSON-LD to RDF algorithm (addNodeMap). See
// expandNode and addNodeMap for why those steps are ours.
func (p *processor) graph(doc map[string]any) (*Graph, error) {
	expanded, err := p.expandNode(doc)
	if err != nil {
		return nil, fmt.Errorf("ld: expand %v: %w", doc["@id"], err)
	}
	root, _ := expanded["@id"].(string)
	return p.graphOfExpanded([]any{expanded}, root)
}

// graphOfExpanded turns expanded JSON-LD into its RDF graph.
func (p *processor) graphOfExpanded(expanded []any, root string) (*Graph, error) {
	nodeMap := map[string]any{"@default": map[string]any{}}
	issuer := jsonld.NewIdentifierIssuer("_:b")
	if _, err := jsonld.NewJsonLdApi().GenerateNodeMap(expanded, nodeMap, "@default", issuer, "", "", nil); err != nil {
		return nil, fmt.Errorf("ld: node map %s: %w", root, err)
	}
	g := &Graph{Root: root, iris: &p.iris, seen: map[string]uint8{}}
	if err := g.addNodeMap(nodeMap["@default"].(map[string]any), issuer); err != nil {
		return nil, fmt.Errorf("ld: to RDF %s: %w", root, err)
	}
	// json-gold labels blank nodes in the order its node map generation
	// meets them, which follows the document (keys in sorted order), so
	// the labels are already deterministic: one sort suffices.
	g.sortLabelled()
	g.iris, g.seen = nil, nil
	return g, nil
}

// sortLabelled sorts the triples as normalize does, comparing blank nodes
// by their labels (b2 before b10).
func (g *Graph) sortLabelled() {
	cmpTerm := func(a, b Term) int {
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		switch a.Kind {
		case BlankTerm:
			return cmpLabel(a.Value, b.Value)
		case LiteralTerm:
			if c := cmp.Compare(a.Value, b.Value); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Datatype, b.Datatype); c != 0 {
				return c
			}
			return cmp.Compare(a.Lang, b.Lang)
		}
		return cmp.Compare(a.Value, b.Value)
	}
	slices.SortFunc(g.Triples, func(a, b Triple) int {
		ar, br := a.S.Kind == IRITerm && a.S.Value == g.Root, b.S.Kind == IRITerm && b.S.Value == g.Root
		if ar != br {
			if ar {
				return -1
			}
			return 1
		}
		if c := cmpTerm(a.S, b.S); c != 0 {
			return c
		}
		if c := cmpPredicate(a.P.Value, b.P.Value); c != 0 {
			return c
		}
		return cmpTerm(a.O, b.O)
	})
	g.Triples = slices.Compact(g.Triples)
}

func cmpLabel(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// addNodeMap is json-gold's RDFDataset.GraphToRDF (JSON-LD 1.1 API,
// Deserialize JSON-LD to RDF, steps 1.3 to 1.6) for the default graph,
// with one difference: json-gold checks every http(s) IRI of every
// statement with the govalidator URL regular expression, once per IRI and
// per call, which was 60% of the time of turning a record into RDF.
// validIRI answers the same (a structural check of the common form, the
// regular expression otherwise), and a test checks that the two
// conversions give the same graphs.
func (g *Graph) addNodeMap(graph map[string]any, issuer *jsonld.IdentifierIssuer) error {
	n := 0
	for _, nv := range graph {
		for _, vals := range nv.(map[string]any) {
			if vs, ok := vals.([]any); ok {
				n += len(vs)
			}
		}
	}
	g.Triples = slices.Grow(g.Triples, n)
	for id, nv := range graph {
		var subject Term
		switch {
		case strings.HasPrefix(id, "_:"):
			subject = Term{Kind: BlankTerm, Value: id[2:]}
		case g.absolute(id):
			subject = Term{Kind: IRITerm, Value: id}
		default:
			continue
		}
		node := nv.(map[string]any)
		for property, vals := range node {
			var values []any
			switch {
			case property == "@type":
				values = vals.([]any)
				property = rdfType
			case jsonld.IsKeyword(property), strings.HasPrefix(property, "_:"), !g.absolute(property):
				continue
			default:
				values = vals.([]any)
			}
			pred := Term{Kind: IRITerm, Value: property}
			for _, item := range values {
				obj, ok, err := g.object(item, issuer)
				if err != nil {
					return err
				}
				if ok && g.valid(subject) && g.valid(pred) && g.valid(obj) {
					g.Triples = append(g.Triples, Triple{S: subject, P: pred, O: obj})
				}
			}
		}
	}
	return nil
}

// object converts a node map value to an RDF term (json-gold's
// objectToRDF); ok is false for values that have none (relative IRIs).
func (g *Graph) object(item any, issuer *jsonld.IdentifierIssuer) (Term, bool, error) {
	switch v := item.(type) {
	case string:
		return g.iriOrBlank(v)
	case map[string]any:
		if value, ok := v["@value"]; ok {
			return literal(value, v["@type"], v["@language"])
		}
		if list, ok := v["@list"]; ok {
			return g.list(list.([]any), issuer)
		}
		id, _ := v["@id"].(string)
		return g.iriOrBlank(id)
	}
	return Term{}, false, fmt.Errorf("unexpected value %T in node map", item)
}

func (g *Graph) iriOrBlank(id string) (Term, bool, error) {
	if strings.HasPrefix(id, "_:") {
		return Term{Kind: BlankTerm, Value: id[2:]}, true, nil
	}
	if !g.absolute(id) {
		return Term{}, false, nil
	}
	return Term{Kind: IRITerm, Value: id}, true, nil
}

// literal is the value object branch of json-gold's objectToRDF.
func literal(value, datatype, lang any) (Term, bool, error) {
	dt, _ := datatype.(string)
	if dt == "@json" {
		return Term{}, false, fmt.Errorf("JSON literals are not supported")
	}
	var f float64
	isFloat := false
	switch n := value.(type) {
	case bool:
		if dt == "" {
			dt = XSDNS + "boolean"
		}
		return Term{Kind: LiteralTerm, Value: strconv.FormatBool(n), Datatype: dt}, true, nil
	case float64:
		f, isFloat = n, true
	case json.Number:
		var err error
		f, err = n.Float64()
		isFloat = err == nil
	}
	if isFloat {
		if f != float64(int64(f)) || dt == XSDNS+"double" {
			if dt == "" {
				dt = XSDNS + "double"
			}
			return Term{Kind: LiteralTerm, Value: jsonld.GetCanonicalDouble(f), Datatype: dt}, true, nil
		}
		if dt == "" {
			dt = XSDNS + "integer"
		}
		return Term{Kind: LiteralTerm, Value: strconv.FormatInt(int64(f), 10), Datatype: dt}, true, nil
	}
	s, ok := value.(string)
	if !ok {
		return Term{}, false, fmt.Errorf("unexpected literal value %T", value)
	}
	if l, _ := lang.(string); l != "" {
		if dt == "" {
			dt = rdfLangString
		}
		return Term{Kind: LiteralTerm, Value: s, Datatype: dt, Lang: l}, true, nil
	}
	if dt == "" {
		dt = xsdString
	}
	return Term{Kind: LiteralTerm, Value: s, Datatype: dt}, true, nil
}

// list is json-gold's parseList: an rdf:List of blank nodes.
func (g *Graph) list(items []any, issuer *jsonld.IdentifierIssuer) (Term, bool, error) {
	nilIRI := Term{Kind: IRITerm, Value: RDFNS + "nil"}
	if len(items) == 0 {
		return nilIRI, true, nil
	}
	head := Term{Kind: BlankTerm, Value: strings.TrimPrefix(issuer.GetId(""), "_:")}
	subj := head
	for i, item := range items {
		obj, ok, err := g.object(item, issuer)
		if err != nil {
			return Term{}, false, err
		}
		next := nilIRI
		if i < len(items)-1 {
			next = Term{Kind: BlankTerm, Value: strings.TrimPrefix(issuer.GetId(""), "_:")}
		}
		if ok && g.valid(obj) {
			g.Triples = append(g.Triples, Triple{S: subj, P: Term{Kind: IRITerm, Value: RDFNS + "first"}, O: obj})
		}
		g.Triples = append(g.Triples, Triple{S: subj, P: Term{Kind: IRITerm, Value: RDFNS + "rest"}, O: next})
		subj = next
	}
	return head, true, nil
}

// valid is json-gold's InvalidNode, negated, with IRI results remembered
// while the graph is built.
func (g *Graph) valid(t Term) bool {
	switch t.Kind {
	case IRITerm:
		return g.validIRI(t.Value)
	case LiteralTerm:
		if t.Lang != "" && !validLanguage(t.Lang) {
			return false
		}
		return t.Datatype == "" || g.validIRI(t.Datatype)
	}
	return true
}

func (g *Graph) validIRI(s string) bool { return g.check(s)&iriValid != 0 }

func (g *Graph) absolute(s string) bool { return g.check(s)&iriAbsolute != 0 }

// check remembers IRIs per graph too: the record's own IRI is the subject
// of most statements, and too new for the shared cache.
func (g *Graph) check(s string) uint8 {
	if b, ok := g.seen[s]; ok {
		return b
	}
	b := g.iris.check(s)
	g.seen[s] = b
	return b
}

// iriCache remembers what iriBits says of IRIs. A record's
// graph repeats the vocabulary's IRIs in every statement, and every
// record's graph the same ones; the cache keeps the first maxIRICache IRIs
// it sees (the vocabulary comes first) and checks the others each time.
type iriCache struct {
	m sync.Map
	n atomic.Int64
}

const maxIRICache = 4096

func (c *iriCache) check(s string) uint8 {
	if v, ok := c.m.Load(s); ok {
		return v.(uint8)
	}
	bits := iriBits(s)
	if c.n.Load() < maxIRICache {
		if _, loaded := c.m.LoadOrStore(s, bits); !loaded {
			c.n.Add(1)
		}
	}
	return bits
}

// validLanguage is ^[a-zA-Z]+(-[a-zA-Z0-9]+)*$ without the regexp.
func validLanguage(l string) bool {
	first, prev := true, byte('-')
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9':
			if first {
				return false
			}
		case c == '-':
			if prev == '-' {
				return false
			}
			first = false
		default:
			return false
		}
		prev = c
	}
	return len(l) > 0 && prev != '-'
}

// GraphFromDataset makes a Graph of the default graph of a json-gold
// dataset, sorted and with blank nodes relabelled (see Graph).
func GraphFromDataset(ds *jsonld.RDFDataset, root string) *Graph {
	quads := ds.GetQuads("@default")
	g := &Graph{Root: root, Triples: make([]Triple, 0, len(quads))}
	for _, q := range quads {
		g.Triples = append(g.Triples, Triple{S: termOf(q.Subject), P: termOf(q.Predicate), O: termOf(q.Object)})
	}
	g.normalize()
	return g
}

func termOf(n jsonld.Node) Term {
	switch v := n.(type) {
	case jsonld.IRI:
		return Term{Kind: IRITerm, Value: v.Value}
	case jsonld.BlankNode:
		return Term{Kind: BlankTerm, Value: strings.TrimPrefix(v.Attribute, "_:")}
	case jsonld.Literal:
		t := Term{Kind: LiteralTerm, Value: v.Value, Datatype: v.Datatype, Lang: v.Language}
		if t.Lang != "" {
			t.Datatype = rdfLangString
		} else if t.Datatype == "" {
			t.Datatype = xsdString
		}
		return t
	}
	return Term{}
}

// normalize sorts the triples and relabels blank nodes so that the output
// depends on the graph only, not on the labels a processor happened to
// give. A blank node's place is decided by its signature: its outgoing
// triples with nested blank nodes replaced by their own signatures. Record
// descriptions are trees, so signatures are finite; should a cycle of blank
// nodes ever appear, its members are told apart by their old labels.
func (g *Graph) normalize() {
	out := map[string][]int{}
	for i, t := range g.Triples {
		if t.S.Kind == BlankTerm {
			out[t.S.Value] = append(out[t.S.Value], i)
		}
	}
	sig := map[string]string{}
	var signature func(label string, depth int) string
	signature = func(label string, depth int) string {
		if s, ok := sig[label]; ok {
			return s
		}
		if depth > 64 {
			return "_:" + label
		}
		lines := make([]string, 0, len(out[label]))
		for _, i := range out[label] {
			t := g.Triples[i]
			o := termKey(t.O)
			if t.O.Kind == BlankTerm {
				o = "[" + signature(t.O.Value, depth+1) + "]"
			}
			lines = append(lines, t.P.Value+" "+o)
		}
		slices.Sort(lines)
		s := strings.Join(lines, ";")
		sig[label] = s
		return s
	}
	key := func(t Term) string {
		if t.Kind == BlankTerm {
			return signature(t.Value, 0) + "\x00" + t.Value
		}
		return termKey(t)
	}
	g.sortBy(key)
	// Label blank nodes in order of first use, walking from the subjects
	// that are IRIs (the record first) down through nested blank nodes.
	labels := map[string]string{}
	bySubject := map[Term][]int{}
	var subjects []Term
	for i, t := range g.Triples {
		if _, ok := bySubject[t.S]; !ok && t.S.Kind != BlankTerm {
			subjects = append(subjects, t.S)
		}
		bySubject[t.S] = append(bySubject[t.S], i)
	}
	var visit func(s Term)
	visit = func(s Term) {
		for _, i := range bySubject[s] {
			if o := g.Triples[i].O; o.Kind == BlankTerm {
				if _, ok := labels[o.Value]; !ok {
					labels[o.Value] = "b" + strconv.Itoa(len(labels))
					visit(o)
				}
			}
		}
	}
	for _, s := range subjects {
		visit(s)
	}
	for _, t := range g.Triples {
		if _, ok := labels[t.S.Value]; t.S.Kind == BlankTerm && !ok {
			labels[t.S.Value] = "b" + strconv.Itoa(len(labels))
			visit(t.S)
		}
	}
	for i := range g.Triples {
		t := &g.Triples[i]
		if t.S.Kind == BlankTerm {
			t.S.Value = labels[t.S.Value]
		}
		if t.O.Kind == BlankTerm {
			t.O.Value = labels[t.O.Value]
		}
	}
	g.sortBy(func(t Term) string {
		if t.Kind == BlankTerm {
			// b2 before b10.
			return fmt.Sprintf("%08d", len(t.Value)) + t.Value
		}
		return termKey(t)
	})
	g.Triples = slices.Compact(g.Triples)
}

// sortBy sorts the triples by subject (the root first, then IRIs, then
// blank nodes), predicate (rdf:type first) and object, comparing subjects
// and objects of the same kind by key.
func (g *Graph) sortBy(key func(Term) string) {
	n := len(g.Triples)
	idx := make([]int, n)
	sKey, oKey := make([]string, n), make([]string, n)
	root := make([]bool, n)
	for i, t := range g.Triples {
		idx[i] = i
		sKey[i], oKey[i] = key(t.S), key(t.O)
		root[i] = t.S.Kind == IRITerm && t.S.Value == g.Root
	}
	ts := g.Triples
	slices.SortStableFunc(idx, func(i, j int) int {
		if root[i] != root[j] {
			if root[i] {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(ts[i].S.Kind, ts[j].S.Kind); c != 0 {
			return c
		}
		if c := cmp.Compare(sKey[i], sKey[j]); c != 0 {
			return c
		}
		if c := cmpPredicate(ts[i].P.Value, ts[j].P.Value); c != 0 {
			return c
		}
		if c := cmp.Compare(ts[i].O.Kind, ts[j].O.Kind); c != 0 {
			return c
		}
		return cmp.Compare(oKey[i], oKey[j])
	})
	sorted := make([]Triple, n)
	for k, i := range idx {
		sorted[k] = ts[i]
	}
	g.Triples = sorted
}

func cmpPredicate(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == rdfType:
		return -1
	case b == rdfType:
		return 1
	}
	return cmp.Compare(a, b)
}

func termKey(t Term) string {
	switch t.Kind {
	case LiteralTerm:
		return t.Value + "\x00" + t.Datatype + "\x00" + t.Lang
	case BlankTerm:
		return "_:" + t.Value
	}
	return t.Value
}

// Dataset returns the graph as a json-gold dataset (default graph).
func (g *Graph) Dataset() *jsonld.RDFDataset {
	ds := jsonld.NewRDFDataset()
	quads := make([]*jsonld.Quad, 0, len(g.Triples))
	for _, t := range g.Triples {
		quads = append(quads, jsonld.NewQuad(nodeOf(t.S), nodeOf(t.P), nodeOf(t.O), "@default"))
	}
	ds.Graphs["@default"] = quads
	return ds
}

func nodeOf(t Term) jsonld.Node {
	switch t.Kind {
	case BlankTerm:
		return jsonld.NewBlankNode("_:" + t.Value)
	case LiteralTerm:
		if t.Lang != "" {
			return jsonld.NewLiteral(t.Value, rdfLangString, t.Lang)
		}
		return jsonld.NewLiteral(t.Value, t.Datatype, "")
	}
	return jsonld.NewIRI(t.Value)
}

// Canonical returns the graph in canonical N-Quads (URDNA2015, sorted
// lines): two graphs are isomorphic exactly when their canonical forms are
// equal.
func (g *Graph) Canonical() (string, error) {
	opts := jsonld.NewJsonLdOptions("")
	opts.Algorithm = jsonld.AlgorithmURDNA2015
	opts.Format = "application/n-quads"
	out, err := jsonld.NewJsonLdApi().Normalize(g.Dataset(), opts)
	if err != nil {
		return "", fmt.Errorf("ld: canonicalize %s: %w", g.Root, err)
	}
	s, _ := out.(string)
	return s, nil
}
