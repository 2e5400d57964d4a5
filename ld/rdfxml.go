package ld

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/colligo/colligo/oai/crosswalk"
)

// RDFXML writes the graph as RDF/XML (RDF 1.1 XML Syntax): one
// rdf:Description per subject, rdf:about for IRIs and rdf:nodeID for blank
// nodes, rdf:resource and rdf:nodeID for objects, xml:lang and
// rdf:datatype on literals (none for xsd:string). Predicates are written as
// qualified names with the Prefixes, and ns0, ns1, ... for other
// namespaces, all declared on rdf:RDF. It fails on a predicate that has no
// qualified name (its IRI does not end in an XML name) and on a literal
// with a character XML 1.0 cannot carry.
func (g *Graph) RDFXML() ([]byte, error) {
	prefixOf := map[string]string{}
	for _, p := range Prefixes {
		prefixOf[p.Namespace] = p.Prefix
	}
	type qname struct{ prefix, local string }
	names := map[string]qname{}
	var extra []string
	for _, t := range g.Triples {
		if _, ok := names[t.P.Value]; ok {
			continue
		}
		ns, local, ok := splitQName(t.P.Value)
		if !ok {
			return nil, fmt.Errorf("ld: RDF/XML %s: predicate %s has no XML qualified name", g.Root, t.P.Value)
		}
		prefix, known := prefixOf[ns]
		if !known {
			prefix = "ns" + strconv.Itoa(len(extra))
			prefixOf[ns] = prefix
			extra = append(extra, ns)
		}
		names[t.P.Value] = qname{prefix, local}
	}
	// knakk/rdf's reader takes an attribute value "scheme:rest" without
	// "//" (oai:..., urn:...) for a QName and fails on the unknown prefix.
	// Binding the prefix to "scheme:" makes it read the IRI right; readers
	// that follow the spec ignore the unused declaration.
	var schemes []string
	declared := map[string]bool{"xml": true, "xmlns": true}
	for _, p := range prefixOf {
		declared[p] = true
	}
	for _, t := range g.Triples {
		attrs := make([]string, 0, 2)
		if t.S.Kind == IRITerm {
			attrs = append(attrs, t.S.Value)
		}
		switch t.O.Kind {
		case IRITerm:
			attrs = append(attrs, t.O.Value)
		case LiteralTerm:
			attrs = append(attrs, t.O.Datatype)
		}
		for _, v := range attrs {
			scheme, rest, ok := strings.Cut(v, ":")
			if ok && !strings.HasPrefix(rest, "//") && !declared[scheme] && isNCName(scheme) {
				declared[scheme] = true
				schemes = append(schemes, scheme)
			}
		}
	}
	var b bytes.Buffer
	b.Grow(len(g.Triples) * 120)
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n<rdf:RDF")
	for _, p := range Prefixes {
		fmt.Fprintf(&b, "\n    xmlns:%s=\"%s\"", p.Prefix, p.Namespace)
	}
	for i, ns := range extra {
		fmt.Fprintf(&b, "\n    xmlns:ns%d=\"", i)
		b.Write(crosswalk.AppendEscaped(nil, ns))
		b.WriteByte('"')
	}
	for _, s := range schemes {
		fmt.Fprintf(&b, "\n    xmlns:%s=\"%s:\"", s, s)
	}
	b.WriteString(">\n")
	for i, t := range g.Triples {
		if i == 0 || g.Triples[i-1].S != t.S {
			if i > 0 {
				b.WriteString("  </rdf:Description>\n")
			}
			b.WriteString("  <rdf:Description ")
			writeNodeAttr(&b, "about", t.S)
			b.WriteString(">\n")
		}
		q := names[t.P.Value]
		b.WriteString("    <")
		b.WriteString(q.prefix)
		b.WriteByte(':')
		b.WriteString(q.local)
		switch t.O.Kind {
		case IRITerm, BlankTerm:
			b.WriteByte(' ')
			writeNodeAttr(&b, "resource", t.O)
			b.WriteString("/>\n")
			continue
		}
		if !xmlText(t.O.Value) {
			return nil, fmt.Errorf("ld: RDF/XML %s: literal of %s has a character XML 1.0 cannot carry", g.Root, t.P.Value)
		}
		switch {
		case t.O.Lang != "":
			b.WriteString(` xml:lang="`)
			b.Write(crosswalk.AppendEscaped(nil, t.O.Lang))
			b.WriteByte('"')
		case t.O.Datatype != xsdString && t.O.Datatype != "":
			b.WriteString(` rdf:datatype="`)
			b.Write(crosswalk.AppendEscaped(nil, t.O.Datatype))
			b.WriteByte('"')
		}
		b.WriteByte('>')
		b.Write(crosswalk.AppendEscaped(nil, t.O.Value))
		b.WriteString("</")
		b.WriteString(q.prefix)
		b.WriteByte(':')
		b.WriteString(q.local)
		b.WriteString(">\n")
	}
	if len(g.Triples) > 0 {
		b.WriteString("  </rdf:Description>\n")
	}
	b.WriteString("</rdf:RDF>\n")
	return b.Bytes(), nil
}

func isNCName(s string) bool {
	for i, r := range s {
		if i == 0 && !ncNameStart(r) || !ncNameChar(r) {
			return false
		}
	}
	return s != ""
}

// writeNodeAttr writes rdf:<attr>="IRI" for an IRI, rdf:nodeID="label" for
// a blank node.
func writeNodeAttr(b *bytes.Buffer, attr string, t Term) {
	if t.Kind == BlankTerm {
		b.WriteString(`rdf:nodeID="`)
		b.WriteString(t.Value)
	} else {
		b.WriteString("rdf:")
		b.WriteString(attr)
		b.WriteString(`="`)
		b.Write(crosswalk.AppendEscaped(nil, t.Value))
	}
	b.WriteByte('"')
}

// splitQName splits an IRI into a namespace and an XML NCName local part,
// the longest such local part at the end of the IRI.
func splitQName(iri string) (ns, local string, ok bool) {
	i := len(iri)
	for i > 0 {
		r, n := utf8.DecodeLastRuneInString(iri[:i])
		if !ncNameChar(r) {
			break
		}
		i -= n
	}
	for i < len(iri) {
		r, n := utf8.DecodeRuneInString(iri[i:])
		if ncNameStart(r) {
			break
		}
		i += n
	}
	if i == len(iri) || i == 0 {
		return "", "", false
	}
	return iri[:i], iri[i:], true
}

// ncNameStart and ncNameChar follow XML 1.0 (fifth edition) NameStartChar
// and NameChar, without ':'.
func ncNameStart(r rune) bool {
	return r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' ||
		r >= 0xC0 && r <= 0xD6 || r >= 0xD8 && r <= 0xF6 || r >= 0xF8 && r <= 0x2FF ||
		r >= 0x370 && r <= 0x37D || r >= 0x37F && r <= 0x1FFF || r >= 0x200C && r <= 0x200D ||
		r >= 0x2070 && r <= 0x218F || r >= 0x2C00 && r <= 0x2FEF || r >= 0x3001 && r <= 0xD7FF ||
		r >= 0xF900 && r <= 0xFDCF || r >= 0xFDF0 && r <= 0xFFFD || r >= 0x10000 && r <= 0xEFFFF
}

func ncNameChar(r rune) bool {
	return ncNameStart(r) || r == '-' || r == '.' || r >= '0' && r <= '9' || r == 0xB7 ||
		r >= 0x300 && r <= 0x36F || r >= 0x203F && r <= 0x2040
}

// xmlText reports whether every character of s is one XML 1.0 can carry.
func xmlText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !(r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
	}
	return true
}
