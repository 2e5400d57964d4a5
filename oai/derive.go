package oai

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
)

// Names of the renditions the Deriver makes. The store keeps them in each
// record's entry, so a list reads them with the scan; "~" renditions are
// not part of the content hash (see store.Derived).
const (
	// renditionDC is the oai_dc payload.
	renditionDC = "oai_dc"
	// renditionInfo is JSON (info) for records with original formats or
	// provenance: the formats a list needs without decoding the record.
	renditionInfo = "oai:info"
	// renditionAbout is the provenance container, outermost
	// altered="true"; it carries harvest dates, hence volatile.
	renditionAbout = "~oai:about"
)

// deriveVersion changes whenever what Derive makes changes for the same
// input (a crosswalk, the about part, the info): a new version changes
// the fingerprint, and the node re-derives every record at its next start.
const deriveVersion = "colligo-oai-derive-2"

// sourceSet is the parent of the automatic sets source:<origin>.
const sourceSet = "source"

// info is the renditionInfo of a record.
type info struct {
	// Formats are the record's original formats the provider serves:
	// every original except those named like the node's own formats.
	Formats []formatInfo `json:"formats,omitempty"`
	// About is true when the record has provenance (and so a
	// renditionAbout).
	About bool `json:"about,omitempty"`
}

type formatInfo struct {
	Prefix    string `json:"prefix"`
	Namespace string `json:"namespace,omitempty"`
	Schema    string `json:"schema,omitempty"`
	// Namespaces are the declarations the payload inherited at its source.
	Namespaces map[string]string `json:"namespaces,omitempty"`
}

// Deriver computes at write time what the provider serves without decoding
// a record: the oai_dc payload, the provenance container, the list of
// original formats, and the configured and automatic set memberships. The
// node passes Derive to store.Config.Derive, so that the node and the CLI
// derive alike.
type Deriver struct {
	cfg   Config
	sets  []setRule
	clock func() time.Time
}

// setRule is a configured set with rules, compiled.
type setRule struct {
	spec    string
	types   []string // lower case
	origins []string
	filter  []condition
}

// NewDeriver returns the Deriver of a configuration, which must be valid.
func NewDeriver(cfg Config) (*Deriver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("oai.NewDeriver: %w", err)
	}
	d := &Deriver{cfg: cfg, clock: time.Now}
	for _, s := range cfg.Sets {
		if len(s.Types)+len(s.Origins)+len(s.Filter) == 0 {
			continue
		}
		r := setRule{spec: s.Spec, origins: s.Origins}
		for _, t := range s.Types {
			r.types = append(r.types, strings.ToLower(strings.TrimSpace(t)))
		}
		for _, f := range s.Filter {
			c, _ := parseCondition(f) // checked by Validate
			r.filter = append(r.filter, c)
		}
		d.sets = append(d.sets, r)
	}
	return d, nil
}

// Fingerprint identifies everything derivation depends on: the derive
// version, the base URL (landing pages in oai_dc), the node id (automatic
// sets) and the set rules. Names and descriptions of sets are not part of
// it: they are read when ListSets answers.
func (d *Deriver) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", deriveVersion, d.cfg.BaseURL, d.cfg.NodeID)
	for _, r := range d.sets {
		b, _ := json.Marshal([]any{r.spec, r.types, r.origins, r.filter})
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Derive returns a record's derived sets and renditions. It never fails
// for a record that passed store.Normalize.
func (d *Deriver) Derive(r *store.Record) (store.Derived, error) {
	out := store.Derived{Renditions: map[string][]byte{
		renditionDC: crosswalk.OAIDC(r, d.cfg.BaseURL+"/records/"+r.ID),
	}}
	var inf info
	for _, o := range r.Originals {
		if ownFormat(o.Prefix) || !validPrefix(o.Prefix) {
			continue
		}
		inf.Formats = append(inf.Formats, formatInfo{Prefix: o.Prefix, Namespace: o.Namespace, Schema: o.Schema, Namespaces: o.Namespaces})
	}
	if len(r.Provenance) > 0 {
		inf.About = true
		out.Renditions[renditionAbout] = appendProvenance(nil, r.Provenance, d.clock())
	}
	if len(inf.Formats) > 0 || inf.About {
		b, err := json.Marshal(inf)
		if err != nil {
			return out, fmt.Errorf("oai.Derive %q: %w", r.ID, err)
		}
		out.Renditions[renditionInfo] = b
	}
	for _, s := range d.sets {
		if s.matches(r) {
			out.Sets = append(out.Sets, s.spec)
		}
	}
	// Every origin, the node's own included: a peer harvests a node's own
	// records, and only those, from source:<node id> (federation).
	if r.Origin != "" && store.ValidSetSpec(sourceSet+":"+r.Origin) {
		out.Sets = append(out.Sets, sourceSet+":"+r.Origin)
	}
	return out, nil
}

func (s *setRule) matches(r *store.Record) bool {
	if len(s.types) > 0 {
		m := &r.Metadata
		kind := strings.ToLower(crosswalk.KindOf(m).String())
		typ, uri := strings.ToLower(m.Type), strings.ToLower(m.TypeURI)
		ok := false
		for _, t := range s.types {
			if t == kind || (typ != "" && t == typ) || (uri != "" && t == uri) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(s.origins) > 0 && !slices.Contains(s.origins, r.Origin) {
		return false
	}
	for _, c := range s.filter {
		if !c.holds(r) {
			return false
		}
	}
	return true
}

// condition is one filter condition of a configured set.
type condition struct {
	Field   string `json:"field"`
	Negate  bool   `json:"negate,omitempty"`
	Pattern string `json:"pattern"` // lower case
}

var filterFields = map[string]func(r *store.Record) []string{
	"kind":   func(r *store.Record) []string { return []string{crosswalk.KindOf(&r.Metadata).String()} },
	"type":   func(r *store.Record) []string { return nonEmpty(r.Metadata.Type) },
	"origin": func(r *store.Record) []string { return []string{r.Origin} },
	"type_uri": func(r *store.Record) []string {
		return nonEmpty(r.Metadata.TypeURI)
	},
	"language":          func(r *store.Record) []string { return r.Metadata.Languages },
	"license":           func(r *store.Record) []string { return nonEmpty(r.Metadata.License) },
	"license_spdx":      func(r *store.Record) []string { return nonEmpty(r.Metadata.LicenseSPDX) },
	"access_rights":     func(r *store.Record) []string { return nonEmpty(r.Metadata.AccessRights) },
	"access_rights_uri": func(r *store.Record) []string { return nonEmpty(r.Metadata.AccessRightsURI) },
	"publisher":         func(r *store.Record) []string { return nonEmpty(r.Metadata.Publisher) },
	"issued":            func(r *store.Record) []string { return nonEmpty(r.Metadata.Issued) },
	"set":               func(r *store.Record) []string { return r.Sets },
	"subject": func(r *store.Record) []string {
		var v []string
		for _, s := range r.Metadata.Subjects {
			v = append(v, s.Value)
		}
		return v
	},
	"subject_uri": func(r *store.Record) []string {
		var v []string
		for _, s := range r.Metadata.Subjects {
			if s.URI != "" {
				v = append(v, s.URI)
			}
		}
		return v
	},
	"identifier_scheme": func(r *store.Record) []string {
		var v []string
		for _, id := range r.Metadata.Identifiers {
			v = append(v, id.Scheme)
		}
		return v
	},
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// parseCondition reads "field=pattern" or "field!=pattern".
func parseCondition(s string) (condition, error) {
	i := strings.IndexByte(s, '=')
	if i <= 0 {
		return condition{}, errors.New(`must be "field=pattern" or "field!=pattern"`)
	}
	c := condition{Field: strings.TrimSpace(s[:i]), Pattern: strings.ToLower(strings.TrimSpace(s[i+1:]))}
	if strings.HasSuffix(c.Field, "!") {
		c.Negate, c.Field = true, strings.TrimSpace(strings.TrimSuffix(c.Field, "!"))
	}
	if _, ok := filterFields[c.Field]; !ok {
		names := make([]string, 0, len(filterFields))
		for n := range filterFields {
			names = append(names, n)
		}
		slices.Sort(names)
		return condition{}, fmt.Errorf("unknown field %q; fields: %s", c.Field, strings.Join(names, ", "))
	}
	if c.Pattern == "" {
		return condition{}, errors.New("the pattern is empty")
	}
	return c, nil
}

func (c condition) holds(r *store.Record) bool {
	any := false
	for _, v := range filterFields[c.Field](r) {
		if globMatch(c.Pattern, strings.ToLower(v)) {
			any = true
			break
		}
	}
	return any != c.Negate
}

// globMatch reports whether s matches pattern, where * matches any run of
// characters and everything else matches itself.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

// ownFormat reports whether prefix names a format the node renders itself
// from the record model; such an original is superseded by the node's
// rendering (which validates and carries the node's landing page).
func ownFormat(prefix string) bool { return prefix == prefixDC || prefix == prefixDataCite }
