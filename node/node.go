package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/colligo/colligo/federation"
	"github.com/colligo/colligo/harvest"
	"github.com/colligo/colligo/ld/vocab"
	"github.com/colligo/colligo/search"
	"github.com/colligo/colligo/store"
)

// NodeFile is the name of the file a running node writes in its data
// directory: how the CLI finds it (Pebble lets one process hold the store).
const NodeFile = "colligo.node.json"

// Info is the content of the node file.
type Info struct {
	PID      int    `json:"pid"`
	HTTPAddr string `json:"http_addr"`
	BaseURL  string `json:"base_url"`
	NodeID   string `json:"node_id"`
	// AdminToken lets a local CLI user (who can read the data directory)
	// act as admin. The file is mode 0600.
	AdminToken string    `json:"admin_token"`
	Started    time.Time `json:"started"`
}

// Node is one Colligo node: the store and everything that serves and feeds
// it. New opens the store; Start listens; Close stops everything in reverse
// order of starting.
type Node struct {
	cfg    Config
	log    *slog.Logger
	store  *store.Store
	search *search.Service
	reg    *prometheus.Registry

	harvester *harvest.Harvester

	router *httprouter.Router
	srv    *http.Server
	ln     net.Listener
	serve  chan error
	ready  bool

	fed      *fedPart
	fedOpts  []federation.Option
	fedHTTP  http.RoundTripper
	vocab    *vocab.Registry
	vocabSvc *vocab.Service
	remap    remapper
	oai      oaiPart

	mu        sync.Mutex
	closed    bool
	closeErr  error
	closeOnce sync.Once
	jobs      sync.WaitGroup
	// stop ends background jobs (re-mapping) at Close.
	stop       context.Context
	cancelJobs context.CancelFunc
}

// Option is a test seam for New.
type Option func(*options)

type options struct {
	logger   *slog.Logger
	listener net.Listener
	clock    func() time.Time
	fedOpts  []federation.Option
	fedHTTP  http.RoundTripper
}

// WithFederation passes options (test seams such as a gossip transport)
// to the federation member.
func WithFederation(opts ...federation.Option) Option {
	return func(o *options) { o.fedOpts = append(o.fedOpts, opts...) }
}

// WithPeerTransport sets the HTTP transport used to reach peers
// (vocabularies, live search); tests use it to cut nodes apart.
func WithPeerTransport(rt http.RoundTripper) Option { return func(o *options) { o.fedHTTP = rt } }

// WithLogger sets the node's logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithListener makes the node serve on ln instead of listening on
// Config.HTTPAddr (tests pass a 127.0.0.1:0 listener).
func WithListener(ln net.Listener) Option { return func(o *options) { o.listener = ln } }

// WithClock sets the clock of the store (test seam).
func WithClock(c func() time.Time) Option { return func(o *options) { o.clock = c } }

// New opens the node's store. cfg must have passed Finish and Validate; New
// copies it. The node does not listen until Start.
func New(cfg Config, opts ...Option) (*Node, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: o.logger.With("component", "node"), reg: prometheus.NewRegistry(), fedOpts: o.fedOpts, fedHTTP: o.fedHTTP}
	n.stop, n.cancelJobs = context.WithCancel(context.Background())
	n.vocab = vocab.NewRegistry(cfg.Vocab.Mappings)
	if n.cfg.AdminToken == "" {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		n.cfg.AdminToken = Secret(hex.EncodeToString(b[:]))
	}
	st, err := store.Open(store.Config{
		Dir:          cfg.DataDir,
		RepositoryID: cfg.RepositoryID,
		Derive:       newDeriver(cfg, n.vocab), // see node/oai.go
		CacheSize:    int64(cfg.CacheSizeMiB) << 20,
		Logger:       o.logger,
		Clock:        o.clock,
	})
	if err != nil {
		return nil, err
	}
	n.store = st
	n.router = n.routes()
	if err := n.openVocab(); err != nil {
		st.Close()
		return nil, err
	}
	n.ln = o.listener
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.reg.MustRegister(storeCollector{st})
	if err := n.initSearch(o.logger); err != nil {
		st.Close()
		return nil, err
	}
	if err := n.initHarvest(o.logger); err != nil {
		n.search.Close()
		st.Close()
		return nil, err
	}
	if err := n.initLD(o.logger); err != nil {
		n.search.Close()
		st.Close()
		return nil, err
	}
	if err := n.newOAI(context.Background()); err != nil {
		n.search.Close()
		st.Close()
		return nil, err
	}
	if err := n.initFederation(); err != nil {
		n.search.Close()
		st.Close()
		return nil, err
	}
	return n, nil
}

// RecordURL is the landing page of a record.
func (n *Node) RecordURL(id string) string { return n.cfg.BaseURL + "/records/" + id }

// Store returns the node's store.
func (n *Node) Store() *store.Store { return n.store }

// Config returns the node's configuration (with the effective admin token).
func (n *Node) Config() Config { return n.cfg }

// Registry returns the node's metrics registry.
func (n *Node) Registry() *prometheus.Registry { return n.reg }

// Router returns the HTTP router, for components that add routes before
// Start.
func (n *Node) Router() *httprouter.Router { return n.router }

// Start listens on the configured address and serves HTTP in the
// background, then writes the node file. Close stops it.
func (n *Node) Start(ctx context.Context) error {
	n.search.Start()
	if n.ln == nil {
		ln, err := net.Listen("tcp", n.cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("node: listen %s: %w", n.cfg.HTTPAddr, err)
		}
		n.ln = ln
	}
	n.srv = &http.Server{
		Handler:           n.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	n.serve = make(chan error, 1)
	go func() { n.serve <- n.srv.Serve(n.ln) }()
	n.startOAI()
	if err := n.writeNodeFile(); err != nil {
		return err
	}
	n.harvester.Start()
	if err := n.startFederation(ctx); err != nil {
		return err
	}
	n.mu.Lock()
	n.ready = true
	n.mu.Unlock()
	n.log.Info("node started", "http", n.ln.Addr().String(), "base_url", n.cfg.BaseURL, "data", n.cfg.DataDir, "node_id", n.cfg.NodeID)
	return nil
}

// Addr returns the address the node listens on, once started.
func (n *Node) Addr() string {
	if n.ln == nil {
		return ""
	}
	return n.ln.Addr().String()
}

// Run starts the node and serves until ctx ends or the server fails, then
// closes the node.
func (n *Node) Run(ctx context.Context) error {
	if err := n.Start(ctx); err != nil {
		n.Close()
		return err
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-n.serve:
		n.serve <- err
	}
	if cerr := n.Close(); err == nil || errors.Is(err, http.ErrServerClosed) {
		err = cerr
	}
	return err
}

// Close stops accepting requests, waits for those in flight (up to the
// shutdown timeout), removes the node file and closes the store. It is safe
// to call more than once.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.ready, n.closed = false, true
		n.mu.Unlock()
		// Leave the federation first, so peers see "left"; then stop
		// harvests: each stops after its commit in progress.
		n.closeFederation()
		n.harvester.Close()
		var first error
		if n.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout.Duration)
			if err := n.srv.Shutdown(ctx); err != nil {
				first = fmt.Errorf("node: shutdown HTTP: %w", err)
				n.srv.Close()
			}
			cancel()
			os.Remove(filepath.Join(n.cfg.DataDir, NodeFile))
		}
		n.cancelJobs()
		n.stopOAI()
		n.jobs.Wait()
		if err := n.search.Close(); err != nil && first == nil {
			first = fmt.Errorf("node: close search index: %w", err)
		}
		if err := n.store.Close(); err != nil && first == nil {
			first = fmt.Errorf("node: close store: %w", err)
		}
		n.closeErr = first
		n.log.Info("node stopped")
	})
	return n.closeErr
}

func (n *Node) writeNodeFile() error {
	info := Info{
		PID:        os.Getpid(),
		HTTPAddr:   n.ln.Addr().String(),
		BaseURL:    n.cfg.BaseURL,
		NodeID:     n.cfg.NodeID,
		AdminToken: string(n.cfg.AdminToken),
		Started:    time.Now().UTC().Truncate(time.Second),
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	path := filepath.Join(n.cfg.DataDir, NodeFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("node: write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// ReadInfo reads the node file of a data directory.
func ReadInfo(dataDir string) (*Info, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, NodeFile))
	if err != nil {
		return nil, err
	}
	var info Info
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("node file %s: %w", filepath.Join(dataDir, NodeFile), err)
	}
	return &info, nil
}

// storeCollector exports the store's counters as Prometheus metrics.
type storeCollector struct{ st *store.Store }

var (
	descWritten = prometheus.NewDesc("colligo_store_writes_total", "Record writes by outcome.", []string{"outcome"}, nil)
	descSeq     = prometheus.NewDesc("colligo_store_last_seq", "Highest change sequence number.", nil, nil)
	descDisk    = prometheus.NewDesc("colligo_store_disk_bytes", "Bytes the store's files take on disk.", nil, nil)
	descSyncs   = prometheus.NewDesc("colligo_store_commits_total", "Synced batches committed.", nil, nil)
)

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descWritten
	ch <- descSeq
	ch <- descDisk
	ch <- descSyncs
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.st.Stats()
	for _, o := range []struct {
		name string
		v    uint64
	}{{"added", s.Added}, {"updated", s.Updated}, {"unchanged", s.Unchanged}, {"deleted", s.Deleted}} {
		ch <- prometheus.MustNewConstMetric(descWritten, prometheus.CounterValue, float64(o.v), o.name)
	}
	ch <- prometheus.MustNewConstMetric(descSeq, prometheus.GaugeValue, float64(s.LastSeq))
	ch <- prometheus.MustNewConstMetric(descDisk, prometheus.GaugeValue, float64(s.DiskBytes))
	ch <- prometheus.MustNewConstMetric(descSyncs, prometheus.CounterValue, float64(s.Syncs))
}
