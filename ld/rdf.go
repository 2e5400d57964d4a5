package ld

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/knakk/rdf"
)

// Prefixes are the namespace prefixes Turtle and RDF/XML output use.
var Prefixes = []struct{ Prefix, Namespace string }{
	{"rdf", RDFNS},
	{"schema", SchemaNS},
	{"dcterms", DCTermsNS},
	{"prov", ProvNS},
	{"xsd", XSDNS},
}

// KnakkTriples converts the graph to knakk/rdf triples.
func (g *Graph) KnakkTriples() ([]rdf.Triple, error) {
	out := make([]rdf.Triple, 0, len(g.Triples))
	for _, t := range g.Triples {
		s, err := knakkTerm(t.S)
		if err != nil {
			return nil, err
		}
		p, err := knakkTerm(t.P)
		if err != nil {
			return nil, err
		}
		o, err := knakkTerm(t.O)
		if err != nil {
			return nil, err
		}
		out = append(out, rdf.Triple{Subj: s.(rdf.Subject), Pred: p.(rdf.Predicate), Obj: o.(rdf.Object)})
	}
	return out, nil
}

func knakkTerm(t Term) (rdf.Term, error) {
	switch t.Kind {
	case IRITerm:
		iri, err := rdf.NewIRI(t.Value)
		if err != nil {
			return nil, fmt.Errorf("ld: IRI %q: %w", t.Value, err)
		}
		return iri, nil
	case BlankTerm:
		b, err := rdf.NewBlank(t.Value)
		if err != nil {
			return nil, fmt.Errorf("ld: blank node %q: %w", t.Value, err)
		}
		return b, nil
	}
	switch {
	case t.Lang != "":
		l, err := rdf.NewLangLiteral(t.Value, t.Lang)
		if err != nil {
			// knakk/rdf's constructor takes one subtag only ("en-gb", not
			// "zh-hant-tw"); its parser takes any, so parse the literal.
			return langLiteral(t.Value, t.Lang)
		}
		return l, nil
	case t.Datatype == xsdString || t.Datatype == "":
		return rdf.NewLiteral(t.Value)
	}
	dt, err := rdf.NewIRI(t.Datatype)
	if err != nil {
		return nil, fmt.Errorf("ld: datatype %q: %w", t.Datatype, err)
	}
	return rdf.NewTypedLiteral(t.Value, dt), nil
}

func langLiteral(v, lang string) (rdf.Term, error) {
	var b strings.Builder
	b.WriteString("<x:s> <x:p> ")
	b.WriteString(ntLiteral(v))
	b.WriteString("@")
	b.WriteString(lang)
	b.WriteString(" .\n")
	t, err := rdf.NewTripleDecoder(strings.NewReader(b.String()), rdf.NTriples).Decode()
	if err != nil {
		return nil, fmt.Errorf("ld: literal with language %q: %w", lang, err)
	}
	return t.Obj, nil
}

// ntLiteral quotes a string as N-Triples does.
func ntLiteral(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// NTriples writes the graph as N-Triples (knakk/rdf's encoder).
func (g *Graph) NTriples() ([]byte, error) {
	ts, err := g.KnakkTriples()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(ts) * 120)
	enc := rdf.NewTripleEncoder(&buf, rdf.NTriples)
	for _, t := range ts {
		if err := enc.Encode(t); err != nil {
			return nil, fmt.Errorf("ld: N-Triples %s: %w", g.Root, err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("ld: N-Triples %s: %w", g.Root, err)
	}
	return buf.Bytes(), nil
}

// Turtle writes the graph as Turtle (knakk/rdf's encoder), with the
// Prefixes. knakk/rdf writes a prefixed name for every IRI in a known
// namespace without escaping its local part, and the lexical form of a
// literal typed in a known namespace unescaped; a namespace is used only
// when every such name and literal in this graph is safe to write that way.
func (g *Graph) Turtle() ([]byte, error) {
	ts, err := g.KnakkTriples()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(ts) * 80)
	enc := rdf.NewTripleEncoder(&buf, rdf.Turtle)
	enc.GenerateNamespaces = false
	unsafe := g.unsafeNamespaces()
	used := g.namespaces()
	for _, p := range Prefixes {
		if unsafe[p.Namespace] {
			continue
		}
		enc.Namespaces[p.Namespace] = p.Prefix
		if p.Namespace == RDFNS || !used[p.Namespace] {
			continue
		}
		// knakk/rdf writes a @prefix directive where a namespace is first
		// used, ending the statement it is in; a priming statement per
		// namespace makes it write them all first. hoistPrefixes drops
		// the priming statements.
		pred, err := rdf.NewIRI(p.Namespace + "x")
		if err != nil {
			return nil, err
		}
		prime := rdf.Triple{Subj: primeSubject, Pred: pred, Obj: primeObject}
		if err := enc.Encode(prime); err != nil {
			return nil, fmt.Errorf("ld: Turtle %s: %w", g.Root, err)
		}
	}
	for _, t := range ts {
		if err := enc.Encode(t); err != nil {
			return nil, fmt.Errorf("ld: Turtle %s: %w", g.Root, err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("ld: Turtle %s: %w", g.Root, err)
	}
	buf.WriteByte('\n')
	return hoistPrefixes(buf.Bytes()), nil
}

// primeIRI is the subject of the priming statements; no record's graph has
// it (it is not an IRI json-gold or our descriptions make).
const primeIRI = "urn:colligo:turtle-prefix-priming"

var (
	primeSubject, _ = rdf.NewIRI(primeIRI)
	primeObject, _  = rdf.NewLiteral("x")
)

// namespaces returns the namespaces (as knakk/rdf splits IRIs) of the
// graph's IRIs and datatypes.
func (g *Graph) namespaces() map[string]bool {
	used := map[string]bool{}
	add := func(t Term) {
		switch t.Kind {
		case IRITerm:
			ns, _ := splitIRI(t.Value)
			used[ns] = true
		case LiteralTerm:
			switch t.Datatype {
			case xsdString, rdfLangString, XSDNS + "integer", XSDNS + "decimal", XSDNS + "boolean", XSDNS + "double":
				// knakk/rdf writes these without their datatype IRI.
			default:
				ns, _ := splitIRI(t.Datatype)
				used[ns] = true
			}
		}
	}
	for _, t := range g.Triples {
		add(t.S)
		add(t.P)
		add(t.O)
	}
	return used
}

// hoistPrefixes moves the @prefix directives knakk/rdf writes where a
// namespace is first used to the top, and drops the priming statements.
// knakk/rdf ends the statement before each directive, writes a statement
// whose subject and predicate are new on one line, and escapes line breaks
// in literals, so every line that starts with "@prefix" is a directive,
// every line that starts with the priming subject a priming statement, and
// the other statements stay whole.
func hoistPrefixes(ttl []byte) []byte {
	out := make([]byte, 0, len(ttl)+1)
	rest := ttl
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		if bytes.HasPrefix(line, []byte("@prefix ")) {
			out = append(out, line...)
		}
	}
	if len(out) == 0 {
		return ttl
	}
	out = append(out, '\n')
	rest = ttl
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		if !bytes.HasPrefix(line, []byte("@prefix ")) && !bytes.HasPrefix(line, []byte("<"+primeIRI+">")) {
			out = append(out, line...)
		}
	}
	return out
}

// unsafeNamespaces returns the namespaces in which the graph has an IRI
// whose local part Turtle cannot read back from a prefixed name as
// knakk/rdf writes it, or a typed literal whose lexical form needs an
// escape: knakk/rdf must not use a prefix for those.
func (g *Graph) unsafeNamespaces() map[string]bool {
	var unsafe map[string]bool
	mark := func(ns string) {
		if unsafe == nil {
			unsafe = map[string]bool{}
		}
		unsafe[ns] = true
	}
	check := func(t Term) {
		switch t.Kind {
		case IRITerm:
			if t.Value == rdfType {
				return
			}
			if ns, local := splitIRI(t.Value); !safeLocal(local) {
				mark(ns)
			}
		case LiteralTerm:
			if t.Lang != "" || t.Datatype == xsdString {
				return
			}
			if ns, local := splitIRI(t.Datatype); !safeLocal(local) || strings.ContainsAny(t.Value, "\"\\\n\r") {
				mark(ns)
			}
		}
	}
	for _, t := range g.Triples {
		check(t.S)
		check(t.P)
		check(t.O)
	}
	return unsafe
}

// splitIRI splits as knakk/rdf's IRI.Split does: after the last '/' or '#'.
func splitIRI(s string) (prefix, local string) {
	i := strings.LastIndexAny(s, "/#")
	if i < 0 {
		return "", s
	}
	return s[:i+1], s[i+1:]
}

// safeLocal: a PN_LOCAL of ASCII letters, digits, '_' and inner '-',
// starting with a letter or '_' (which every Turtle parser reads), or empty.
func safeLocal(l string) bool {
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		case c == '-' && i > 0 && i < len(l)-1:
		default:
			return false
		}
	}
	return true
}
