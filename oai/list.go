package oai

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
)

// list answers ListRecords and ListIdentifiers (§4.5, §4.3).
//
// A list is a keyset walk of the store in datestamp (= seq) order, bounded
// by a snapshot seq fixed at its first page (store.Horizon): a record
// written or rewritten during the harvest gets a seq past the bound, so
// it is never returned twice within the list, and the first page's
// responseDate, the datestamp Horizon gave with the bound, is at or before
// its new datestamp, so the next incremental harvest (from = that
// responseDate) returns it. Each page is one store scan, written record by
// record into a bounded buffer.
func (p *Provider) list(ctx context.Context, x *response, now time.Time, req *request) error {
	vb, headerOnly, element := byte(verbByteRecords), false, "ListRecords"
	if req.verb == verbListIdentifiers {
		vb, headerOnly, element = verbByteIdentifiers, true, "ListIdentifiers"
	}
	responseDate := now
	var t *token
	var f format
	if req.token != "" {
		var err error
		if t, err = p.resume(req.token, vb, now); err != nil {
			return err
		}
		if f, err = p.formatOf(ctx, t.prefix); err != nil {
			return err
		}
	} else {
		var errs protocolErrors
		var err error
		var pe *ProtocolError
		if f, err = p.formatOf(ctx, req.prefix); errors.As(err, &pe) {
			errs = append(errs, pe)
		} else if err != nil {
			return err
		}
		if req.set != "" {
			has, err := p.hasSets(ctx)
			if err != nil {
				return err
			}
			if !has {
				errs = append(errs, protoErr(CodeNoSetHierarchy, "the repository has no sets"))
			}
		}
		if len(errs) > 0 {
			return errs
		}
		seq, horizon := p.st.Horizon()
		if horizon.Before(responseDate) {
			responseDate = horizon
		}
		if seq == 0 {
			return protoErr(CodeNoRecordsMatch, "the repository holds no records")
		}
		t = &token{verb: vb, maxSeq: seq, prefix: req.prefix, set: req.set, from: req.from, until: req.until}
	}
	q := store.Query{Set: t.set, From: t.from, Until: t.until, After: t.after, MaxSeq: t.maxSeq}
	it := p.st.Scan(ctx, q)
	defer it.Close()
	e, item, err := p.nextItem(ctx, it, f, headerOnly)
	if err != nil {
		return err
	}
	if e == nil {
		if req.token != "" {
			// Every record left in the list was rewritten after the
			// previous page: they come in the next incremental harvest.
			return protoErr(CodeNoRecordsMatch, "the records that remained in this list have changed since the previous page; harvest again from the first page's responseDate")
		}
		return protoErr(CodeNoRecordsMatch, "no records match the request")
	}
	p.begin(x, responseDate, req)
	x.str("<")
	x.str(element)
	x.str(">\n")
	n := 0
	var last uint64
	for {
		p.writeItem(x, e, item, headerOnly)
		n++
		last = e.Seq
		x.maybeFlush()
		if x.err != nil {
			return nil // the client went away
		}
		if n == p.cfg.PageSize {
			break
		}
		if e, item, err = p.nextItem(ctx, it, f, headerOnly); err != nil {
			return err
		}
		if e == nil {
			break
		}
	}
	more := false
	if n == p.cfg.PageSize {
		// Is there a next record? Look without reading its payload.
		if e, _, err = p.nextItem(ctx, it, f, true); err != nil {
			return err
		}
		more = e != nil
	}
	if err := it.Close(); err != nil {
		return err
	}
	switch {
	case more:
		next := *t
		next.after, next.cursor, next.issued = last, t.cursor+uint64(n), now.Unix()
		if req.token == "" {
			// Counted once, at the first page: a store count reads block
			// counters but also up to two blocks of entries, too much for
			// every page. Records are never added to a list, only
			// rewritten out of it, so the count stays an upper bound, and
			// the last page gives the exact size.
			next.size = -1
			if f.own {
				if next.size, err = p.st.Count(ctx, q); err != nil {
					return err
				}
			}
		}
		p.writeToken(x, next.encode(p.key), next.size, t.cursor, now.Add(p.cfg.TokenLifetime))
	case req.token != "":
		// The last page of a resumed list: an empty token (§3.5).
		p.writeToken(x, "", int64(t.cursor)+int64(n), t.cursor, time.Time{})
	}
	x.str("</")
	x.str(element)
	x.str(">\n")
	p.end(x)
	p.itemsByVerb[req.verb].Add(float64(n))
	return nil
}

// nextItem advances it to the next entry available in f and prepares it.
// It returns a nil entry at the end of the list.
func (p *Provider) nextItem(ctx context.Context, it *store.Iterator, f format, headerOnly bool) (*store.Entry, *item, error) {
	for it.Next() {
		e := it.Entry()
		item, err := p.prepareItem(ctx, e, f, headerOnly, false)
		if err != nil {
			return nil, nil, err
		}
		if item != nil {
			return e, item, nil
		}
	}
	return nil, nil, it.Err()
}

// writeToken writes a resumptionToken element. size < 0 leaves out
// completeListSize (a list of an original format, which the store cannot
// count without reading it); a zero expiry leaves out expirationDate.
func (p *Provider) writeToken(x *response, value string, size int64, cursor uint64, expires time.Time) {
	x.str("<resumptionToken")
	if !expires.IsZero() {
		x.str(` expirationDate="`)
		x.datestamp(expires)
		x.str(`"`)
	}
	if size >= 0 {
		x.str(` completeListSize="`)
		x.buf = strconv.AppendInt(x.buf, size, 10)
		x.str(`"`)
	}
	x.str(` cursor="`)
	x.buf = strconv.AppendUint(x.buf, cursor, 10)
	x.str(`">`)
	x.str(value) // base64url: nothing to escape
	x.str("</resumptionToken>\n")
}

// resume decodes a resumption token for a verb and checks that it is
// still valid.
func (p *Provider) resume(s string, verb byte, now time.Time) (*token, error) {
	t, err := decodeToken(s, p.key)
	if err != nil {
		return nil, protoErr(CodeBadResumptionToken, "%v", err)
	}
	if t.verb != verb {
		return nil, protoErr(CodeBadResumptionToken, "the resumptionToken continues a %s list, not this verb", verbName(t.verb))
	}
	if expires := time.Unix(t.issued, 0).Add(p.cfg.TokenLifetime); now.After(expires) {
		return nil, protoErr(CodeBadResumptionToken, "the resumptionToken expired at %s; start the list again", expires.UTC().Format(time.RFC3339))
	}
	if t.maxSeq > p.st.LastSeq() {
		// The store was restored from a backup older than the list.
		return nil, protoErr(CodeBadResumptionToken, "the resumptionToken belongs to a list this repository no longer holds; start the list again")
	}
	return t, nil
}

func verbName(b byte) string {
	switch b {
	case verbByteRecords:
		return verbListRecords
	case verbByteIdentifiers:
		return verbListIdentifiers
	case verbByteSets:
		return verbListSets
	}
	return "unknown"
}

// hasSets reports whether the repository has any set: configured, or
// named by a record.
func (p *Provider) hasSets(ctx context.Context) (bool, error) {
	if len(p.configured) > 0 {
		return true, nil
	}
	specs, err := p.st.SetSpecs(ctx, "", 1)
	return len(specs) > 0, err
}

// setPage returns up to n set specs after the spec after, configured
// (with their ancestors) and used by records, in byte order, and whether
// more follow.
func (p *Provider) setPage(ctx context.Context, after string, n int) ([]string, bool, error) {
	stored, err := p.st.SetSpecs(ctx, after, n+1)
	if err != nil {
		return nil, false, err
	}
	specs := stored
	for _, s := range p.configured {
		if s > after {
			specs = append(specs, s)
		}
	}
	slices.Sort(specs)
	specs = slices.Compact(specs)
	if len(specs) > n {
		return specs[:n], true, nil
	}
	return specs, false, nil
}

// listSets answers ListSets (§4.6).
func (p *Provider) listSets(ctx context.Context, x *response, now time.Time, req *request) error {
	var t token
	if req.token != "" {
		tp, err := p.resume(req.token, verbByteSets, now)
		if err != nil {
			return err
		}
		t = *tp
	}
	specs, more, err := p.setPage(ctx, t.set, p.cfg.PageSize)
	if err != nil {
		return err
	}
	if len(specs) == 0 {
		if req.token != "" {
			return protoErr(CodeBadResumptionToken, "the sets after %q no longer exist", t.set)
		}
		return protoErr(CodeNoSetHierarchy, "the repository has no sets")
	}
	p.begin(x, now, req)
	x.str("<ListSets>\n")
	for _, spec := range specs {
		name, desc := p.setName(spec)
		x.str("<set><setSpec>")
		x.str(spec)
		x.str("</setSpec>")
		x.elem("setName", name)
		if desc != "" {
			x.str(`<setDescription><oai_dc:dc xmlns:oai_dc="` + crosswalk.NamespaceOAIDC + `" xmlns:dc="` + crosswalk.NamespaceDC + `" xsi:schemaLocation="` + crosswalk.NamespaceOAIDC + " " + crosswalk.SchemaOAIDC + `">`)
			x.elem("dc:description", desc)
			x.str("</oai_dc:dc></setDescription>")
		}
		x.str("</set>\n")
	}
	n := uint64(len(specs))
	switch {
	case more:
		next := token{verb: verbByteSets, set: specs[len(specs)-1], cursor: t.cursor + n, size: -1, issued: now.Unix()}
		p.writeToken(x, next.encode(p.key), -1, t.cursor, now.Add(p.cfg.TokenLifetime))
	case req.token != "":
		p.writeToken(x, "", int64(t.cursor+n), t.cursor, time.Time{})
	}
	x.str("</ListSets>\n")
	p.end(x)
	p.itemsByVerb[verbListSets].Add(float64(n))
	return nil
}

// setName returns a set's name and description: configured, or made up
// for automatic and explicit sets.
func (p *Provider) setName(spec string) (name, description string) {
	if s, ok := p.sets[spec]; ok {
		return s.Name, s.Description
	}
	if spec == sourceSet {
		return "Records by origin", ""
	}
	if origin, ok := cutPrefix(spec, sourceSet+":"); ok {
		if origin == p.cfg.NodeID {
			return fmt.Sprintf("Records of this node (%s)", origin), ""
		}
		return fmt.Sprintf("Records harvested from %s", origin), ""
	}
	return spec, ""
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}
