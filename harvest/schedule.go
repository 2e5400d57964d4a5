package harvest

import (
	"errors"
	"time"
)

// Start starts the scheduler in the background: every enabled source with
// an Every is harvested when due (at once if it never was), at most
// Config.Concurrency at a time. Start returns at once; Close stops the
// scheduler and the harvests it started. Calling Start again does nothing.
func (h *Harvester) Start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isStarted || h.closed {
		return
	}
	h.isStarted = true
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.schedule()
	}()
}

// Close cancels running harvests (each stops after its commit in
// progress, so its checkpoint matches its records), stops the scheduler
// and waits for all of them. It is safe to call more than once.
func (h *Harvester) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		h.mu.Unlock()
		h.cancel()
		h.wg.Wait()
	})
	return nil
}

// kick wakes the scheduler to look at the sources again.
func (h *Harvester) kick() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *Harvester) schedule() {
	for {
		next := h.launchDue()
		var timer *time.Timer
		var fire <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(max(next.Sub(h.clock()), 0))
			fire = timer.C
		}
		select {
		case <-h.ctx.Done():
		case <-h.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if h.ctx.Err() != nil {
			return
		}
	}
}

// launchDue starts the harvests that are due and returns when the next
// one is (zero: none is scheduled).
func (h *Harvester) launchDue() time.Time {
	now := h.clock()
	h.mu.Lock()
	defer h.mu.Unlock()
	var next time.Time
	for _, e := range h.sources {
		src := e.src
		if !src.Enabled || src.Every <= 0 || e.queued {
			continue
		}
		if _, busy := h.running[src.ID]; busy {
			continue // a manual harvest; its end kicks the scheduler
		}
		due := e.status.NextRun
		if due.IsZero() {
			due = now
			if !e.status.LastStart.IsZero() {
				due = e.status.LastStart.Add(src.Every)
			}
			e.status.NextRun = due
		}
		if due.After(now) {
			if next.IsZero() || due.Before(next) {
				next = due
			}
			continue
		}
		e.queued = true
		h.wg.Add(1)
		go h.scheduled(e, src)
	}
	return next
}

// scheduled runs one scheduled harvest when a concurrency slot is free.
func (h *Harvester) scheduled(e *entry, src Source) {
	defer h.wg.Done()
	defer func() {
		h.mu.Lock()
		e.queued = false
		h.mu.Unlock()
		h.kick()
	}()
	select {
	case h.sem <- struct{}{}:
	case <-h.ctx.Done():
		return
	}
	defer func() { <-h.sem }()
	h.mu.Lock()
	cur, ok := h.sources[src.ID]
	h.mu.Unlock()
	if !ok || cur != e {
		return // removed while it waited
	}
	if _, err := h.HarvestOnce(h.ctx, src, RunOptions{}); err != nil && !errors.Is(err, ErrRunning) && h.ctx.Err() == nil {
		// The status keeps it too.
		h.log.Warn("harvest failed", "source", src.ID, "endpoint", src.BaseURL, "err", err)
	}
}
