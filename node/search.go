package node

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/colligo/colligo/ld/vocab"

	"github.com/colligo/colligo/search"
	"github.com/colligo/colligo/store"
)

// SearchDir is the search index's directory inside the data directory.
const SearchDir = "search"

// searchConfig is the search configuration of a node configuration.
func searchConfig(cfg Config) search.Config {
	sc := cfg.Search
	sc.Dir = filepath.Join(cfg.DataDir, SearchDir)
	return sc
}

func searchOptions(cfg Config, reg *vocab.Registry, log *slog.Logger) search.Options {
	return search.Options{
		Logger:    log,
		RecordURL: func(id string) string { return cfg.BaseURL + "/records/" + id },
		BaseURL:   cfg.BaseURL,
		SiteName:  cfg.RepositoryName,
		Expander:  conceptExpander{reg},
		Labeler:   reg.Label,
	}
}

// conceptExpander lets a search word or phrase stand for the concepts of
// the shared vocabulary layer it labels, in any language (issue 9).
type conceptExpander struct{ reg *vocab.Registry }

// Expand takes search's field names ("", "type", "subject"), which are the
// vocabulary's (vocab.FieldType, vocab.FieldSubject).
func (c conceptExpander) Expand(_ context.Context, field, word string) []string {
	return c.reg.Expand(field, word)
}

// initSearch opens the search index and registers its routes; New calls
// it after opening the store. The indexer starts in Start.
func (n *Node) initSearch(log *slog.Logger) error {
	opt := searchOptions(n.cfg, n.vocab, log)
	opt.Registry = n.reg
	if n.cfg.Federation.Enabled() {
		opt.Fanout = nodeFanout{n}
		opt.FanoutTimeout = n.cfg.Federation.LiveSearchTimeout.Duration
		opt.OriginStatus = n.OriginStatus
	}
	svc, err := search.Open(searchConfig(n.cfg), n.store, opt)
	if err != nil {
		return err
	}
	n.search = svc
	svc.Routes(n.router, n.admin)
	return nil
}

// Search returns the node's search service.
func (n *Node) Search() *search.Service { return n.search }

// OpenSearch opens the search index of a stopped data directory whose
// store the CLI has opened (see OpenLocal). The caller closes it before
// the store.
func OpenSearch(cfg Config, st *store.Store, log *slog.Logger) (*search.Service, error) {
	reg := vocab.NewRegistry(cfg.Vocab.Mappings)
	schemes, err := vocab.LoadAll(st)
	if err != nil {
		return nil, err
	}
	for _, s := range schemes {
		reg.Add(s)
	}
	return search.Open(searchConfig(cfg), st, searchOptions(cfg, reg, log))
}
