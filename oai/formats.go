package oai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
)

// The node's own formats, rendered from the record model.
const (
	prefixDC       = "oai_dc"
	prefixDataCite = "oai_datacite"
	// oai_datacite is DataCite's OAI wrapper (schema oai-1.1, as DataCite's
	// own provider, Zenodo and the OpenAIRE guidelines for data archives
	// use it) around a DataCite Metadata Schema 4.5 <resource>.
	namespaceOAIDataCite = "http://schema.datacite.org/oai/oai-1.1/"
	schemaOAIDataCite    = "http://schema.datacite.org/oai/oai-1.1/oai.xsd"
	dataCiteVersion      = "4.5"
)

// metadataFormat is one entry of ListMetadataFormats.
type metadataFormat struct {
	Prefix    string `json:"prefix"`
	Schema    string `json:"schema"`
	Namespace string `json:"namespace"`
}

var ownFormats = []metadataFormat{
	{prefixDC, crosswalk.SchemaOAIDC, crosswalk.NamespaceOAIDC},
	{prefixDataCite, schemaOAIDataCite, namespaceOAIDataCite},
}

// catalog knows the original formats present in the repository, for
// ListMetadataFormats without an identifier. It learns them from the
// entries' info renditions by following the store in seq order, and keeps
// what it learnt in node state, so that a restart resumes where it was. A
// format stays listed once seen, even if its last record changes format:
// ListRecords then answers noRecordsMatch, which is true.
type catalog struct {
	st Store

	mu      sync.Mutex // held during a catch-up
	seq     uint64     // entries up to seq have been read
	formats []metadataFormat
	saved   uint64 // seq last written to node state
}

const stateCatalog = "oai/formats"

type catalogState struct {
	Seq     uint64           `json:"seq"`
	Formats []metadataFormat `json:"formats"`
}

func newCatalog(st Store) (*catalog, error) {
	c := &catalog{st: st}
	b, err := st.GetState(stateCatalog)
	if err != nil {
		return nil, err
	}
	if b != nil {
		var s catalogState
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("node state %s: %w", stateCatalog, err)
		}
		// The store may have been restored from an older backup: never
		// trust a position beyond its last seq.
		if s.Seq <= st.LastSeq() {
			c.seq, c.saved, c.formats = s.Seq, s.Seq, s.Formats
		}
	}
	return c, nil
}

// catchUp reads the entries written since the last catch-up. It returns
// whether the known formats changed.
func (c *catalog) catchUp(ctx context.Context) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	last := c.st.LastSeq()
	if last <= c.seq {
		return false, nil
	}
	it := c.st.Scan(ctx, store.Query{After: c.seq, MaxSeq: last})
	changed := false
	add := func(f metadataFormat) {
		if !slices.ContainsFunc(c.formats, func(m metadataFormat) bool { return m.Prefix == f.Prefix }) {
			c.formats = append(c.formats, f)
			changed = true
		}
	}
	for it.Next() {
		e := it.Entry()
		if e.Deleted {
			// A tombstone has no renditions, and its record may have been
			// deleted before its live version was read here: the record
			// still lists its originals.
			r, err := c.st.Get(ctx, e.ID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				it.Close()
				return changed, err
			}
			if r != nil {
				for _, o := range r.Originals {
					if !ownFormat(o.Prefix) && validPrefix(o.Prefix) {
						add(metadataFormat{o.Prefix, o.Schema, o.Namespace})
					}
				}
			}
			continue
		}
		b := e.Rendition(renditionInfo)
		if b == nil {
			continue
		}
		var inf info
		if err := json.Unmarshal(b, &inf); err != nil {
			it.Close()
			return changed, fmt.Errorf("entry %d: %s: %w", e.Seq, renditionInfo, err)
		}
		for _, f := range inf.Formats {
			add(metadataFormat{f.Prefix, f.Schema, f.Namespace})
		}
	}
	if err := it.Close(); err != nil {
		return changed, err
	}
	c.seq = last
	slices.SortFunc(c.formats, func(a, b metadataFormat) int {
		if a.Prefix < b.Prefix {
			return -1
		}
		if a.Prefix > b.Prefix {
			return 1
		}
		return 0
	})
	return changed, nil
}

// list returns the known original formats.
func (c *catalog) list() []metadataFormat {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.formats)
}

// lookup returns a known original format.
func (c *catalog) lookup(prefix string) (metadataFormat, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.formats {
		if f.Prefix == prefix {
			return f, true
		}
	}
	return metadataFormat{}, false
}

// save writes the catalogue to node state when it moved.
func (c *catalog) save(ctx context.Context, force bool) error {
	c.mu.Lock()
	if c.seq == c.saved && !force {
		c.mu.Unlock()
		return nil
	}
	s := catalogState{Seq: c.seq, Formats: slices.Clone(c.formats)}
	c.mu.Unlock()
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := c.st.SetState(ctx, stateCatalog, b); err != nil {
		return err
	}
	c.mu.Lock()
	c.saved = max(c.saved, s.Seq)
	c.mu.Unlock()
	return nil
}

// recordInfo returns the info rendition of an entry, decoded; the zero
// info when it has none.
func recordInfo(e *store.Entry) (info, error) {
	var inf info
	b := e.Rendition(renditionInfo)
	if b == nil {
		return inf, nil
	}
	err := json.Unmarshal(b, &inf)
	return inf, err
}
