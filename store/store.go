package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
)

// Sentinel errors. Check with errors.Is.
var (
	// ErrNotFound: no record with that id.
	ErrNotFound = errors.New("record not found")
	// ErrConflict: the record changed since the version the writer read.
	ErrConflict = errors.New("record changed concurrently")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
	// ErrLocked: another process holds the data directory.
	ErrLocked = errors.New("data directory is in use by another process")
)

// Config configures a Store.
type Config struct {
	// Dir is the data directory. Required.
	Dir string
	// RepositoryID is the domain-name repositoryIdentifier used to build OAI
	// identifiers (oai:<RepositoryID>:<id>). Default "colligo.localhost".
	RepositoryID string
	// Derive returns the OAI set memberships and the renditions of a record
	// (e.g. its oai_dc XML). It runs in the writer's goroutine before the
	// record is hashed and may fill in derived metadata (concept URIs). Nil
	// means no derived sets and no renditions. It must be deterministic:
	// re-storing unchanged content must derive the same output.
	Derive func(r *Record) (Derived, error)
	// CacheSize is Pebble's block cache in bytes, besides the memtable
	// (128 MiB, a second one while a flush runs, reserved in the same
	// cache). Default 256 MiB. The cache is allocated with C malloc,
	// outside the Go heap; with glibc, the package caps malloc at one
	// arena (see malloc_glibc.go) so that the process stays near this
	// size however the cache churns.
	CacheSize int64
	// Bulk opens the store for a bulk load by the one process that holds
	// the directory (a foreground import or harvest into a stopped data
	// directory): no write-ahead log, and a commit returns once it is in
	// the memtable, without a sync. Commits reach the disk with the
	// memtable flushes, in commit order, so that a crash keeps a prefix of
	// them: the records up to some commit, together with whatever state
	// (a harvest checkpoint) was committed with them, and nothing after.
	// Close flushes. Writing every byte once more to a log cost a 1M
	// record harvest 5% of its time. Its memtables are 256 MiB, not 128.
	Bulk bool
	// Logger receives Pebble's and the store's messages. Nil discards them.
	Logger *slog.Logger
	// Clock returns the current time; a test seam. Default time.Now.
	Clock func() time.Time

	memTableSize uint64 // a test seam; default 128 MiB
}

// Derived is what Config.Derive makes of a record.
type Derived struct {
	// Sets are the record's leaf set memberships (explicit, configured and
	// automatic). Ancestor sets ("a" for "a:b") are indexed automatically.
	Sets []string
	// Renditions maps a format name to bytes a reader serves without
	// decoding the record (a provider's oai_dc XML). They are part of the
	// content hash, except those whose name starts with "~": volatile
	// renditions made from what the hash deliberately ignores (harvest
	// dates, source datestamps), so that re-harvesting unchanged content
	// leaves the record, and its old volatile renditions, unchanged.
	Renditions map[string][]byte
}

// Store is the record store: records, their OAI view and secondary indexes,
// and the change log, in one Pebble database. It is safe for concurrent use.
// Writes go through one committer goroutine, which assigns sequence numbers
// and datestamps, groups concurrent writes into one synced batch, and
// notifies change-feed waiters. Close stops it.
type Store struct {
	cfg Config
	db  *pebble.DB
	log *slog.Logger

	writes chan *commitRequest
	quit   chan struct{}
	done   chan struct{}
	closed atomic.Bool
	once   sync.Once

	// visible is the highest seq whose batch has been applied.
	visible atomic.Uint64
	// ids filters ids that were never stored; the committer owns it.
	ids *idFilter

	mu      sync.Mutex
	changed chan struct{} // closed and replaced after each commit

	// horizon guards what Horizon promises: inflight is set, with a lower
	// bound of its datestamp, while a batch is assigned datestamps and
	// until it is visible; floor is the highest datestamp Horizon returned,
	// below which no later batch is stamped.
	horizon struct {
		sync.Mutex
		inflight   bool
		inflightTS int64
		floor      int64
	}

	stats struct {
		added, updated, unchanged, deleted atomic.Uint64
		batches, syncs                     atomic.Uint64
	}
}

// Open opens (creating if needed) the store in cfg.Dir. It returns an error
// wrapping ErrLocked when another process holds the directory.
func Open(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("store.Open: Config.Dir is empty")
	}
	if cfg.RepositoryID == "" {
		cfg.RepositoryID = "colligo.localhost"
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 256 << 20
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "store")
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("store.Open %q: %w", cfg.Dir, err)
	}
	// Pebble reserves the memory of every live memtable out of the block
	// cache. With the cache alone at CacheSize, two 128 MiB memtables (the
	// one being written and the one being flushed, the usual state under
	// a bulk write) left it empty: every read, bloom filters included,
	// went to the file. The cache gets room for the memtable that is
	// always there on top: blocks keep CacheSize while no flush runs, and
	// CacheSize less a memtable during one.
	const blobBlockSize = 8 << 10
	memTableSize := uint64(128 << 20)
	if cfg.Bulk {
		// A bulk load flushes twice as much at a time, so that the
		// compactions of flushed tables into the levels below, where
		// the heads and payloads keyed by random ids overlap everything,
		// rewrite those levels half as often: a 1M-record harvest took
		// 10% less CPU, for ~250 MB more memory (two memtables while one
		// flushes).
		memTableSize = 256 << 20
	}
	if cfg.memTableSize != 0 {
		memTableSize = cfg.memTableSize
	}
	cache := pebble.NewCache(cfg.CacheSize + int64(memTableSize))
	defer cache.Unref()
	opts := &pebble.Options{
		FormatMajorVersion:          pebble.FormatNewest,
		Merger:                      counterMerger,
		Cache:                       cache,
		MemTableSize:                memTableSize,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       8,
		L0StopWritesThreshold:       48,
		LBaseMaxBytes:               512 << 20,
		Logger:                      pebbleLogger{log},
	}
	opts.CompactionConcurrencyRange = func() (int, int) { return 1, 2 }
	opts.TargetFileSizes[0] = 16 << 20
	// Flushes write the blob files with L0's options, and compactions
	// keep them (they move references). Blocks of 8 KiB instead of 4 hold
	// a few values rather than one or two, so that compression finds
	// more of what records share: a data directory harvested from 1M
	// records takes 2.7 GB instead of 4.1, and ListRecords reads more
	// records a second (140-147k against 124k). Larger blocks saved more
	// (on the same code, a 1M harvest took 52.0 s with 16 KiB blocks,
	// 2.3 GB, against 54.8 s with 4 KiB) but a random read decompresses a
	// whole block: a GetRecord's entry read went from 19 to 28 µs and
	// the GetRecord p99 at 16 clients past 5 ms. L0 tables are
	// short-lived; lower levels keep 4 KiB blocks for point lookups of
	// heads.
	opts.Levels[0].BlockSize = blobBlockSize
	for i := range opts.Levels {
		// Writers look up every record id before writing it; most imported
		// and harvested ids are new, and a bloom filter answers those
		// without reading a block.
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		opts.Levels[i].FilterType = pebble.TableFilter
		// MinLZ: Snappy's ratio on our values for less CPU.
		opts.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.MinLZCompression }
	}
	// Value separation: documents and renditions (hundreds of bytes to
	// kilobytes) go to blob files when flushed and compactions move only
	// references to them, so bulk writes do not rewrite every value at
	// every level (it halved the CPU of a 1M-record import).
	opts.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
		return pebble.ValueSeparationPolicy{Enabled: true, MinimumSize: 512, MaxBlobReferenceDepth: 10, RewriteMinimumAge: 10 * time.Minute, TargetGarbageRatio: 0.3}
	}
	opts.DisableWAL = cfg.Bulk
	opts.EnsureDefaults()
	db, err := pebble.Open(cfg.Dir, opts)
	if err != nil {
		if isLockError(err) {
			return nil, fmt.Errorf("store.Open %q: %w", cfg.Dir, ErrLocked)
		}
		return nil, fmt.Errorf("store.Open %q: %w", cfg.Dir, err)
	}
	s := &Store{
		cfg:     cfg,
		db:      db,
		log:     log,
		writes:  make(chan *commitRequest, 64),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		changed: make(chan struct{}),
	}
	last, lastTS, err := s.lastSeq()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store.Open %q: %w", cfg.Dir, err)
	}
	s.visible.Store(last)
	if s.ids, err = s.loadIDs(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store.Open %q: %w", cfg.Dir, err)
	}
	go s.commitLoop(last, lastTS)
	return s, nil
}

// loadIDs builds the filter of stored record ids from the head table.
func (s *Store) loadIDs() (*idFilter, error) {
	n, err := s.Count(context.Background(), Query{})
	if err != nil {
		return nil, err
	}
	f := newIDFilter(int(n) * 2)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tableHead}, UpperBound: []byte{tableHead + 1}})
	if err != nil {
		return nil, err
	}
	for it.First(); it.Valid(); it.Next() {
		f.add(string(it.Key()[1:]))
	}
	return f, it.Close()
}

// isLockError recognises Pebble's failure to take the directory lock
// (flock answers EAGAIN when another process holds it).
func isLockError(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) ||
		strings.Contains(err.Error(), "resource temporarily unavailable") ||
		strings.Contains(err.Error(), "lock held by current process")
}

// lastSeq reads the highest change seq and the datestamp of the newest
// entry, so the committer continues both after a restart.
func (s *Store) lastSeq() (uint64, int64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tableChange}, UpperBound: []byte{tableChange + 1}})
	if err != nil {
		return 0, 0, err
	}
	var seq uint64
	if it.Last() {
		seq = binary.BigEndian.Uint64(it.Key()[1:])
	}
	if err := it.Close(); err != nil {
		return 0, 0, err
	}
	it, err = s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tableTime}, UpperBound: []byte{tableTime + 1}})
	if err != nil {
		return 0, 0, err
	}
	var ts int64
	if it.Last() {
		ts = int64(binary.BigEndian.Uint64(it.Key()[1:]))
	}
	return seq, ts, it.Close()
}

// RepositoryID returns the repositoryIdentifier the store builds OAI
// identifiers with.
func (s *Store) RepositoryID() string { return s.cfg.RepositoryID }

// OAIIdentifier returns oai:<repositoryIdentifier>:<id>.
func (s *Store) OAIIdentifier(id string) string { return "oai:" + s.cfg.RepositoryID + ":" + id }

// LastSeq returns the highest change seq whose write is visible to readers.
func (s *Store) LastSeq() uint64 { return s.visible.Load() }

// Close stops the committer, waits for pending writes and closes the
// database. It is safe to call more than once; the first error is returned.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.quit)
		<-s.done
		if s.cfg.Bulk {
			// Without a log, what is not flushed is lost.
			if ferr := s.db.Flush(); ferr != nil {
				err = fmt.Errorf("store.Close %q: flush: %w", s.cfg.Dir, ferr)
			}
		}
		if cerr := s.db.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

// Stats are counters since Open.
type Stats struct {
	Added, Updated, Unchanged, Deleted uint64
	// Batches is the number of committed batches; Syncs the synced ones.
	Batches, Syncs uint64
	LastSeq        uint64
	// DiskBytes is the size of the database files.
	DiskBytes uint64
}

// Stats returns counters for metrics.
func (s *Store) Stats() Stats {
	m := s.db.Metrics()
	return Stats{
		Added:     s.stats.added.Load(),
		Updated:   s.stats.updated.Load(),
		Unchanged: s.stats.unchanged.Load(),
		Deleted:   s.stats.deleted.Load(),
		Batches:   s.stats.batches.Load(),
		Syncs:     s.stats.syncs.Load(),
		LastSeq:   s.visible.Load(),
		DiskBytes: m.DiskSpaceUsage(),
	}
}

// Checkpoint writes a consistent copy of the open database into dir, which
// must not exist. The node keeps serving while it runs.
func (s *Store) Checkpoint(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("store.Checkpoint %q: destination exists", dir)
	}
	if err := s.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("store.Checkpoint %q: %w", dir, err)
	}
	return nil
}

// Restore copies the checkpoint in src into dst, which must be empty or
// missing, and checks that the copy opens. It does not need a running node.
func Restore(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(src + "/MANIFEST-000001"); err != nil {
		if matches, _ := globManifest(src); len(matches) == 0 {
			return fmt.Errorf("store.Restore: %q is not a checkpoint (no MANIFEST)", src)
		}
	}
	if ents, err := os.ReadDir(dst); err == nil && len(ents) > 0 {
		return fmt.Errorf("store.Restore: destination %q is not empty", dst)
	}
	if err := os.MkdirAll(dst, 0o750); err != nil {
		return fmt.Errorf("store.Restore %q: %w", dst, err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("store.Restore %q: %w", src, err)
	}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() {
			continue
		}
		if err := copyFile(src+"/"+e.Name(), dst+"/"+e.Name()); err != nil {
			return fmt.Errorf("store.Restore: %w", err)
		}
	}
	if err := syncDir(dst); err != nil {
		return fmt.Errorf("store.Restore: %w", err)
	}
	s, err := Open(Config{Dir: dst})
	if err != nil {
		return fmt.Errorf("store.Restore: copy does not open: %w", err)
	}
	return s.Close()
}

func globManifest(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if len(e.Name()) > 9 && e.Name()[:9] == "MANIFEST-" {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %q: %w", src, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("sync %q: %w", dst, err)
	}
	return out.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// GetState returns the value of a named piece of node state (a harvest
// checkpoint, a signing key), or nil when it is not set.
func (s *Store) GetState(name string) ([]byte, error) {
	v, closer, err := s.db.Get(metaKey(name))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store.GetState %q: %w", name, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// SetState stores a named piece of node state, synced. Writers that must
// keep state consistent with records pass it in CommitOptions.State instead.
func (s *Store) SetState(ctx context.Context, name string, value []byte) error {
	_, err := s.Commit(ctx, nil, CommitOptions{State: map[string][]byte{name: value}})
	return err
}

// StateNames lists the names of node state entries that start with prefix.
func (s *Store) StateNames(prefix string) ([]string, error) {
	lo := metaKey(prefix)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return nil, err
	}
	var names []string
	for it.First(); it.Valid(); it.Next() {
		names = append(names, string(it.Key()[1:]))
	}
	return names, it.Close()
}

type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg)
	panic("pebble: " + msg)
}

// counterMerger adds little-endian int64 operands: the N table's block
// counters are updated with Merge in the same batch as the entries they count.
var counterMerger = &pebble.Merger{
	Name: "colligo.counter.v1",
	Merge: func(key, value []byte) (pebble.ValueMerger, error) {
		c := &counterValue{}
		return c, c.add(value)
	},
}

type counterValue struct{ n int64 }

func (c *counterValue) add(v []byte) error {
	if len(v) != 8 {
		return fmt.Errorf("counter operand of %d bytes: %w", len(v), errCorrupt)
	}
	c.n += int64(binary.LittleEndian.Uint64(v))
	return nil
}
func (c *counterValue) MergeNewer(v []byte) error { return c.add(v) }
func (c *counterValue) MergeOlder(v []byte) error { return c.add(v) }
func (c *counterValue) Finish(bool) ([]byte, io.Closer, error) {
	return binary.LittleEndian.AppendUint64(nil, uint64(c.n)), nil, nil
}

func counterOperand(d int64) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(d)) }
