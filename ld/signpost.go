package ld

import (
	"bytes"
	"strings"

	"github.com/colligo/colligo/ld/linkheader"
	"github.com/colligo/colligo/store"
)

// Media types of the Signposting resources.
const (
	TypeLinkset     = "application/linkset"
	TypeLinksetJSON = "application/linkset+json"
	TypeHTML        = "text/html"
)

// Signposts are the FAIR Signposting links of a record's landing page
// (signposting.org/FAIR), complete. Targets are URIs (IRIs with
// non-ASCII percent-encoded), the same strings in every serialisation.
type Signposts struct {
	// Anchor is the landing page: the link context.
	Anchor string
	// CiteAs is the persistent identifier to cite: the DOI, else a handle,
	// else, for a harvested record, the origin's landing page, else the
	// landing page.
	CiteAs linkheader.Link
	// Types are the schema.org class of the record and AboutPage.
	Types []linkheader.Link
	// Authors are the person identifiers (ORCID, ISNI, VIAF) of creators
	// that have one; creators known by name only have no link.
	Authors []linkheader.Link
	// DescribedBy are the metadata resources, each with its media type
	// (and profile where the type is generic).
	DescribedBy []linkheader.Link
	// License is the licence, at most one.
	License []linkheader.Link
	// Items are the files, each with its media type.
	Items []linkheader.Link
	// Linksets are the Level 2 linkset in both its formats.
	Linksets []linkheader.Link
}

// Level1 returns the links for a Link header or HTML <link> elements: all
// of them, except that at most maxAuthors author links and maxItems item
// links are kept, and no author or item link that would take the header
// past maxBytes. Links left out are in the linkset, which the linkset links
// (always there) point to. truncated tells whether any were left out.
func (s *Signposts) Level1(maxAuthors, maxItems, maxBytes int) (links []linkheader.Link, truncated bool) {
	links, _, truncated = s.level1(maxAuthors, maxItems, maxBytes)
	return links, truncated
}

// level1 is Level1 with the Link header field value. Each link is
// written once, into one buffer, and the header assembled from the pieces:
// a landing page is rendered on every cache miss, and a string per link
// made this a fifth of the rendering.
func (s *Signposts) level1(maxAuthors, maxItems, maxBytes int) (links []linkheader.Link, header string, truncated bool) {
	type piece struct {
		l          linkheader.Link
		start, end int
	}
	fixed := [...][]linkheader.Link{{s.CiteAs}, s.Types, s.DescribedBy, s.License, s.Linksets}
	n := min(len(s.Authors), maxAuthors) + min(len(s.Items), maxItems)
	for _, g := range fixed {
		n += len(g)
	}
	buf := make([]byte, 0, 2048)
	pieces := make([]piece, 0, n)
	add := func(l linkheader.Link) int {
		start := len(buf)
		buf = l.AppendTo(buf)
		pieces = append(pieces, piece{l, start, len(buf)})
		return len(buf) - start
	}
	// Ranges of pieces: the fixed groups, then authors and items.
	var ranges [7][2]int
	size := 0
	for i, g := range fixed {
		ranges[i][0] = len(pieces)
		for _, l := range g {
			size += add(l) + 2
		}
		ranges[i][1] = len(pieces)
	}
	fit := func(ls []linkheader.Link, max int) [2]int {
		r := [2]int{len(pieces), len(pieces)}
		for _, l := range ls {
			if r[1]-r[0] == max {
				break
			}
			k := add(l)
			if size+k+2 > maxBytes {
				pieces = pieces[:len(pieces)-1]
				buf = buf[:len(buf)-k]
				break
			}
			size += k + 2
			r[1]++
		}
		if r[1]-r[0] < len(ls) {
			truncated = true
		}
		return r
	}
	ranges[5] = fit(s.Authors, maxAuthors)
	ranges[6] = fit(s.Items, maxItems)
	var b strings.Builder
	b.Grow(size)
	links = make([]linkheader.Link, 0, len(pieces))
	// cite-as, type, author, describedby, license, item, linkset.
	for _, r := range [...][2]int{ranges[0], ranges[1], ranges[5], ranges[2], ranges[3], ranges[6], ranges[4]} {
		for _, p := range pieces[r[0]:r[1]] {
			if len(links) > 0 {
				b.WriteString(", ")
			}
			b.Write(buf[p.start:p.end])
			links = append(links, p.l)
		}
	}
	return links, b.String(), truncated
}

// Linkset returns every link of the record with its anchor: the landing
// page's links, a collection link from each file back to the landing page,
// and a describes link from each metadata resource to it (the
// signposting.org FAIR recipe for resources whose headers we do not
// control, and for our own metadata resources too).
func (s *Signposts) Linkset() []linkheader.Link {
	var out []linkheader.Link
	anchored := func(ls []linkheader.Link) {
		for _, l := range ls {
			l.Anchor = s.Anchor
			out = append(out, l)
		}
	}
	anchored([]linkheader.Link{s.CiteAs})
	anchored(s.Types)
	anchored(s.Authors)
	anchored(s.DescribedBy)
	anchored(s.License)
	anchored(s.Items)
	for _, it := range s.Items {
		out = append(out, linkheader.Link{Target: s.Anchor, Rel: "collection", Type: TypeHTML, Anchor: it.Target})
	}
	for _, d := range s.DescribedBy {
		out = append(out, linkheader.Link{Target: s.Anchor, Rel: "describes", Type: TypeHTML, Anchor: d.Target})
	}
	return out
}

// LinksetText is the linkset in application/linkset form (RFC 9264 §4.1).
func (s *Signposts) LinksetText() []byte {
	return []byte(linkheader.FormatLinkset(s.Linkset()))
}

// LinksetJSON is the linkset in application/linkset+json form (RFC 9264
// §4.2): one member, "linkset", an array of link context objects, each
// with an absolute "anchor" and one array of target objects per relation
// type. Target attributes type is a string; extension attributes (profile)
// are arrays, as §4.2.4.3 requires.
func (s *Signposts) LinksetJSON() []byte {
	type target struct {
		Href    string   `json:"href"`
		Type    string   `json:"type,omitempty"`
		Profile []string `json:"profile,omitempty"`
	}
	// Contexts in order of first appearance, relations in order within.
	type context struct {
		anchor string
		rels   []string
		links  map[string][]target
	}
	var contexts []*context
	byAnchor := map[string]*context{}
	for _, l := range s.Linkset() {
		anchor := linkheader.URI(l.Anchor)
		c := byAnchor[anchor]
		if c == nil {
			c = &context{anchor: anchor, links: map[string][]target{}}
			byAnchor[anchor] = c
			contexts = append(contexts, c)
		}
		t := target{Href: linkheader.URI(l.Target), Type: l.Type}
		if p, ok := l.Param("profile"); ok {
			t.Profile = []string{p}
		}
		for _, rel := range l.Rels() {
			if _, ok := c.links[rel]; !ok {
				c.rels = append(c.rels, rel)
			}
			c.links[rel] = append(c.links[rel], t)
		}
	}
	var b bytes.Buffer
	b.WriteString("{\n  \"linkset\": [")
	for i, c := range contexts {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n    {\n      \"anchor\": ")
		b.Write(mustJSON(c.anchor))
		for _, rel := range c.rels {
			b.WriteString(",\n      ")
			b.Write(mustJSON(rel))
			b.WriteString(": [")
			for j, t := range c.links[rel] {
				if j > 0 {
					b.WriteString(",")
				}
				b.WriteString("\n        ")
				b.Write(mustJSON(t))
			}
			b.WriteString("\n      ]")
		}
		b.WriteString("\n    }")
	}
	b.WriteString("\n  ]\n}\n")
	return b.Bytes()
}

func mustJSON(v any) []byte {
	b, err := marshal(v)
	if err != nil {
		// Only strings and the target struct reach here.
		panic(err)
	}
	return b
}

// citeAs picks the identifier to cite a record by (see Signposts.CiteAs).
func citeAs(r *store.Record, landing string, harvested bool) string {
	var handle, origin string
	for _, id := range r.Metadata.Identifiers {
		switch id.Scheme {
		case "doi":
			if u, ok := WorkIdentifierURL(id); ok {
				return u
			}
		case "handle":
			if handle == "" {
				handle, _ = WorkIdentifierURL(id)
			}
		case "url":
			if origin == "" {
				origin, _ = WorkIdentifierURL(id)
			}
		}
	}
	switch {
	case handle != "":
		return handle
	case harvested && origin != "":
		return origin
	}
	return landing
}

// schemaOrgHTTPS writes a schema.org class as the https IRI Signposting
// uses for rel="type" (signposting.org/FAIR); RDF uses the http IRIs.
func schemaOrgHTTPS(class string) string {
	return "https://schema.org/" + strings.TrimPrefix(class, SchemaNS)
}
