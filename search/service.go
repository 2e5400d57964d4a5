package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/colligo/colligo/store"
)

// Store is what the search index reads from the record store: the change
// feed and records. *store.Store implements it; search never writes it.
type Store interface {
	GetWithHead(ctx context.Context, id string) (*store.Record, store.Head, error)
	GetMany(ctx context.Context, ids []string, fn func(i int, r *store.Record, h store.Head, err error) error) error
	Changes(ctx context.Context, after uint64, max int) ([]store.Change, error)
	WaitSeq(ctx context.Context, after uint64) error
	LastSeq() uint64
}

// Options are what a Service gets besides its Config.
type Options struct {
	// Logger receives the service's messages; nil discards them.
	Logger *slog.Logger
	// Registry receives the service's metrics; nil registers none.
	Registry prometheus.Registerer
	// RecordURL returns the landing page of a record; nil gives
	// "/records/<id>".
	RecordURL func(id string) string
	// Expander widens query words to concepts (issue 9); nil for none.
	Expander Expander
	// BaseURL is the node's public URL (feeds and the OpenSearch
	// description give absolute links); SiteName names it.
	BaseURL  string
	SiteName string
	// Fanout answers scope=live searches (issue 8); nil: scope=live is a
	// local search. FanoutTimeout bounds the peers' answers (default 2s).
	Fanout        Fanout
	FanoutTimeout time.Duration
	// OriginStatus marks hits of peers that are not alive; nil marks none.
	OriginStatus OriginStatus
	// Labeler names the concept values of the type and subject facets in
	// the request's language (issue 9); nil leaves them unnamed.
	Labeler Labeler
}

// Service is the search index of a node: it follows the store's change
// feed into the current index generation and answers searches from it.
// Start runs the indexer; Close stops it and closes the index.
type Service struct {
	cfg Config
	st  Store
	opt Options
	log *slog.Logger

	// wmu guards the current generation against a swap while batches are
	// written to it: batches hold it for reading, a swap (end of a
	// reindex, Close) for writing.
	wmu sync.RWMutex
	mu  sync.RWMutex
	cur *shard
	gen int

	reindexing sync.Mutex

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	metrics *metrics
}

// schemaVersion is the version of what the index holds: fields, analysis,
// columns. An index of another version is rebuilt at Open.
//
// 2: norms hold the field length as the bits of a float32 (normOf).
// 3: identifiers, ORCIDs and cluster keys are lookup keys in the columns
// (lookupSeed), not terms.
// 4: so is the record id.
const schemaVersion = 4

const currentFile = "CURRENT"

// Open opens the current generation of the index in cfg.Dir, creating it
// when there is none or when it was built by another schema version.
func Open(cfg Config, st Store, opt Options) (*Service, error) {
	if cfg.Dir == "" {
		return nil, errors.New("search.Open: Config.Dir is empty")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opt.SiteName == "" {
		opt.SiteName = "Colligo"
	}
	if opt.RecordURL == nil {
		opt.RecordURL = func(id string) string { return "/records/" + id }
	}
	s := &Service{cfg: cfg, st: st, opt: opt, log: log.With("component", "search")}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("search.Open %s: %w", cfg.Dir, err)
	}
	gen, err := readCurrent(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if gen > 0 {
		if v, err := os.ReadFile(filepath.Join(genDir(cfg.Dir, gen), "schema")); err != nil || strings.TrimSpace(string(v)) != strconv.Itoa(schemaVersion) {
			s.log.Warn("search index has another schema version: rebuilding it", "dir", genDir(cfg.Dir, gen), "want", schemaVersion)
			gen = 0
		}
	}
	if gen == 0 {
		gen, err = s.newGeneration()
		if err != nil {
			return nil, err
		}
		if err := writeCurrent(cfg.Dir, gen); err != nil {
			return nil, err
		}
	}
	sh, err := openShard(genDir(cfg.Dir, gen), shardOptions{mergeMaxSegmentsPerTier: cfg.SegmentsPerTier}, s.log)
	if err != nil {
		return nil, err
	}
	s.cur, s.gen = sh, gen
	s.removeOtherGenerations(gen)
	if opt.Registry != nil {
		s.metrics = newMetrics(s)
		if err := opt.Registry.Register(s.metrics); err != nil {
			sh.close()
			return nil, fmt.Errorf("search.Open: metrics: %w", err)
		}
	}
	return s, nil
}

func genDir(dir string, gen int) string { return filepath.Join(dir, fmt.Sprintf("g%06d", gen)) }

func readCurrent(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, currentFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("search: read %s: %w", filepath.Join(dir, currentFile), err)
	}
	name := strings.TrimSpace(string(b))
	n, err := strconv.Atoi(strings.TrimPrefix(name, "g"))
	if err != nil || n <= 0 || !strings.HasPrefix(name, "g") {
		return 0, fmt.Errorf("search: %s names no generation: %q", filepath.Join(dir, currentFile), name)
	}
	if _, err := os.Stat(genDir(dir, n)); err != nil {
		return 0, nil
	}
	return n, nil
}

// writeCurrent points CURRENT at a generation, atomically and durably.
func writeCurrent(dir string, gen int) error {
	path := filepath.Join(dir, currentFile)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("search: write %s: %w", path, err)
	}
	_, err = fmt.Fprintf(f, "g%06d\n", gen)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("search: write %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// newGeneration makes the directory of the next generation.
func (s *Service) newGeneration() (int, error) {
	ents, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return 0, fmt.Errorf("search: %w", err)
	}
	gen := 0
	for _, e := range ents {
		if n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "g")); err == nil && strings.HasPrefix(e.Name(), "g") && n > gen {
			gen = n
		}
	}
	gen++
	dir := genDir(s.cfg.Dir, gen)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, fmt.Errorf("search: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "schema"), []byte(strconv.Itoa(schemaVersion)+"\n"), 0o640); err != nil {
		return 0, fmt.Errorf("search: %w", err)
	}
	return gen, nil
}

// removeOtherGenerations deletes what an interrupted reindex or a swap
// left behind.
func (s *Service) removeOtherGenerations(keep int) {
	ents, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "g") && e.Name() != filepath.Base(genDir(s.cfg.Dir, keep)) {
			if err := os.RemoveAll(filepath.Join(s.cfg.Dir, e.Name())); err != nil {
				s.log.Warn("cannot remove an old search index generation", "dir", e.Name(), "err", err)
			}
		}
	}
}

// shard returns the current index generation.
func (s *Service) shard() (*shard, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.cur == nil {
		return nil, ErrClosed
	}
	return s.cur, nil
}

// Checkpoint returns the highest change seq the index holds.
func (s *Service) Checkpoint() uint64 {
	sh, err := s.shard()
	if err != nil {
		return 0
	}
	return sh.checkpoint()
}

// Start runs the indexer in the background until Close.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.Run(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, store.ErrClosed) && !errors.Is(err, ErrClosed) {
			s.log.Error("search indexer stopped", "err", err)
		}
	}()
}

// Close stops the indexer started by Start, waits for it, and closes the
// index. It is safe to call more than once.
func (s *Service) Close() error {
	var err error
	s.once.Do(func() {
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
		s.wmu.Lock()
		s.mu.Lock()
		sh := s.cur
		s.cur = nil
		s.mu.Unlock()
		s.wmu.Unlock()
		if sh != nil {
			err = sh.close()
		}
	})
	return err
}

// Run follows the change feed into the index until ctx ends: it indexes
// what the store holds beyond the checkpoint, then waits for writes.
func (s *Service) Run(ctx context.Context) error {
	ticker := time.NewTicker(10 * time.Second)
	defer ticker.Stop()
	var caughtUp int64 // records indexed since the indexer last waited
	var lastFollow time.Time
	for {
		sh, err := s.shard()
		if err != nil {
			return err
		}
		after := sh.checkpoint()
		if last := s.st.LastSeq(); last > after {
			// Under a steady stream of small writes, gather them for a
			// moment rather than make (and sync, and merge) a segment of
			// a few records each time: a write arriving after a quiet
			// spell is indexed at once.
			if wait := followEvery - time.Since(lastFollow); wait > 0 && s.live(after, last) {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			lastFollow = time.Now()
			n, err := s.follow(ctx, nil)
			if err != nil && !errors.Is(err, errSwapped) {
				return err
			}
			caughtUp += n
			continue
		}
		if caughtUp >= releaseAfter {
			debug.FreeOSMemory()
		}
		caughtUp = 0
		wctx, cancel := context.WithCancel(ctx)
		werr := make(chan error, 1)
		go func() { werr <- s.st.WaitSeq(wctx, after) }()
		select {
		case err := <-werr:
			cancel()
			if err != nil {
				return err
			}
		case <-ticker.C:
			// Idle: let searches see what Bluge merged meanwhile.
			cancel()
			<-werr
			if err := sh.refresh(); err != nil {
				return err
			}
		case <-ctx.Done():
			cancel()
			<-werr
			return ctx.Err()
		}
	}
}

// followEvery is the shortest interval between two runs of the live
// indexer while writes keep coming.
const followEvery = 100 * time.Millisecond

// releaseAfter is the number of records after whose indexing the indexer,
// once it has caught up, hands the memory it used back to the system
// (debug.FreeOSMemory). Catching up on a large backlog (a first start, an
// import while the node runs) keeps ~200 MB of batches and segment
// builders live and leaves several times that in garbage at the serving
// node's GOGC; the runtime would return it only minutes later, and only
// after its next collection, which an idle node may not run for two
// minutes.
const releaseAfter = 100_000

// live reports whether the changes in (after, until] are few enough to
// be indexed as the live indexer does (see index and gate) rather than as
// a catch-up.
func (s *Service) live(after, until uint64) bool {
	return until-after < uint64(s.cfg.BatchSize)
}

// CatchUp indexes every change the store holds now, then returns. The CLI
// uses it before searching a stopped data directory.
func (s *Service) CatchUp(ctx context.Context, progress func(Progress)) error {
	_, err := s.follow(ctx, progress)
	return err
}

// Progress reports an indexing job.
type Progress struct {
	// Seq is the change seq indexed so far, of Last.
	Seq  uint64 `json:"seq"`
	Last uint64 `json:"last"`
	// Records is the number of records (documents and deletions) written.
	Records int64   `json:"records"`
	Rate    float64 `json:"rate"` // records per second
	Elapsed float64 `json:"elapsed"`
}

// follow indexes the current shard up to the store's LastSeq at the call.
func (s *Service) follow(ctx context.Context, progress func(Progress)) (int64, error) {
	sh, err := s.shard()
	if err != nil {
		return 0, err
	}
	until := s.st.LastSeq()
	return s.index(ctx, func() (*shard, func(), error) {
		s.wmu.RLock()
		cur, err := s.shard()
		if err != nil {
			s.wmu.RUnlock()
			return nil, nil, err
		}
		if cur != sh {
			s.wmu.RUnlock()
			return nil, nil, errSwapped
		}
		return sh, s.wmu.RUnlock, nil
	}, sh.checkpoint(), until, progress)
}

var errSwapped = errors.New("search: index generation swapped")
