package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// VerifyReport is the result of Verify.
type VerifyReport struct {
	Records  int64 `json:"records"`
	Deleted  int64 `json:"deleted"`
	Entries  int64 `json:"entries"`
	Changes  int64 `json:"changes"`
	Payloads int64 `json:"payloads"`
	// Problems describes each inconsistency found (at most 100); Count
	// is the total.
	Problems []string `json:"problems"`
	Count    int64    `json:"problem_count"`
}

// OK reports whether no problem was found.
func (r *VerifyReport) OK() bool { return r.Count == 0 }

func (r *VerifyReport) problem(format string, args ...any) {
	r.Count++
	if len(r.Problems) < 100 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// Verify checks every index against the records on a consistent snapshot:
// each record has exactly its entry, set and origin index entries and its
// change-log entry; no index entry is orphaned; block counters match a
// recount; the datestamp index is monotonic; every payload has its record.
// progress, if not nil, is called with the number of keys checked so far.
func (s *Store) Verify(ctx context.Context, progress func(done int64)) (*VerifyReport, error) {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	rep := &VerifyReport{Problems: []string{}}
	var done int64
	tick := func() error {
		if done++; done%4096 == 0 {
			if progress != nil {
				progress(done)
			}
			return ctx.Err()
		}
		return nil
	}
	get := func(k []byte) ([]byte, bool, error) {
		v, c, err := snap.Get(k)
		if err == pebble.ErrNotFound {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		defer c.Close()
		return append([]byte(nil), v...), true, nil
	}
	iter := func(table byte, fn func(k, v []byte) error) error {
		it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{table}, UpperBound: []byte{table + 1}})
		if err != nil {
			return err
		}
		for it.First(); it.Valid(); it.Next() {
			if err := tick(); err != nil {
				it.Close()
				return err
			}
			v, err := it.ValueAndErr()
			if err != nil {
				it.Close()
				return err
			}
			if err := fn(it.Key(), v); err != nil {
				it.Close()
				return err
			}
		}
		return it.Close()
	}

	// 1. Records against their entry, indexes and change.
	var e Entry
	err := iter(tableHead, func(k, v []byte) error {
		id := string(k[1:])
		rep.Records++
		h, rest, err := decodeHead(v)
		if err != nil {
			rep.problem("record %q: %v", id, err)
			return nil
		}
		if h.deleted {
			rep.Deleted++
		}
		origin, sets, _, err := decodeScopes(rest)
		if err != nil {
			rep.problem("record %q: %v", id, err)
			return nil
		}
		doc, ok, err := get(docKey(h.seq))
		if err != nil {
			return err
		}
		if !ok {
			rep.problem("record %q: no document at its seq %d", id, h.seq)
			return nil
		}
		ev, ok, err := get(entryKey(h.seq))
		if err != nil {
			return err
		}
		if !ok {
			rep.problem("record %q: no entry at its seq %d", id, h.seq)
			return nil
		}
		if err := decodeEntry(&e, h.seq, ev); err != nil {
			rep.problem("record %q: %v", id, err)
			return nil
		}
		if e.ID != id || e.Deleted != h.deleted || e.Datestamp.Unix() != h.datestamp || e.Origin != origin || !slices.Equal(e.Sets, sets) {
			rep.problem("record %q: entry %d disagrees with the record (id %q, deleted %v, datestamp %v)", id, h.seq, e.ID, e.Deleted, e.Datestamp)
		}
		var r Record
		if err := decodeDoc(doc, &r); err != nil {
			rep.problem("record %q: document does not decode: %v", id, err)
		} else {
			for i := range r.Originals {
				if r.Originals[i].XML, _, err = get(payloadKey(id, r.Originals[i].Prefix)); err != nil {
					return err
				}
			}
			// A tombstone made from a stored record is hashed without its
			// payloads (see tombstoneOf).
			if !hashMatches(&r, doc, h, e.renditions) {
				rep.problem("record %q: content hash does not match its document, payloads and renditions", id)
			}
		}
		for _, sc := range indexScopes(sets, origin) {
			if _, ok, err := get(scopeKey(sc, h.seq)); err != nil {
				return err
			} else if !ok {
				rep.problem("record %q: missing %s index entry %q at seq %d", id, scopeKind(sc), sc[1:], h.seq)
			}
		}
		if cv, ok, err := get(changeKey(h.seq)); err != nil {
			return err
		} else if !ok || string(cv) != id {
			rep.problem("record %q: change log at seq %d is %q", id, h.seq, cv)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store.Verify: %w", err)
	}

	// 2. Entries: each belongs to the current version of its record;
	// recount the blocks; datestamps follow seq order.
	counts := map[string]int64{}
	var lastTS int64
	err = iter(tableEntry, func(k, v []byte) error {
		seq := binary.BigEndian.Uint64(k[1:])
		rep.Entries++
		if err := decodeEntry(&e, seq, v); err != nil {
			rep.problem("entry %d: %v", seq, err)
			return nil
		}
		if ts := e.Datestamp.Unix(); ts < lastTS {
			rep.problem("entry %d: datestamp %v is older than the entry before it", seq, e.Datestamp)
		} else {
			lastTS = ts
		}
		hv, ok, err := get(headKey(e.ID))
		if err != nil {
			return err
		}
		if !ok {
			rep.problem("entry %d: orphan, record %q does not exist", seq, e.ID)
			return nil
		}
		if h, _, err := decodeHead(hv); err == nil && h.seq != seq {
			rep.problem("entry %d: stale, record %q is at seq %d", seq, e.ID, h.seq)
		}
		counts[string(countKey("", seq>>blockShift))]++
		for _, sc := range indexScopes(e.Sets, e.Origin) {
			counts[string(countKey(sc, seq>>blockShift))]++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store.Verify: %w", err)
	}

	// 2b. Documents belong to current versions.
	err = iter(tableDoc, func(k, v []byte) error {
		seq := binary.BigEndian.Uint64(k[1:])
		if _, ok, err := get(entryKey(seq)); err != nil {
			return err
		} else if !ok {
			rep.problem("document %d: orphan, no current version has that seq", seq)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store.Verify: %w", err)
	}

	// 3. Set and origin index entries point at a live entry that has them.
	for _, table := range []byte{tableSet, tableOrigin} {
		err = iter(table, func(k, v []byte) error {
			i := bytes.IndexByte(k, 0)
			if i < 0 || len(k)-i-1 != 8 {
				rep.problem("index key %q is malformed", k)
				return nil
			}
			name, seq := string(k[1:i]), binary.BigEndian.Uint64(k[i+1:])
			ev, ok, err := get(entryKey(seq))
			if err != nil {
				return err
			}
			sc := "o" + name
			if table == tableSet {
				sc = "s" + name
			}
			if !ok {
				rep.problem("%s index %q: orphan entry at seq %d", scopeKind(sc), name, seq)
				return nil
			}
			if err := decodeEntry(&e, seq, ev); err == nil && !slices.Contains(indexScopes(e.Sets, e.Origin), sc) {
				rep.problem("%s index %q: seq %d (record %q) is not in it", scopeKind(sc), name, seq, e.ID)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("store.Verify: %w", err)
		}
	}

	// 4. Counters.
	err = iter(tableCount, func(k, v []byte) error {
		if len(v) != 8 {
			rep.problem("counter %q: %d bytes", k, len(v))
			return nil
		}
		got := int64(binary.LittleEndian.Uint64(v))
		want := counts[string(k)]
		delete(counts, string(k))
		if got != want {
			rep.problem("counter %q: %d, recount %d", k, got, want)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store.Verify: %w", err)
	}
	for k, n := range counts {
		if n != 0 {
			rep.problem("counter %q: missing, recount %d", k, n)
		}
	}

	// 5. Change log and datestamp index are increasing.
	var lastSeq uint64
	err = iter(tableChange, func(k, v []byte) error {
		rep.Changes++
		lastSeq = binary.BigEndian.Uint64(k[1:])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store.Verify: %w", err)
	}
	if lastSeq != uint64(rep.Changes) {
		rep.problem("change log: %d changes but last seq is %d", rep.Changes, lastSeq)
	}
	var prevSeq uint64
	err = iter(tableTime, func(k, v []byte) error {
		if len(v) != 8 {
			rep.problem("datestamp index %x: bad value", k)
			return nil
		}
		seq := binary.BigEndian.Uint64(v)
		if seq <= prevSeq {
			rep.problem("datestamp index at %v: seq %d not after %d", time.Unix(int64(binary.BigEndian.Uint64(k[1:])), 0).UTC(), seq, prevSeq)
		}
		prevSeq = seq
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store.Verify: %w", err)
	}

	// 6. Payloads belong to records.
	err = iter(tablePayload, func(k, v []byte) error {
		rep.Payloads++
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			rep.problem("payload key %q is malformed", k)
			return nil
		}
		if _, ok, err := get(headKey(string(k[1:i]))); err != nil {
			return err
		} else if !ok {
			rep.problem("payload %q of record %q: the record does not exist", k[i+1:], k[1:i])
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store.Verify: %w", err)
	}
	if progress != nil {
		progress(done)
	}
	return rep, nil
}

func scopeKind(scope string) string {
	if scope[0] == 's' {
		return "set"
	}
	return "origin"
}

// hashMatches recomputes a record's content hash as Prepare makes it (and,
// for a tombstone made from a stored record, as tombstoneOf makes it:
// without payloads).
func hashMatches(r *Record, doc []byte, h head, rs []rendition) bool {
	if sum, err := headHash(h, r.Provenance, doc, r.Originals, rs); err == nil && sum == h.hash {
		return true
	}
	sum, err := headHash(h, r.Provenance, doc, nil, nil)
	return err == nil && h.deleted && sum == h.hash
}
