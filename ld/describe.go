package ld

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
)

// Namespaces of the vocabularies the descriptions use.
const (
	SchemaNS  = "http://schema.org/"
	DCTermsNS = "http://purl.org/dc/terms/"
	ProvNS    = "http://www.w3.org/ns/prov#"
	XSDNS     = "http://www.w3.org/2001/XMLSchema#"
	RDFNS     = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
)

// schemaTypes maps kinds to schema.org classes.
var schemaTypes = [...]string{
	crosswalk.Other: "CreativeWork", crosswalk.Article: "ScholarlyArticle", crosswalk.Preprint: "ScholarlyArticle",
	crosswalk.ConferencePaper: "ScholarlyArticle", crosswalk.Book: "Book", crosswalk.BookChapter: "Chapter",
	crosswalk.Thesis: "Thesis", crosswalk.Report: "Report", crosswalk.Dataset: "Dataset",
	crosswalk.Software: "SoftwareSourceCode", crosswalk.Image: "ImageObject", crosswalk.Video: "VideoObject",
	crosswalk.Audio: "AudioObject", crosswalk.Collection: "Collection", crosswalk.Text: "CreativeWork",
}

// SchemaType returns the schema.org class (the local name, "Dataset") of a
// record's metadata.
func SchemaType(m *store.Metadata) string { return schemaTypes[crosswalk.KindOf(m)] }

// Describe returns the schema.org description of a record as a JSON-LD node
// object without "@context": the one source of every RDF representation.
// recordURL is the record's URI (its landing page). The result is a tree
// of map[string]any, []any, string and bool, ready for encoding/json and
// for json-gold; callers must not change it.
//
// Terms are schema.org terms where schema.org has one; dcterms:accessRights
// and the PROV-O provenance of harvested records are written as compact
// IRIs (dcterms:, prov:), which both our context and schema.org's define.
func Describe(r *store.Record, recordURL string) map[string]any {
	m := &r.Metadata
	// Sized for a rich record's members, so that the map never grows.
	d := make(map[string]any, 24)
	d["@id"], d["@type"], d["url"] = recordURL, SchemaType(m), recordURL
	if v := texts(m.Titles); v != nil {
		d["name"] = v
	}
	if v := texts(m.Descriptions); v != nil {
		d["description"] = v
	}
	var additional []any
	if u, ok := IRI(m.TypeURI); ok {
		additional = append(additional, map[string]any{"@id": u})
	}
	if m.Type != "" {
		additional = append(additional, m.Type)
	}
	if additional != nil {
		d["additionalType"] = additional
	}
	if v := persons(m.Creators); v != nil {
		d["author"] = v
	}
	var editors, contributors []store.Person
	for _, p := range m.Contributors {
		if strings.EqualFold(p.Role, "editor") {
			editors = append(editors, p)
		} else {
			contributors = append(contributors, p)
		}
	}
	if v := persons(editors); v != nil {
		d["editor"] = v
	}
	if v := persons(contributors); v != nil {
		d["contributor"] = v
	}
	var keywords, about []any
	for _, s := range m.Subjects {
		if s.Value != "" {
			keywords = append(keywords, langValue(s.Value, s.Lang))
		}
		if u, ok := IRI(s.URI); ok {
			t := map[string]any{"@id": u, "@type": "DefinedTerm"}
			if s.Value != "" {
				t["name"] = langValue(s.Value, s.Lang)
			}
			about = append(about, t)
		}
	}
	if keywords != nil {
		d["keywords"] = keywords
	}
	if about != nil {
		d["about"] = about
	}
	if m.Publisher != "" {
		d["publisher"] = map[string]any{"@type": "Organization", "name": m.Publisher}
	}
	if m.Issued != "" {
		d["datePublished"] = m.Issued
	}
	if m.Created != "" {
		d["dateCreated"] = m.Created
	}
	var ids, sameAs []any
	seen := map[string]bool{recordURL: true}
	addSame := func(u string) {
		if !seen[u] {
			seen[u] = true
			sameAs = append(sameAs, u)
		}
	}
	for _, id := range m.Identifiers {
		pv := map[string]any{"@type": "PropertyValue", "propertyID": identifierLabel(id.Scheme), "value": id.Value}
		if u, ok := WorkIdentifierURL(id); ok {
			pv["url"] = u
			addSame(u)
		}
		ids = append(ids, pv)
	}
	for _, p := range r.Provenance {
		if u, ok := IRI(p.Identifier); ok {
			addSame(u)
		}
	}
	if ids != nil {
		d["identifier"] = ids
	}
	if sameAs != nil {
		d["sameAs"] = sameAs
	}
	if u, ok := IRI(m.License); ok {
		d["license"] = u
	}
	var rights []any
	for _, t := range m.Rights {
		rights = append(rights, langValue(t.Value, t.Lang))
	}
	if rights != nil {
		d["copyrightNotice"] = rights
	}
	switch len(m.Languages) {
	case 0:
	case 1:
		d["inLanguage"] = m.Languages[0]
	default:
		langs := make([]any, len(m.Languages))
		for i, l := range m.Languages {
			langs[i] = l
		}
		d["inLanguage"] = langs
	}
	if free, ok := accessibleForFree(m); ok {
		d["isAccessibleForFree"] = free
	}
	if m.AccessRights != "" {
		d["conditionsOfAccess"] = m.AccessRights
	}
	if u, ok := IRI(m.AccessRightsURI); ok {
		d["dcterms:accessRights"] = map[string]any{"@id": u}
	}
	for _, rel := range m.Relations {
		key := relationTerm(rel.Type)
		// A value object, never a bare string: isPartOf and isBasedOn
		// coerce strings to IRIs.
		var v any = map[string]any{"@value": rel.Value}
		if u, ok := IRI(crosswalk.IdentifierURI(store.Identifier{Scheme: rel.Scheme, Value: rel.Value})); ok {
			v = map[string]any{"@id": u}
		}
		d[key] = appendValue(d[key], v)
	}
	if files := mediaObjects(m); files != nil {
		if crosswalk.KindOf(m) == crosswalk.Dataset {
			d["distribution"] = files
		} else {
			d["encoding"] = files
		}
	}
	if len(r.Provenance) > 0 {
		d["prov:wasDerivedFrom"] = provEntity(r.Provenance)
		if t := r.Provenance[0].HarvestDate; !t.IsZero() {
			d["prov:generatedAtTime"] = dateTime(t)
		}
	}
	return d
}

// provEntity describes the record at the first source of a provenance
// chain (nearest first), derived in turn from the next.
func provEntity(chain []store.Provenance) map[string]any {
	p := chain[0]
	e := map[string]any{"@type": "prov:Entity"}
	if u, ok := IRI(p.Identifier); ok {
		e["@id"] = u
	}
	if p.Identifier != "" {
		e["dcterms:identifier"] = p.Identifier
	}
	if u, ok := IRI(p.BaseURL); ok {
		e["prov:atLocation"] = map[string]any{"@id": u}
	}
	if p.Datestamp != "" {
		e["dcterms:modified"] = p.Datestamp
	}
	if u, ok := IRI(p.MetadataNamespace); ok {
		e["dcterms:conformsTo"] = map[string]any{"@id": u}
	}
	if len(chain) > 1 {
		e["prov:wasDerivedFrom"] = provEntity(chain[1:])
		if t := chain[1].HarvestDate; !t.IsZero() {
			e["prov:generatedAtTime"] = dateTime(t)
		}
	}
	return e
}

func dateTime(t time.Time) map[string]any {
	return map[string]any{"@type": "xsd:dateTime", "@value": t.UTC().Format(time.RFC3339)}
}

func appendValue(old, v any) any {
	switch o := old.(type) {
	case nil:
		return v
	case []any:
		return append(o, v)
	default:
		return []any{o, v}
	}
}

// relationTerm maps DataCite relation types to schema.org terms, or
// dcterms where schema.org has none.
func relationTerm(t string) string {
	switch strings.ToLower(t) {
	case "ispartof":
		return "isPartOf"
	case "haspart":
		return "hasPart"
	case "cites", "references":
		return "citation"
	case "isderivedfrom", "isbasedon":
		return "isBasedOn"
	case "isreferencedby", "iscitedby":
		return "dcterms:isReferencedBy"
	case "isversionof":
		return "dcterms:isVersionOf"
	case "hasversion":
		return "dcterms:hasVersion"
	case "isreplacedby", "isobsoletedby":
		return "dcterms:isReplacedBy"
	case "replaces", "obsoletes":
		return "dcterms:replaces"
	case "requires":
		return "dcterms:requires"
	case "isrequiredby":
		return "dcterms:isRequiredBy"
	case "isformatof", "isvariantformof":
		return "dcterms:isFormatOf"
	case "hasformat", "isoriginalformof":
		return "dcterms:hasFormat"
	}
	return "dcterms:relation"
}

// accessibleForFree reads the access status from the COAR access rights
// concept, else from the text.
func accessibleForFree(m *store.Metadata) (free, known bool) {
	switch m.AccessRightsURI[strings.LastIndexAny(m.AccessRightsURI, "/#")+1:] {
	case "c_abf2":
		return true, true
	case "c_f1cf", "c_16ec", "c_14cb":
		return false, true
	}
	t := strings.ToLower(m.AccessRights)
	switch {
	case t == "":
		return false, false
	case strings.Contains(t, "open"), strings.Contains(t, "free"):
		return true, true
	case strings.Contains(t, "restricted"), strings.Contains(t, "closed"), strings.Contains(t, "embargo"), strings.Contains(t, "metadata only"):
		return false, true
	}
	return false, false
}

func mediaObjects(m *store.Metadata) []any {
	class := "MediaObject"
	if crosswalk.KindOf(m) == crosswalk.Dataset {
		class = "DataDownload"
	}
	var out []any
	for _, f := range m.Files {
		u, ok := IRI(f.URL)
		if !ok {
			continue
		}
		o := map[string]any{"@type": class, "contentUrl": u, "encodingFormat": FileType(f)}
		if f.Name != "" {
			o["name"] = f.Name
		}
		if f.Size > 0 {
			o["contentSize"] = strconv.FormatInt(f.Size, 10) + " bytes"
		}
		if h, ok := sha256Of(f.Checksum); ok {
			o["sha256"] = h
		}
		out = append(out, o)
	}
	return out
}

// sha256Of reads a SHA-256 checksum written as "sha256:<hex>",
// "sha-256:<hex>" or bare 64 hex digits.
func sha256Of(c string) (string, bool) {
	c = strings.ToLower(strings.TrimSpace(c))
	if alg, v, ok := strings.Cut(c, ":"); ok {
		if alg != "sha256" && alg != "sha-256" {
			return "", false
		}
		c = v
	}
	if len(c) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(c); err != nil {
		return "", false
	}
	return c, true
}

// FileType returns a file's media type: the one catalogued, else one known
// from its name's extension, else application/octet-stream. Signposting
// needs a type on every item link.
func FileType(f store.File) string {
	if f.Type != "" {
		return f.Type
	}
	name := f.Name
	if name == "" {
		name = f.URL
		if i := strings.IndexAny(name, "?#"); i >= 0 {
			name = name[:i]
		}
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 && !strings.Contains(name[i:], "/") {
		if t, ok := extensionTypes[strings.ToLower(name[i+1:])]; ok {
			return t
		}
	}
	return "application/octet-stream"
}

// extensionTypes is a fixed table, not the system's mime.types, so that
// every node answers the same.
var extensionTypes = map[string]string{
	"pdf": "application/pdf", "csv": "text/csv", "tsv": "text/tab-separated-values", "txt": "text/plain",
	"zip": "application/zip", "gz": "application/gzip", "tar": "application/x-tar", "json": "application/json",
	"xml": "application/xml", "html": "text/html", "htm": "text/html", "nc": "application/x-netcdf",
	"tif": "image/tiff", "tiff": "image/tiff", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
	"gif": "image/gif", "svg": "image/svg+xml", "mp4": "video/mp4", "mp3": "audio/mpeg", "wav": "audio/wav",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"odt":  "application/vnd.oasis.opendocument.text", "ods": "application/vnd.oasis.opendocument.spreadsheet",
	"ttl": "text/turtle", "nt": "application/n-triples", "rdf": "application/rdf+xml", "jsonld": "application/ld+json",
	"md": "text/markdown", "h5": "application/x-hdf5", "hdf5": "application/x-hdf5", "epub": "application/epub+zip",
}

func persons(ps []store.Person) []any {
	var out []any
	for _, p := range ps {
		out = append(out, person(p))
	}
	return out
}

// orgWords mark a creator name without a comma as an organisation.
var orgWords = []string{"university", "universit", "institut", "consortium", "agency", "centre", "center",
	"laboratory", "society", "association", "foundation", "group", "team", "project", "council", "museum", "library", "department"}

func person(p store.Person) map[string]any {
	class := "Person"
	if p.ORCID == "" && len(p.Identifiers) == 0 && !strings.Contains(p.Name, ",") {
		l := strings.ToLower(p.Name)
		for _, w := range orgWords {
			if strings.Contains(l, w) {
				class = "Organization"
				break
			}
		}
	}
	n := map[string]any{"@type": class, "name": p.Name}
	if u, ok := PersonURI(p); ok {
		n["@id"] = u
	}
	if class == "Person" {
		if family, given, ok := strings.Cut(p.Name, ","); ok {
			if family = strings.TrimSpace(family); family != "" {
				n["familyName"] = family
			}
			if given = strings.TrimSpace(given); given != "" {
				n["givenName"] = given
			}
		}
	}
	if p.Affiliation != "" {
		n["affiliation"] = map[string]any{"@type": "Organization", "name": p.Affiliation}
	}
	var same, ids []any
	for _, id := range p.Identifiers {
		if u, ok := personIdentifierURI(id); ok {
			if u != n["@id"] {
				same = append(same, u)
			}
			continue
		}
		ids = append(ids, map[string]any{"@type": "PropertyValue", "propertyID": identifierLabel(id.Scheme), "value": id.Value})
	}
	if same != nil {
		n["sameAs"] = same
	}
	if ids != nil {
		n["identifier"] = ids
	}
	return n
}

// PersonURI returns the URI that identifies a person: the ORCID iD, else
// the first of their identifiers that has a URI (ISNI, VIAF, a URL). ok is
// false for a person known by name only.
func PersonURI(p store.Person) (string, bool) {
	if p.ORCID != "" {
		return "https://orcid.org/" + p.ORCID, true
	}
	for _, id := range p.Identifiers {
		if u, ok := personIdentifierURI(id); ok {
			return u, true
		}
	}
	return "", false
}

func personIdentifierURI(id store.Identifier) (string, bool) {
	v := strings.TrimSpace(id.Value)
	switch strings.ToLower(id.Scheme) {
	case "orcid":
		if o, ok := store.NormalizeORCID(v); ok {
			return "https://orcid.org/" + o, true
		}
	case "isni":
		v = strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimPrefix(strings.TrimPrefix(v, "https://isni.org/isni/"), "http://isni.org/isni/"))
		if len(v) == 16 {
			return "https://isni.org/isni/" + v, true
		}
	case "viaf":
		v = strings.TrimPrefix(strings.TrimPrefix(v, "https://viaf.org/viaf/"), "http://viaf.org/viaf/")
		if _, err := strconv.ParseUint(v, 10, 64); err == nil {
			return "http://viaf.org/viaf/" + v, true
		}
	case "url":
		return IRI(v)
	}
	return "", false
}

// WorkIdentifierURL returns the resolvable URL of an identifier of the
// work (DOI, handle, arXiv, PubMed, URL, URN); ok is false for identifiers
// of something else (ISSN names the journal) or without a URI form.
func WorkIdentifierURL(id store.Identifier) (string, bool) {
	switch id.Scheme {
	case "doi", "handle", "arxiv", "pmid", "url", "urn", "ark", "purl":
		return IRI(crosswalk.IdentifierURI(id))
	}
	return "", false
}

var identifierLabels = map[string]string{
	"doi": "DOI", "handle": "Handle", "url": "URL", "isbn": "ISBN", "issn": "ISSN", "arxiv": "arXiv", "urn": "URN",
	"pmid": "PMID", "pmcid": "PMCID", "orcid": "ORCID", "isni": "ISNI", "viaf": "VIAF", "ark": "ARK", "purl": "PURL",
}

func identifierLabel(scheme string) string {
	if l, ok := identifierLabels[scheme]; ok {
		return l
	}
	return scheme
}

func texts(ts []store.Text) any {
	switch len(ts) {
	case 0:
		return nil
	case 1:
		return langValue(ts[0].Value, ts[0].Lang)
	}
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = langValue(t.Value, t.Lang)
	}
	return out
}

func langValue(v, lang string) any {
	if lang == "" {
		return v
	}
	return map[string]any{"@value": v, "@language": lang}
}
