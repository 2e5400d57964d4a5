package node

import (
	"fmt"
	"log/slog"

	"github.com/colligo/colligo/ld"
)

// initLD creates the linked-data publisher (landing pages, JSON-LD, RDF,
// Signposting) and registers its routes: /records/:id and below, and the
// JSON-LD context.
func (n *Node) initLD(logger *slog.Logger) error {
	pub, err := ld.New(n.store, ld.Site{
		BaseURL:  n.cfg.BaseURL,
		Name:     n.cfg.RepositoryName,
		NodeID:   n.cfg.NodeID,
		Logger:   logger,
		Registry: n.reg,
	}, n.cfg.LD)
	if err != nil {
		return fmt.Errorf("node: linked data: %w", err)
	}
	pub.Routes(n.router)
	return nil
}
