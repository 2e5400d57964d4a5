// Package search is a node's full-text search: an index of the store's
// records, derived state that follows the store's change feed and can
// always be rebuilt from it, and the search API over it.
//
// # Data flow
//
// Writers change the store; the Service's indexer (Start, or Run) reads
// the change feed (store.Changes, store.WaitSeq) from the checkpoint the
// index keeps, reads each changed record's current state, and writes
// batches to a Bluge index. Tombstones leave the index. search never
// writes the store: it sees it through the Store interface.
//
// # Index
//
// Bluge is used below its own search API, which stays inside this
// package: documents are analysed by our own chain (analyze.go: Unicode
// tokens, case and diacritic folding, English stemming) into "ice"
// segments written through a segment plugin that appends per-document
// columns (segment.go, columns.go: record id, change seq, publication
// date, cluster hash, facet ordinals). Columns are merged with the
// segments, so facet counts, filters and sort keys come from memory
// without stored fields or doc values. Each batch carries a checkpoint
// document (the last change seq it covers) in the same atomic Bluge
// batch, so after a crash the checkpoint is never ahead of the documents;
// the indexer then re-applies the changes after it, which is idempotent.
//
// The index lives in <data_dir>/search/gNNNNNN, a directory per
// generation named by the CURRENT file. Reindex builds the next
// generation while the current one serves and follows writes, then swaps
// CURRENT atomically and removes the old one. An index written by another
// schemaVersion is rebuilt at Open.
//
// # Queries
//
// ParseQuery reads the query language (words, "phrases", field:value,
// AND/OR/NOT, -term, +term, parentheses, year:2010..2020). Evaluation
// (eval.go) works on roaring bitmaps of the postings, counts facets
// drill-sideways from the columns, scores BM25 at the matches only, and
// collapses the copies of one work (same DOI or other strong identifier,
// ClusterKey) into one hit listing the others in AlsoHeldBy, unless the
// request asks for all copies. Total counts records.
//
// # HTTP
//
// Routes serves GET /api/search (JSON, Result), GET /api/search.atom
// (RFC 4287 Atom with OpenSearch 1.1 response elements, newest first),
// GET /search (HTML), GET /opensearch.xml (OpenSearch 1.1 description)
// and POST /api/admin/reindex. Bad requests are RFC 9457 problems of type
// urn:colligo:problem:bad-query naming the parameter and, for the query,
// the character offset.
//
// # Later issues
//
// Request and Result are exported so that a federated search (issue 8)
// can send a peer the same request and merge its answer; every hit has
// its Origin and filter=origin:<node id> narrows to one node. An
// Expander (issue 9) can widen query words to SKOS concepts: subject and
// type concept URIs are indexed as exact keywords (subject_uri,
// type_uri).
package search
