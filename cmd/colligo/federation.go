package main

import (
	"context"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/colligo/colligo/node"
)

// peersCmd lists the federation's members as the running node sees them.
func peersCmd(ctx context.Context, e *env) error {
	l, err := node.OpenLocal(e.cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	if l.Client == nil {
		return fmt.Errorf("no node is running on %s: peers are known to a running node (colligo serve --gossip ...)", e.cfg.DataDir)
	}
	var info node.FederationInfo
	if err := l.Client.JSON(ctx, http.MethodGet, "/api/federation", nil, &info); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tOAI BASE URL\tRECORDS\tHELD\tLAG\tLAST HARVEST\tLAST CONFIRMED")
	ts := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Format(time.RFC3339)
	}
	for _, m := range info.Members {
		id := m.ID
		if m.Self {
			id += " (self)"
		}
		lag := fmt.Sprintf("%d", m.LagRecords)
		if m.LagSeconds > 0 {
			lag += fmt.Sprintf(" / %.0fs", m.LagSeconds)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", id, m.State, m.OAIBaseURL, m.Records, m.Held, lag, ts(m.LastHarvest), ts(m.LastConfirmed))
	}
	return tw.Flush()
}
