package ld

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"

	"github.com/colligo/colligo/ld/linkheader"
	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
)

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<title>{{if .Withdrawn}}Withdrawn: {{end}}{{.Title}} · {{.Site}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{{- if .Withdrawn}}
<meta name="robots" content="noindex">{{end}}
{{.Head}}
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}
a{color:#0645ad}.meta{color:#555;font-size:.9rem}.cite{background:#f5f5f5;padding:.6rem .8rem;border-left:3px solid #999}
table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:left;border-bottom:1px solid #ddd}.withdrawn{background:#fff3cd;padding:.6rem .8rem}</style>
</head>
<body>
<p class="meta"><a href="/">{{.Site}}</a> · {{.Kind}}{{if and .Type (ne .Type .Kind)}} · {{.Type}}{{end}}</p>
{{- if .Withdrawn}}
<p class="withdrawn">This record was withdrawn on {{.Withdrawn}}. Its description is kept so that citations of it still resolve.</p>{{end}}
<h1>{{.Title}}</h1>
{{- range .OtherTitles}}
<p class="meta" lang="{{.Lang}}">{{.Value}}</p>{{end}}
{{- if .Creators}}
<p>{{range $i, $c := .Creators}}{{if $i}}; {{end}}{{$c.Name}}{{if $c.URI}} <a href="{{$c.URI}}" class="meta">{{$c.Label}}</a>{{end}}{{if $c.Affiliation}} <span class="meta">({{$c.Affiliation}})</span>{{end}}{{end}}</p>{{end}}
<p class="meta">{{if .Date}}{{.Date}}{{end}}{{if .Publisher}} · {{.Publisher}}{{end}}{{if .Languages}} · {{.Languages}}{{end}}</p>
<h2>Cite as</h2>
<p class="cite">{{.Citation}} <a href="{{.CiteAs}}">{{.CiteAs}}</a></p>
{{- range .Descriptions}}
<p{{if .Lang}} lang="{{.Lang}}"{{end}}>{{.Value}}</p>{{end}}
{{- if .Subjects}}
<p class="meta">Subjects: {{range $i, $s := .Subjects}}{{if $i}}, {{end}}{{if $s.URI}}<a href="{{$s.URI}}">{{$s.Value}}</a>{{else}}{{$s.Value}}{{end}}{{end}}</p>{{end}}
{{- if .Files}}
<h2>Files</h2>
<table><tr><th>File</th><th>Type</th><th>Size</th></tr>
{{- range .Files}}
<tr><td><a href="{{.URL}}">{{.Name}}</a></td><td>{{.Type}}</td><td>{{.Size}}</td></tr>{{end}}
</table>{{end}}
<h2>Details</h2>
<table>
{{- range .Identifiers}}
<tr><th>{{.Label}}</th><td>{{if .URL}}<a href="{{.URL}}">{{.Value}}</a>{{else}}{{.Value}}{{end}}</td></tr>{{end}}
{{- if .License}}
<tr><th>Licence</th><td><a href="{{.License}}">{{if .LicenseSPDX}}{{.LicenseSPDX}}{{else}}{{.License}}{{end}}</a></td></tr>{{end}}
{{- if .Access}}
<tr><th>Access</th><td>{{.Access}}</td></tr>{{end}}
{{- range .Relations}}
<tr><th>{{.Label}}</th><td>{{if .URL}}<a href="{{.URL}}">{{.Value}}</a>{{else}}{{.Value}}{{end}}</td></tr>{{end}}
<tr><th>OAI identifier</th><td>{{.OAIIdentifier}}</td></tr>
<tr><th>Last changed here</th><td>{{.Datestamp}}</td></tr>
</table>
{{- if .Provenance}}
<h2>Provenance</h2>
<ul>{{range .Provenance}}
<li>Harvested {{if .Date}}on {{.Date}} {{end}}from <a href="{{.BaseURL}}">{{.BaseURL}}</a>, record <code>{{.Identifier}}</code>{{if .Datestamp}} of {{.Datestamp}}{{end}}{{if .Altered}} (metadata altered){{end}}</li>{{end}}
</ul>{{end}}
{{- if not .Withdrawn}}
<h2>Metadata</h2>
<p>{{range $i, $f := .Formats}}{{if $i}} · {{end}}<a href="{{$f.URL}}" type="{{$f.Type}}">{{$f.Title}}</a>{{end}} · <a href="{{.Linkset}}" type="application/linkset+json">Linkset</a></p>{{end}}
</body></html>
`))

type pageText struct{ Value, Lang string }

type pagePerson struct{ Name, URI, Label, Affiliation string }

type pageFile struct{ URL, Name, Type, Size string }

type pageID struct{ Label, Value, URL string }

type pageFormat struct{ Title, URL, Type string }

type pageProvenance struct {
	BaseURL, Identifier, Datestamp, Date string
	Altered                              bool
}

type pageData struct {
	Site, Lang, Title, Kind, Type string
	// Head holds the Signposting <link> elements and the JSON-LD
	// <script>, written by headElements: html/template would write "+"
	// in a type attribute as "&#43;", which is right but trips the
	// pattern-matching some FAIR tools do on <link> elements.
	Head                                template.HTML
	OtherTitles, Descriptions           []pageText
	Creators                            []pagePerson
	Date, Publisher, Languages          string
	Citation, CiteAs                    string
	Subjects                            []store.Subject
	Files                               []pageFile
	Identifiers, Relations              []pageID
	License, LicenseSPDX, Access        string
	OAIIdentifier, Datestamp, Withdrawn string
	Provenance                          []pageProvenance
	Formats                             []pageFormat
	Linkset                             string
}

// landingPage renders the HTML landing page of a record, or its tombstone
// when it is deleted: a page that keeps the citation and says when the
// record was withdrawn, without JSON-LD and marked noindex.
func (p *Publisher) landingPage(r *store.Record) ([]byte, error) {
	m := &r.Metadata
	landing := p.RecordURL(r.ID)
	sp := p.Signposts(r)
	d := pageData{
		Site: p.site.Name, Lang: "en", Kind: SchemaType(m), Type: m.Type, Title: r.ID,
		Publisher: m.Publisher, License: m.License, LicenseSPDX: m.LicenseSPDX, Access: m.AccessRights,
		OAIIdentifier: r.OAIIdentifier, Datestamp: r.Datestamp.UTC().Format("2006-01-02 15:04:05 UTC"),
		CiteAs: sp.CiteAs.Target, Citation: Citation(r), Linkset: landing + "/linkset.json",
		Languages: strings.Join(m.Languages, ", "), Subjects: m.Subjects,
	}
	if len(m.Titles) > 0 {
		d.Title = m.Titles[0].Value
		if m.Titles[0].Lang != "" {
			d.Lang = m.Titles[0].Lang
		}
		for _, t := range m.Titles[1:] {
			d.OtherTitles = append(d.OtherTitles, pageText(t))
		}
	}
	for _, t := range m.Descriptions {
		d.Descriptions = append(d.Descriptions, pageText(t))
	}
	d.Date = m.Issued
	if d.Date == "" {
		d.Date = m.Created
	}
	for _, c := range m.Creators {
		pp := pagePerson{Name: c.Name, Affiliation: c.Affiliation}
		if u, ok := PersonURI(c); ok {
			pp.URI, pp.Label = u, strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
		}
		d.Creators = append(d.Creators, pp)
	}
	for _, f := range m.Files {
		u, ok := IRI(f.URL)
		if !ok {
			continue
		}
		name := f.Name
		if name == "" {
			name = u[strings.LastIndexByte(u, '/')+1:]
		}
		pf := pageFile{URL: u, Name: name, Type: FileType(f)}
		if f.Size > 0 {
			pf.Size = humanSize(f.Size)
		}
		d.Files = append(d.Files, pf)
	}
	for _, id := range m.Identifiers {
		pi := pageID{Label: identifierLabel(id.Scheme), Value: id.Value}
		if u, ok := WorkIdentifierURL(id); ok {
			pi.URL = u
		}
		d.Identifiers = append(d.Identifiers, pi)
	}
	for _, rel := range m.Relations {
		label := rel.Type
		if label == "" {
			label = "Related"
		}
		pi := pageID{Label: label, Value: rel.Value}
		if u, ok := IRI(crosswalk.IdentifierURI(store.Identifier{Scheme: rel.Scheme, Value: rel.Value})); ok {
			pi.URL = u
		}
		d.Relations = append(d.Relations, pi)
	}
	for _, pv := range r.Provenance {
		pp := pageProvenance{BaseURL: pv.BaseURL, Identifier: pv.Identifier, Datestamp: pv.Datestamp, Altered: pv.Altered}
		if !pv.HarvestDate.IsZero() {
			pp.Date = pv.HarvestDate.UTC().Format("2006-01-02")
		}
		d.Provenance = append(d.Provenance, pp)
	}
	if r.Deleted {
		d.Withdrawn = r.Datestamp.UTC().Format("2006-01-02")
		d.Head = headElements([]linkheader.Link{sp.CiteAs}, nil)
	} else {
		links, _ := sp.Level1(p.cfg.MaxAuthors, p.cfg.MaxItems, p.cfg.MaxLinkHeaderBytes)
		for _, f := range Formats {
			if f.File != "" {
				d.Formats = append(d.Formats, pageFormat{Title: f.Title, URL: landing + "/" + f.File, Type: f.Type})
			}
		}
		js, err := EmbeddedJSONLD(p.Describe(r))
		if err != nil {
			return nil, err
		}
		d.Head = headElements(links, js)
	}
	var b bytes.Buffer
	b.Grow(16 << 10)
	if err := pageTemplate.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("ld: landing page %s: %w", r.ID, err)
	}
	return b.Bytes(), nil
}

// headElements writes <link> elements for links and, when js is not nil,
// the JSON-LD <script> element (js must have no "</", which
// EmbeddedJSONLD guarantees).
func headElements(links []linkheader.Link, js []byte) template.HTML {
	var b []byte
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
	return template.HTML(b)
}

// EmbeddedJSONLD writes a description for a <script type="application/
// ld+json"> element: with "@context": "https://schema.org", which search
// engines and FAIR tools look for, compact, and with <, > and & escaped as
// \u003c, \u003e and \u0026 so that no "</script>" can end the element
// early. Our context defines every term we use as schema.org does, so the
// graph is the same as from our JSON-LD (a test checks this).
func EmbeddedJSONLD(description map[string]any) ([]byte, error) {
	return json.Marshal(withContext(description, "https://schema.org"))
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
