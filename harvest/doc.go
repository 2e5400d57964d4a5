// Package harvest gathers records from OAI-PMH 2.0 endpoints into the
// store: a node's federation peers and any repository an operator adds.
//
// Data flows one way: harvest reads HTTP responses and writes the store;
// it reads the store only to resume (its checkpoints) and, for formats
// other than oai_dc, to keep payloads together. It never serves records;
// package oai does.
//
// # One harvest
//
// Harvester.HarvestOnce harvests a Source: Identify first (§4.2; cached
// for Config.IdentifyTTL), for the granularity of from, earliestDatestamp
// and deletedRecord, and ListMetadataFormats (§4.4) for the payload's
// schema; then ListRecords (§4.5) and its resumptions (§3.5) to the end.
//
// A list is pipelined. The fetcher reads a response with oaixml.Splitter
// (streaming, memory bounded by Config.MaxPageBytes; entities are never
// resolved, a DOCTYPE with an internal subset is refused) and, as soon as
// the page's resumptionToken is read, asks for the next page. Workers parse
// the page's records (oaixml.ParseRecord with crosswalk.DCSink, so each
// payload is parsed once) and prepare them (store.Prepare). The harvest's
// goroutine commits pages in order with store.CommitAsync, one commit
// syncing while the next is queued. A page is handed on only once it was
// read whole, so a retried request never stores a record twice.
//
// # Records
//
// A record's local id is ingest.LocalID of its OAI identifier, so the same
// source record always gets the same id. Its origin is the source's ID
// (for federation peers, the peer's node id). Provenance is one entry for
// this harvest (base URL, identifier, the datestamp as the source wrote
// it, harvest date, metadata namespace, altered: the model is mapped from
// the payload), followed by the chain of an <about><provenance> container
// when the source re-exposes harvested records. Originals keep the payload
// byte for byte (the content of <metadata>), with its namespace, its
// schema from ListMetadataFormats and the namespace declarations it
// inherited from enclosing elements. The store's content hash leaves out
// harvest dates and source datestamps, so harvesting an unchanged record
// again leaves it, and its datestamp, alone.
//
// The record model is mapped from oai_dc, which every repository must
// offer (§3.4). A source harvested in another format (Source.Prefix, e.g.
// marcxml or oai_datacite) is harvested twice per run: in oai_dc, for the
// model and the oai_dc payload, then in its prefix, whose payload is kept
// beside the oai_dc one (the record's other fields are the stored oai_dc
// version's). Both lists use the same from. A record the source lists in
// its prefix but not in oai_dc is rejected (it has no title to be stored
// live) and comes again with the next harvest.
//
// # Deletions and sets
//
// A header with status="deleted" becomes a tombstone that keeps the stored
// metadata (metadata a source sends with a deleted header is ignored). A
// source with deletedRecord "no" cannot report deletions; records deleted
// there stay here (a warning says so).
//
// A record that left a harvested set is handled as the source says. OAI-PMH
// lets a change of set membership change the datestamp (§2.7.1), and a
// selective harvest by set (§2.7.2, §4.6) lists what is in the set at the
// time of the request. So: a source that lists the record as deleted in the
// set's list gets a tombstone here; a source that lists it, with a changed
// datestamp, with setSpecs that no longer include the harvested set (or a
// descendant) gets a tombstone too; a source that does neither does not
// tell, and the record stays as it was.
//
// # Incremental harvests and checkpoints
//
// The first harvest is complete (no from). Each later one starts a list
// with from = the responseDate of the first page of the last complete
// list, at the source's granularity: at day granularity the same day again
// (the overlap that granularity needs); at seconds the exact second (from
// is inclusive, so the boundary records come again and are found
// unchanged). The responseDate of the first page bounds what the list saw:
// every record written after it has a later datestamp (by the source's own
// clock), even when the source's lists are not snapshots. The latest
// datestamp seen would not be safe: a source paging by offset may skip a
// record written during the list while delivering a later one. A
// responseDate later than this node's clock (a source clock ahead, or
// local time written as UTC) is replaced by this node's time. When a
// source rejects a from with a time (badArgument) although Identify said
// seconds, the list is asked again with the day, and the source is
// remembered as day-granular.
//
// The position (token, the running list's from and first responseDate,
// the latest datestamp seen) is a Checkpoint in node state, written in the
// same commit as the records of the page it follows: a node killed at any
// moment resumes with the token of the first page it had not stored. A
// token the source no longer accepts (badResumptionToken, or any failure
// of a checkpointed token from an earlier run: sources answer expired
// tokens with HTTP 404 or 500 too) restarts the list from its from; at most
// three restarts per harvest.
//
// # Faults of real endpoints
//
// Handled and reported in Result.Warnings, not fatal: HTTP 503, 429 and
// 408 with Retry-After (seconds or HTTP-date, capped by
// Config.RetryAfterMax); timeouts (Config.RequestTimeout per request) and
// 5xx, connection errors and truncated answers, retried with exponential
// backoff and jitter (Config.Retries, BackoffBase, BackoffMax); gzip
// bodies without Content-Encoding; characters XML forbids (records are
// sanitised and counted); pages without records that still carry a token
// (followed, up to Config.MaxEmptyPages in a row); OAI-PMH errors sent
// with an HTTP error status (Zenodo answers 422); noRecordsMatch, also
// after a token; noSetHierarchy to a harvest of a set (nothing in it: a
// federation peer without records of its own answers so); a last page without a resumptionToken element (Alma);
// a cursor counted in pages (DSpace: progress counts records itself);
// datestamps without Z (NOAA). Records larger than Config.MaxRecordBytes
// are skipped and reported. A token sent twice (a loop) ends the harvest
// with ErrTokenLoop naming the token; the next harvest starts that list
// again rather than resume with it.
//
// # Sources, schedule, status
//
// Sources come from the config file (Config.Sources) and from AddSource
// (the admin API, `colligo sources add`), which keeps them in node state.
// Start runs a scheduler: each enabled source with an Every is harvested
// that often, at most Config.Concurrency sources at once, one harvest per
// source at a time. Each source's Status (last success, last error and the
// URL that failed, counts, duration, next run) is kept in node state,
// served by Routes at /api/sources and exported as Prometheus metrics.
package harvest
