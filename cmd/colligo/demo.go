package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/colligo/colligo/federation"
	"github.com/colligo/colligo/node"
	"github.com/colligo/colligo/store/gen"
)

func demoFlags(fs *flag.FlagSet, o *opts) {
	fs.IntVar(&o.demoPort, "port", 8081, "HTTP port of the first node; the others take the next ones")
}

// demoCmd runs three local nodes with different demo collections, joined
// in a federation, in one process (make demo).
func demoCmd(ctx context.Context, e *env) error {
	if len(e.args) > 0 {
		return usageError("demo takes no arguments")
	}
	node.TuneRuntime()
	key, err := federation.Keygen()
	if err != nil {
		return err
	}
	base := filepath.Join(os.TempDir(), "colligo-federation-demo")
	var nodes []*node.Node
	defer func() {
		for i := len(nodes) - 1; i >= 0; i-- {
			nodes[i].Close()
		}
	}()
	var seed string
	for i, inst := range gen.Institutions {
		cfg := node.DefaultConfig()
		id := fmt.Sprintf("node-%c", 'a'+i)
		cfg.NodeID = id
		cfg.RepositoryID = inst.Domain
		cfg.RepositoryName = inst.Name
		cfg.DataDir = filepath.Join(base, id)
		cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", e.opts.demoPort+i)
		cfg.LogLevel = e.cfg.LogLevel
		cfg.Federation = federation.LocalConfig()
		cfg.Federation.Key = federation.Key(key)
		if seed != "" {
			cfg.Federation.Seeds = []string{seed}
		}
		if err := cfg.Finish(); err != nil {
			return err
		}
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("demo: %w (choose other ports with --port)", err)
		}
		n, err := node.New(cfg, node.WithLogger(e.log.With("node", id)), node.WithListener(ln))
		if err != nil {
			ln.Close()
			return err
		}
		nodes = append(nodes, n)
		if _, err := n.LoadDemo(ctx, i); err != nil {
			return err
		}
		if err := n.Start(ctx); err != nil {
			return err
		}
		if seed == "" {
			seed = n.Federation().Addr()
		}
		fmt.Fprintf(e.stdout, "%s  %-28s %s  (data in %s)\n", id, inst.Name, cfg.BaseURL, cfg.DataDir)
	}
	fmt.Fprintln(e.stdout, "\nThree nodes joined in a federation: each harvests the others within seconds.")
	fmt.Fprintf(e.stdout, "Search every institution from any node: http://127.0.0.1:%d/search?q=glacier\n", e.opts.demoPort)
	fmt.Fprintf(e.stdout, "Members and lag: http://127.0.0.1:%d/api/federation   Stop with Ctrl-C.\n", e.opts.demoPort)
	<-ctx.Done()
	return nil
}
