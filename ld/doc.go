// Package ld publishes records as linked data: a landing page for people,
// schema.org descriptions in JSON-LD, Turtle, N-Triples and RDF/XML for
// machines, DataCite XML, oai_dc, BibTeX and CSL-JSON for reference
// managers, and FAIR Signposting (signposting.org/FAIR, RFC 8288, RFC 9264)
// that ties them together. It only reads the store.
//
// # URLs
//
// A record's URI is its landing page, <base_url>/records/{id}. That URL
// answers in every format by content negotiation (Accept, RFC 9110
// §12.5.1, or ?format=jsonld|ttl|nt|rdf|datacite|oai_dc|bibtex|csl|html),
// always with Vary: Accept, and 406 with a problem listing the formats
// when none is acceptable. Each metadata format also has its own URL,
// /records/{id}/metadata.jsonld, .ttl, .nt, .rdf, .datacite.xml,
// .oai_dc.xml, .bib and .csl.json, which the describedby links name and
// which always answer with exactly the advertised type. /records/{id}/
// linkset answers application/linkset (or application/linkset+json by
// Accept), /records/{id}/linkset.json application/linkset+json. Every
// answer has a strong ETag (the record's content hash, the format and the
// configuration) and Last-Modified (the datestamp); If-None-Match and
// If-Modified-Since give 304; HEAD answers the same header fields as GET.
// A deleted record answers 410: a tombstone page that keeps the citation
// and says when the record was withdrawn, or a problem for other formats,
// with its cite-as link in both cases. The JSON-LD context is served at
// ContextPath (/ns/v1/context.jsonld).
//
// # One graph
//
// Describe maps a record to one schema.org description (a JSON-LD node
// object): the class by resource type (ScholarlyArticle, Dataset,
// SoftwareSourceCode, Book, Chapter, Thesis, Report, ImageObject,
// VideoObject, AudioObject, Collection, else CreativeWork), dcterms where
// schema.org has no term (accessRights, relations it lacks), and PROV-O
// for the provenance of harvested records (prov:wasDerivedFrom the
// source's record, prov:generatedAtTime the harvest). Harvested records
// are sameAs their identifiers at the origin (the OAI identifier, a URI)
// and cite-as their DOI, handle, or the origin's landing page.
//
// JSON-LD is that description with "@context": <base_url>/ns/v1/context.jsonld,
// our context: the schema.org 30.0 definitions of exactly the terms we
// use, versioned by path, so that a processor online fetches 3 KB from the
// node instead of 200 KB from schema.org, and one offline can be given it.
// The landing page embeds the same description with "@context":
// "https://schema.org", which search engines and FAIR tools (which look
// for schema.org in the context) expect; since our context defines each
// term as schema.org does, both give the same graph, which a test checks.
//
// The RDF graph comes from json-gold's JSON-LD processing, done in three
// steps: expansion against our context, parsed once by json-gold (the walk
// over our known tree is ours, the term, IRI and value expansion is
// json-gold's Context); json-gold's node map generation (flattening,
// blank node labels); and the last step to RDF triples, ours, because
// json-gold's runs a large regular expression over every IRI of every
// statement. Tests check both our steps against json-gold's Expand and
// ToRDF, and that every serialisation parses back (json-gold for JSON-LD,
// knakk/rdf for the others) to a graph isomorphic to the source, by
// URDNA2015 (Graph.Canonical, json-gold's Normalize). Turtle and N-Triples
// are written by knakk/rdf, RDF/XML by our encoder. Loader is a json-gold
// document loader that serves the schema.org context (all its usual URLs)
// and ours from bytes in the binary and refuses every other URL: nothing
// touches the network.
//
// # Signposting
//
// Level 1 is on the landing page, in the Link header field (GET and HEAD,
// and every format served at the record's URL) and as <link> elements:
// exactly one cite-as, type (the schema.org class and AboutPage),
// author for creators with a person identifier (ORCID, ISNI, VIAF) only,
// describedby for each metadata resource with its exact type (and profile
// where the type is generic: application/xml for oai_dc, the RDF formats
// with schema.org), at most one license, item for each file with its type,
// and the two linkset links. Above Config.MaxAuthors authors or
// Config.MaxItems files, or past Config.MaxLinkHeaderBytes, the header
// keeps the first ones and the linkset has them all. Level 2 is the
// linkset (RFC 9264): the landing page's links with absolute anchors, a
// collection link from each file to the landing page (we do not serve the
// files, so their own headers cannot carry it) and a describes link from
// each metadata resource, whose own responses carry describes and linkset
// links as headers.
//
// Package ld/linkheader is our RFC 8288 parser, which the tests use to
// check all of this from the outside.
//
// Negotiate, NotAcceptable, Validators, NotModified and the linkheader
// package are written for any resource, not records only, so that other
// packages (vocabularies) serve the same way.
package ld
