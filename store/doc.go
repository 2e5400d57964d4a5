// Package store keeps a node's records, their OAI-PMH view, secondary
// indexes and change log in one embedded Pebble database.
//
// A Record is the canonical, Dublin-Core-based description of a resource
// plus what OAI-PMH needs (local id, datestamp, deleted flag, sets) and, for
// harvested records, the original payloads and provenance. Normalize puts a
// record into canonical form (identifiers, ORCID iDs, languages, licences)
// and names every invalid field.
//
// Writes are atomic batches: one write updates the record, its entry in the
// datestamp-ordered OAI view, its set and origin index entries, the block
// counters behind Count, and appends to the change log. A single committer
// goroutine assigns sequence numbers and datestamps, so datestamps never go
// back and seq order is datestamp order; it groups concurrent writes into
// one synced batch, so an acknowledged write survives a crash. Readers
// (Get, Scan, Count, Changes) never block writers.
//
// Derived state that readers serve without decoding a record (a provider's
// oai_dc XML, set memberships) is made at write time by Config.Derive; the
// store treats it as opaque bytes.
package store
