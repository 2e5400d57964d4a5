package node

import (
	"context"
	"fmt"

	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

// DemoRecords is the size of the demo collection.
const DemoRecords = 300

// LoadDemo stores the demo collection of institution i (0, 1 or 2; see
// gen.Institutions) as the node's own records. Loading it again changes
// nothing.
func (n *Node) LoadDemo(ctx context.Context, i int) (store.PutResult, error) {
	if i < 0 || i >= len(gen.Institutions) {
		return store.PutResult{}, fmt.Errorf("demo collection %d: there are %d", i, len(gen.Institutions))
	}
	g := gen.New(uint64(1000+i), gen.Institutions[i])
	var last store.PutResult
	var added int
	for from := 0; from < DemoRecords; from += 100 {
		recs := make([]*store.Record, 0, 100)
		for j := from; j < from+100 && j < DemoRecords; j++ {
			r := g.Record(j)
			r.Origin = n.cfg.NodeID
			recs = append(recs, r)
		}
		res, err := n.store.Put(ctx, recs...)
		if err != nil {
			return last, fmt.Errorf("demo collection: %w", err)
		}
		for _, r := range res {
			if r.Outcome == store.Added {
				added++
			}
		}
		last = res[len(res)-1]
	}
	n.log.Info("demo collection loaded", "institution", gen.Institutions[i].Name, "records", DemoRecords, "added", added)
	return last, nil
}
