package node

import (
	"context"
	"sync"
	"time"

	"github.com/colligo/colligo/ld/vocab"
)

// openVocab loads the concept schemes from the store (storing the built-in
// ones on first start), serves the vocabulary layer, and re-maps records
// in the background when schemes were added.
func (n *Node) openVocab() error {
	changed, err := vocab.Open(context.Background(), n.store, n.vocab)
	if err != nil {
		return err
	}
	n.vocabSvc = vocab.NewService(n.vocab, n.store, n.cfg.BaseURL, n.log, n.Remap)
	n.vocabSvc.RemapStatus = n.remapStatus
	n.vocabSvc.Routes(n.router, n.admin)
	pending, err := n.store.GetState(stateRederivePending)
	if err != nil {
		return err
	}
	if (changed || pending != nil) && n.store.LastSeq() > 0 {
		// A run interrupted by a stop is started again.
		n.Remap()
	}
	return nil
}

// stateRederivePending is set while a requested re-derivation has not
// finished a whole run, so that one interrupted by a stop runs again at
// the next start.
const stateRederivePending = "node/rederive-pending"

// Vocab returns the node's vocabulary registry.
func (n *Node) Vocab() *vocab.Registry { return n.vocab }

// VocabService returns the node's vocabulary service.
func (n *Node) VocabService() *vocab.Service { return n.vocabSvc }

// remapper runs store.Rederive in the background, one run at a time; a
// request during a run schedules one more run after it.
type remapper struct {
	mu      sync.Mutex
	running bool
	again   bool
	// Runs counts finished runs (for tests and metrics).
	runs int
	// ok counts runs that finished without error; waiters watch it.
	ok      int
	changed chan struct{} // closed after each run
	// status is the progress of the current or last run (/api/vocab).
	status vocab.RemapStatus
}

// remapStatus returns the progress of re-mapping.
func (n *Node) remapStatus() vocab.RemapStatus {
	n.remap.mu.Lock()
	defer n.remap.mu.Unlock()
	st := n.remap.status
	st.Running = n.remap.running
	return st
}

// Remap re-derives every record in the background (new vocabularies, set
// rules), without downtime: the node keeps serving and writing meanwhile.
// Close stops a run in progress.
func (n *Node) Remap() { n.requestRemap() }

// requestRemap starts a run, or schedules one after the run in progress,
// and returns the value n.remap.ok will have once that run succeeds.
func (n *Node) requestRemap() (target int) {
	n.remap.mu.Lock()
	defer n.remap.mu.Unlock()
	if n.remap.changed == nil {
		n.remap.changed = make(chan struct{})
	}
	if n.remap.running {
		// The run in progress may have read records before the change.
		n.remap.again = true
		return n.remap.ok + 2
	}
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return n.remap.ok + 1
	}
	n.remap.running = true
	if err := n.store.SetState(n.stop, stateRederivePending, []byte("1")); err != nil {
		n.log.Warn("re-deriving: cannot mark the run pending", "err", err)
	}
	n.jobs.Add(1)
	go n.runRemaps()
	return n.remap.ok + 1
}

// runRemaps re-derives until no further run was asked for.
func (n *Node) runRemaps() {
	defer n.jobs.Done()
	for {
		n.vocab.ResetUnmapped()
		start := time.Now()
		total, _ := n.store.Len(n.stop)
		n.remap.mu.Lock()
		n.remap.status = vocab.RemapStatus{Started: start.UTC(), Total: total}
		n.remap.mu.Unlock()
		n.log.Info("re-deriving records", "records", total)
		lastLog := start
		done, changed, err := n.store.Rederive(n.stop, func(done, changed int64) {
			n.remap.mu.Lock()
			n.remap.status.Records, n.remap.status.Changed = done, changed
			n.remap.mu.Unlock()
			// A line every 10 s at info: a large store takes minutes.
			if time.Since(lastLog) >= 10*time.Second {
				lastLog = time.Now()
				n.log.Info("re-deriving", "done", done, "of", total, "changed", changed)
			}
		})
		n.remap.mu.Lock()
		n.remap.status.Records, n.remap.status.Changed = done, changed
		n.remap.status.Finished = time.Now().UTC()
		if err != nil {
			n.remap.status.Error = err.Error()
		}
		n.remap.mu.Unlock()
		if err != nil && n.stop.Err() == nil {
			n.log.Warn("re-deriving failed", "err", err)
		} else if err == nil {
			n.log.Info("re-deriving finished", "records", done, "changed", changed, "elapsed", time.Since(start).Round(time.Millisecond))
		}
		n.remap.mu.Lock()
		n.remap.runs++
		if err == nil {
			n.remap.ok++
			if !n.remap.again {
				if err := n.store.SetState(n.stop, stateRederivePending, nil); err != nil && n.stop.Err() == nil {
					n.log.Warn("re-deriving: cannot clear the pending mark", "err", err)
				}
			}
		}
		close(n.remap.changed)
		n.remap.changed = make(chan struct{})
		if !n.remap.again || n.stop.Err() != nil {
			n.remap.running = false
			n.remap.mu.Unlock()
			return
		}
		n.remap.again = false
		n.remap.mu.Unlock()
	}
}

// RemapIdle reports whether no re-mapping is running, and how many ran.
func (n *Node) RemapIdle() (bool, int) {
	n.remap.mu.Lock()
	defer n.remap.mu.Unlock()
	return !n.remap.running, n.remap.runs
}

// RemapAndWait starts a re-derivation (or schedules one after the run in
// progress) and waits until a run that started after the call finished
// without error. It reports false when ctx ended, a run failed or the node
// closed first.
func (n *Node) RemapAndWait(ctx context.Context) bool {
	target := n.requestRemap()
	for {
		n.remap.mu.Lock()
		ok, ch, running := n.remap.ok, n.remap.changed, n.remap.running
		n.remap.mu.Unlock()
		if ok >= target {
			return true
		}
		if !running {
			return false
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		case <-n.stop.Done():
			return false
		}
	}
}
