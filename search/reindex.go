package search

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
)

// ErrReindexing is returned by Reindex while another rebuild runs.
var ErrReindexing = errors.New("a reindex is already running")

// Reindex rebuilds the index from the store into a new generation while
// the current one keeps serving searches and following writes; when the
// new generation has caught up it replaces the current one atomically
// (the CURRENT file) and the old one is removed. progress, if not nil, is
// called about once a second. If ctx ends or the rebuild fails, the
// current generation stays and the new one is removed.
func (s *Service) Reindex(ctx context.Context, progress func(Progress)) error {
	if !s.reindexing.TryLock() {
		return ErrReindexing
	}
	defer s.reindexing.Unlock()
	gen, err := s.newGeneration()
	if err != nil {
		return err
	}
	dir := genDir(s.cfg.Dir, gen)
	sh, err := openShard(dir, shardOptions{mergeMaxSegmentsPerTier: s.cfg.SegmentsPerTier}, s.log)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	fail := func(err error) error {
		sh.close()
		os.RemoveAll(dir)
		return err
	}
	own := func() (*shard, func(), error) { return sh, func() {}, nil }
	s.log.Info("search reindex started", "dir", dir, "last_seq", s.st.LastSeq())
	if _, err := s.index(ctx, own, 0, s.st.LastSeq(), progress); err != nil {
		return fail(fmt.Errorf("search: reindex: %w", err))
	}
	// Catch up with what was written meanwhile, then swap while no batch
	// is written to the old generation.
	if _, err := s.index(ctx, own, sh.checkpoint(), s.st.LastSeq(), nil); err != nil {
		return fail(fmt.Errorf("search: reindex: %w", err))
	}
	s.wmu.Lock()
	if _, err := s.index(ctx, own, sh.checkpoint(), s.st.LastSeq(), progress); err != nil {
		s.wmu.Unlock()
		return fail(fmt.Errorf("search: reindex: %w", err))
	}
	s.mu.Lock()
	old := s.cur
	if old == nil {
		s.mu.Unlock()
		s.wmu.Unlock()
		return fail(ErrClosed)
	}
	if err := writeCurrent(s.cfg.Dir, gen); err != nil {
		s.mu.Unlock()
		s.wmu.Unlock()
		return fail(err)
	}
	s.cur, s.gen = sh, gen
	s.mu.Unlock()
	s.wmu.Unlock()
	if err := old.close(); err != nil {
		s.log.Warn("closing the old search index generation", "dir", old.dir, "err", err)
	}
	if err := os.RemoveAll(old.dir); err != nil {
		s.log.Warn("removing the old search index generation", "dir", old.dir, "err", err)
	}
	s.log.Info("search reindex finished", "dir", dir, "checkpoint", sh.checkpoint())
	debug.FreeOSMemory()
	return nil
}
