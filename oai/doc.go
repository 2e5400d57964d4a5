// Package oai is the node's OAI-PMH 2.0 data provider
// (http://www.openarchives.org/OAI/openarchivesprotocol.html): the six
// verbs, GET and POST on one base URL (the node's base URL + "/oai"),
// answered in text/xml, gzip- or deflate-compressed when the harvester
// accepts it. Sub-packages read OAI-PMH (oaixml), map formats (crosswalk)
// and check responses against the schemas in tests (oaitest).
//
// Data flows in one direction: the provider only reads the store (see
// Store). It writes nothing but its own node state: the resumption token
// key and the catalogue of original formats. What it serves is prepared
// when a record is written: the store calls Deriver.Derive, which renders
// the oai_dc payload, the provenance container of harvested records and
// the list of their original formats, and computes the record's set
// memberships. A ListRecords page in oai_dc is then one store scan and a
// copy of bytes into a bounded buffer; nothing is decoded.
//
// # Protocol
//
// Errors (§3.6) are answered in XML with HTTP status 200; the request
// element echoes the arguments, escaped, except after badVerb and
// badArgument (§3.2). Arguments are checked as §4 lists them: repeated,
// unknown, missing or empty arguments, a resumptionToken with other
// arguments, a metadataPrefix or set that is not one syntactically, and
// from/until not in YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ, of mixed
// granularity, or from after until are badArgument. from and until are
// inclusive; an until day means the end of that day. A malformed query
// is badArgument too. noMetadataFormats never applies: every item, live
// or deleted, can be disseminated in oai_dc.
//
// Identify (§4.2) gives granularity YYYY-MM-DDThh:mm:ssZ, deletedRecord
// persistent, earliestDatestamp the oldest datestamp stored (1970-01-01T00:00:00Z
// while the repository is empty: a bound that does not move), compression
// gzip and deflate, an oai-identifier description and a friends
// description listing peer nodes (Options.Friends; empty until the
// federation fills it, which friends.xsd allows).
//
// # Formats
//
// oai_dc and oai_datacite (DataCite's OAI schema 1.1 wrapping a DataCite
// Metadata Schema 4.5 resource) are rendered from the record model, for
// every record; oai_datacite at read time. Harvested records are also
// served in each original format exactly as received (store.Original,
// with the namespace declarations the payload inherited at its source
// re-declared on its root). An original named oai_dc or oai_datacite is
// superseded by the node's own rendering, which validates and carries the
// node's landing page. ListMetadataFormats for an identifier lists the
// formats that record can be disseminated in; for a deleted record, the
// same, since GetRecord answers its deleted header in each.
//
// Harvested records (those with store.Record.Provenance) carry an about
// part with the provenance container (provenance.xsd): one
// originDescription per harvest step, nearest outermost, nested for
// chains. The outermost says altered="true" for the node's renderings and
// altered="false" for an original payload served as received; inner steps
// keep the flag their harvester gave.
//
// # Lists and resumption tokens
//
// A list walks the store in datestamp order, PageSize records a page. Its
// resumption token is opaque and stateless: the last seq returned, the
// list's snapshot bound, the arguments, the cursor and the issue time,
// signed with HMAC-SHA256 under a key kept in node state, base64url. It
// survives restarts, stays valid for TokenLifetime (7 days by default,
// never under 24 hours) after the page that carried it, and re-sending it
// returns the same page. The cursor counts records returned before the
// page. completeListSize is counted at the first page and carried in the
// token: records are never added to a list, only rewritten out of it, so
// it is an upper bound, and the last page, whose empty token closes a
// resumed list, gives the exact size (cursor plus its records). For an
// original format it is left out until the last page, since the store
// counts records, not formats. A list that fits one page carries no token.
//
// The bound is fixed at the first page: records written or rewritten
// while a harvest pages through a list are not in that list (a record is
// never returned twice within a list), and they all have a datestamp at
// or after the first page's responseDate (store.Horizon guarantees it),
// so the next incremental harvest, from that responseDate, returns them.
// A harvester that follows the protocol's advice (§4.6) misses nothing.
//
// # Sets
//
// Sets come from configuration (Config.Sets: rules on type, origin and a
// filter), from writers (store.Record.Sets) and automatically:
// source:<origin> for the records of each origin, this node's own included
// (source:<node id> is what a peer harvests to get only this node's
// records). Memberships are
// computed when a record is written (Deriver), so a set list is an index
// scan; a set includes its descendants (a:b is in a). When the set rules,
// the base URL or the node id change, Deriver.Fingerprint changes and the
// node re-derives every record in the background. ListSets lists the
// configured sets (and their ancestors) and every set a record is in,
// reading the set index one seek per set; noSetHierarchy only when there
// is none at all.
package oai
