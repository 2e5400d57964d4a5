package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Rederive runs Config.Derive again on every record and stores those whose
// derived sets or renditions changed, with a new datestamp so that
// harvesters see the change (a set definition or a vocabulary changed, or
// a rendering). It runs beside normal writes: a record written meanwhile
// was derived with the current configuration and is left alone. progress,
// if not nil, is called about once a second with records seen and changed.
func (s *Store) Rederive(ctx context.Context, progress func(done, changed int64)) (done, changed int64, err error) {
	const batchSize = 500
	var batch []*Prepared
	last := time.Now()
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := s.Commit(ctx, batch, CommitOptions{})
		if errors.Is(err, ErrConflict) {
			// Someone wrote one of these records meanwhile: commit the
			// others one by one and leave the rewritten ones alone.
			for _, p := range batch {
				r, err := s.Commit(ctx, []*Prepared{p}, CommitOptions{})
				if errors.Is(err, ErrConflict) {
					continue
				}
				if err != nil {
					return err
				}
				if r[0].Outcome != Unchanged {
					changed++
				}
			}
			batch = batch[:0]
			return nil
		}
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Outcome != Unchanged {
				changed++
			}
		}
		batch = batch[:0]
		return nil
	}
	// The originals, read through one iterator: the walk visits records in
	// id order, and so the payloads (keyed by id) too. A payload written
	// after it was opened belongs to a record rewritten meanwhile, which
	// IfSeq leaves alone.
	payloads, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tablePayload}, UpperBound: []byte{tablePayload + 1}})
	if err != nil {
		return 0, 0, fmt.Errorf("store.Rederive: %w", err)
	}
	defer payloads.Close()
	err = s.ForEachRecord(ctx, func(r *Record, h Head) error {
		done++
		for i := range r.Originals {
			k := payloadKey(r.ID, r.Originals[i].Prefix)
			if !payloads.SeekGE(k) || !bytes.Equal(payloads.Key(), k) {
				if err := payloads.Error(); err != nil {
					return fmt.Errorf("store.Rederive %q: %w", r.ID, err)
				}
				return fmt.Errorf("store.Rederive %q: original %q: %w", r.ID, r.Originals[i].Prefix, ErrNotFound)
			}
			r.Originals[i].XML = bytes.Clone(payloads.Value())
		}
		r.Datestamp, r.OAIIdentifier, r.OAISets = time.Time{}, "", nil
		p, err := s.Prepare(r)
		if err != nil {
			// A record stored under older rules that no longer validates is
			// left as it is and reported.
			s.log.Warn("rederive: record no longer validates; left unchanged", "record", r.ID, "err", err)
			return nil
		}
		batch = append(batch, p.IfSeq(h.Seq))
		if len(batch) >= batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
		if progress != nil && time.Since(last) >= time.Second {
			progress(done, changed)
			last = time.Now()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if progress != nil {
		progress(done, changed)
	}
	if err != nil {
		return done, changed, fmt.Errorf("store.Rederive: %w", err)
	}
	return done, changed, nil
}
