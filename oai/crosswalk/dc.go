package crosswalk

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/colligo/colligo/oai/oaixml"
	"github.com/colligo/colligo/store"
)

// Namespaces of the formats this package reads and writes.
const (
	NamespaceOAIDC    = "http://www.openarchives.org/OAI/2.0/oai_dc/"
	SchemaOAIDC       = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
	NamespaceDC       = "http://purl.org/dc/elements/1.1/"
	NamespaceDCTerms  = "http://purl.org/dc/terms/"
	NamespaceDataCite = "http://datacite.org/schema/kernel-4"
	SchemaDataCite    = "http://schema.datacite.org/meta/kernel-4.5/metadata.xsd"
	namespaceXML      = "http://www.w3.org/XML/1998/namespace"
)

// DCSink returns a MetadataSink that fills m from an oai_dc (or any simple
// Dublin Core) payload as the record is parsed, so the payload is read once.
func DCSink(m *store.Metadata) oaixml.MetadataSink {
	return func(tr oaixml.TokenReader, root xml.StartElement) error {
		*m = store.Metadata{}
		return readDC(tr, m)
	}
}

// FromDC maps a Dublin Core payload (the content of <metadata>) to the
// record model. ns are inherited namespace declarations (see
// oaixml.Record.Namespaces).
func FromDC(payload []byte, ns map[string]string) (store.Metadata, error) {
	var m store.Metadata
	d := xml.NewDecoder(strings.NewReader(string(oaixml.DeclareNamespaces(payload, ns))))
	for {
		tok, err := d.Token()
		if err != nil {
			return m, fmt.Errorf("crosswalk.FromDC: %w", err)
		}
		if _, ok := tok.(xml.StartElement); ok {
			return m, readDC(d, &m)
		}
	}
}

// readDC consumes the children of a Dublin Core container up to its end tag.
func readDC(d oaixml.TokenReader, m *store.Metadata) error {
	var dates []string
	var types []string
	if cr, ok := d.(oaixml.ChildReader); ok {
		// The scanner's fast path: the same mapping, without a token per
		// element.
		for {
			name, lang, text, ok, err := cr.NextChild()
			if err != nil {
				return err
			}
			if !ok {
				finishDC(m, dates, types)
				return nil
			}
			if name.Space != NamespaceDC && name.Space != NamespaceDCTerms {
				continue
			}
			if text = strings.TrimSpace(text); text != "" {
				addDC(m, name.Local, text, lang, &dates, &types)
			}
		}
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			finishDC(m, dates, types)
			return nil
		case xml.StartElement:
			lang := ""
			for _, a := range t.Attr {
				if a.Name.Local == "lang" && (a.Name.Space == namespaceXML || a.Name.Space == "xml") {
					lang = a.Value
				}
			}
			text, err := elementText(d)
			if err != nil {
				return err
			}
			if t.Name.Space != NamespaceDC && t.Name.Space != NamespaceDCTerms {
				continue
			}
			// store.Normalize cleans every value; here only trim.
			text = strings.TrimSpace(text)
			if text == "" {
				continue
			}
			addDC(m, t.Name.Local, text, lang, &dates, &types)
		}
	}
}

func elementText(d oaixml.TokenReader) (string, error) {
	// Most elements hold one piece of text: convert it once.
	tok, err := d.Token()
	if err != nil {
		return "", err
	}
	var first string
	switch t := tok.(type) {
	case xml.EndElement:
		return "", nil
	case xml.CharData:
		first = string(t)
		if tok, err = d.Token(); err != nil {
			return "", err
		}
		if _, ok := tok.(xml.EndElement); ok {
			return first, nil
		}
	}
	var b strings.Builder
	b.WriteString(first)
	depth := 0
	for {
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 {
				return b.String(), nil
			}
			depth--
		}
		if tok, err = d.Token(); err != nil {
			return "", err
		}
	}
}

var (
	langPrefix = regexp.MustCompile(`^\[([a-z]{2,3})\]\s*`) // "[pt] TITLE", as PUC-Rio writes
	yearLike   = regexp.MustCompile(`^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?`)
)

// addDC maps one DC element.
func addDC(m *store.Metadata, name, text, lang string, dates, types *[]string) {
	if lang == "" && text[0] == '[' {
		if sm := langPrefix.FindStringSubmatch(text); sm != nil {
			lang, text = sm[1], text[len(sm[0]):]
		}
	}
	if lang != "" {
		if l, ok := store.NormalizeLanguage(lang); ok {
			lang = l
		} else {
			lang = ""
		}
	}
	switch name {
	case "title", "alternative":
		m.Titles = append(m.Titles, store.Text{Value: text, Lang: lang})
	case "creator":
		m.Creators = append(m.Creators, person(text))
	case "contributor":
		m.Contributors = append(m.Contributors, person(text))
	case "subject":
		s := store.Subject{Value: text, Lang: lang}
		if isURI(text) {
			s = store.Subject{URI: text, Value: text}
		}
		m.Subjects = append(m.Subjects, s)
	case "description", "abstract":
		m.Descriptions = append(m.Descriptions, store.Text{Value: text, Lang: lang})
	case "publisher":
		if m.Publisher == "" {
			m.Publisher = text
		}
	case "date", "issued", "created", "available":
		*dates = append(*dates, text)
	case "type":
		*types = append(*types, text)
	case "identifier":
		addIdentifier(m, text)
	case "language":
		if l, ok := store.NormalizeLanguage(text); ok && !contains(m.Languages, l) {
			m.Languages = append(m.Languages, l)
		}
	case "rights", "license", "accessRights":
		addRights(m, text, lang)
	case "relation", "isPartOf", "references", "source":
		rel := store.Relation{Value: text}
		if name == "isPartOf" {
			rel.Type = "IsPartOf"
		}
		if id, ok := store.NormalizeIdentifier("", text); ok && id.Scheme != "local" {
			rel.Scheme, rel.Value = id.Scheme, id.Value
		}
		m.Relations = append(m.Relations, rel)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// person reads a creator string; "Doe, Jane (0000-0002-1825-0097)" keeps
// its ORCID iD.
func person(text string) store.Person {
	p := store.Person{Name: text}
	if i := strings.LastIndex(text, "("); i > 0 && strings.HasSuffix(text, ")") {
		if o, ok := store.NormalizeORCID(text[i+1 : len(text)-1]); ok {
			p.Name, p.ORCID = strings.TrimSpace(text[:i]), o
		}
	}
	return p
}

func isURI(s string) bool {
	l := strings.ToLower(s)
	return (strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")) && !strings.ContainsAny(s, " \t\n")
}

func addIdentifier(m *store.Metadata, text string) {
	id, ok := store.NormalizeIdentifier("", text)
	if !ok || id.Scheme == "local" {
		// A citation string or a local number: keep it as a local id so
		// nothing is lost, unless it is free text.
		if strings.Count(text, " ") > 3 || len(text) > 200 {
			return
		}
		id = store.Identifier{Scheme: "local", Value: text}
	}
	for _, have := range m.Identifiers {
		if have == id {
			return
		}
	}
	m.Identifiers = append(m.Identifiers, id)
}

// accessRights maps the info:eu-repo access terms that DSpace, EPrints and
// Zenodo put in dc:rights to COAR access rights concepts.
var accessRights = map[string][2]string{
	"info:eu-repo/semantics/openaccess":       {"open access", "http://purl.org/coar/access_right/c_abf2"},
	"info:eu-repo/semantics/embargoedaccess":  {"embargoed access", "http://purl.org/coar/access_right/c_f1cf"},
	"info:eu-repo/semantics/restrictedaccess": {"restricted access", "http://purl.org/coar/access_right/c_16ec"},
	"info:eu-repo/semantics/closedaccess":     {"metadata only access", "http://purl.org/coar/access_right/c_14cb"},
}

func addRights(m *store.Metadata, text, lang string) {
	if ar, ok := accessRights[strings.ToLower(text)]; ok {
		if m.AccessRights == "" {
			m.AccessRights, m.AccessRightsURI = ar[0], ar[1]
		}
		return
	}
	if strings.HasPrefix(strings.ToLower(text), "http://purl.org/coar/access_right/") {
		if m.AccessRightsURI == "" {
			m.AccessRightsURI = text
		}
		return
	}
	if m.License == "" && isURI(text) {
		if uri, spdx, ok := store.NormalizeLicense(text); ok {
			m.License, m.LicenseSPDX = uri, spdx
			return
		}
	}
	if m.License == "" {
		// "CC-BY-4.0" or "Creative Commons Attribution 4.0" written out.
		if uri, spdx, ok := store.NormalizeLicense(text); ok && spdx != "" {
			m.License, m.LicenseSPDX = uri, spdx
			return
		}
	}
	m.Rights = append(m.Rights, store.Text{Value: text, Lang: lang})
}

// finishDC picks the issue date and the type from what the record listed.
func finishDC(m *store.Metadata, dates, types []string) {
	for _, d := range dates {
		if strings.HasPrefix(d, "info:eu-repo/date/") {
			continue // embargo end dates and the like
		}
		if sm := yearLike.FindStringSubmatch(d); sm != nil {
			if y, _ := strconv.Atoi(sm[1]); y < 1000 || y > 2999 {
				continue
			}
			v := sm[1]
			if sm[2] != "" && sm[2] >= "01" && sm[2] <= "12" {
				v += "-" + sm[2]
				if sm[3] != "" && sm[3] >= "01" && sm[3] <= "31" {
					v += "-" + sm[3]
				}
			}
			if m.Issued == "" {
				m.Issued = v
			}
		}
	}
	for _, t := range types {
		l := strings.ToLower(t)
		switch {
		case strings.HasPrefix(l, "http://purl.org/coar/resource_type/") || strings.HasPrefix(l, "https://purl.org/coar/resource_type/"):
			if m.TypeURI == "" {
				m.TypeURI = t
			}
		case strings.HasPrefix(l, "info:eu-repo/semantics/") && strings.HasSuffix(l, "version"):
			// publishedVersion, acceptedVersion: a version, not a type.
		case m.Type == "":
			m.Type = strings.TrimPrefix(t, "info:eu-repo/semantics/")
		}
	}
}

// OAIDC renders a record as an oai_dc payload. landing is the record's
// landing page URL, written as an identifier. The output is what the OAI
// provider serves inside <metadata>; it validates against oai_dc.xsd.
func OAIDC(r *store.Record, landing string) []byte {
	m := &r.Metadata
	b := make([]byte, 0, dcSize(m, landing))
	b = append(b, `<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd">`...)
	for _, t := range m.Titles {
		b = dcElem(b, "title", t.Value, t.Lang)
	}
	for _, p := range m.Creators {
		b = dcElem(b, "creator", p.Name, "")
	}
	for _, s := range m.Subjects {
		v := s.Value
		if v == "" {
			v = s.URI
		}
		b = dcElem(b, "subject", v, s.Lang)
	}
	for _, d := range m.Descriptions {
		b = dcElem(b, "description", d.Value, d.Lang)
	}
	if m.Publisher != "" {
		b = dcElem(b, "publisher", m.Publisher, "")
	}
	for _, p := range m.Contributors {
		b = dcElem(b, "contributor", p.Name, "")
	}
	if m.Issued != "" {
		b = dcElem(b, "date", m.Issued, "")
	} else if m.Created != "" {
		b = dcElem(b, "date", m.Created, "")
	}
	if m.Type != "" {
		b = dcElem(b, "type", m.Type, "")
	}
	if m.TypeURI != "" {
		b = dcElem(b, "type", m.TypeURI, "")
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if f.Type != "" && !seen[f.Type] {
			seen[f.Type] = true
			b = dcElem(b, "format", f.Type, "")
		}
	}
	for _, id := range m.Identifiers {
		b = dcElem(b, "identifier", IdentifierURI(id), "")
	}
	if landing != "" {
		b = dcElem(b, "identifier", landing, "")
	}
	for _, l := range m.Languages {
		b = dcElem(b, "language", l, "")
	}
	for _, rel := range m.Relations {
		b = dcElem(b, "relation", IdentifierURI(store.Identifier{Scheme: rel.Scheme, Value: rel.Value}), "")
	}
	if m.License != "" {
		b = dcElem(b, "rights", m.License, "")
	}
	if m.AccessRightsURI != "" {
		b = dcElem(b, "rights", m.AccessRightsURI, "")
	}
	for _, t := range m.Rights {
		b = dcElem(b, "rights", t.Value, t.Lang)
	}
	return append(b, "</oai_dc:dc>"...)
}

// dcSize estimates the length of OAIDC's output, so that it is built in
// one allocation: the wrapper, and per value its element, language and
// some escaping.
func dcSize(m *store.Metadata, landing string) int {
	const perValue = 48
	n := 512 + len(landing) + len(m.Publisher) + len(m.Issued) + len(m.Created) + len(m.Type) + len(m.TypeURI) + len(m.License) + len(m.AccessRightsURI) + 8*perValue
	texts := func(ts []store.Text) {
		for _, t := range ts {
			n += perValue + len(t.Value) + len(t.Value)/16
		}
	}
	texts(m.Titles)
	texts(m.Descriptions)
	texts(m.Rights)
	for _, p := range m.Creators {
		n += perValue + len(p.Name)
	}
	for _, p := range m.Contributors {
		n += perValue + len(p.Name)
	}
	for _, s := range m.Subjects {
		n += perValue + len(s.Value) + len(s.URI)
	}
	for _, id := range m.Identifiers {
		n += perValue + 32 + len(id.Value)
	}
	for _, rel := range m.Relations {
		n += perValue + 32 + len(rel.Value)
	}
	return n + len(m.Languages)*perValue
}

// IdentifierURI writes an identifier as a URI where its scheme has one
// (https://doi.org/..., https://hdl.handle.net/..., https://arxiv.org/abs/...)
// and as "scheme:value" otherwise.
func IdentifierURI(id store.Identifier) string {
	switch id.Scheme {
	case "doi":
		return "https://doi.org/" + id.Value
	case "handle":
		return "https://hdl.handle.net/" + id.Value
	case "arxiv":
		return "https://arxiv.org/abs/" + id.Value
	case "orcid":
		return "https://orcid.org/" + id.Value
	case "url", "urn", "", "local":
		return id.Value
	case "isbn":
		return "urn:isbn:" + id.Value
	case "issn":
		return "urn:issn:" + id.Value
	case "pmid":
		return "https://pubmed.ncbi.nlm.nih.gov/" + id.Value
	}
	return id.Scheme + ":" + id.Value
}

func dcElem(b []byte, name, value, lang string) []byte {
	b = append(b, "<dc:"...)
	b = append(b, name...)
	if lang != "" {
		b = append(b, ` xml:lang="`...)
		b = AppendEscaped(b, lang)
		b = append(b, '"')
	}
	b = append(b, '>')
	b = AppendEscaped(b, value)
	b = append(b, "</dc:"...)
	b = append(b, name...)
	return append(b, '>')
}

// xmlEscapes holds the replacement of each byte AppendEscaped replaces.
var xmlEscapes = [256]string{'<': "&lt;", '>': "&gt;", '&': "&amp;", '"': "&quot;", '\'': "&apos;", '\r': "&#xD;"}

// AppendEscaped appends s escaped for XML text and attribute values.
func AppendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		esc := xmlEscapes[s[i]]
		if esc == "" {
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}
