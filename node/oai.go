package node

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/colligo/colligo/ld/vocab"
	"github.com/colligo/colligo/oai"
	"github.com/colligo/colligo/store"
)

// oaiPart is the node's OAI-PMH provider and its background work: the
// catalogue of original formats, and re-deriving every record when what
// derivation depends on changed since the last start.
type oaiPart struct {
	p       *oai.Provider
	friends atomic.Pointer[func() []string]
	cancel  context.CancelFunc
}

// stateDeriveFingerprint holds the oai.Deriver fingerprint the records
// were last derived with.
const stateDeriveFingerprint = "oai/derive-fingerprint"

// oaiConfig returns the provider's configuration: the [oai] table with
// the node's identity.
func (c *Config) oaiConfig() oai.Config {
	o := c.OAI
	o.BaseURL = c.BaseURL
	o.RepositoryName = c.RepositoryName
	o.AdminEmail = c.AdminEmail
	o.NodeID = c.NodeID
	return o
}

// validateOAI checks the [oai] table, naming bad fields as the file does.
func (c *Config) validateOAI() error {
	o := c.oaiConfig()
	err := o.Validate()
	var ce *oai.ConfigError
	if errors.As(err, &ce) {
		return &ConfigError{Field: ce.Field, Value: ce.Value, Msg: ce.Msg}
	}
	return err
}

// newDeriver returns the store's Derive function for a configuration: map
// the record's values onto the vocabularies' concepts (reg, when not nil),
// then the OAI provider's derivation, which renders oai_dc and the
// provenance container and computes set memberships (configured rules may
// use the concepts). The node and the CLI, writing to a stopped data
// directory, derive alike. cfg must be valid.
func newDeriver(cfg Config, reg *vocab.Registry) func(r *store.Record) (store.Derived, error) {
	d, err := oai.NewDeriver(cfg.oaiConfig())
	if err != nil {
		return func(*store.Record) (store.Derived, error) { return store.Derived{}, err }
	}
	return func(r *store.Record) (store.Derived, error) {
		if reg != nil {
			reg.Map(r)
		}
		return d.Derive(r)
	}
}

// markFreshStore records, in a store that holds no record yet, the
// fingerprint of the configuration its records will be derived with, so
// that records the CLI or the node write before the node's first start are
// not re-derived for nothing.
func markFreshStore(st *store.Store, cfg Config) error {
	if st.LastSeq() > 0 {
		return nil
	}
	if fp, err := st.GetState(stateDeriveFingerprint); err != nil || fp != nil {
		return err
	}
	d, err := oai.NewDeriver(cfg.oaiConfig())
	if err != nil {
		return err
	}
	return st.SetState(context.Background(), stateDeriveFingerprint, []byte(d.Fingerprint()))
}

// newOAI creates the provider and registers /oai.
func (n *Node) newOAI(ctx context.Context) error {
	if err := markFreshStore(n.store, n.cfg); err != nil {
		return err
	}
	p, err := oai.New(ctx, n.store, n.cfg.oaiConfig(), oai.Options{
		Logger:   n.log,
		Registry: n.reg,
		Friends: func() []string {
			if f := n.oai.friends.Load(); f != nil {
				return (*f)()
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	n.oai.p = p
	p.Routes(n.router)
	return nil
}

// SetOAIFriends sets where Identify's friends description finds the base
// URLs of peer nodes (the federation sets it). It is called on every
// Identify and must not block.
func (n *Node) SetOAIFriends(f func() []string) { n.oai.friends.Store(&f) }

// startOAI starts the provider's background work; stopOAI ends it.
func (n *Node) startOAI() {
	ctx, cancel := context.WithCancel(context.Background())
	n.oai.cancel = cancel
	n.jobs.Add(2)
	go func() {
		defer n.jobs.Done()
		n.oai.p.Run(ctx)
	}()
	go func() {
		defer n.jobs.Done()
		n.rederiveIfChanged(ctx)
	}()
}

func (n *Node) stopOAI() {
	if n.oai.cancel != nil {
		n.oai.cancel()
	}
}

// rederiveIfChanged re-derives every record in the background when the set
// rules, the base URL or the node id changed since the records were
// derived, then records the new fingerprint. Interrupted, it runs again at
// the next start.
func (n *Node) rederiveIfChanged(ctx context.Context) {
	d, err := oai.NewDeriver(n.cfg.oaiConfig())
	if err != nil {
		n.log.Error("oai: deriver", "err", err)
		return
	}
	fp := d.Fingerprint()
	old, err := n.store.GetState(stateDeriveFingerprint)
	if err != nil {
		n.log.Error("oai: read derive fingerprint", "err", err)
		return
	}
	if string(old) == fp {
		return
	}
	if n.store.LastSeq() > 0 {
		// Until the run completes, no fingerprint matches: a restart with
		// the old configuration must re-derive too, or the records this
		// run already rewrote would keep the new configuration's output.
		if err := n.store.SetState(ctx, stateDeriveFingerprint, []byte("re-deriving")); err != nil {
			if ctx.Err() == nil {
				n.log.Error("oai: mark re-derivation", "err", err)
			}
			return
		}
		n.log.Info("oai: set rules, base URL or node id changed: re-deriving every record in the background")
		// One re-derivation at a time (vocabulary loads use the same one);
		// the fingerprint is recorded once a whole run has finished.
		if !n.RemapAndWait(ctx) {
			return
		}
	}
	if err := n.store.SetState(ctx, stateDeriveFingerprint, []byte(fp)); err != nil && ctx.Err() == nil {
		n.log.Error("oai: record derive fingerprint", "err", err)
	}
}
