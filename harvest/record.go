package harvest

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/oai/oaixml"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/ingest"
)

// prepare parses one record chunk and prepares the record to store. It
// runs in a worker.
func (r *run) prepare(ctx context.Context, l *list, u string, c *oaixml.Chunk) (it item) {
	var m store.Metadata
	var sink oaixml.MetadataSink
	if !l.attach {
		sink = crosswalk.DCSink(&m)
	}
	rec, err := oaixml.ParseRecord(c, sink)
	if err != nil {
		e := RecordError{URL: u, Line: c.Line, Error: err.Error()}
		var ie *oaixml.ItemError
		if errors.As(err, &ie) {
			e.Line, e.Identifier, e.Error = ie.Line, ie.Identifier, ie.Err.Error()
		}
		if c.TooLarge {
			e.Error = fmt.Sprintf("record of %d bytes exceeds max_record_bytes (%d)", c.Size, r.h.cfg.MaxRecordBytes)
		}
		it.err = &e
		return it
	}
	h := &rec.Header
	it.sanitized = rec.Sanitized
	if rec.Sanitized {
		r.warnOnce("sanitized", "the source sends characters XML forbids (control characters, broken UTF-8); they were dropped")
	}
	it.datestamp = h.Datestamp
	it.ds, _ = parseDatestamp(h.Datestamp)
	reject := func(msg string) item {
		it.err = &RecordError{URL: u, Line: rec.Line, Identifier: h.Identifier, Error: msg}
		return it
	}
	ns := rec.MetadataNamespace
	if ns == "" {
		ns = l.format.Namespace
	}
	id := ingest.LocalID(h.Identifier)
	sr := &store.Record{
		ID:     id,
		Origin: r.src.ID,
		Provenance: append([]store.Provenance{{
			BaseURL:           r.src.BaseURL,
			Identifier:        h.Identifier,
			Datestamp:         h.Datestamp,
			HarvestDate:       r.harvestDate,
			MetadataNamespace: ns,
			Altered:           true,
		}}, aboutProvenance(rec.About)...),
	}
	deleted := h.Deleted
	if !deleted && r.src.Set != "" && len(h.Sets) > 0 && !inSet(h.Sets, r.src.Set) {
		// Listed in a set-restricted harvest, but no longer in the set:
		// for this source's view the record is gone (see doc.go).
		deleted = true
	}
	switch {
	case deleted:
		// A deleted record's metadata, if a source sends any, is ignored:
		// the tombstone keeps what was stored.
		sr.Deleted = true
	case l.attach:
		if msg := r.attach(ctx, l, sr, rec); msg != "" {
			return reject(msg)
		}
	default:
		sr.Metadata = m
		sr.Originals = []store.Original{r.original(l, rec)}
		if l.keep != "" {
			r.keepPayload(ctx, l.keep, sr)
		}
	}
	p, err := r.h.st.Prepare(sr)
	if err != nil {
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			var parts []string
			for _, fe := range ve.Errors {
				parts = append(parts, fe.Field+": "+fe.Message)
			}
			return reject(strings.Join(parts, "; "))
		}
		return reject(err.Error())
	}
	it.prep = p
	return it
}

// original is the record's payload as the source sent it.
func (r *run) original(l *list, rec *oaixml.Record) store.Original {
	o := store.Original{Prefix: l.prefix, Namespace: rec.MetadataNamespace, Schema: l.format.Schema, Namespaces: rec.Namespaces, XML: rec.Metadata}
	if o.Namespace == "" {
		o.Namespace = l.format.Namespace
	}
	return o
}

// attach fills sr from the stored oai_dc version of the record plus the
// payload of the attach list's prefix. It returns why it cannot.
func (r *run) attach(ctx context.Context, l *list, sr *store.Record, rec *oaixml.Record) string {
	st := r.h.st
	stored, err := st.Get(ctx, sr.ID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Sprintf("no oai_dc version of this record to keep its %s payload with (the source lists it in %s but not in oai_dc)", l.prefix, l.prefix)
	}
	if err != nil {
		return err.Error()
	}
	if stored.Deleted {
		return fmt.Sprintf("the record is deleted in oai_dc but not in %s", l.prefix)
	}
	sr.Metadata, sr.Provenance, sr.Sets = stored.Metadata, stored.Provenance, stored.Sets
	for _, o := range stored.Originals {
		if o.Prefix == l.prefix {
			continue
		}
		xml, err := st.Original(ctx, sr.ID, o.Prefix)
		if err != nil {
			return err.Error()
		}
		o.XML = xml
		sr.Originals = append(sr.Originals, o)
	}
	sr.Originals = append(sr.Originals, r.original(l, rec))
	sortOriginals(sr.Originals)
	return ""
}

// keepPayload adds the stored payload of prefix to sr, so that storing a
// new oai_dc version does not drop it.
func (r *run) keepPayload(ctx context.Context, prefix string, sr *store.Record) {
	stored, err := r.h.st.Get(ctx, sr.ID)
	if err != nil {
		return
	}
	for _, o := range stored.Originals {
		if o.Prefix != prefix {
			continue
		}
		if b, err := r.h.st.Original(ctx, sr.ID, prefix); err == nil {
			o.XML = b
			sr.Originals = append(sr.Originals, o)
			sortOriginals(sr.Originals)
		}
	}
}

func sortOriginals(os []store.Original) {
	slices.SortFunc(os, func(a, b store.Original) int { return strings.Compare(a.Prefix, b.Prefix) })
}

// inSet reports whether a record in sets is in want or one of its
// descendants (§3.6: a:b is in a).
func inSet(sets []string, want string) bool {
	for _, s := range sets {
		if s == want || strings.HasPrefix(s, want+":") {
			return true
		}
	}
	return false
}

// NamespaceProvenance is the namespace of the provenance container
// (OAI-PMH guidelines, "Provenance": about/provenance/originDescription).
const NamespaceProvenance = "http://www.openarchives.org/OAI/2.0/provenance"

type originDescription struct {
	HarvestDate       string             `xml:"harvestDate,attr"`
	Altered           string             `xml:"altered,attr"`
	BaseURL           string             `xml:"baseURL"`
	Identifier        string             `xml:"identifier"`
	Datestamp         string             `xml:"datestamp"`
	MetadataNamespace string             `xml:"metadataNamespace"`
	Origin            *originDescription `xml:"originDescription"`
}

// aboutProvenance reads the provenance chain a source re-exposing
// harvested records gives in <about>, nearest first. Anything else in
// <about> is ignored; so is a container that does not parse.
func aboutProvenance(abouts [][]byte) []store.Provenance {
	var out []store.Provenance
	for _, a := range abouts {
		if !strings.Contains(string(a), "originDescription") {
			continue
		}
		var c struct {
			XMLName xml.Name
			Origin  *originDescription `xml:"originDescription"`
		}
		// The fast paths read almost every container (it is the
		// provider's own markup); encoding/xml decides when they cannot.
		if origin, ok := fastProvenance(a); ok {
			c.XMLName, c.Origin = xml.Name{Local: "provenance"}, origin
		} else if name, origin, err := scanProvenance(a); err == nil {
			c.XMLName, c.Origin = name, origin
		} else {
			d := xml.NewDecoder(strings.NewReader(string(a)))
			if err := d.Decode(&c); err != nil {
				continue
			}
		}
		if c.XMLName.Local != "provenance" {
			continue
		}
		for o := c.Origin; o != nil && len(out) < 20; o = o.Origin {
			p := store.Provenance{
				BaseURL:           strings.TrimSpace(o.BaseURL),
				Identifier:        strings.TrimSpace(o.Identifier),
				Datestamp:         strings.TrimSpace(o.Datestamp),
				MetadataNamespace: strings.TrimSpace(o.MetadataNamespace),
				Altered:           strings.TrimSpace(o.Altered) == "true",
			}
			if t, ok := parseDatestamp(o.HarvestDate); ok {
				p.HarvestDate = t.Truncate(time.Second)
			}
			out = append(out, p)
		}
	}
	return out
}

// scanProvenance reads a provenance container with the fast scanner.
func scanProvenance(a []byte) (xml.Name, *originDescription, error) {
	tr := oaixml.NewTokenReader(a, nil)
	var root xml.Name
	for {
		tok, err := tr.Token()
		if err != nil {
			return root, nil, err
		}
		if st, ok := tok.(xml.StartElement); ok {
			root = st.Name
			break
		}
	}
	var first *originDescription
	for {
		tok, err := tr.Token()
		if err != nil {
			return root, nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "originDescription" {
				if err := oaixml.Skip(tr); err != nil {
					return root, nil, err
				}
				continue
			}
			o, err := scanOrigin(tr, t)
			if err != nil {
				return root, nil, err
			}
			if first == nil {
				first = o
			}
		case xml.EndElement:
			return root, first, nil
		}
	}
}

// scanOrigin reads an originDescription whose start tag was just read.
func scanOrigin(tr oaixml.TokenReader, start xml.StartElement) (*originDescription, error) {
	o := &originDescription{}
	for _, at := range start.Attr {
		switch at.Name.Local {
		case "harvestDate":
			o.HarvestDate = at.Value
		case "altered":
			o.Altered = at.Value
		}
	}
	for {
		tok, err := tr.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "originDescription" {
				if o.Origin, err = scanOrigin(tr, t); err != nil {
					return nil, err
				}
				continue
			}
			var text strings.Builder
			depth := 0
		content:
			for {
				tok, err := tr.Token()
				if err != nil {
					return nil, err
				}
				switch c := tok.(type) {
				case xml.CharData:
					text.Write(c)
				case xml.StartElement:
					depth++
				case xml.EndElement:
					if depth == 0 {
						break content
					}
					depth--
				}
			}
			switch t.Name.Local {
			case "baseURL":
				o.BaseURL = text.String()
			case "identifier":
				o.Identifier = text.String()
			case "datestamp":
				o.Datestamp = text.String()
			case "metadataNamespace":
				o.MetadataNamespace = text.String()
			}
		case xml.EndElement:
			return o, nil
		}
	}
}
