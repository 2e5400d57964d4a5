package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/zeebo/xxh3"
)

// Outcome says what a write did to a record.
type Outcome uint8

const (
	// Added: the record did not exist.
	Added Outcome = iota + 1
	// Updated: the record existed and its content changed.
	Updated
	// Unchanged: the content was the same; nothing was written and the
	// datestamp stayed.
	Unchanged
	// Deleted: the record became a tombstone.
	Deleted
)

func (o Outcome) String() string {
	switch o {
	case Added:
		return "added"
	case Updated:
		return "updated"
	case Unchanged:
		return "unchanged"
	case Deleted:
		return "deleted"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// MarshalText makes an Outcome read as its name in JSON.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// PutResult is the result of writing one record.
type PutResult struct {
	ID        string    `json:"id"`
	Outcome   Outcome   `json:"outcome"`
	Seq       uint64    `json:"seq"`
	Datestamp time.Time `json:"datestamp"`
}

// Prepared is a record normalised, derived, encoded and hashed, ready for
// Commit. Preparing is the CPU-heavy part of a write; bulk writers prepare
// in parallel and commit in batches.
type Prepared struct {
	id         string
	deleted    bool
	tombstone  bool // a deletion without metadata: keep what the store has
	origin     string
	sets       []string
	doc        []byte
	hash       [16]byte
	renditions []rendition
	originals  []Original
	prov       []Provenance // for a comparison with a legacy hash
	ifSeq      uint64
	hasIfSeq   bool
	mustExist  bool
}

// ID returns the id of the prepared record.
func (p *Prepared) ID() string { return p.id }

// IfSeq makes the commit fail with ErrConflict unless the stored record is
// at seq (0: the record must not exist). It returns p.
func (p *Prepared) IfSeq(seq uint64) *Prepared {
	p.ifSeq, p.hasIfSeq = seq, true
	return p
}

// MustExist makes the commit fail with ErrNotFound when the record does not
// exist. It returns p.
func (p *Prepared) MustExist() *Prepared {
	p.mustExist = true
	return p
}

// Prepare normalises and validates r (see Normalize), derives its sets and
// renditions, and encodes it. It modifies r. Errors are *ValidationError for
// bad content, or the Derive function's error.
//
// A record with Deleted set and no titles is a deletion: committing it turns
// the stored record into a tombstone that keeps its metadata, or stores a
// bare tombstone when there is none.
func (s *Store) Prepare(r *Record) (*Prepared, error) {
	if err := Normalize(r); err != nil {
		return nil, err
	}
	p := &Prepared{id: r.ID, deleted: r.Deleted, origin: r.Origin}
	p.tombstone = r.Deleted && len(r.Metadata.Titles) == 0
	var d Derived
	if s.cfg.Derive != nil && !p.tombstone {
		var err error
		if d, err = s.cfg.Derive(r); err != nil {
			return nil, fmt.Errorf("store.Prepare %q: derive: %w", r.ID, err)
		}
	}
	p.sets = mergeSets(r.Sets, d.Sets)
	r.OAISets = p.sets
	if !r.Deleted {
		for name, data := range d.Renditions {
			p.renditions = append(p.renditions, rendition{name, data})
		}
		sort.Slice(p.renditions, func(i, j int) bool { return p.renditions[i].name < p.renditions[j].name })
	}
	p.originals = r.Originals
	doc, err := encodeDoc(r)
	if err != nil {
		return nil, fmt.Errorf("store.Prepare %q: %w", r.ID, err)
	}
	p.doc = doc
	p.prov = r.Provenance
	if p.hash, err = contentHash(r.Provenance, doc, r.Originals, p.renditions); err != nil {
		return nil, fmt.Errorf("store.Prepare %q: %w", r.ID, err)
	}
	return p, nil
}

// contentHash hashes what a record says and how it is served, given its
// encoded document: the document, the payloads and the renditions, but not
// when or at which source datestamp it was harvested, so that harvesting or
// importing the same record again finds it unchanged and leaves its
// datestamp alone, while a change of a derived rendition is a change.
//
// The hash is XXH3-128: it detects changes, it does not authenticate, and
// SHA-256 took 5% of a harvest's CPU. Heads written before keep their
// SHA-256 hash (legacyContentHash) until the record changes: a writer
// compares with the hash of the head's kind, so that nothing stored looks
// changed because the function did.
func contentHash(prov []Provenance, doc []byte, originals []Original, rs []rendition) ([16]byte, error) {
	h := xxh3.New128()
	if err := writeContent(h, prov, doc, originals, rs); err != nil {
		return [16]byte{}, err
	}
	return h.Sum128().Bytes(), nil
}

// legacyContentHash is contentHash as heads of version headLegacy hold
// it: the first 16 bytes of a SHA-256.
func legacyContentHash(prov []Provenance, doc []byte, originals []Original, rs []rendition) ([16]byte, error) {
	h := sha256.New()
	if err := writeContent(h, prov, doc, originals, rs); err != nil {
		return [16]byte{}, err
	}
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}

// headHash is the content hash of the kind h holds.
func headHash(h head, prov []Provenance, doc []byte, originals []Original, rs []rendition) ([16]byte, error) {
	if h.legacyHash {
		return legacyContentHash(prov, doc, originals, rs)
	}
	return contentHash(prov, doc, originals, rs)
}

// writeContent writes what the content hash covers: the document up to
// its provenance part (encodeDoc writes it last), the provenance without
// its dates, the payloads and the renditions.
func writeContent(h hash.Hash, prov []Provenance, doc []byte, originals []Original, rs []rendition) error {
	if len(prov) > 0 {
		i := bytes.LastIndex(doc, []byte(`,"provenance":`))
		if i < 0 {
			return errors.New("content hash: document has no provenance")
		}
		doc = doc[:i]
	}
	h.Write(doc)
	for _, p := range prov {
		h.Write([]byte{0})
		h.Write([]byte(p.BaseURL))
		h.Write([]byte{0})
		h.Write([]byte(p.Identifier))
		h.Write([]byte{0})
		h.Write([]byte(p.MetadataNamespace))
		if p.Altered {
			h.Write([]byte{1})
		}
	}
	writeOriginals(h, originals, rs)
	return nil
}

// encodeDoc returns the JSON document of r: what json.Marshal wrote for r
// with Datestamp, OAIIdentifier and Provenance zero, with the provenance
// spliced in last (see contentHash) when there is any. appendDoc (see
// docjson.go) writes it into a pooled buffer, copied out once.
func encodeDoc(r *Record) ([]byte, error) {
	bp := docBuffers.Get().(*[]byte)
	defer docBuffers.Put(bp)
	b, err := appendDoc((*bp)[:0], r)
	*bp = b[:0]
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

var docBuffers = sync.Pool{New: func() any { return new([]byte) }}

func writeOriginals(h hash.Hash, originals []Original, rs []rendition) {
	for _, o := range originals {
		h.Write([]byte{0})
		h.Write([]byte(o.Prefix))
		h.Write([]byte{0})
		h.Write(o.XML)
	}
	for _, r := range rs {
		if strings.HasPrefix(r.name, "~") {
			continue // volatile: see Derived.Renditions
		}
		h.Write([]byte{1})
		h.Write([]byte(r.name))
		h.Write([]byte{1})
		h.Write(r.data)
	}
}

// mergeSets returns the sorted union of explicit and derived leaf sets.
func mergeSets(a, b []string) []string {
	if len(a)+len(b) == 0 {
		return nil
	}
	out := make([]string, 0, len(a)+len(b))
	out = append(out, a...)
	for _, s := range b {
		if ValidSetSpec(s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// indexScopes returns the index scopes of a record version: "s"+set for
// each set and each of its ancestors, and "o"+origin.
func indexScopes(sets []string, origin string) []string {
	var scopes []string
	for _, set := range sets {
		for {
			scopes = append(scopes, "s"+set)
			i := strings.LastIndexByte(set, ':')
			if i < 0 {
				break
			}
			set = set[:i]
		}
	}
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	return append(scopes, "o"+origin)
}

func scopeKey(scope string, seq uint64) []byte {
	if scope[0] == 's' {
		return scopedKey(tableSet, scope[1:], seq)
	}
	return scopedKey(tableOrigin, scope[1:], seq)
}

// CommitOptions are options of one Commit.
type CommitOptions struct {
	// State is node state written in the same atomic batch as the records
	// (e.g. a harvest checkpoint that must not run ahead of them).
	State map[string][]byte
}

type commitRequest struct {
	items   []*Prepared
	opts    CommitOptions
	results []PutResult
	err     error
	done    chan struct{}
}

// Put prepares and commits records in one atomic, synced batch. It is the
// simple form of Prepare plus Commit; either all records are stored or none.
func (s *Store) Put(ctx context.Context, recs ...*Record) ([]PutResult, error) {
	ps := make([]*Prepared, len(recs))
	for i, r := range recs {
		p, err := s.Prepare(r)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return s.Commit(ctx, ps, CommitOptions{})
}

// Delete turns the record into a tombstone that keeps its metadata, with a
// new datestamp. It returns ErrNotFound when there is no such record, and
// Outcome Unchanged when it was already deleted.
func (s *Store) Delete(ctx context.Context, id string) (PutResult, error) {
	p, err := s.Prepare(&Record{ID: id, Deleted: true})
	if err != nil {
		return PutResult{}, err
	}
	res, err := s.Commit(ctx, []*Prepared{p.MustExist()}, CommitOptions{})
	if err != nil {
		return PutResult{}, err
	}
	return res[0], nil
}

// Commit writes prepared records, and opts.State, in one atomic batch that is
// synced before Commit returns: an acknowledged write survives a crash. The
// whole batch fails when a precondition (IfSeq, MustExist) fails.
// Concurrent Commits are grouped into one batch and one sync.
func (s *Store) Commit(ctx context.Context, items []*Prepared, opts CommitOptions) ([]PutResult, error) {
	p, err := s.CommitAsync(ctx, items, opts)
	if err != nil {
		return nil, err
	}
	return p.Wait()
}

// PendingCommit is a commit handed to the committer.
type PendingCommit struct{ req *commitRequest }

// Wait blocks until the commit is durable or failed, and returns its
// results. Once handed over, a commit completes even if the ctx given to
// CommitAsync ends: the caller must learn whether it was stored.
func (p *PendingCommit) Wait() ([]PutResult, error) {
	<-p.req.done
	return p.req.results, p.req.err
}

// CommitAsync hands a commit to the committer and returns without waiting
// for it. Commits are applied in the order of CommitAsync calls, so a bulk
// writer can queue the next batch while the previous one syncs, and both
// share one sync. It blocks only while the committer's queue is full.
func (s *Store) CommitAsync(ctx context.Context, items []*Prepared, opts CommitOptions) (*PendingCommit, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	req := &commitRequest{items: items, opts: opts, done: make(chan struct{})}
	select {
	case s.writes <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.quit:
		return nil, ErrClosed
	}
	return &PendingCommit{req}, nil
}

// commitLoop is the single writer. It owns seq and datestamp assignment.
func (s *Store) commitLoop(lastSeq uint64, lastTS int64) {
	defer close(s.done)
	c := &committer{s: s, seq: lastSeq, ts: lastTS, tKey: lastTS}
	for {
		var reqs []*commitRequest
		select {
		case r := <-s.writes:
			reqs = append(reqs, r)
		case <-s.quit:
			// Finish what was handed over before Close.
			for {
				select {
				case r := <-s.writes:
					c.run([]*commitRequest{r})
				default:
					return
				}
			}
		}
		n := len(reqs[0].items)
	drain:
		for len(reqs) < 64 && n < 8192 {
			select {
			case r := <-s.writes:
				reqs = append(reqs, r)
				n += len(r.items)
			default:
				break drain
			}
		}
		c.run(reqs)
	}
}

// pendingHead is the state of a record written earlier in the same batch.
type pendingHead struct {
	head     head
	origin   string
	sets     []string
	doc      []byte
	payloads []string
}

type committer struct {
	s   *Store
	seq uint64
	ts  int64

	// tKey is the datestamp of the newest T entry: the first seq of a
	// second is recorded once, whichever batch wrote it.
	tKey int64

	batch   *pebble.Batch
	pending map[string]*pendingHead
	// stored holds heads prefetched from the store (nil: no such record).
	stored map[string]*pendingHead
	counts map[string]int64
}

func (c *committer) run(reqs []*commitRequest) {
	s := c.s
	// Size the batch for what it will hold: grown by doubling, a batch of
	// a few thousand records is copied many times over.
	c.batch = s.db.NewBatchWithSize(batchSize(reqs))
	c.pending = make(map[string]*pendingHead)
	c.stored = make(map[string]*pendingHead)
	c.counts = make(map[string]int64)
	if err := c.prefetch(reqs); err != nil {
		c.failAll(reqs, fmt.Errorf("store.Commit: %w", err))
		return
	}
	startSeq, startTS, startTKey := c.seq, c.ts, c.tKey
	restore := func() { c.seq, c.ts, c.tKey = startSeq, startTS, startTKey }
	s.horizon.Lock()
	now := s.cfg.Clock().UTC().Unix()
	c.ts = max(c.ts, now, s.horizon.floor)
	s.horizon.inflight, s.horizon.inflightTS = true, c.ts
	s.horizon.Unlock()
	defer func() {
		// After visible.Store: a Horizon that sees no batch in flight sees
		// this batch's seqs.
		s.horizon.Lock()
		s.horizon.inflight = false
		s.horizon.Unlock()
	}()
	var applied []*commitRequest
	var stats [5]uint64
	for _, req := range reqs {
		// Preconditions first, so a failing request adds nothing.
		if err := c.check(req); err != nil {
			req.err = err
			close(req.done)
			continue
		}
		req.results = make([]PutResult, len(req.items))
		var err error
		for i, p := range req.items {
			if req.results[i], err = c.write(p); err != nil {
				break
			}
		}
		if err != nil {
			// Cannot happen for checked requests except on a corrupt store;
			// fail the whole group rather than commit part of a request.
			c.failAll(reqs, err)
			restore()
			return
		}
		for name, v := range req.opts.State {
			if v == nil {
				_ = c.batch.Delete(metaKey(name), nil)
			} else {
				_ = c.batch.Set(metaKey(name), v, nil)
			}
		}
		for _, r := range req.results {
			stats[r.Outcome]++
		}
		applied = append(applied, req)
	}
	if len(applied) == 0 {
		c.batch.Close()
		restore()
		return
	}
	for k, d := range c.counts {
		if d != 0 {
			_ = c.batch.Merge([]byte(k), counterOperand(d), nil)
		}
	}
	if c.seq == startSeq {
		c.ts = startTS
	}
	sync := pebble.Sync
	if s.cfg.Bulk {
		sync = pebble.NoSync // no log to sync (Config.Bulk)
	}
	err := c.batch.Commit(sync)
	c.batch.Close()
	if err != nil {
		restore()
		err = fmt.Errorf("store.Commit: %w", err)
		s.log.Error("commit failed", "err", err)
		for _, req := range applied {
			req.results, req.err = nil, err
			close(req.done)
		}
		return
	}
	s.stats.batches.Add(1)
	if !s.cfg.Bulk {
		s.stats.syncs.Add(1)
	}
	s.stats.added.Add(stats[Added])
	s.stats.updated.Add(stats[Updated])
	s.stats.unchanged.Add(stats[Unchanged])
	s.stats.deleted.Add(stats[Deleted])
	if c.seq != startSeq {
		s.visible.Store(c.seq)
		s.mu.Lock()
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
	for _, req := range applied {
		close(req.done)
	}
}

// batchSize estimates the bytes a group of requests writes.
func batchSize(reqs []*commitRequest) int {
	n := 0
	for _, req := range reqs {
		for _, p := range req.items {
			// Keys and values of the head, document, entry, change and
			// payloads (the id in four of them), and the set and origin
			// index keys (a set in the head, the entry and up to two
			// index keys with its ancestors).
			n += 256 + 4*len(p.id) + len(p.doc) + 4*len(p.origin)
			for _, s := range p.sets {
				n += 4 * (len(s) + 16)
			}
			for _, r := range p.renditions {
				n += 16 + len(r.name) + len(r.data)
			}
			for _, o := range p.originals {
				n += 32 + len(p.id) + len(o.Prefix) + len(o.XML)
			}
		}
		for name, v := range req.opts.State {
			n += 16 + len(name) + len(v)
		}
	}
	// An estimate a little short costs a copy of the whole batch.
	return n + n/32
}

// failAll fails every request of the group not already answered.
func (c *committer) failAll(reqs []*commitRequest, err error) {
	c.batch.Close()
	for _, r := range reqs {
		select {
		case <-r.done:
			continue
		default:
		}
		r.results, r.err = nil, err
		close(r.done)
	}
}

// check verifies a request's preconditions against the store and the
// batch so far.
func (c *committer) check(req *commitRequest) error {
	seen := map[string]uint64{}
	for _, p := range req.items {
		if !p.hasIfSeq && !p.mustExist {
			continue
		}
		cur, ok := seen[p.id]
		if !ok {
			h, exists, err := c.current(p.id)
			if err != nil {
				return err
			}
			if exists {
				cur = h.head.seq
			}
		}
		if p.mustExist && cur == 0 {
			return fmt.Errorf("store.Commit %q: %w", p.id, ErrNotFound)
		}
		if p.hasIfSeq && cur != p.ifSeq {
			return fmt.Errorf("store.Commit %q: at seq %d, writer expected %d: %w", p.id, cur, p.ifSeq, ErrConflict)
		}
		seen[p.id] = cur + 1 // a later item of this request sees a newer version
	}
	return nil
}

// current returns the record's state as of the batch so far.
func (c *committer) current(id string) (*pendingHead, bool, error) {
	if ph, ok := c.pending[id]; ok {
		return ph, true, nil
	}
	if ph, ok := c.stored[id]; ok {
		return ph, ph != nil, nil
	}
	if !c.s.ids.mayContain(id) {
		return nil, false, nil
	}
	v, closer, err := c.s.db.Get(headKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: read %q: %w", id, err)
	}
	defer closer.Close()
	return decodePendingHead(id, v)
}

// prefetch reads the stored heads of a group's records with one iterator,
// seeking in key order. One iterator per group costs far less than a Get
// per record, which sets up iterators over every overlapping table (bulk
// writes make many); bloom filters answer for new ids either way.
func (c *committer) prefetch(reqs []*commitRequest) error {
	var keys []string
	for _, req := range reqs {
		for _, p := range req.items {
			if c.s.ids.mayContain(p.id) {
				keys = append(keys, p.id)
			} else {
				c.stored[p.id] = nil // certainly new
			}
		}
	}
	if len(keys) < 16 {
		return nil
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	it, err := c.s.db.NewIter(&pebble.IterOptions{LowerBound: headKey(keys[0]), UpperBound: prefixEnd(headKey(keys[len(keys)-1]))})
	if err != nil {
		return err
	}
	for _, id := range keys {
		k := headKey(id)
		if it.SeekPrefixGE(k) && string(it.Key()) == string(k) {
			v, err := it.ValueAndErr()
			if err != nil {
				it.Close()
				return err
			}
			ph, _, err := decodePendingHead(id, v)
			if err != nil {
				it.Close()
				return err
			}
			c.stored[id] = ph
		} else {
			c.stored[id] = nil
		}
	}
	return it.Close()
}

func decodePendingHead(id string, v []byte) (*pendingHead, bool, error) {
	h, rest, err := decodeHead(v)
	if err != nil {
		return nil, false, fmt.Errorf("store: read %q: %w", id, err)
	}
	ph := &pendingHead{head: h}
	if ph.origin, ph.sets, rest, err = decodeScopes(rest); err != nil {
		return nil, false, fmt.Errorf("store: read %q: %w", id, err)
	}
	if len(rest) != 0 {
		return nil, false, fmt.Errorf("store: read %q: %d stray bytes after the head", id, len(rest))
	}
	return ph, true, nil
}

// write adds one record version to the batch.
func (c *committer) write(p *Prepared) (PutResult, error) {
	old, exists, err := c.current(p.id)
	if err != nil {
		return PutResult{}, err
	}
	doc, hash, sets, origin, renditions := p.doc, p.hash, p.sets, p.origin, p.renditions
	if p.tombstone {
		if exists && old.head.deleted {
			return PutResult{ID: p.id, Outcome: Unchanged, Seq: old.head.seq, Datestamp: time.Unix(old.head.datestamp, 0).UTC()}, nil
		}
		if exists {
			if doc, hash, sets, origin, err = c.tombstoneOf(old, p); err != nil {
				return PutResult{}, err
			}
		}
		renditions = nil
	} else if exists && sameContent(old.head, p) {
		return PutResult{ID: p.id, Outcome: Unchanged, Seq: old.head.seq, Datestamp: time.Unix(old.head.datestamp, 0).UTC()}, nil
	}
	c.seq++
	seq := c.seq
	if c.tKey != c.ts {
		_ = c.batch.Set(timeKey(c.ts), binary.BigEndian.AppendUint64(nil, seq), nil)
		c.tKey = c.ts
	}
	h := head{seq: seq, datestamp: c.ts, hash: hash, deleted: p.deleted}
	b := c.batch
	if exists {
		_ = b.Delete(entryKey(old.head.seq), nil)
		for _, sc := range indexScopes(old.sets, old.origin) {
			_ = b.Delete(scopeKey(sc, old.head.seq), nil)
			c.counts[string(countKey(sc, old.head.seq>>blockShift))]--
		}
		c.counts[string(countKey("", old.head.seq>>blockShift))]--
	}
	if exists {
		_ = b.Delete(docKey(old.head.seq), nil)
	}
	val := h.append(make([]byte, 0, headSize+64))
	val = appendScopes(val, origin, sets)
	_ = b.Set(headKey(p.id), val, nil)
	_ = b.Set(docKey(seq), doc, nil)
	// The entry (renditions: kilobytes) is written in place in the batch,
	// not built and then copied.
	op := b.SetDeferred(9, entrySize(p.id, origin, sets, renditions))
	copy(op.Key, entryKey(seq))
	if v := appendEntry(op.Value[:0], c.ts, p.id, p.deleted, origin, sets, renditions); len(v) != len(op.Value) {
		panic(fmt.Sprintf("store: entry of %q is %d bytes, entrySize said %d", p.id, len(v), len(op.Value)))
	}
	_ = op.Finish()
	_ = b.Set(changeKey(seq), []byte(p.id), nil)
	for _, sc := range indexScopes(sets, origin) {
		_ = b.Set(scopeKey(sc, seq), nil, nil)
		c.counts[string(countKey(sc, seq>>blockShift))]++
	}
	c.counts[string(countKey("", seq>>blockShift))]++
	// Payloads: write the new ones, drop prefixes the new version lacks.
	var payloads []string
	if !p.tombstone {
		for _, o := range p.originals {
			_ = b.Set(payloadKey(p.id, o.Prefix), o.XML, nil)
			payloads = append(payloads, o.Prefix)
		}
		if exists {
			for _, old := range old.payloads {
				if !slices.Contains(payloads, old) {
					_ = b.Delete(payloadKey(p.id, old), nil)
				}
			}
			if _, inBatch := c.pending[p.id]; !inBatch {
				if err := c.dropStalePayloads(p.id, payloads); err != nil {
					return PutResult{}, err
				}
			}
		}
	} else if exists {
		payloads = old.payloads
	}
	c.pending[p.id] = &pendingHead{head: h, origin: origin, sets: sets, doc: doc, payloads: payloads}
	if !exists {
		c.s.ids.add(p.id)
	}
	out := Added
	switch {
	case p.deleted:
		out = Deleted
	case exists:
		out = Updated
	}
	return PutResult{ID: p.id, Outcome: out, Seq: seq, Datestamp: time.Unix(c.ts, 0).UTC()}, nil
}

// sameContent reports whether p holds the content of the stored head h,
// comparing hashes of h's kind (see contentHash).
func sameContent(h head, p *Prepared) bool {
	if !h.legacyHash {
		return h.hash == p.hash
	}
	sum, err := legacyContentHash(p.prov, p.doc, p.originals, p.renditions)
	return err == nil && sum == h.hash
}

// dropStalePayloads deletes stored payloads of id whose prefix the new
// version does not have.
func (c *committer) dropStalePayloads(id string, keep []string) error {
	lo := payloadKey(id, "")
	it, err := c.s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		prefix := string(it.Key()[len(lo):])
		if !slices.Contains(keep, prefix) {
			_ = c.batch.Delete(append([]byte(nil), it.Key()...), nil)
		}
	}
	return it.Close()
}

// tombstoneOf turns the stored version into a tombstone: same metadata,
// sets and origin, deleted, with the deletion's provenance if it has any.
func (c *committer) tombstoneOf(old *pendingHead, p *Prepared) (doc []byte, hash [16]byte, sets []string, origin string, err error) {
	if old.doc == nil {
		v, closer, err := c.s.db.Get(docKey(old.head.seq))
		if err != nil {
			return nil, hash, nil, "", fmt.Errorf("store: tombstone %q: document at seq %d: %w", p.id, old.head.seq, err)
		}
		old.doc = append([]byte(nil), v...)
		closer.Close()
	}
	var r Record
	if err = decodeDoc(old.doc, &r); err != nil {
		return nil, hash, nil, "", fmt.Errorf("store: tombstone %q: %w", p.id, err)
	}
	var del Record
	if err = decodeDoc(p.doc, &del); err != nil {
		return nil, hash, nil, "", fmt.Errorf("store: tombstone %q: %w", p.id, err)
	}
	r.Deleted = true
	if len(del.Provenance) > 0 {
		r.Provenance = del.Provenance
	}
	if del.Origin != "" {
		r.Origin = del.Origin
	}
	if doc, err = encodeDoc(&r); err != nil {
		return nil, hash, nil, "", err
	}
	if hash, err = contentHash(r.Provenance, doc, nil, nil); err != nil {
		return nil, hash, nil, "", err
	}
	return doc, hash, old.sets, r.Origin, nil
}

// R values carry the record's origin and leaf sets after the head, so that
// an update finds the index entries to delete with one read.
func appendScopes(b []byte, origin string, sets []string) []byte {
	b = appendString(b, origin)
	b = binary.AppendUvarint(b, uint64(len(sets)))
	for _, s := range sets {
		b = appendString(b, s)
	}
	return b
}

func decodeScopes(b []byte) (origin string, sets []string, rest []byte, err error) {
	o, rest, ok := readBytes(b)
	if !ok {
		return "", nil, nil, fmt.Errorf("origin: %w", errCorrupt)
	}
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)) {
		return "", nil, nil, fmt.Errorf("sets: %w", errCorrupt)
	}
	rest = rest[k:]
	for i := uint64(0); i < n; i++ {
		var s []byte
		if s, rest, ok = readBytes(rest); !ok {
			return "", nil, nil, fmt.Errorf("set: %w", errCorrupt)
		}
		sets = append(sets, string(s))
	}
	return string(o), sets, rest, nil
}
