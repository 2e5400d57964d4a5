// Command colligo runs and manages a Colligo node: a federated OAI-PMH and
// linked-data aggregator. Run "colligo help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/colligo/colligo/federation"
	"github.com/colligo/colligo/node"
)

// command is one sub-command.
type command struct {
	name    string
	args    string
	summary string
	// flags adds the command's own flags; the common ones (--config,
	// --data) are added for every command.
	flags func(fs *flag.FlagSet, o *opts)
	run   func(ctx context.Context, env *env) error
}

// opts holds flag values that are not config fields.
type opts struct {
	demo        bool
	demoSet     int
	format      string
	quiet       bool
	records     int
	from        int
	institution int
	seed        uint64
	deleted     bool
	output      string
	demoPort    int
	vocabID     string
	vocabField  string
	search      searchOpts
	harvest     harvestOpts
}

// env is what a command runs with.
type env struct {
	cfg     node.Config
	opts    opts
	args    []string
	stdout  io.Writer
	stderr  io.Writer
	log     *slog.Logger
	dataSet bool // the data directory was chosen (flag, env or file)
}

// exitError carries an exit code; usage errors exit 2, others 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func usageError(format string, args ...any) error {
	return &exitError{2, fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// COLLIGO_CPUPROFILE=FILE writes a CPU profile of the command, for
	// looking into performance (go tool pprof FILE).
	if path := os.Getenv("COLLIGO_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if err := pprof.StartCPUProfile(f); err == nil {
				defer f.Close()
				defer pprof.StopCPUProfile()
			}
		}
	}
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	pprof.StopCPUProfile()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c := find(args[1]); c != nil {
				fs, _ := newFlagSet(c, stderr)
				fs.SetOutput(stdout)
				fs.Usage()
				return 0
			}
		}
		usage(stdout)
		return 0
	}
	c := find(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "colligo: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	fs, o := newFlagSet(c, stderr)
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	e, err := loadEnv(fs, o, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "colligo %s: %v\n", c.name, err)
		return 2
	}
	e.args, e.stdout, e.stderr = positional, stdout, stderr
	level := e.cfg.Level()
	if c.name != "serve" && level < slog.LevelWarn && !isSet(fs, "log-level") && os.Getenv("COLLIGO_LOG_LEVEL") == "" {
		level = slog.LevelWarn // one-shot commands are quiet unless asked
	}
	e.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := c.run(ctx, e); err != nil {
		fmt.Fprintf(stderr, "colligo %s: %v\n", c.name, err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

// parseInterspersed parses flags wherever they stand among the arguments
// ("harvest URL --set S"), and returns the other arguments. "--" ends the
// flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func find(name string) *command {
	for _, c := range commandList() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Colligo: a federated OAI-PMH and linked-data aggregator node.")
	fmt.Fprintln(w, "\nUsage: colligo COMMAND [flags] [args]\n\nCommands:")
	sorted := commandList()
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --config FILE and --data DIR; settings come from defaults,")
	fmt.Fprintln(w, "then the config file, then COLLIGO_* environment variables, then flags.")
	fmt.Fprintln(w, "Run \"colligo help COMMAND\" for a command's flags.")
}

// newFlagSet builds a command's flags: the common ones, then its own.
func newFlagSet(c *command, stderr io.Writer) (*flag.FlagSet, *opts) {
	fs := flag.NewFlagSet("colligo "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &opts{}
	fs.String("config", "", "configuration file (TOML); env COLLIGO_CONFIG")
	fs.String("data", "", "data directory; env COLLIGO_DATA (default colligo-data)")
	fs.String("log-level", "", "debug, info, warn or error; env COLLIGO_LOG_LEVEL")
	if c.flags != nil {
		c.flags(fs, o)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: colligo %s [flags] %s\n\n%s\n\nFlags:\n", c.name, c.args, c.summary)
		fs.PrintDefaults()
	}
	return fs, o
}

// configFlags are the flags that set config fields, with the setter.
var configFlags = map[string]func(c *node.Config, v string){
	"data":             func(c *node.Config, v string) { c.DataDir = v },
	"log-level":        func(c *node.Config, v string) { c.LogLevel = v },
	"http":             func(c *node.Config, v string) { c.HTTPAddr = v },
	"base-url":         func(c *node.Config, v string) { c.BaseURL = v },
	"repository-name":  func(c *node.Config, v string) { c.RepositoryName = v },
	"repository-id":    func(c *node.Config, v string) { c.RepositoryID = v },
	"admin-email":      func(c *node.Config, v string) { c.AdminEmail = v },
	"node-id":          func(c *node.Config, v string) { c.NodeID = v },
	"gossip":           func(c *node.Config, v string) { c.Federation.Gossip = v },
	"gossip-advertise": func(c *node.Config, v string) { c.Federation.Advertise = v },
	"join":             func(c *node.Config, v string) { c.Federation.Seeds = node.SplitList(v) },
	"cluster-label":    func(c *node.Config, v string) { c.Federation.ClusterLabel = v },
	// The issue names the flag; COLLIGO_GOSSIP_KEY or a keyring file keep
	// the key out of the process list and shell history.
	"gossip-key": func(c *node.Config, v string) { c.Federation.Key = federation.Key(v) },
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// loadEnv applies, in this order, the defaults, the config file, the
// environment and the flags the user set (flag.Visit: a flag's default
// never overrides the file).
func loadEnv(fs *flag.FlagSet, o *opts, getenv func(string) string) (*env, error) {
	cfg := node.DefaultConfig()
	e := &env{opts: *o}
	path := fs.Lookup("config").Value.String()
	if path == "" {
		path = getenv("COLLIGO_CONFIG")
	}
	if path != "" {
		before := cfg.DataDir
		if err := cfg.LoadFile(path); err != nil {
			return nil, err
		}
		e.dataSet = cfg.DataDir != before
	}
	cfg.LoadEnv(getenv)
	if getenv("COLLIGO_DATA") != "" {
		e.dataSet = true
	}
	var flagErr error
	fs.Visit(func(f *flag.Flag) {
		if set, ok := configFlags[f.Name]; ok {
			set(&cfg, f.Value.String())
			if f.Name == "data" {
				e.dataSet = true
			}
		}
	})
	if flagErr != nil {
		return nil, flagErr
	}
	if err := cfg.Finish(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e.cfg = cfg
	return e, nil
}

// progressPrinter prints long jobs' progress on stderr: one updating line
// on a terminal, a line every ten seconds otherwise.
type progressPrinter struct {
	w     io.Writer
	tty   bool
	quiet bool
	last  time.Time
	wrote bool
}

func newProgress(w io.Writer, quiet bool) *progressPrinter {
	p := &progressPrinter{w: w, quiet: quiet}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progressPrinter) print(line string) {
	if p.quiet {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.wrote = true
		return
	}
	if time.Since(p.last) >= 10*time.Second {
		fmt.Fprintln(p.w, line)
		p.last = time.Now()
	}
}

func (p *progressPrinter) done() {
	if p.tty && p.wrote {
		fmt.Fprintln(p.w)
	}
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
		return strings.TrimSpace(v)
	}
	return "(devel)"
}

// demoDir is where serve --demo keeps its data unless --data is given.
func demoDir() string { return filepath.Join(os.TempDir(), "colligo-demo") }
