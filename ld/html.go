package ld

import (
	"fmt"
	"strings"

	"github.com/colligo/colligo/ld/linkheader"
	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
)

// page writes HTML. html/template took a quarter of the time of serving a
// landing page; this writer escapes every text and attribute value itself
// (&, <, >, " and ') and links only http and https URLs, which is what
// html/template's URL filter would let through for our data.
type page struct{ b []byte }

func (w *page) raw(s string) { w.b = append(w.b, s...) }

func (w *page) text(s string) { w.b = crosswalk.AppendEscaped(w.b, s) }

// link writes <a href="u">label</a>, or the label alone when u is not an
// http(s) URL.
func (w *page) link(u, label, attrs string) {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		w.text(label)
		return
	}
	w.raw(`<a href="`)
	w.text(linkheader.URI(u))
	w.raw(`"`)
	w.raw(attrs)
	w.raw(">")
	w.text(label)
	w.raw("</a>")
}

const pageStyle = `<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}
a{color:#0645ad}.meta{color:#555;font-size:.9rem}.cite{background:#f5f5f5;padding:.6rem .8rem;border-left:3px solid #999}
table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:left;border-bottom:1px solid #ddd}.withdrawn{background:#fff3cd;padding:.6rem .8rem}</style>
`

// landingPage renders the HTML landing page of a record, or its tombstone
// when it is deleted: a page that keeps the citation and says when the
// record was withdrawn, without JSON-LD and marked noindex. links are the
// Level 1 links for the <link> elements (the cite-as link of a tombstone).
func (p *Publisher) landingPage(r *store.Record, sp *Signposts, links []linkheader.Link) ([]byte, error) {
	m := &r.Metadata
	landing := p.RecordURL(r.ID)
	var js []byte
	if !r.Deleted {
		var err error
		if js, err = EmbeddedJSONLD(p.Describe(r)); err != nil {
			return nil, err
		}
	}
	title, lang := r.ID, "en"
	if len(m.Titles) > 0 {
		title = m.Titles[0].Value
		if m.Titles[0].Lang != "" {
			lang = m.Titles[0].Lang
		}
	}
	w := &page{b: make([]byte, 0, 8192+len(js)+len(links)*120)}
	w.raw("<!DOCTYPE html>\n<html lang=\"")
	w.text(lang)
	w.raw("\"><head><meta charset=\"utf-8\">\n<title>")
	if r.Deleted {
		w.raw("Withdrawn: ")
	}
	w.text(title)
	w.raw(" · ")
	w.text(p.site.Name)
	w.raw("</title>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	if r.Deleted {
		w.raw("<meta name=\"robots\" content=\"noindex\">\n")
	}
	w.b = appendHeadElements(w.b, links, js)
	w.raw("\n")
	w.raw(pageStyle)
	w.raw("</head>\n<body>\n<p class=\"meta\"><a href=\"/\">")
	w.text(p.site.Name)
	w.raw("</a> · ")
	kind := SchemaType(m)
	w.text(kind)
	if m.Type != "" && m.Type != kind {
		w.raw(" · ")
		w.text(m.Type)
	}
	w.raw("</p>\n")
	if r.Deleted {
		w.raw("<p class=\"withdrawn\">This record was withdrawn on ")
		w.text(r.Datestamp.UTC().Format("2006-01-02"))
		w.raw(". Its description is kept so that citations of it still resolve.</p>\n")
	}
	w.raw("<h1>")
	w.text(title)
	w.raw("</h1>\n")
	if len(m.Titles) > 1 {
		for _, t := range m.Titles[1:] {
			w.raw("<p class=\"meta\" lang=\"")
			w.text(t.Lang)
			w.raw("\">")
			w.text(t.Value)
			w.raw("</p>\n")
		}
	}
	if len(m.Creators) > 0 {
		w.raw("<p>")
		for i, c := range m.Creators {
			if i > 0 {
				w.raw("; ")
			}
			w.text(c.Name)
			if u, ok := PersonURI(c); ok {
				w.raw(" ")
				w.link(u, strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://"), ` class="meta"`)
			}
			if c.Affiliation != "" {
				w.raw(" <span class=\"meta\">(")
				w.text(c.Affiliation)
				w.raw(")</span>")
			}
		}
		w.raw("</p>\n")
	}
	w.raw("<p class=\"meta\">")
	date := m.Issued
	if date == "" {
		date = m.Created
	}
	w.text(date)
	if m.Publisher != "" {
		w.raw(" · ")
		w.text(m.Publisher)
	}
	if len(m.Languages) > 0 {
		w.raw(" · ")
		w.text(strings.Join(m.Languages, ", "))
	}
	w.raw("</p>\n<h2>Cite as</h2>\n<p class=\"cite\">")
	w.text(Citation(r))
	w.raw(" ")
	w.link(sp.CiteAs.Target, sp.CiteAs.Target, "")
	w.raw("</p>\n")
	for _, d := range m.Descriptions {
		w.raw("<p")
		if d.Lang != "" {
			w.raw(" lang=\"")
			w.text(d.Lang)
			w.raw("\"")
		}
		w.raw(">")
		w.text(d.Value)
		w.raw("</p>\n")
	}
	if len(m.Subjects) > 0 {
		w.raw("<p class=\"meta\">Subjects: ")
		for i, s := range m.Subjects {
			if i > 0 {
				w.raw(", ")
			}
			label := s.Value
			if label == "" {
				label = s.URI
			}
			w.link(s.URI, label, "")
		}
		w.raw("</p>\n")
	}
	if len(m.Files) > 0 {
		w.raw("<h2>Files</h2>\n<table><tr><th>File</th><th>Type</th><th>Size</th></tr>\n")
		for _, f := range m.Files {
			u, ok := IRI(f.URL)
			if !ok {
				continue
			}
			name := f.Name
			if name == "" {
				name = u[strings.LastIndexByte(u, '/')+1:]
			}
			w.raw("<tr><td>")
			w.link(u, name, "")
			w.raw("</td><td>")
			w.text(FileType(f))
			w.raw("</td><td>")
			if f.Size > 0 {
				w.text(humanSize(f.Size))
			}
			w.raw("</td></tr>\n")
		}
		w.raw("</table>\n")
	}
	w.raw("<h2>Details</h2>\n<table>\n")
	row := func(label, value, u string) {
		w.raw("<tr><th>")
		w.text(label)
		w.raw("</th><td>")
		w.link(u, value, "")
		w.raw("</td></tr>\n")
	}
	for _, id := range m.Identifiers {
		u, _ := WorkIdentifierURL(id)
		row(identifierLabel(id.Scheme), id.Value, u)
	}
	if m.License != "" {
		label := m.License
		if m.LicenseSPDX != "" {
			label = m.LicenseSPDX
		}
		row("Licence", label, m.License)
	}
	if m.AccessRights != "" {
		row("Access", m.AccessRights, "")
	}
	for _, rel := range m.Relations {
		label := rel.Type
		if label == "" {
			label = "Related"
		}
		u, _ := IRI(crosswalk.IdentifierURI(store.Identifier{Scheme: rel.Scheme, Value: rel.Value}))
		row(label, rel.Value, u)
	}
	row("OAI identifier", r.OAIIdentifier, "")
	row("Last changed here", r.Datestamp.UTC().Format("2006-01-02 15:04:05 UTC"), "")
	w.raw("</table>\n")
	if len(r.Provenance) > 0 {
		w.raw("<h2>Provenance</h2>\n<ul>\n")
		for _, pv := range r.Provenance {
			w.raw("<li>Harvested ")
			if !pv.HarvestDate.IsZero() {
				w.raw("on ")
				w.text(pv.HarvestDate.UTC().Format("2006-01-02"))
				w.raw(" ")
			}
			w.raw("from ")
			w.link(pv.BaseURL, pv.BaseURL, "")
			w.raw(", record <code>")
			w.text(pv.Identifier)
			w.raw("</code>")
			if pv.Datestamp != "" {
				w.raw(" of ")
				w.text(pv.Datestamp)
			}
			if pv.Altered {
				w.raw(" (metadata altered)")
			}
			w.raw("</li>\n")
		}
		w.raw("</ul>\n")
	}
	if !r.Deleted {
		w.raw("<h2>Metadata</h2>\n<p>")
		for _, f := range Formats {
			if f.File == "" {
				continue
			}
			w.link(landing+"/"+f.File, f.Title, ` type="`+f.Type+`"`)
			w.raw(" · ")
		}
		w.link(landing+"/linkset.json", "Linkset", ` type="application/linkset+json"`)
		w.raw("</p>\n")
	}
	w.raw("</body></html>\n")
	return w.b, nil
}

// appendHeadElements writes <link> elements for links and, when js is
// not nil, the JSON-LD <script> element (js must have no "</", which
// EmbeddedJSONLD guarantees).
func appendHeadElements(b []byte, links []linkheader.Link, js []byte) []byte {
	for _, l := range links {
		b = append(b, "\n<link rel=\""...)
		b = crosswalk.AppendEscaped(b, l.Rel)
		b = append(b, "\" href=\""...)
		b = crosswalk.AppendEscaped(b, linkheader.URI(l.Target))
		b = append(b, '"')
		if l.Type != "" {
			b = append(b, " type=\""...)
			b = crosswalk.AppendEscaped(b, l.Type)
			b = append(b, '"')
		}
		// HTML defines no profile attribute, but the Signposting links
		// must say the same in HTML as in the header; parsers keep
		// attributes they do not know.
		if p, ok := l.Param("profile"); ok {
			b = append(b, " profile=\""...)
			b = crosswalk.AppendEscaped(b, p)
			b = append(b, '"')
		}
		b = append(b, '>')
	}
	if js != nil {
		b = append(b, "\n<script type=\"application/ld+json\">"...)
		b = append(b, js...)
		b = append(b, "</script>"...)
	}
	return b
}

// EmbeddedJSONLD writes a description for a <script type="application/
// ld+json"> element: with "@context": "https://schema.org", which search
// engines and FAIR tools look for, compact, and with <, > and & escaped as
// \u003c, \u003e and \u0026 so that no "</script>" can end the element
// early. Our context defines every term we use as schema.org does, so the
// graph is the same as from our JSON-LD (a test checks this).
func EmbeddedJSONLD(description map[string]any) ([]byte, error) {
	return appendJSONObject(make([]byte, 0, 4096), description, "@context", "https://schema.org", true, "", 0)
}

// Citation formats a short human citation: creators (year). Title
// [type]. Publisher. Without the identifier, which the page links.
func Citation(r *store.Record) string {
	m := &r.Metadata
	var b strings.Builder
	for i, c := range m.Creators {
		if i == 20 {
			b.WriteString(", et al.")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.Name)
	}
	if y := crosswalk.PublicationYear(r); y != ":unav" {
		fmt.Fprintf(&b, " (%s)", y)
	}
	if b.Len() > 0 {
		b.WriteString(". ")
	}
	if len(m.Titles) > 0 {
		b.WriteString(strings.TrimRight(m.Titles[0].Value, "."))
	}
	if m.Type != "" {
		fmt.Fprintf(&b, " [%s]", m.Type)
	}
	b.WriteString(".")
	if m.Publisher != "" {
		b.WriteString(" ")
		b.WriteString(strings.TrimRight(m.Publisher, "."))
		b.WriteString(".")
	}
	return b.String()
}

func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
