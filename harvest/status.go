package harvest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/colligo/colligo/store"
)

// Status is the state of a source: its last harvest and the next one.
type Status struct {
	Running   bool      `json:"running"`
	LastStart time.Time `json:"last_start,omitzero"`
	// LastSuccess is when the last harvest that completed ended.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastError is why the last failed harvest failed, LastErrorURL the
	// request that failed (when one did).
	LastError    string    `json:"last_error,omitempty"`
	LastErrorURL string    `json:"last_error_url,omitempty"`
	LastErrorAt  time.Time `json:"last_error_at,omitzero"`
	// Counts and Seconds are those of the last harvest, or of the one
	// running.
	Counts
	Seconds  float64  `json:"duration_seconds"`
	Mode     string   `json:"mode,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// NextRun is when the scheduler harvests the source next (zero:
	// manual only, or disabled).
	NextRun time.Time `json:"next_run,omitzero"`
}

// SourceStatus is a source with its status, as /api/sources and
// `colligo sources` show it.
type SourceStatus struct {
	Source
	// Config is set for sources defined in the config file.
	Config bool   `json:"config"`
	Status Status `json:"status"`
}

// MarshalJSON flattens the source's fields next to config and status.
func (s SourceStatus) MarshalJSON() ([]byte, error) {
	b, err := s.Source.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["config"] = s.Config
	m["status"] = s.Status
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *SourceStatus) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if v, ok := m["config"]; ok {
		if err := json.Unmarshal(v, &s.Config); err != nil {
			return err
		}
	}
	if v, ok := m["status"]; ok {
		if err := json.Unmarshal(v, &s.Status); err != nil {
			return err
		}
	}
	delete(m, "config")
	delete(m, "status")
	rest, _ := json.Marshal(m)
	return s.Source.UnmarshalJSON(rest)
}

func (h *Harvester) loadStatus(id string) (Status, error) {
	var st Status
	b, err := h.st.GetState(stateStatus + id)
	if err != nil || b == nil {
		return st, err
	}
	err = json.Unmarshal(b, &st)
	return st, err
}

// started marks a source's harvest as running.
func (h *Harvester) started(src Source, r *run) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if j, ok := h.running[src.ID]; ok {
		j.run = r
	}
	if e, ok := h.sources[src.ID]; ok {
		e.status.Running = true
		e.status.LastStart = h.clock().UTC().Truncate(time.Second)
	}
}

// finished records a harvest's outcome in the source's status (in memory
// and in the store, so that `colligo sources` shows it on a stopped node)
// and logs it.
func (h *Harvester) finished(src Source, res *Result, err error) {
	now := h.clock().UTC().Truncate(time.Second)
	h.mu.Lock()
	e, known := h.sources[src.ID]
	var st Status
	if known {
		st = e.status
	} else {
		st, _ = h.loadStatus(src.ID)
	}
	st.Running = false
	st.LastStart = res.Start
	st.Counts, st.Seconds, st.Mode, st.Warnings = res.Counts, res.Seconds, res.Mode, res.Warnings
	if err == nil {
		st.LastSuccess = now
	} else {
		st.LastError, st.LastErrorAt, st.LastErrorURL = err.Error(), now, ""
		var he *Error
		if errors.As(err, &he) {
			st.LastErrorURL = he.URL
		}
	}
	if known {
		if src.Every > 0 && src.Enabled {
			st.NextRun = res.Start.Add(src.Every)
		}
		e.status = st
		e.totals.add(res.Counts)
		e.runs++
		if err != nil {
			e.errs++
		}
	}
	h.mu.Unlock()
	b, _ := json.Marshal(st)
	// The status must be written even when the harvest's ctx ended.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := h.st.SetState(ctx, stateStatus+src.ID, b); serr != nil {
		h.log.Warn("could not store a harvest status", "source", src.ID, "err", serr)
	}
	h.kick()
	if err == nil {
		h.log.Info("harvest finished", "source", src.ID, "mode", res.Mode, "records", res.Records, "added", res.Added,
			"updated", res.Updated, "unchanged", res.Unchanged, "deleted", res.Deleted, "rejected", res.Rejected,
			"warnings", len(res.Warnings), "seconds", res.Seconds)
	}
}

// Sources returns the known sources with their status, sorted by id.
func (h *Harvester) Sources() []SourceStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]SourceStatus, 0, len(h.sources))
	for _, e := range h.sources {
		st := e.status
		if j, ok := h.running[e.src.ID]; ok {
			st.Running = true
			if j.run != nil {
				// The counts of the harvest in progress.
				res := j.run.snapshot()
				st.Counts, st.Seconds, st.Mode = res.Counts, res.Seconds, res.Mode
			}
		}
		out = append(out, SourceStatus{Source: e.src, Config: e.fromConfig, Status: st})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Source returns one source with its status, or ErrUnknownSource.
func (h *Harvester) Source(id string) (SourceStatus, error) {
	for _, s := range h.Sources() {
		if s.ID == id {
			return s, nil
		}
	}
	return SourceStatus{}, fmt.Errorf("source %q: %w", id, ErrUnknownSource)
}

// AddSource validates src (after WithDefaults), stores it and schedules
// it. It returns the source as stored; ErrSourceExists when the id is
// taken.
func (h *Harvester) AddSource(ctx context.Context, src Source) (Source, error) {
	src = src.WithDefaults()
	if err := src.Validate(); err != nil {
		return src, err
	}
	h.mu.Lock()
	if _, ok := h.sources[src.ID]; ok {
		h.mu.Unlock()
		return src, fmt.Errorf("source %q: %w", src.ID, ErrSourceExists)
	}
	// Reserve the id while the write syncs. An ad hoc harvest under this
	// id may have left a status.
	e := &entry{src: src}
	e.status, _ = h.loadStatus(src.ID)
	e.status.NextRun = time.Time{}
	if src.Enabled && src.Every > 0 {
		e.status.NextRun = h.clock().UTC().Truncate(time.Second)
	}
	h.sources[src.ID] = e
	h.mu.Unlock()
	b, _ := src.MarshalJSON()
	if err := h.st.SetState(ctx, stateSource+src.ID, b); err != nil {
		h.mu.Lock()
		delete(h.sources, src.ID)
		h.mu.Unlock()
		return src, fmt.Errorf("source %q: %w", src.ID, err)
	}
	h.kick()
	return src, nil
}

// RemoveSource forgets a source added by AddSource: its definition,
// checkpoints and status (its records stay). A running harvest of it is
// cancelled. Sources of the config file cannot be removed
// (ErrConfigSource).
func (h *Harvester) RemoveSource(ctx context.Context, id string) error {
	h.mu.Lock()
	e, ok := h.sources[id]
	switch {
	case !ok:
		h.mu.Unlock()
		return fmt.Errorf("source %q: %w", id, ErrUnknownSource)
	case e.fromConfig:
		h.mu.Unlock()
		return fmt.Errorf("source %q: %w", id, ErrConfigSource)
	}
	delete(h.sources, id)
	j, busy := h.running[id]
	h.mu.Unlock()
	if busy {
		// Wait for the harvest to stop, so that its last commit does not
		// write a checkpoint or status after they are deleted.
		j.cancel()
		select {
		case <-j.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	names, err := h.st.StateNames(stateCheckpoint + id + "/")
	if err != nil {
		return err
	}
	state := map[string][]byte{stateSource + id: nil, stateStatus + id: nil}
	for _, n := range names {
		state[n] = nil
	}
	if _, err := h.st.Commit(ctx, nil, store.CommitOptions{State: state}); err != nil {
		return fmt.Errorf("source %q: %w", id, err)
	}
	h.kick()
	return nil
}
