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
	n.vocabSvc.Routes(n.router, n.admin)
	if changed && n.store.LastSeq() > 0 {
		n.Remap()
	}
	return nil
}

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
}

// Remap re-derives every record in the background (new vocabularies, set
// rules), without downtime: the node keeps serving and writing meanwhile.
// Close stops a run in progress.
func (n *Node) Remap() {
	n.remap.mu.Lock()
	defer n.remap.mu.Unlock()
	if n.remap.running {
		n.remap.again = true
		return
	}
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return
	}
	n.remap.running = true
	n.jobs.Add(1)
	go func() {
		defer n.jobs.Done()
		for {
			n.vocab.ResetUnmapped()
			start := time.Now()
			n.log.Info("re-mapping records")
			done, changed, err := n.store.Rederive(n.stop, func(done, changed int64) {
				n.log.Debug("re-mapping", "done", done, "changed", changed)
			})
			if err != nil && n.stop.Err() == nil {
				n.log.Warn("re-mapping failed", "err", err)
			} else if err == nil {
				n.log.Info("re-mapping finished", "records", done, "changed", changed, "elapsed", time.Since(start).Round(time.Millisecond))
			}
			n.remap.mu.Lock()
			n.remap.runs++
			if !n.remap.again || n.stop.Err() != nil {
				n.remap.running = false
				n.remap.mu.Unlock()
				return
			}
			n.remap.again = false
			n.remap.mu.Unlock()
		}
	}()
}

// RemapIdle reports whether no re-mapping is running, and how many ran.
func (n *Node) RemapIdle() (bool, int) {
	n.remap.mu.Lock()
	defer n.remap.mu.Unlock()
	return !n.remap.running, n.remap.runs
}
