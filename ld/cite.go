package ld

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
)

// bibtexTypes maps kinds to BibTeX entry types.
var bibtexTypes = [...]string{
	crosswalk.Other: "misc", crosswalk.Article: "article", crosswalk.Preprint: "misc",
	crosswalk.ConferencePaper: "inproceedings", crosswalk.Book: "book", crosswalk.BookChapter: "incollection",
	crosswalk.Thesis: "phdthesis", crosswalk.Report: "techreport", crosswalk.Dataset: "misc",
	crosswalk.Software: "misc", crosswalk.Image: "misc", crosswalk.Video: "misc", crosswalk.Audio: "misc",
	crosswalk.Collection: "misc", crosswalk.Text: "misc",
}

// cslTypes maps kinds to CSL 1.0.2 item types.
var cslTypes = [...]string{
	crosswalk.Other: "document", crosswalk.Article: "article-journal", crosswalk.Preprint: "article",
	crosswalk.ConferencePaper: "paper-conference", crosswalk.Book: "book", crosswalk.BookChapter: "chapter",
	crosswalk.Thesis: "thesis", crosswalk.Report: "report", crosswalk.Dataset: "dataset",
	crosswalk.Software: "software", crosswalk.Image: "graphic", crosswalk.Video: "motion_picture",
	crosswalk.Audio: "song", crosswalk.Collection: "collection", crosswalk.Text: "document",
}

// BibTeXType returns the BibTeX entry type of a record.
func BibTeXType(m *store.Metadata) string {
	k := crosswalk.KindOf(m)
	if k == crosswalk.Thesis {
		t := strings.ToLower(m.Type)
		for _, w := range []string{"master", "bachelor", "diplom", "magister"} {
			if strings.Contains(t, w) {
				return "mastersthesis"
			}
		}
	}
	return bibtexTypes[k]
}

// CSLType returns the CSL item type of a record.
func CSLType(m *store.Metadata) string { return cslTypes[crosswalk.KindOf(m)] }

// BibTeX renders a record as one BibTeX entry; citeURL is its url field
// (the DOI's URL, else the cite-as target). The key is made of the first
// creator's family name, the year and the first word of the title, folded
// to ASCII ("doe2021glacier"), so that it stays the same while those do.
// Text fields are escaped for LaTeX; doi and url are written as they are,
// as biblatex and the url package read them verbatim.
func BibTeX(r *store.Record, citeURL string) []byte {
	m := &r.Metadata
	typ := BibTeXType(m)
	var b bytes.Buffer
	b.WriteString("@")
	b.WriteString(typ)
	b.WriteString("{")
	b.WriteString(bibKey(r))
	// Fields are text (escaped for LaTeX), verbatim (doi, url: braces
	// percent-encoded, nothing else touched) or already escaped (names).
	const (
		text = iota
		verbatim
		escaped
	)
	field := func(name, value string, how int) {
		if value == "" {
			return
		}
		b.WriteString(",\n  ")
		b.WriteString(name)
		b.WriteString(" = {")
		switch how {
		case text:
			b.WriteString(latexEscape(value))
		case verbatim:
			b.WriteString(strings.NewReplacer("{", "%7B", "}", "%7D", "\\", "%5C").Replace(value))
		default:
			b.WriteString(value)
		}
		b.WriteString("}")
	}
	field("author", bibNames(m.Creators), escaped)
	var editors []store.Person
	for _, p := range m.Contributors {
		if strings.EqualFold(p.Role, "editor") {
			editors = append(editors, p)
		}
	}
	field("editor", bibNames(editors), escaped)
	if len(m.Titles) > 0 {
		field("title", m.Titles[0].Value, text)
	}
	year, month := "", ""
	for _, d := range []string{m.Issued, m.Created} {
		if len(d) >= 4 {
			year = d[:4]
			if len(d) >= 7 {
				month = strings.TrimPrefix(d[5:7], "0")
			}
			break
		}
	}
	field("year", year, text)
	field("month", month, text)
	switch typ {
	case "phdthesis", "mastersthesis":
		field("school", m.Publisher, text)
	case "techreport":
		field("institution", m.Publisher, text)
	default:
		field("publisher", m.Publisher, text)
	}
	doi := ""
	for _, id := range m.Identifiers {
		switch id.Scheme {
		case "doi":
			if doi == "" {
				doi = id.Value
			}
		case "isbn":
			field("isbn", id.Value, text)
		case "issn":
			field("issn", id.Value, text)
		}
	}
	field("doi", doi, verbatim)
	field("url", citeURL, verbatim)
	if typ == "misc" && m.Type != "" {
		field("note", m.Type, text)
	}
	var kw []string
	for _, s := range m.Subjects {
		if s.Value != "" {
			kw = append(kw, s.Value)
		}
	}
	field("keywords", strings.Join(kw, ", "), text)
	if len(m.Languages) > 0 {
		field("language", m.Languages[0], text)
	}
	if len(m.Descriptions) > 0 {
		field("abstract", m.Descriptions[0].Value, text)
	}
	field("copyright", m.License, verbatim)
	b.WriteString("\n}\n")
	return b.Bytes()
}

// bibNames joins names with " and ". A name with " and " in it, or an
// organisation, is braced so that BibTeX takes it whole.
func bibNames(ps []store.Person) string {
	var parts []string
	for _, p := range ps {
		n := latexEscape(p.Name)
		if strings.Contains(strings.ToLower(p.Name), " and ") || person(p)["@type"] == "Organization" {
			n = "{" + n + "}"
		}
		parts = append(parts, n)
	}
	return strings.Join(parts, " and ")
}

var latexReplacer = strings.NewReplacer(
	`\`, `\textbackslash{}`, `{`, `\{`, `}`, `\}`, `$`, `\$`, `&`, `\&`, `%`, `\%`, `#`, `\#`,
	`_`, `\_`, `^`, `\^{}`, `~`, `\~{}`, `<`, `\textless{}`, `>`, `\textgreater{}`,
	"\r\n", " ", "\n", " ", "\r", " ", "\t", " ",
)

func latexEscape(s string) string { return latexReplacer.Replace(s) }

// bibKey makes an entry key from the first creator, the year and the
// first title word of four letters or more, in ASCII.
func bibKey(r *store.Record) string {
	m := &r.Metadata
	var key strings.Builder
	if len(m.Creators) > 0 {
		family, _, _ := strings.Cut(m.Creators[0].Name, ",")
		if !strings.Contains(m.Creators[0].Name, ",") {
			f := strings.Fields(family)
			if len(f) > 0 {
				family = f[len(f)-1]
			}
		}
		key.WriteString(asciiFold(family))
	}
	key.WriteString(crosswalk.PublicationYear(r))
	if len(m.Titles) > 0 {
		for _, w := range strings.Fields(m.Titles[0].Value) {
			if w := asciiFold(w); len(w) >= 4 {
				key.WriteString(w)
				break
			}
		}
	}
	k := strings.TrimPrefix(key.String(), ":unav")
	if len(k) < 4 || k[0] >= '0' && k[0] <= '9' {
		k = "record-" + asciiFold(r.ID) + k
	}
	return k
}

// asciiFold lower-cases s, strips diacritics and keeps letters and digits.
func asciiFold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(unicode.ToLower(r))
		case r == 'ß':
			b.WriteString("ss")
		case r == 'ø' || r == 'Ø':
			b.WriteString("o")
		case r == 'æ' || r == 'Æ':
			b.WriteString("ae")
		}
	}
	return b.String()
}

// CSL renders a record as one CSL-JSON item (an object, as DOI content
// negotiation answers for application/vnd.citationstyles.csl+json).
// Names "Family, Given" are split; other names are literal. citeURL is the
// URL to cite (the DOI's, else the cite-as target).
func CSL(r *store.Record, citeURL string) []byte {
	m := &r.Metadata
	item := newOrdered()
	item.set("id", r.ID)
	item.set("type", CSLType(m))
	if len(m.Titles) > 0 {
		item.set("title", m.Titles[0].Value)
	}
	var authors, editors []any
	for _, p := range m.Creators {
		authors = append(authors, cslName(p))
	}
	for _, p := range m.Contributors {
		if strings.EqualFold(p.Role, "editor") {
			editors = append(editors, cslName(p))
		}
	}
	if authors != nil {
		item.set("author", authors)
	}
	if editors != nil {
		item.set("editor", editors)
	}
	if d := m.Issued; d != "" {
		item.set("issued", cslDate(d))
	}
	if d := m.Created; d != "" {
		item.set("original-date", cslDate(d))
	}
	if m.Publisher != "" {
		item.set("publisher", m.Publisher)
	}
	for _, id := range m.Identifiers {
		switch id.Scheme {
		case "doi":
			if _, ok := item.get("DOI"); !ok {
				item.set("DOI", id.Value)
			}
		case "isbn":
			item.set("ISBN", id.Value)
		case "issn":
			item.set("ISSN", id.Value)
		case "pmid":
			item.set("PMID", id.Value)
		case "pmcid":
			item.set("PMCID", id.Value)
		}
	}
	item.set("URL", citeURL)
	if m.Type != "" {
		item.set("genre", m.Type)
	}
	if len(m.Descriptions) > 0 {
		item.set("abstract", m.Descriptions[0].Value)
	}
	var kw []string
	for _, s := range m.Subjects {
		if s.Value != "" {
			kw = append(kw, s.Value)
		}
	}
	if kw != nil {
		item.set("keyword", strings.Join(kw, ", "))
	}
	if len(m.Languages) > 0 {
		item.set("language", m.Languages[0])
	}
	if m.License != "" {
		item.set("license", m.License)
	}
	out, _ := item.MarshalIndent()
	return append(out, '\n')
}

func cslName(p store.Person) any {
	family, given, ok := strings.Cut(p.Name, ",")
	if !ok || person(p)["@type"] == "Organization" {
		return map[string]string{"literal": p.Name}
	}
	n := map[string]string{"family": strings.TrimSpace(family)}
	if g := strings.TrimSpace(given); g != "" {
		n["given"] = g
	}
	return n
}

// cslDate writes YYYY[-MM[-DD]] as CSL date-parts.
func cslDate(d string) any {
	var parts []any
	for p := range strings.SplitSeq(d, "-") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return map[string]any{"raw": d}
		}
		parts = append(parts, n)
	}
	return map[string]any{"date-parts": []any{parts}}
}

// ordered is a JSON object that keeps its keys in insertion order.
type ordered struct {
	keys []string
	vals map[string]any
}

func newOrdered() *ordered { return &ordered{vals: map[string]any{}} }

func (o *ordered) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *ordered) get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

// MarshalJSON writes the object with its keys in order.
func (o *ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := marshal(o.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// MarshalIndent writes the object indented by two spaces.
func (o *ordered) MarshalIndent() ([]byte, error) {
	flat, err := o.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, flat, "", "  "); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
