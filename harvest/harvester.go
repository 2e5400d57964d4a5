package harvest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/colligo/colligo/store"
)

// Harvester harvests OAI-PMH sources into a store. It keeps the list of
// sources (from the config and from AddSource), their status, and, once
// started, a scheduler that harvests each enabled source every
// Source.Every. At most one harvest of a source runs at a time;
// Config.Concurrency bounds scheduled harvests across sources.
//
// A Harvester is safe for concurrent use. Start starts the scheduler;
// Close stops it and any running harvest, and waits for them.
type Harvester struct {
	cfg    Config
	st     *store.Store
	log    *slog.Logger
	client *http.Client
	clock  func() time.Time
	// wait is how retries wait (a test seam: tests record the durations
	// instead of waiting them).
	wait func(ctx context.Context, d time.Duration) error
	reg  prometheus.Registerer

	mu      sync.Mutex
	sources map[string]*entry
	running map[string]*job        // by source id, ad hoc ones too
	infos   map[string]*sourceInfo // by base URL
	closed  bool

	sem  chan struct{}
	wake chan struct{}

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	isStarted bool
}

// entry is a known source with its status.
type entry struct {
	src        Source
	fromConfig bool
	status     Status
	totals     Counts // since the process started, for metrics
	runs, errs int64
	queued     bool // the scheduler launched a harvest of it
}

// job is a running harvest.
type job struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when it has ended
	run    *run          // set once the harvest started
}

// Option is a test seam or wiring option for New.
type Option func(*Harvester)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(h *Harvester) { h.log = l } }

// WithClock sets the clock (a test seam; default time.Now).
func WithClock(c func() time.Time) Option { return func(h *Harvester) { h.clock = c } }

// WithHTTPClient sets the HTTP client (a test seam; the default has no
// overall timeout: Config.RequestTimeout bounds each request).
func WithHTTPClient(c *http.Client) Option { return func(h *Harvester) { h.client = c } }

// WithRegistry registers the harvester's metrics on reg.
func WithRegistry(reg prometheus.Registerer) Option {
	return func(h *Harvester) { h.reg = reg }
}

// New returns a harvester writing into st, with the sources of cfg and
// those stored by AddSource. cfg is copied. It does not start scheduling:
// call Start. A CLI that runs one harvest uses HarvestOnce without Start.
func New(st *store.Store, cfg Config, opts ...Option) (*Harvester, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Sources = slices.Clone(cfg.Sources)
	h := &Harvester{
		cfg:     cfg,
		st:      st,
		clock:   time.Now,
		wait:    sleepCtx,
		sources: map[string]*entry{},
		running: map[string]*job{},
		infos:   map[string]*sourceInfo{},
		sem:     make(chan struct{}, cfg.Concurrency),
		wake:    make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(h)
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.log = h.log.With("component", "harvest")
	if h.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 4
		tr.ResponseHeaderTimeout = cfg.RequestTimeout
		h.client = &http.Client{Transport: tr, CheckRedirect: checkRedirect}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	if err := h.loadSources(); err != nil {
		return nil, err
	}
	if h.reg != nil {
		if err := h.reg.Register(&collector{h}); err != nil {
			return nil, fmt.Errorf("harvest: register metrics: %w", err)
		}
	}
	return h, nil
}

// checkRedirect follows at most 10 redirects, to http and https only.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("more than 10 redirects")
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to %s: only http and https are followed", req.URL.Redacted())
	}
	return nil
}

// loadSources reads the sources of the config and of the store, and each
// one's last status.
func (h *Harvester) loadSources() error {
	for _, s := range h.cfg.Sources {
		s = s.WithDefaults()
		h.sources[s.ID] = &entry{src: s, fromConfig: true}
	}
	names, err := h.st.StateNames(stateSource)
	if err != nil {
		return fmt.Errorf("harvest: read sources: %w", err)
	}
	for _, name := range names {
		b, err := h.st.GetState(name)
		if err != nil {
			return fmt.Errorf("harvest: read sources: %w", err)
		}
		var s Source
		if err := s.UnmarshalJSON(b); err != nil {
			h.log.Warn("ignoring a stored source that does not read", "state", name, "err", err)
			continue
		}
		if _, ok := h.sources[s.ID]; ok {
			// The config file wins over an API-added source of the same id.
			continue
		}
		h.sources[s.ID] = &entry{src: s}
	}
	for id, e := range h.sources {
		if st, err := h.loadStatus(id); err == nil {
			e.status = st
		}
	}
	return nil
}
