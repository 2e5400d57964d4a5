package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/colligo/colligo/federation"
	"github.com/colligo/colligo/node"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
	"github.com/colligo/colligo/store/ingest"
)

// commandList returns the sub-commands; later commands (harvest, search,
// peers, vocab, ...) are listed in their own files and added here.
func commandList() []*command {
	return []*command{
		&command{name: "serve", summary: "run a node", args: "", flags: serveFlags, run: serve},
		&command{name: "import", summary: "import OAI-PMH XML (oai_dc) or JSON Lines files", args: "FILE...", flags: importFlags, run: importCmd},
		&command{name: "verify", summary: "check every index against the records", run: verifyCmd},
		&command{name: "backup", summary: "write a consistent copy of the store to DIR (online)", args: "DIR", run: backupCmd},
		&command{name: "restore", summary: "bring a backup back into an empty data directory", args: "DIR", run: restoreCmd},
		vocabCommand(),
		&command{name: "demo", summary: "run three joined local nodes with different demo collections (make demo)", flags: demoFlags, run: demoCmd},
		&command{name: "peers", summary: "list the federation's members as the running node sees them", run: peersCmd},
		&command{name: "keygen", summary: "print a new gossip encryption key (base64 AES-256)", run: func(ctx context.Context, e *env) error {
			k, err := federation.Keygen()
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, k)
			return nil
		}},
		&command{name: "search", summary: "search the records (through the running node, or the stopped data directory)", args: "QUERY", flags: searchFlags, run: searchCmd},
		&command{name: "reindex", summary: "rebuild the search index (a running node keeps serving the old one meanwhile)", run: reindexCmd},
		&command{name: "harvest", summary: "harvest an OAI-PMH source now, in the foreground", args: "URL", flags: harvestFlags, run: harvestCmd},
		&command{name: "sources", summary: "list harvest sources; sources add URL, sources remove ID", args: "[add URL | remove ID]", flags: sourcesFlags, run: sourcesCmd},
		&command{name: "gen", summary: "write generated records (benchmarks, demos)", args: "", flags: genFlags, run: genCmd},
		&command{name: "version", summary: "print the version", run: func(ctx context.Context, e *env) error {
			fmt.Fprintln(e.stdout, "colligo", version())
			return nil
		}},
	}
}

func serveFlags(fs *flag.FlagSet, o *opts) {
	fs.String("http", "", "HTTP listen address; env COLLIGO_HTTP (default 127.0.0.1:8080)")
	fs.String("base-url", "", "public base URL; env COLLIGO_BASE_URL (default http://<http>)")
	fs.String("repository-name", "", "repository name; env COLLIGO_REPOSITORY_NAME")
	fs.String("repository-id", "", "OAI repositoryIdentifier (a domain name); env COLLIGO_REPOSITORY_ID")
	fs.String("admin-email", "", "OAI adminEmail; env COLLIGO_ADMIN_EMAIL")
	fs.String("node-id", "", "node id in the federation; env COLLIGO_NODE_ID (default: repository id)")
	fs.String("gossip", "", "gossip bind address host:port (federation); env COLLIGO_GOSSIP; without it the node runs alone")
	fs.String("gossip-advertise", "", "gossip address peers reach this node at, IP:port (required when binding 0.0.0.0); env COLLIGO_GOSSIP_ADVERTISE")
	fs.String("join", "", "gossip addresses of peers to join, host:port,...; env COLLIGO_JOIN (config: seeds)")
	fs.String("cluster-label", "", "consortium label: nodes with another label never merge; env COLLIGO_CLUSTER_LABEL (default colligo)")
	fs.String("gossip-key", "", "gossip encryption key from colligo keygen; prefer env COLLIGO_GOSSIP_KEY or keyring_file")
	fs.BoolVar(&o.demo, "demo", false, "load the bundled demo collection (into its own data directory unless --data is given)")
	fs.IntVar(&o.demoSet, "demo-collection", 0, "which demo collection: 0, 1 or 2 (three institutions)")
}

func serve(ctx context.Context, e *env) error {
	if len(e.args) > 0 {
		return usageError("serve takes no arguments, got %q", e.args)
	}
	cfg := e.cfg
	if e.opts.demo && !e.dataSet {
		cfg.DataDir = filepath.Join(demoDir(), fmt.Sprint(e.opts.demoSet))
	}
	node.TuneRuntime()
	n, err := node.New(cfg, node.WithLogger(e.log))
	if err != nil {
		return err
	}
	if e.opts.demo {
		if _, err := n.LoadDemo(ctx, e.opts.demoSet); err != nil {
			n.Close()
			return err
		}
	}
	if err := n.Start(ctx); err != nil {
		n.Close()
		return err
	}
	fmt.Fprintf(e.stderr, "colligo: serving %s on %s (data in %s)\n", cfg.RepositoryName, cfg.BaseURL, cfg.DataDir)
	<-ctx.Done()
	fmt.Fprintln(e.stderr, "colligo: shutting down")
	return n.Close()
}

func importFlags(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.format, "format", "", "oai or jsonl (default: from the file name and content)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line")
}

func importCmd(ctx context.Context, e *env) error {
	if len(e.args) == 0 {
		return usageError("import needs at least one FILE")
	}
	format := ingest.Format(e.opts.format)
	switch format {
	case ingest.FormatAuto, ingest.FormatOAI, ingest.FormatJSONL:
	default:
		return usageError("--format %q: use oai or jsonl", e.opts.format)
	}
	debug.SetGCPercent(400)
	l, err := node.OpenLocalBulk(e.cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	pp := newProgress(e.stderr, e.opts.quiet)
	progress := func(p ingest.Progress) {
		pct := ""
		if p.TotalBytes > 0 {
			pct = fmt.Sprintf(" %3.0f%%", 100*float64(p.Bytes)/float64(p.TotalBytes))
		}
		pp.print(fmt.Sprintf("%s%s %d records (%.0f/s): %d added, %d updated, %d unchanged, %d deleted, %d rejected",
			filepath.Base(p.File), pct, p.Records, p.Rate, p.Added, p.Updated, p.Unchanged, p.Deleted, p.Rejected))
	}
	var total ingest.Summary
	var firstErr error
	start := time.Now()
	for _, path := range e.args {
		var sum ingest.Summary
		var err error
		if l.Store != nil {
			sum, err = ingest.File(ctx, l.Store, path, ingest.Options{Origin: e.cfg.NodeID, Progress: progress, Logger: e.log})
		} else {
			sum, err = importRemote(ctx, l.Client, path, format, progress)
		}
		pp.done()
		for _, re := range sum.Errors {
			fmt.Fprintf(e.stderr, "%s:%d: rejected %s: %s\n", re.File, re.Line, re.Identifier, re.Error)
		}
		if sum.Rejected > int64(len(sum.Errors)) {
			fmt.Fprintf(e.stderr, "%s: and %d more rejected records\n", path, sum.Rejected-int64(len(sum.Errors)))
		}
		addSummary(&total, sum)
		if err != nil {
			fmt.Fprintf(e.stderr, "colligo import: %v\n", err)
			if firstErr == nil {
				firstErr = err
			}
			if ctx.Err() != nil {
				break
			}
		}
	}
	// A store opened for a bulk load holds the last records in memory
	// until it is closed (see node.OpenLocalBulk).
	closeErr := l.Close()
	el := time.Since(start)
	fmt.Fprintf(e.stdout, "imported %d file(s) in %s: %d added, %d updated, %d unchanged, %d deleted, %d rejected (%.0f records/s)\n",
		len(e.args), el.Round(time.Millisecond), total.Added, total.Updated, total.Unchanged, total.Deleted, total.Rejected,
		float64(total.Stored()+total.Rejected)/el.Seconds())
	if closeErr != nil {
		return &exitError{1, fmt.Errorf("the imported records could not be saved: %w", closeErr)}
	}
	if firstErr != nil {
		return &exitError{1, errors.New("some files could not be read completely (see above)")}
	}
	return nil
}

func addSummary(t *ingest.Summary, s ingest.Summary) {
	t.Added += s.Added
	t.Updated += s.Updated
	t.Unchanged += s.Unchanged
	t.Deleted += s.Deleted
	t.Rejected += s.Rejected
	t.Sanitized += s.Sanitized
}

func importRemote(ctx context.Context, c *node.Client, path string, format ingest.Format, progress func(ingest.Progress)) (ingest.Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return ingest.Summary{}, &ingest.FileError{File: path, Err: err}
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	return c.Import(ctx, f, filepath.Base(path), size, format, progress)
}

func verifyCmd(ctx context.Context, e *env) error {
	l, err := node.OpenLocal(e.cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	var rep *store.VerifyReport
	if l.Store != nil {
		pp := newProgress(e.stderr, false)
		rep, err = l.Store.Verify(ctx, func(done int64) { pp.print(fmt.Sprintf("verify: %d keys checked", done)) })
		pp.done()
	} else {
		rep = new(store.VerifyReport)
		err = l.Client.JSON(ctx, "POST", "/api/admin/verify", nil, rep)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d records (%d deleted), %d entries, %d changes, %d payloads: ", rep.Records, rep.Deleted, rep.Entries, rep.Changes, rep.Payloads)
	if rep.OK() {
		fmt.Fprintln(e.stdout, "every index is consistent")
		return nil
	}
	fmt.Fprintf(e.stdout, "%d problems\n", rep.Count)
	for _, p := range rep.Problems {
		fmt.Fprintln(e.stdout, "  "+p)
	}
	return &exitError{1, fmt.Errorf("%d inconsistencies found", rep.Count)}
}

func backupCmd(ctx context.Context, e *env) error {
	if len(e.args) != 1 {
		return usageError("backup needs one DIR, which must not exist")
	}
	dir, err := filepath.Abs(e.args[0])
	if err != nil {
		return err
	}
	l, err := node.OpenLocal(e.cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	start := time.Now()
	if l.Store != nil {
		err = l.Store.Checkpoint(ctx, dir)
	} else {
		err = l.Client.JSON(ctx, "POST", "/api/admin/backup", map[string]string{"dir": dir}, nil)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backup written to %s in %s\n", dir, time.Since(start).Round(time.Millisecond))
	return nil
}

func restoreCmd(ctx context.Context, e *env) error {
	if len(e.args) != 1 {
		return usageError("restore needs the backup DIR")
	}
	if err := store.Restore(ctx, e.args[0], e.cfg.DataDir); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %s into %s\n", e.args[0], e.cfg.DataDir)
	return nil
}

func genFlags(fs *flag.FlagSet, o *opts) {
	fs.IntVar(&o.records, "records", 1000, "number of records")
	fs.IntVar(&o.from, "from", 0, "number of the first record")
	fs.StringVar(&o.format, "format", "oai", "oai (an OAI-PMH ListRecords response in oai_dc) or jsonl")
	fs.IntVar(&o.institution, "institution", 0, "which fictional institution: 0, 1 or 2")
	fs.Uint64Var(&o.seed, "seed", 42, "random seed: the same seed gives the same records")
	fs.BoolVar(&o.deleted, "deleted", false, "make every 50th record a deleted header (oai)")
	fs.StringVar(&o.output, "o", "", "output file (default stdout)")
}

func genCmd(ctx context.Context, e *env) error {
	if e.opts.institution < 0 || e.opts.institution >= len(gen.Institutions) {
		return usageError("--institution must be 0, 1 or 2")
	}
	if e.opts.records < 0 {
		return usageError("--records must not be negative")
	}
	g := gen.New(e.opts.seed, gen.Institutions[e.opts.institution])
	var w io.Writer = e.stdout
	if e.opts.output != "" {
		f, err := os.Create(e.opts.output)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	from, to := e.opts.from, e.opts.from+e.opts.records
	var err error
	switch e.opts.format {
	case "oai":
		err = g.WriteOAIDC(w, from, to, e.opts.deleted)
	case "jsonl":
		err = g.WriteJSONL(w, from, to)
	default:
		return usageError("--format %q: use oai or jsonl", e.opts.format)
	}
	if err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && f != os.Stdout {
		return f.Close()
	}
	return nil
}
