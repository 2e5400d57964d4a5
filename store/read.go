package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Head is the part of a record that conditional requests and existence
// checks need, read without decoding the record.
type Head struct {
	ID        string
	Seq       uint64
	Datestamp time.Time
	Deleted   bool
	// Hash is a content hash: equal hashes mean equal content.
	Hash [16]byte
}

// Head returns the head of a record, or ErrNotFound.
func (s *Store) Head(ctx context.Context, id string) (Head, error) {
	v, closer, err := s.db.Get(headKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return Head{}, fmt.Errorf("store.Head %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Head{}, fmt.Errorf("store.Head %q: %w", id, err)
	}
	defer closer.Close()
	h, _, err := decodeHead(v)
	if err != nil {
		return Head{}, fmt.Errorf("store.Head %q: %w", id, err)
	}
	return Head{ID: id, Seq: h.seq, Datestamp: time.Unix(h.datestamp, 0).UTC(), Deleted: h.deleted, Hash: h.hash}, nil
}

// Get returns a record, tombstones included, or an error wrapping
// ErrNotFound. Originals are listed without their bytes (see Original).
func (s *Store) Get(ctx context.Context, id string) (*Record, error) {
	r, _, err := s.GetWithHead(ctx, id)
	return r, err
}

// GetWithHead returns a record and its head, read atomically.
func (s *Store) GetWithHead(ctx context.Context, id string) (*Record, Head, error) {
	if err := ctx.Err(); err != nil {
		return nil, Head{}, err
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()
	r, h, err := s.getFrom(snap, id)
	if err != nil {
		return nil, Head{}, fmt.Errorf("store.Get %q: %w", id, err)
	}
	return r, h, nil
}

// reader is a snapshot or the database.
type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

// getFrom reads a record's head and document from one consistent view.
func (s *Store) getFrom(rd reader, id string) (*Record, Head, error) {
	v, closer, err := rd.Get(headKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, Head{}, ErrNotFound
	}
	if err != nil {
		return nil, Head{}, err
	}
	h, _, err := decodeHead(v)
	closer.Close()
	if err != nil {
		return nil, Head{}, err
	}
	doc, closer, err := rd.Get(docKey(h.seq))
	if err != nil {
		return nil, Head{}, fmt.Errorf("document at seq %d: %w", h.seq, err)
	}
	defer closer.Close()
	return s.assemble(id, h, doc)
}

// assemble decodes a record's document and completes it from its head.
func (s *Store) assemble(id string, h head, doc []byte) (*Record, Head, error) {
	r := new(Record)
	if err := decodeDoc(doc, r); err != nil {
		return nil, Head{}, fmt.Errorf("decode: %w", err)
	}
	r.ID = id
	r.Datestamp = time.Unix(h.datestamp, 0).UTC()
	r.Deleted = h.deleted
	r.OAIIdentifier = s.OAIIdentifier(id)
	return r, Head{ID: id, Seq: h.seq, Datestamp: r.Datestamp, Deleted: h.deleted, Hash: h.hash}, nil
}

// seekDoc positions it, an iterator over the documents, at the document
// of seq and returns it. Iterators seek without the bloom filters a point
// lookup consults, which is what makes walks and batches cheap: a filter
// block evicted from the cache is read whole again for every lookup.
func seekDoc(it *pebble.Iterator, seq uint64) ([]byte, error) {
	k := docKey(seq)
	if !it.SeekGE(k) || !bytes.Equal(it.Key(), k) {
		if err := it.Error(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("document at seq %d: %w", seq, errCorrupt)
	}
	return it.Value(), nil
}

// Original returns a stored original payload of a record, or ErrNotFound.
func (s *Store) Original(ctx context.Context, id, prefix string) ([]byte, error) {
	v, closer, err := s.db.Get(payloadKey(id, prefix))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("store.Original %q %q: %w", id, prefix, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store.Original %q %q: %w", id, prefix, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// Query selects record versions for Scan and Count, in datestamp order.
type Query struct {
	// Set restricts to a set and its descendants; empty for all.
	Set string
	// Origin restricts to one origin; empty for all.
	Origin string
	// From and Until bound the datestamp, inclusive; zero means unbounded.
	From, Until time.Time
	// After is a keyset position: only entries with a greater seq.
	After uint64
	// MaxSeq bounds the list to a snapshot: entries with a greater seq were
	// written after the list began. Zero means LastSeq at the call.
	MaxSeq uint64
	// Reverse walks newest first. Count ignores it.
	Reverse bool
}

// seqRange turns a query's datestamp bounds into a seq range [lo, hi].
// ok is false when the range is empty.
func (s *Store) seqRange(q Query) (lo, hi uint64, ok bool, err error) {
	lo, hi = q.After+1, q.MaxSeq
	if hi == 0 {
		hi = s.LastSeq()
	}
	if !q.From.IsZero() {
		seq, found, err := s.firstSeqAtOrAfter(q.From)
		if err != nil {
			return 0, 0, false, err
		}
		if !found {
			return 0, 0, false, nil
		}
		lo = max(lo, seq)
	}
	if !q.Until.IsZero() {
		// The first seq of the next second, minus one, is the last seq at
		// or before Until.
		seq, found, err := s.firstSeqAtOrAfter(q.Until.Add(time.Second))
		if err != nil {
			return 0, 0, false, err
		}
		if found {
			if seq == 0 {
				return 0, 0, false, nil
			}
			hi = min(hi, seq-1)
		}
	}
	return lo, hi, lo <= hi, nil
}

// firstSeqAtOrAfter finds the first seq written at or after t.
func (s *Store) firstSeqAtOrAfter(t time.Time) (uint64, bool, error) {
	unix := t.Unix()
	if t.Before(time.Unix(0, 0)) {
		unix = 0
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: timeKey(unix), UpperBound: []byte{tableTime + 1}})
	if err != nil {
		return 0, false, err
	}
	defer it.Close()
	if !it.First() {
		return 0, false, it.Error()
	}
	if len(it.Value()) != 8 {
		return 0, false, fmt.Errorf("datestamp index: %w", errCorrupt)
	}
	return binary.BigEndian.Uint64(it.Value()), true, nil
}

// Earliest returns the oldest datestamp stored, and false when the store is
// empty.
func (s *Store) Earliest(ctx context.Context) (time.Time, bool, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tableEntry}, UpperBound: []byte{tableEntry + 1}})
	if err != nil {
		return time.Time{}, false, err
	}
	defer it.Close()
	if !it.First() {
		return time.Time{}, false, it.Error()
	}
	var e Entry
	if err := decodeEntry(&e, binary.BigEndian.Uint64(it.Key()[1:]), it.Value()); err != nil {
		return time.Time{}, false, err
	}
	return e.Datestamp, true, nil
}

// Iterator walks record versions in datestamp (= seq) order. It is not safe
// for concurrent use. Close it on every path.
type Iterator struct {
	ctx     context.Context
	idx     *pebble.Iterator // the scope index, or nil when walking D directly
	ent     *pebble.Iterator
	origin  string // filter, when both Set and Origin are given
	hi      uint64
	entry   Entry
	err     error
	n       int
	first   bool
	empty   bool
	reverse bool
	snap    *pebble.Snapshot
}

// Scan returns an iterator over the versions q selects. The view is a
// consistent snapshot taken at the call.
func (s *Store) Scan(ctx context.Context, q Query) *Iterator {
	it := &Iterator{ctx: ctx, first: true, reverse: q.Reverse}
	lo, hi, ok, err := s.seqRange(q)
	if err != nil {
		it.err = fmt.Errorf("store.Scan: %w", err)
		return it
	}
	if !ok {
		it.empty = true
		return it
	}
	it.hi = hi
	it.snap = s.db.NewSnapshot()
	entOpts := &pebble.IterOptions{LowerBound: entryKey(lo), UpperBound: entryKey(hi + 1)}
	if q.Set == "" && q.Origin == "" {
		it.ent, it.err = it.snap.NewIter(entOpts)
		return it
	}
	var idxLo, idxHi []byte
	if q.Set != "" {
		idxLo, idxHi = scopedKey(tableSet, q.Set, lo), scopedKey(tableSet, q.Set, hi+1)
		it.origin = q.Origin
	} else {
		idxLo, idxHi = scopedKey(tableOrigin, q.Origin, lo), scopedKey(tableOrigin, q.Origin, hi+1)
	}
	if it.idx, it.err = it.snap.NewIter(&pebble.IterOptions{LowerBound: idxLo, UpperBound: idxHi}); it.err != nil {
		return it
	}
	it.ent, it.err = it.snap.NewIter(entOpts)
	return it
}

// Next advances to the next entry and reports whether there is one.
func (it *Iterator) Next() bool {
	if it.err != nil || it.empty {
		return false
	}
	if it.n++; it.n%1024 == 0 {
		if err := it.ctx.Err(); err != nil {
			it.err = err
			return false
		}
	}
	for {
		var seq uint64
		if it.idx == nil {
			ok := it.step(it.ent)
			if !ok {
				it.err = it.ent.Error()
				return false
			}
			seq = binary.BigEndian.Uint64(it.ent.Key()[1:])
		} else {
			ok := it.step(it.idx)
			if !ok {
				it.err = it.idx.Error()
				return false
			}
			k := it.idx.Key()
			seq = binary.BigEndian.Uint64(k[len(k)-8:])
			if !it.ent.SeekGE(entryKey(seq)) || binary.BigEndian.Uint64(it.ent.Key()[1:]) != seq {
				if it.err = it.ent.Error(); it.err == nil {
					it.err = fmt.Errorf("store.Scan: index entry for seq %d has no record entry: %w", seq, errCorrupt)
				}
				return false
			}
		}
		if it.err = decodeEntry(&it.entry, seq, it.ent.Value()); it.err != nil {
			return false
		}
		if it.origin != "" && it.entry.Origin != it.origin {
			continue
		}
		return true
	}
}

// step moves the driving iterator one entry in the iterator's direction.
func (it *Iterator) step(i *pebble.Iterator) bool {
	first := it.first
	it.first = false
	switch {
	case first && it.reverse:
		return i.Last()
	case first:
		return i.First()
	case it.reverse:
		return i.Prev()
	}
	return i.Next()
}

// Entry returns the current entry; valid until the next call to Next.
func (it *Iterator) Entry() *Entry { return &it.entry }

// Err returns the error that stopped the iteration, if any.
func (it *Iterator) Err() error { return it.err }

// Close releases the iterator. It returns the iteration's error, if any.
func (it *Iterator) Close() error {
	for _, i := range []*pebble.Iterator{it.idx, it.ent} {
		if i != nil {
			if err := i.Close(); err != nil && it.err == nil {
				it.err = err
			}
		}
	}
	it.idx, it.ent = nil, nil
	if it.snap != nil {
		if err := it.snap.Close(); err != nil && it.err == nil {
			it.err = err
		}
		it.snap = nil
	}
	return it.err
}

// Count returns how many entries q selects (ignoring q.After). It reads one
// counter per 4096 seqs and scans at most two partial blocks, so it is cheap
// on any list size.
func (s *Store) Count(ctx context.Context, q Query) (int64, error) {
	q.After = 0
	lo, hi, ok, err := s.seqRange(q)
	if err != nil {
		return 0, fmt.Errorf("store.Count: %w", err)
	}
	if !ok {
		return 0, nil
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()
	scope, table, name := "", byte(tableEntry), ""
	switch {
	case q.Set != "":
		scope, table, name = "s"+q.Set, tableSet, q.Set
	case q.Origin != "":
		scope, table, name = "o"+q.Origin, tableOrigin, q.Origin
	}
	if q.Set != "" && q.Origin != "" {
		// No counter covers the intersection: count by scanning.
		it := s.Scan(ctx, q)
		defer it.Close()
		var n int64
		for it.Next() {
			n++
		}
		return n, it.Err()
	}
	keyAt := func(seq uint64) []byte {
		if table == tableEntry {
			return entryKey(seq)
		}
		return scopedKey(table, name, seq)
	}
	scan := func(a, b uint64) (int64, error) { // entries with seq in [a, b)
		it, err := snap.NewIter(&pebble.IterOptions{LowerBound: keyAt(a), UpperBound: keyAt(b)})
		if err != nil {
			return 0, err
		}
		var n int64
		for it.First(); it.Valid(); it.Next() {
			n++
		}
		return n, it.Close()
	}
	firstFull := (lo + (1 << blockShift) - 1) >> blockShift // first block wholly >= lo
	endFull := (hi + 1) >> blockShift                       // blocks < endFull end <= hi
	if firstFull >= endFull {
		return scan(lo, hi+1)
	}
	n, err := scan(lo, firstFull<<blockShift)
	if err != nil {
		return 0, err
	}
	tail, err := scan(endFull<<blockShift, hi+1)
	if err != nil {
		return 0, err
	}
	n += tail
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: countKey(scope, firstFull), UpperBound: countKey(scope, endFull)})
	if err != nil {
		return 0, err
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return 0, err
		}
		if len(v) != 8 {
			it.Close()
			return 0, fmt.Errorf("store.Count: counter: %w", errCorrupt)
		}
		n += int64(binary.LittleEndian.Uint64(v))
	}
	return n, it.Close()
}

// Change is one entry of the change log: the record id written at Seq.
type Change struct {
	Seq uint64
	ID  string
}

// Changes returns up to max changes with seq > after, oldest first. Every
// write appends a change; followers (the search index, peers) read the
// record's current state for each id.
func (s *Store) Changes(ctx context.Context, after uint64, max int) ([]Change, error) {
	hi := s.LastSeq()
	if after >= hi {
		return nil, nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: changeKey(after + 1), UpperBound: changeKey(hi + 1)})
	if err != nil {
		return nil, fmt.Errorf("store.Changes: %w", err)
	}
	var out []Change
	for it.First(); it.Valid() && len(out) < max; it.Next() {
		out = append(out, Change{Seq: binary.BigEndian.Uint64(it.Key()[1:]), ID: string(it.Value())})
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("store.Changes: %w", err)
	}
	return out, nil
}

// Changed returns a channel that is closed at the next commit that adds a
// change. Take it before reading LastSeq to never miss a wake-up.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// WaitSeq blocks until LastSeq > after, ctx ends (ctx.Err()) or the store
// closes (ErrClosed).
func (s *Store) WaitSeq(ctx context.Context, after uint64) error {
	for {
		ch := s.Changed()
		if s.LastSeq() > after {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.quit:
			return ErrClosed
		}
	}
}

// ForEachRecord calls fn with every record's head, in id order, from a
// snapshot. It is the walk verify, reindex and re-derivation jobs use.
// Stop early by returning an error; ErrStop ends the walk without error.
func (s *Store) ForEachRecord(ctx context.Context, fn func(r *Record, h Head) error) error {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{tableHead}, UpperBound: []byte{tableHead + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	docs, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{tableDoc}, UpperBound: []byte{tableDoc + 1}})
	if err != nil {
		return err
	}
	defer docs.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		id := string(it.Key()[1:])
		hd, _, err := decodeHead(it.Value())
		if err != nil {
			return fmt.Errorf("store: record %q: %w", id, err)
		}
		doc, err := seekDoc(docs, hd.seq)
		if err != nil {
			return fmt.Errorf("store: record %q: %w", id, err)
		}
		r, h, err := s.assemble(id, hd, doc)
		if err != nil {
			return fmt.Errorf("store: record %q: %w", id, err)
		}
		if err := fn(r, h); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
	return it.Error()
}

// ErrStop, returned by a ForEachRecord callback, ends the walk early.
var ErrStop = errors.New("stop")

// Len returns the number of records, tombstones included.
func (s *Store) Len(ctx context.Context) (int64, error) {
	return s.Count(ctx, Query{})
}

// Horizon returns the highest visible seq and a datestamp that every
// version written after it (seq > the returned seq) has or exceeds: the
// current time, or the datestamp of a batch already stamped but not yet
// visible. A list that stops at the returned seq can tell its harvester to
// continue from the returned datestamp without missing a write (OAI-PMH
// §4.6: responseDate as the next harvest's from).
func (s *Store) Horizon() (uint64, time.Time) {
	s.horizon.Lock()
	defer s.horizon.Unlock()
	ts := s.cfg.Clock().UTC().Unix()
	if s.horizon.inflight && s.horizon.inflightTS < ts {
		ts = s.horizon.inflightTS
	}
	s.horizon.floor = max(s.horizon.floor, ts)
	return s.visible.Load(), time.Unix(ts, 0).UTC()
}

// SetSpecs returns up to max distinct set specs that have index entries
// (a record's sets and their ancestors, tombstones included), in byte
// order, starting after the spec after ("" for the first). It seeks once
// per set, so its cost grows with the number of sets, not of records.
func (s *Store) SetSpecs(ctx context.Context, after string, max int) ([]string, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tableSet}, UpperBound: []byte{tableSet + 1}})
	if err != nil {
		return nil, fmt.Errorf("store.SetSpecs: %w", err)
	}
	var specs []string
	ok := it.First()
	if after != "" {
		// S<after>\x01 sorts after every key of the set after and before
		// the keys of the next set.
		ok = it.SeekGE(append(append([]byte{tableSet}, after...), 1))
	}
	for ; ok && len(specs) < max; ok = it.SeekGE(append(append([]byte{tableSet}, specs[len(specs)-1]...), 1)) {
		if err := ctx.Err(); err != nil {
			it.Close()
			return nil, err
		}
		k := it.Key()
		end := bytes.IndexByte(k, 0)
		if end < 0 {
			it.Close()
			return nil, fmt.Errorf("store.SetSpecs: set index key %q: %w", k, errCorrupt)
		}
		specs = append(specs, string(k[1:end]))
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("store.SetSpecs: %w", err)
	}
	return specs, nil
}

// EntryOf returns the entry of a record's current version, as Scan would
// yield it, with two point reads; the entry is the caller's to keep. It
// returns an error wrapping ErrNotFound when there is no such record.
func (s *Store) EntryOf(ctx context.Context, id string) (*Entry, error) {
	for range 8 {
		h, err := s.Head(ctx, id)
		if err != nil {
			return nil, err
		}
		v, closer, err := s.db.Get(entryKey(h.Seq))
		if errors.Is(err, pebble.ErrNotFound) {
			continue // rewritten since the head was read: read it again
		}
		if err != nil {
			return nil, fmt.Errorf("store.EntryOf %q: %w", id, err)
		}
		val := append([]byte(nil), v...)
		closer.Close()
		e := new(Entry)
		if err := decodeEntry(e, h.Seq, val); err != nil {
			return nil, fmt.Errorf("store.EntryOf %q: %w", id, err)
		}
		return e, nil
	}
	return nil, fmt.Errorf("store.EntryOf %q: the record keeps changing", id)
}

// GetMany reads the records of ids, tombstones included, from one
// consistent view. It is GetWithHead for a batch: one iterator seeks the
// heads in key order and then the documents in seq order, which costs a
// fraction of a lookup each. fn is called once for each id, in no
// particular order, with its index in ids and the record and head, or an
// error wrapping ErrNotFound; an error fn returns stops the read and is
// returned.
func (s *Store) GetMany(ctx context.Context, ids []string, fn func(i int, r *Record, h Head, err error) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	it, err := s.db.NewIter(nil)
	if err != nil {
		return fmt.Errorf("store.GetMany: %w", err)
	}
	defer it.Close()
	type found struct {
		i int
		h head
	}
	order := make([]int, len(ids))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(ids[a], ids[b]) })
	heads := make([]found, 0, len(ids))
	for n, i := range order {
		if n%256 == 255 && ctx.Err() != nil {
			return ctx.Err()
		}
		k := headKey(ids[i])
		if !it.SeekGE(k) || !bytes.Equal(it.Key(), k) {
			if err := it.Error(); err != nil {
				return fmt.Errorf("store.GetMany %q: %w", ids[i], err)
			}
			if err := fn(i, nil, Head{}, fmt.Errorf("store.Get %q: %w", ids[i], ErrNotFound)); err != nil {
				return err
			}
			continue
		}
		h, _, err := decodeHead(it.Value())
		if err != nil {
			return fmt.Errorf("store.GetMany %q: %w", ids[i], err)
		}
		heads = append(heads, found{i, h})
	}
	slices.SortFunc(heads, func(a, b found) int { return cmp.Compare(a.h.seq, b.h.seq) })
	for n, f := range heads {
		if n%256 == 255 && ctx.Err() != nil {
			return ctx.Err()
		}
		id := ids[f.i]
		doc, err := seekDoc(it, f.h.seq)
		if err != nil {
			return fmt.Errorf("store.GetMany %q: %w", id, err)
		}
		r, h, err := s.assemble(id, f.h, doc)
		if err != nil {
			return fmt.Errorf("store.GetMany %q: %w", id, err)
		}
		if err := fn(f.i, r, h, nil); err != nil {
			return err
		}
	}
	return it.Error()
}
