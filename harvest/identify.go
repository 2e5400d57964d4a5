package harvest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/oai/oaixml"
)

// sourceInfo is what Identify and ListMetadataFormats said about a
// source.
type sourceInfo struct {
	fetched time.Time
	// day: the source's granularity is YYYY-MM-DD.
	day           bool
	granularity   string
	earliest      string
	deletedRecord string
	formats       map[string]oaixml.MetadataFormat
}

// format returns what the source said about a metadataPrefix, with the
// well-known oai_dc namespace when it said nothing.
func (si *sourceInfo) format(prefix string) oaixml.MetadataFormat {
	if f, ok := si.formats[prefix]; ok {
		return f
	}
	f := oaixml.MetadataFormat{Prefix: prefix}
	if prefix == PrefixOAIDC {
		f.Namespace, f.Schema = crosswalk.NamespaceOAIDC, crosswalk.SchemaOAIDC
	}
	return f
}

// sourceInfo identifies the source (§4.2): its granularity decides the
// form of from, deletedRecord whether deletions will be reported. The
// answers are reused for IdentifyTTL. A source whose Identify is broken is
// still harvested, at day granularity, which every source accepts; one
// that cannot be reached at all fails the harvest here.
func (h *Harvester) sourceInfo(ctx context.Context, r *run) (*sourceInfo, error) {
	now := h.clock()
	h.mu.Lock()
	si := h.infos[r.src.BaseURL]
	h.mu.Unlock()
	if si != nil && now.Sub(si.fetched) < h.cfg.IdentifyTTL {
		return si, nil
	}
	si = &sourceInfo{fetched: now, day: true, formats: map[string]oaixml.MetadataFormat{}}
	ok := true
	p, err := h.fetch(ctx, r, request{verb: "Identify"})
	var he *Error
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.As(err, &he) && he.Transient:
		return nil, err
	case err != nil:
		r.warn(fmt.Sprintf("Identify failed (%v); assuming day granularity", err))
		ok = false
	case p.oaiErr != nil:
		r.warn(fmt.Sprintf("Identify answered %v; assuming day granularity", p.oaiErr))
		ok = false
	case p.identify == nil:
		r.warn("Identify answered without an Identify element; assuming day granularity")
		ok = false
	default:
		id := p.identify
		si.granularity, si.earliest, si.deletedRecord = id.Granularity, id.EarliestDatestamp, id.DeletedRecord
		si.day = !strings.Contains(id.Granularity, "hh")
	}
	p, err = h.fetch(ctx, r, request{verb: "ListMetadataFormats"})
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		r.warn(fmt.Sprintf("ListMetadataFormats failed (%v); payload namespaces are taken from the records", err))
		ok = false
	case p.oaiErr != nil:
		r.warn(fmt.Sprintf("ListMetadataFormats answered %v", p.oaiErr))
		ok = false
	default:
		for _, f := range p.formats {
			si.formats[f.Prefix] = *f
		}
	}
	if ok {
		h.mu.Lock()
		h.infos[r.src.BaseURL] = si
		h.mu.Unlock()
	}
	return si, nil
}

// offers checks that the source offers prefix, when it said what it
// offers: better to fail now than after a whole oai_dc list.
func (si *sourceInfo) offers(baseURL, prefix string) error {
	if _, has := si.formats[prefix]; has || len(si.formats) == 0 {
		return nil
	}
	var offered []string
	for p := range si.formats {
		offered = append(offered, p)
	}
	sort.Strings(offered)
	return &Error{URL: request{verb: "ListMetadataFormats"}.url(baseURL),
		Err: fmt.Errorf("the source does not offer metadataPrefix %q (it offers %s)", prefix, strings.Join(offered, ", "))}
}
