package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring"
	"github.com/blugelabs/bluge/index"
	"github.com/blugelabs/bluge/index/mergeplan"
	segment "github.com/blugelabs/bluge_segment_api"
)

// ErrClosed is returned by an Index or Service used after Close.
var ErrClosed = errors.New("search index closed")

// shard is one Bluge index in a directory (one generation, see
// generation.go): the writer, and the current view that searches read.
type shard struct {
	dir string
	w   *index.Writer
	ds  *dicts
	log *slog.Logger

	mu     sync.Mutex
	cur    *view
	closed bool

	batches  atomic.Uint64
	turns    *turns
	indexing sync.Mutex
	gate     *gate
}

// gate keeps the CPU-heavy background work of a live index (building a
// segment, merging segments) to one core at a time, so that on a small
// machine the requests that make the writes always find the other. A
// catch-up is not gated: it should use every core.
type gate struct {
	live atomic.Bool
	tok  chan struct{}
}

func newGate() *gate { return &gate{tok: make(chan struct{}, 1)} }

// enter waits for the token when the index is live and returns what
// releases it.
func (g *gate) enter() (release func()) {
	if !g.live.Load() {
		return func() {}
	}
	g.tok <- struct{}{}
	return func() { <-g.tok }
}

// turns orders concurrent batches: the indexer writes two batches at once
// so that two segments are built on two cores, but Bluge must introduce
// them in change order (a later batch's version of a record replaces an
// earlier one's, and the checkpoint must never pass a batch not yet
// written). Each batch gets a number; the segment plugin's New, having
// built the segment, waits until every earlier batch is done before
// letting Bluge introduce it.
type turns struct {
	mu     sync.Mutex
	cond   *sync.Cond
	next   uint64 // the batch whose turn it is
	issued uint64
	err    error
}

func newTurns() *turns {
	t := &turns{next: 1}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// take returns the number of the next batch.
func (t *turns) take() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.issued++
	return t.issued
}

// wait blocks until it is batch n's turn (n 0 never waits).
func (t *turns) wait(n uint64) error {
	if n == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.next != n && t.err == nil {
		t.cond.Wait()
	}
	return t.err
}

// reset settles every turn issued, once no batch is in flight.
func (t *turns) reset() {
	t.mu.Lock()
	t.next, t.err = t.issued+1, nil
	t.cond.Broadcast()
	t.mu.Unlock()
}

// done ends batch n's turn; an error fails every later batch.
func (t *turns) done(n uint64, err error) {
	if n == 0 {
		return
	}
	t.mu.Lock()
	if err != nil && t.err == nil {
		t.err = err
	}
	if t.next == n {
		t.next++
	}
	t.cond.Broadcast()
	t.mu.Unlock()
}

// shardOptions tune the Bluge writer.
type shardOptions struct {
	// mergeMaxSegmentsPerTier is how many segments of a size tier wait
	// before they are merged; more means less merging while indexing and
	// more segments per query.
	mergeMaxSegmentsPerTier int
}

// syncedDirectory is Bluge's file system directory plus a sync of the
// directory after each new file, so that a segment or snapshot file that
// Bluge reports persisted survives a power loss, not only a crash.
type syncedDirectory struct{ *index.FileSystemDirectory }

func (d syncedDirectory) Persist(kind string, id uint64, w index.WriterTo, closeCh chan struct{}) error {
	if err := d.FileSystemDirectory.Persist(kind, id, w, closeCh); err != nil {
		return err
	}
	return d.Sync()
}

func openShard(dir string, opt shardOptions, log *slog.Logger) (*shard, error) {
	ds := newDicts()
	tn := newTurns()
	g := newGate()
	cfg := index.DefaultConfigWithDirectory(func() index.Directory {
		return syncedDirectory{index.NewFileSystemDirectory(dir)}
	})
	cfg = cfg.WithSegmentPlugin(plugin(ds, tn, g)).WithSegmentType(segmentType).WithSegmentVersion(segmentVersion)
	cfg.NormCalc = func(_ string, n int) float32 { return normOf(n) }
	mp := mergeplan.DefaultMergePlanOptions
	if opt.mergeMaxSegmentsPerTier > 0 {
		mp.MaxSegmentsPerTier = opt.mergeMaxSegmentsPerTier
	}
	cfg.MergePlanOptions = mp
	// Documents arrive analysed; Bluge's analysis workers have nothing to do.
	cfg.NumAnalysisWorkers = 1
	cfg.AsyncError = func(err error) { log.Error("search index background error", "dir", dir, "err", err) }
	w, err := index.OpenWriter(cfg)
	if err != nil {
		return nil, fmt.Errorf("search: open index %s: %w", dir, err)
	}
	s := &shard{dir: dir, w: w, ds: ds, log: log, turns: tn, gate: g}
	if err := s.refresh(); err != nil {
		w.Close()
		return nil, err
	}
	return s, nil
}

// normOf is the norm the index stores for a field of n terms. Our scorer
// reads field lengths from the columns, but ice writes a norm's float32
// bits as a uvarint with every posting, so the norm is the float whose
// bits are n (a subnormal, the inverse is math.Float32bits): one or two
// bytes a posting instead of the five a float like 12.0 takes (a third of
// the postings' size).
func normOf(n int) float32 { return math.Float32frombits(uint32(n)) }

// idTerm is a document's update key.
type idTerm string

func (t idTerm) Field() string { return fieldID }
func (t idTerm) Term() []byte  { return []byte(t) }

// apply writes one batch atomically: the documents (replacing earlier
// versions), the deletions, and the checkpoint. It returns when the batch
// is durable, then makes it visible to searches. turn is the batch's
// number from s.turns.take (batches are introduced in that order
// whatever order apply is called in), or 0 when batches are not
// concurrent.
func (s *shard) apply(turn uint64, docs []*document, deletes []string, checkpoint uint64) error {
	b := index.NewBatch()
	for _, d := range docs {
		d.turn = turn
		b.Update(idTerm(d.id), d)
	}
	for _, id := range deletes {
		b.Delete(idTerm(id))
	}
	cp := checkpointDoc(checkpoint)
	cp.turn = turn
	b.Update(idTerm(metaDocID), cp)
	err := s.w.Batch(b)
	s.turns.done(turn, err)
	if err != nil {
		return fmt.Errorf("search: write batch to %s: %w", s.dir, err)
	}
	s.batches.Add(1)
	return s.refresh()
}

// refresh makes the writer's current snapshot the view searches read.
func (s *shard) refresh() error {
	snap, err := s.w.Reader()
	if err != nil {
		return err
	}
	v, err := newView(snap)
	if err != nil {
		snap.Close()
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		v.release()
		return ErrClosed
	}
	old := s.cur
	s.cur = v
	s.mu.Unlock()
	if old != nil {
		old.release()
	}
	return nil
}

// acquire returns the current view with a reference the caller releases.
func (s *shard) acquire() (*view, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	s.cur.refs.Add(1)
	return s.cur, nil
}

// checkpoint returns the highest change seq the index holds.
func (s *shard) checkpoint() uint64 {
	v, err := s.acquire()
	if err != nil {
		return 0
	}
	defer v.release()
	return v.checkpoint
}

func (s *shard) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	v := s.cur
	s.cur = nil
	s.mu.Unlock()
	if v != nil {
		v.release()
	}
	return s.w.Close()
}

// diskBytes returns the size of the index files.
func (s *shard) diskBytes() uint64 {
	_, n := index.NewFileSystemDirectory(s.dir).Stats()
	return n
}

// view is an immutable state of the index: a Bluge snapshot and, per
// segment, its columns and the documents that are live records.
type view struct {
	snap       *index.Snapshot
	segs       []*viewSeg
	checkpoint uint64
	records    uint64 // live records
	refs       atomic.Int32
}

type viewSeg struct {
	seg     segment.Segment
	cols    *columns
	deleted *roaring.Bitmap // nil when none
	live    *roaring.Bitmap // records not deleted
	n       uint64
}

type segmentHolder interface{ Segment() segment.Segment }

func newView(snap *index.Snapshot) (*view, error) {
	v := &view{snap: snap}
	v.refs.Store(1)
	for _, ss := range snap.Segments() {
		h, ok := ss.(segmentHolder)
		if !ok {
			return nil, fmt.Errorf("search: snapshot segment %T has no Segment method", ss)
		}
		seg := h.Segment()
		cols, err := columnsOf(seg)
		if err != nil {
			return nil, err
		}
		vs := &viewSeg{seg: seg, cols: cols, deleted: ss.Deleted(), n: seg.Count()}
		if vs.deleted != nil && vs.deleted.IsEmpty() {
			vs.deleted = nil
		}
		vs.live = roaring.New()
		vs.live.AddRange(0, vs.n)
		if vs.deleted != nil {
			vs.live.AndNot(vs.deleted)
		}
		for _, d := range cols.meta {
			if vs.live.Contains(d) {
				v.checkpoint = max(v.checkpoint, cols.seq(d))
				vs.live.Remove(d)
			}
		}
		v.records += vs.live.GetCardinality()
		v.segs = append(v.segs, vs)
	}
	return v, nil
}

func (v *view) release() {
	if v.refs.Add(-1) == 0 {
		v.snap.Close()
	}
}

// settle waits until Bluge's merger has nothing left to do (no merge ran
// for a while), then refreshes the view. Benchmarks use it to measure
// queries on a merged index rather than on one still merging.
func (s *shard) settle(ctx context.Context) error {
	quiet := 0
	var lastDone uint64
	for quiet < 5 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		st := s.w.Stats()
		idle := st.TotFileMergeLoopBeg == st.TotFileMergeLoopEnd+1 && st.TotFileMergeZapBeg == st.TotFileMergeZapEnd
		if idle && st.TotFileMergePlanTasksDone == lastDone {
			quiet++
		} else {
			quiet = 0
		}
		lastDone = st.TotFileMergePlanTasksDone
	}
	return s.refresh()
}
