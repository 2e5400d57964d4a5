package search

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/colligo/colligo/store"
)

// batch is a run of changes made into documents and deletions.
type batch struct {
	docs       []*document
	deletes    []string
	checkpoint uint64 // the last change seq it covers
	changes    int
	turn       uint64 // its number in sh.turns
	sh         *shard
}

// index applies the changes in (after, until] to the shard that lock
// returns (locked until the unlock it returns is called), in batches of
// at most Config.BatchSize changes. Reading and analysing the records of
// the next batch (Config.Workers goroutines) overlaps with writing the
// current one. It returns the number of records written.
func (s *Service) index(ctx context.Context, lock func() (*shard, func(), error), after, until uint64, progress func(Progress)) (int64, error) {
	if after >= until {
		return 0, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sh, unlock, err := lock()
	if err != nil {
		return 0, err
	}
	ds := sh.ds
	unlock()
	// One indexing job per shard at a time; the turns it issued are
	// settled when it ends, even the batches it dropped.
	sh.indexing.Lock()
	defer sh.indexing.Unlock()
	defer sh.turns.reset()

	// A backlog smaller than a batch (the live indexer following writes)
	// is indexed on one core, its segment builds and merges gated to one
	// at a time (see gate); a catch-up uses every worker and two writers.
	workers, writers := s.cfg.Workers, 2
	live := s.live(after, until)
	if live {
		workers, writers = 1, 1
	}
	sh.gate.live.Store(live)
	builders := make([]*builder, workers)
	for i := range builders {
		builders[i] = newBuilder(ds)
	}
	batches := make(chan *batch, 1)
	prodErr := make(chan error, 1)
	go func() {
		defer close(batches)
		pos := after
		for pos < until {
			changes, err := s.st.Changes(ctx, pos, s.cfg.BatchSize)
			if err != nil {
				prodErr <- err
				return
			}
			for len(changes) > 0 && changes[len(changes)-1].Seq > until {
				changes = changes[:len(changes)-1]
			}
			if len(changes) == 0 {
				break
			}
			b, err := s.build(ctx, builders, changes)
			if err != nil {
				prodErr <- err
				return
			}
			pos = b.checkpoint
			b.sh, b.turn = sh, sh.turns.take()
			select {
			case batches <- b:
			case <-ctx.Done():
				prodErr <- ctx.Err()
				return
			}
		}
		prodErr <- nil
	}()

	// Two writers: while one batch's segment is being built, the next
	// one's is too, on the other core; turns keep them in order.
	start := time.Now()
	var (
		mu       sync.Mutex
		written  int64
		last     time.Time
		firstErr error
		wg       sync.WaitGroup
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				mu.Lock()
				failed := firstErr != nil
				mu.Unlock()
				if failed {
					continue
				}
				sh, unlock, err := lock()
				if err == nil {
					err = sh.apply(b.turn, b.docs, b.deletes, b.checkpoint)
					unlock()
				} else if b.turn != 0 && b.sh != nil {
					b.sh.turns.done(b.turn, err)
				}
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					continue
				}
				written += int64(len(b.docs) + len(b.deletes))
				if progress != nil && (time.Since(last) >= time.Second || b.checkpoint >= until) {
					last = time.Now()
					el := time.Since(start).Seconds()
					progress(Progress{Seq: b.checkpoint, Last: until, Records: written, Rate: float64(written) / max(el, 1e-9), Elapsed: el})
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		<-prodErr
		return written, firstErr
	}
	if err := <-prodErr; err != nil {
		return written, err
	}
	return written, nil
}

// build reads the current state of the records changed and makes their
// documents, in parallel.
func (s *Service) build(ctx context.Context, builders []*builder, changes []store.Change) (*batch, error) {
	seen := make(map[string]struct{}, len(changes))
	ids := make([]string, 0, len(changes))
	for i := len(changes) - 1; i >= 0; i-- {
		if _, ok := seen[changes[i].ID]; !ok {
			seen[changes[i].ID] = struct{}{}
			ids = append(ids, changes[i].ID)
		}
	}
	b := &batch{checkpoint: changes[len(changes)-1].Seq, changes: len(changes)}
	w := len(builders)
	type part struct {
		docs    []*document
		deletes []string
		err     error
	}
	parts := make([]part, w)
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := &parts[i]
			var mine []string
			for j := i; j < len(ids); j += w {
				mine = append(mine, ids[j])
			}
			p.err = s.st.GetMany(ctx, mine, func(j int, rec *store.Record, head store.Head, err error) error {
				switch {
				case errors.Is(err, store.ErrNotFound):
					p.deletes = append(p.deletes, mine[j])
				case err != nil:
					return fmt.Errorf("search: read record %q: %w", mine[j], err)
				case rec.Deleted:
					// Tombstones leave the index: a deleted record is
					// never a hit.
					p.deletes = append(p.deletes, mine[j])
				default:
					p.docs = append(p.docs, builders[i].build(rec, head.Seq))
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	for _, p := range parts {
		if p.err != nil {
			return nil, p.err
		}
		b.docs = append(b.docs, p.docs...)
		b.deletes = append(b.deletes, p.deletes...)
	}
	return b, nil
}
