package oai

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/oai/oaixml"
	"github.com/colligo/colligo/store"
)

// emptyEarliest is the earliestDatestamp of an empty repository: a true
// lower bound of every datestamp it will ever have that never moves while
// the repository stays empty (the current time would move, and announce a
// bound that the next write breaks for any harvester with a slow clock).
var emptyEarliest = time.Unix(0, 0).UTC()

// identify answers Identify (§4.2).
func (p *Provider) identify(ctx context.Context, x *response, now time.Time, req *request) error {
	earliest, sample := emptyEarliest, "oai:"+p.repoID+":example"
	it := p.st.Scan(ctx, store.Query{MaxSeq: p.st.LastSeq()})
	if it.Next() {
		earliest, sample = it.Entry().Datestamp, "oai:"+p.repoID+":"+it.Entry().ID
	}
	if err := it.Close(); err != nil {
		return err
	}
	p.begin(x, now, req)
	x.str("<Identify>\n")
	x.elem("repositoryName", p.cfg.RepositoryName)
	x.elem("baseURL", p.baseURL)
	x.str("<protocolVersion>2.0</protocolVersion>")
	x.elem("adminEmail", p.cfg.AdminEmail)
	x.str("<earliestDatestamp>")
	x.datestamp(earliest)
	x.str("</earliestDatestamp><deletedRecord>persistent</deletedRecord><granularity>YYYY-MM-DDThh:mm:ssZ</granularity>")
	x.str("<compression>gzip</compression><compression>deflate</compression>\n")
	x.str(`<description><oai-identifier xmlns="` + namespaceIdentifier + `" xsi:schemaLocation="` + namespaceIdentifier + " " + schemaIdentifier + `">`)
	x.str("<scheme>oai</scheme>")
	x.elem("repositoryIdentifier", p.repoID)
	x.str("<delimiter>:</delimiter>")
	x.elem("sampleIdentifier", sample)
	x.str("</oai-identifier></description>\n")
	x.str(`<description><friends xmlns="` + namespaceFriends + `" xsi:schemaLocation="` + namespaceFriends + " " + schemaFriends + `">`)
	for _, u := range p.friendList() {
		x.elem("baseURL", u)
	}
	x.str("</friends></description>\n</Identify>\n")
	p.end(x)
	return nil
}

// friendList returns the peers' base URLs: distinct, absolute, not this
// repository's own.
func (p *Provider) friendList() []string {
	if p.friends == nil {
		return nil
	}
	var out []string
	for _, u := range p.friends() {
		u = strings.TrimSpace(u)
		if u == "" || u == p.baseURL || !xmlSafe(u) || slices.Contains(out, u) {
			continue
		}
		out = append(out, u)
	}
	return out
}

// listMetadataFormats answers ListMetadataFormats (§4.4). For an item, the
// formats it can be disseminated in: the node's own formats, which every
// record has, and the original formats it was harvested in. A deleted
// item lists the same formats, because GetRecord answers its deleted
// header in each of them; noMetadataFormats therefore never applies here.
func (p *Provider) listMetadataFormats(ctx context.Context, x *response, now time.Time, req *request) error {
	formats := slices.Clone(ownFormats)
	if req.identifier != "" {
		id, ok := parseIdentifier(req.identifier, p.repoID)
		if !ok {
			return protoErr(CodeIDDoesNotExist, "%q is not an identifier of this repository (oai:%s:<id>)", req.identifier, p.repoID)
		}
		r, err := p.st.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return protoErr(CodeIDDoesNotExist, "no item has the identifier %q", req.identifier)
		}
		if err != nil {
			return err
		}
		for _, o := range r.Originals {
			if !ownFormat(o.Prefix) && validPrefix(o.Prefix) {
				formats = append(formats, metadataFormat{o.Prefix, o.Schema, o.Namespace})
			}
		}
	} else {
		if _, err := p.catalog.catchUp(ctx); err != nil {
			return err
		}
		formats = append(formats, p.catalog.list()...)
	}
	if len(formats) == 0 {
		return protoErr(CodeNoMetadataFormats, "no metadata formats are available for %q", req.identifier)
	}
	p.begin(x, now, req)
	x.str("<ListMetadataFormats>\n")
	for _, f := range formats {
		x.str("<metadataFormat>")
		x.elem("metadataPrefix", f.Prefix)
		x.elem("schema", f.Schema)
		x.elem("metadataNamespace", f.Namespace)
		x.str("</metadataFormat>\n")
	}
	x.str("</ListMetadataFormats>\n")
	p.end(x)
	return nil
}

// getRecord answers GetRecord (§4.1). A deleted record is answered with
// its header, status="deleted" (deletedRecord is persistent).
func (p *Provider) getRecord(ctx context.Context, x *response, now time.Time, req *request) error {
	id, ok := parseIdentifier(req.identifier, p.repoID)
	if !ok {
		return protoErr(CodeIDDoesNotExist, "%q is not an identifier of this repository (oai:%s:<id>)", req.identifier, p.repoID)
	}
	// Whether the item has the format is the item's business: an original
	// format of a deleted record may be unknown to the catalogue.
	f := format{prefix: req.prefix, own: ownFormat(req.prefix)}
	e, err := p.st.EntryOf(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return protoErr(CodeIDDoesNotExist, "no item has the identifier %q", req.identifier)
	}
	if err != nil {
		return err
	}
	item, err := p.prepareItem(ctx, e, f, false, true)
	if err != nil {
		return err
	}
	if item == nil {
		if _, known := p.catalog.lookup(req.prefix); !known {
			return protoErr(CodeCannotDisseminateFormat, "the repository does not disseminate the format %q; ListMetadataFormats lists those it does", req.prefix)
		}
		return protoErr(CodeCannotDisseminateFormat, "the item %q is not available in the format %q", req.identifier, req.prefix)
	}
	p.begin(x, now, req)
	x.str("<GetRecord>")
	p.writeItem(x, e, item, false)
	x.str("</GetRecord>\n")
	p.end(x)
	p.itemsByVerb[verbGetRecord].Inc()
	return nil
}

// format is a metadata format the provider disseminates, resolved from a
// metadataPrefix.
type format struct {
	prefix string
	// own is true for oai_dc and oai_datacite, rendered from the model.
	own bool
}

// formatOf resolves the metadataPrefix of a list: the node's own formats,
// or an original format some record was harvested in. Unknown is
// cannotDisseminateFormat.
func (p *Provider) formatOf(ctx context.Context, prefix string) (format, error) {
	if ownFormat(prefix) {
		return format{prefix: prefix, own: true}, nil
	}
	if _, ok := p.catalog.lookup(prefix); !ok {
		if _, err := p.catalog.catchUp(ctx); err != nil {
			return format{}, err
		}
		if _, ok := p.catalog.lookup(prefix); !ok {
			return format{}, protoErr(CodeCannotDisseminateFormat, "the repository does not disseminate the format %q; ListMetadataFormats lists those it does", prefix)
		}
	}
	return format{prefix: prefix}, nil
}

// item is one record ready to be written: its metadata payload and about
// part, empty for a header or a deleted record.
type item struct {
	metadata []byte
	about    []byte
}

// prepareItem reads what writing e in format f needs. It returns nil when
// the record is not available in f (an original format it does not have),
// or, in a list (current false), when the record changed after the
// entry was read: the change is a new version, later in datestamp order,
// and the list's snapshot leaves it to the next harvest.
func (p *Provider) prepareItem(ctx context.Context, e *store.Entry, f format, headerOnly, current bool) (*item, error) {
	it := &item{}
	if f.own {
		if e.Deleted || headerOnly {
			return it, nil
		}
		if f.prefix == prefixDC {
			if dc := e.Rendition(renditionDC); dc != nil {
				it.metadata = dc
				it.about = e.Rendition(renditionAbout)
				return it, nil
			}
		}
		// oai_datacite, and oai_dc of a record stored without derivation:
		// render from the record.
		r, h, err := p.st.GetWithHead(ctx, e.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if !current && h.Seq != e.Seq {
			return nil, nil
		}
		landing := p.cfg.BaseURL + "/records/" + e.ID
		if f.prefix == prefixDC {
			it.metadata = crosswalk.OAIDC(r, landing)
		} else {
			it.metadata = p.appendOAIDataCite(nil, crosswalk.DataCite(r, landing))
		}
		if it.about = e.Rendition(renditionAbout); it.about == nil && len(r.Provenance) > 0 {
			it.about = appendProvenance(nil, r.Provenance, r.Datestamp)
		}
		return it, nil
	}
	// An original format.
	if e.Deleted {
		// Tombstones have no renditions: ask the record which formats it
		// had.
		r, err := p.st.Get(ctx, e.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(r.Originals, func(o store.Original) bool { return o.Prefix == f.prefix }) {
			return nil, nil
		}
		return it, nil
	}
	inf, err := recordInfo(e)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(inf.Formats, func(fi formatInfo) bool { return fi.Prefix == f.prefix })
	if i < 0 {
		return nil, nil
	}
	if headerOnly {
		return it, nil
	}
	payload, err := p.st.Original(ctx, e.ID, f.prefix)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // rewritten since the entry was read
	}
	if err != nil {
		return nil, err
	}
	it.metadata = oaixml.DeclareNamespaces(payload, inf.Formats[i].Namespaces)
	if a := e.Rendition(renditionAbout); a != nil {
		it.about = aboutOriginal(a)
	}
	return it, nil
}

// writeItem writes a record (header and, unless headerOnly, its metadata
// and about parts) or, for ListIdentifiers, a header.
func (p *Provider) writeItem(x *response, e *store.Entry, it *item, headerOnly bool) {
	if !headerOnly {
		x.str("<record>")
	}
	if e.Deleted {
		x.str(`<header status="deleted"><identifier>oai:`)
	} else {
		x.str("<header><identifier>oai:")
	}
	// Ids and setSpecs are made of characters that need no escaping.
	x.str(p.repoID)
	x.str(":")
	x.str(e.ID)
	x.str("</identifier><datestamp>")
	x.datestamp(e.Datestamp)
	x.str("</datestamp>")
	for _, s := range e.Sets {
		x.str("<setSpec>")
		x.str(s)
		x.str("</setSpec>")
	}
	x.str("</header>")
	if !headerOnly {
		if !e.Deleted && it.metadata != nil {
			x.str("<metadata>")
			x.raw(it.metadata)
			x.str("</metadata>")
			if it.about != nil {
				x.str("<about>")
				x.raw(it.about)
				x.str("</about>")
			}
		}
		x.str("</record>")
	}
	x.str("\n")
}

// appendOAIDataCite wraps a DataCite resource in DataCite's OAI schema 1.1.
func (p *Provider) appendOAIDataCite(b, resource []byte) []byte {
	b = append(b, `<oai_datacite xmlns="`+namespaceOAIDataCite+`" xmlns:xsi="`+namespaceXSI+`" xsi:schemaLocation="`+namespaceOAIDataCite+" "+schemaOAIDataCite+`"><schemaVersion>`+dataCiteVersion+`</schemaVersion><datacentreSymbol>`...)
	b = appendEscaped(b, p.dataCiteSymbol())
	b = append(b, "</datacentreSymbol><payload>"...)
	b = append(b, resource...)
	return append(b, "</payload></oai_datacite>"...)
}

func (p *Provider) dataCiteSymbol() string {
	if p.cfg.DataCiteSymbol != "" {
		return p.cfg.DataCiteSymbol
	}
	return strings.ToUpper(p.cfg.NodeID)
}
