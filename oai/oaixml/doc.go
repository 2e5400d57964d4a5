// Package oaixml reads OAI-PMH 2.0 XML: responses of any verb, and files of
// records. It is the one reader behind both the harvester and import.
//
// Reading is in two steps so that large lists are fast and memory stays
// bounded. A Splitter scans the byte stream for tags, without building a
// tree, and cuts out each item (record, header, set, resumptionToken, ...)
// as a Chunk together with the namespace declarations in scope; ParseChunk
// then parses one chunk with encoding/xml, which never resolves external
// entities. Chunks can be parsed in parallel. A fault inside one item is an
// *ItemError and the rest of the document is still read; a fault in the
// document's structure is a *SyntaxError.
//
// Real repositories' faults are tolerated where the data can be kept:
// control characters and broken UTF-8 are dropped (Record.Sanitized says
// so), a declared non-UTF-8 encoding is transcoded, a byte order mark is
// skipped. A record's payload is kept byte for byte (Record.Metadata), with
// the namespace declarations it inherited listed separately.
package oaixml
