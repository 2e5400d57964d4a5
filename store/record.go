package store

import (
	"time"
)

// Record is one record of the repository: its identity, its OAI-PMH state
// (datestamp, deleted flag, sets), where it came from, and its metadata.
//
// The JSON form of a Record is the native format of the HTTP API and of JSON
// Lines import; the README documents it and /api/schema/record.json describes
// it. Fields the node assigns (ID, OAIIdentifier, Datestamp, OAISets) are
// ignored when a client sends them.
type Record struct {
	// ID is the local identifier: URL-safe ([A-Za-z0-9._~-], 1 to 128 bytes).
	ID string `json:"id"`
	// OAIIdentifier is oai:<repositoryIdentifier>:<ID>, filled in on read.
	OAIIdentifier string `json:"oai_identifier"`
	// Datestamp is the UTC time, at second granularity, of the last change
	// the node stored. The node assigns it.
	Datestamp time.Time `json:"datestamp"`
	// Deleted marks a tombstone: the record was withdrawn at Datestamp.
	Deleted bool `json:"deleted"`
	// Sets are the explicit set memberships (setSpecs) a writer gave.
	Sets []string `json:"sets,omitempty"`
	// OAISets are all the set memberships the OAI-PMH provider reports:
	// Sets plus the configured and automatic sets. Read-only.
	OAISets []string `json:"oai_sets,omitempty"`
	// Origin is the id of the node or harvest source whose record this is:
	// the node's own id for records written here.
	Origin string `json:"origin,omitempty"`
	// Metadata is the canonical, Dublin-Core-based description.
	Metadata Metadata `json:"metadata"`
	// Provenance is the chain of harvests that brought the record here,
	// nearest first. Empty for records written on this node.
	Provenance []Provenance `json:"provenance,omitempty"`
	// Originals are the metadata payloads exactly as a source sent them, one
	// per metadataPrefix. Get does not load their bytes (see Store.Original);
	// Formats lists which exist.
	Originals []Original `json:"originals,omitempty"`
}

// Metadata is the canonical description of a record. Every field is optional
// except Titles, which a live record must have.
type Metadata struct {
	Titles       []Text    `json:"titles,omitempty"`
	Creators     []Person  `json:"creators,omitempty"`
	Contributors []Person  `json:"contributors,omitempty"`
	Subjects     []Subject `json:"subjects,omitempty"`
	Descriptions []Text    `json:"descriptions,omitempty"`
	Publisher    string    `json:"publisher,omitempty"`
	// Issued is the date of formal issue: YYYY, YYYY-MM or YYYY-MM-DD.
	Issued string `json:"issued,omitempty"`
	// Created is the date of creation, in the same forms as Issued.
	Created string `json:"created,omitempty"`
	// Type is the resource type as catalogued ("Dataset", "journal article").
	Type string `json:"type,omitempty"`
	// TypeURI is the resource type concept (e.g. a COAR resource type URI).
	TypeURI     string       `json:"type_uri,omitempty"`
	Identifiers []Identifier `json:"identifiers,omitempty"`
	// Languages are BCP 47 language tags, lower case ("en", "de", "pt-br").
	Languages []string `json:"languages,omitempty"`
	// License is the licence URI.
	License string `json:"license,omitempty"`
	// LicenseSPDX is the SPDX identifier of License when it is known.
	// Derived from License; ignored on input.
	LicenseSPDX string `json:"license_spdx,omitempty"`
	// Rights are free-text rights statements.
	Rights []Text `json:"rights,omitempty"`
	// AccessRights is the access status as catalogued ("open access").
	AccessRights string `json:"access_rights,omitempty"`
	// AccessRightsURI is the access rights concept (COAR access rights).
	AccessRightsURI string     `json:"access_rights_uri,omitempty"`
	Relations       []Relation `json:"relations,omitempty"`
	Files           []File     `json:"files,omitempty"`
}

// Text is a string in a language.
type Text struct {
	Value string `json:"value"`
	// Lang is a BCP 47 language tag, or empty when unknown.
	Lang string `json:"lang,omitempty"`
}

// Person is a creator or contributor.
type Person struct {
	// Name is the display name, preferably "Family, Given".
	Name string `json:"name"`
	// ORCID is the bare ORCID iD (0000-0002-1825-0097), checksum-verified.
	ORCID string `json:"orcid,omitempty"`
	// Identifiers are other person identifiers (ISNI, VIAF, a local id).
	Identifiers []Identifier `json:"identifiers,omitempty"`
	Affiliation string       `json:"affiliation,omitempty"`
	// Role is a contributor's role (DataCite contributorType, e.g. "Editor").
	Role string `json:"role,omitempty"`
}

// Subject is a subject term, with the concept it maps to when known.
type Subject struct {
	Value string `json:"value"`
	Lang  string `json:"lang,omitempty"`
	// URI is the concept the term stands for, given or mapped.
	URI string `json:"uri,omitempty"`
	// Scheme names the vocabulary of URI (e.g. "coar-resource-types").
	Scheme string `json:"scheme,omitempty"`
}

// Identifier is an identifier with its scheme. Values are normalised on
// write: a DOI is stored as "10.1234/abc" whatever form it came in.
type Identifier struct {
	// Scheme is one of doi, handle, url, isbn, issn, arxiv, urn, pmid,
	// pmcid, orcid, isni, viaf or another lower-case name; detected from the
	// value when empty.
	Scheme string `json:"scheme"`
	Value  string `json:"value"`
}

// Relation links the record to another resource.
type Relation struct {
	// Type is a DataCite relationType ("IsPartOf", "References", ...) or
	// empty for a plain dc:relation.
	Type   string `json:"type,omitempty"`
	Scheme string `json:"scheme,omitempty"`
	Value  string `json:"value"`
}

// File is a link to a file of the record.
type File struct {
	URL string `json:"url"`
	// Type is the media type ("text/csv").
	Type string `json:"type,omitempty"`
	// Size is the size in bytes, or 0 when unknown.
	Size     int64  `json:"size,omitempty"`
	Name     string `json:"name,omitempty"`
	Checksum string `json:"checksum,omitempty"`
}

// Provenance describes one harvest step, like an OAI-PMH provenance
// originDescription.
type Provenance struct {
	// BaseURL is the OAI-PMH base URL of the source.
	BaseURL string `json:"base_url"`
	// Identifier is the record's identifier at the source.
	Identifier string `json:"identifier"`
	// Datestamp is the record's datestamp at the source, as the source wrote it.
	Datestamp string `json:"datestamp"`
	// HarvestDate is when this node harvested it.
	HarvestDate time.Time `json:"harvest_date"`
	// MetadataNamespace is the namespace of the payload the record was
	// derived from.
	MetadataNamespace string `json:"metadata_namespace,omitempty"`
	// Altered tells whether the metadata was changed from the payload.
	Altered bool `json:"altered"`
}

// Original is a metadata payload exactly as a source sent it.
type Original struct {
	// Prefix is the source's metadataPrefix.
	Prefix string `json:"prefix"`
	// Namespace and Schema are the format's namespace URI and schema URL.
	Namespace string `json:"namespace,omitempty"`
	Schema    string `json:"schema,omitempty"`
	// Namespaces are prefix declarations the payload relied on but that the
	// source made on an enclosing element: {"dc": "http://purl.org/dc/..."}.
	// A provider re-declares them on the payload's root element.
	Namespaces map[string]string `json:"namespaces,omitempty"`
	// XML is the payload: the content of the source's <metadata> element,
	// byte for byte. Not serialised in the record JSON.
	XML []byte `json:"-"`
}
