package oai

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/colligo/colligo/node/problem"
	"github.com/colligo/colligo/store"
)

// Store is what the provider reads: a *store.Store. The provider writes
// nothing but its own node state (the token key, the format catalogue).
type Store interface {
	RepositoryID() string
	Scan(ctx context.Context, q store.Query) *store.Iterator
	Count(ctx context.Context, q store.Query) (int64, error)
	EntryOf(ctx context.Context, id string) (*store.Entry, error)
	Get(ctx context.Context, id string) (*store.Record, error)
	GetWithHead(ctx context.Context, id string) (*store.Record, store.Head, error)
	Original(ctx context.Context, id, prefix string) ([]byte, error)
	SetSpecs(ctx context.Context, after string, max int) ([]string, error)
	Horizon() (uint64, time.Time)
	LastSeq() uint64
	WaitSeq(ctx context.Context, after uint64) error
	GetState(name string) ([]byte, error)
	SetState(ctx context.Context, name string, value []byte) error
}

// Options are the provider's wiring: what the node passes, not settings.
type Options struct {
	// Logger receives errors the provider cannot answer (a store failure
	// in mid-response). Nil discards.
	Logger *slog.Logger
	// Registry receives the provider's metrics. Nil registers none.
	Registry prometheus.Registerer
	// Friends returns the base URLs of peer nodes for the friends
	// description of Identify; nil lists none. Called on every Identify.
	Friends func() []string
	// Clock is a test seam. Default time.Now.
	Clock func() time.Time
}

// stateTokenKey is the node state holding the resumption token key.
const stateTokenKey = "oai/token-key"

// Provider is the OAI-PMH 2.0 data provider of a node. It is safe for
// concurrent use. Routes registers its handler; Run, optional, keeps the
// catalogue of original formats current in the background.
type Provider struct {
	cfg     Config
	st      Store
	log     *slog.Logger
	friends func() []string
	clock   func() time.Time
	key     []byte
	baseURL string
	repoID  string

	// sets are the configured sets by spec; configured lists their specs
	// and those of their ancestors, sorted.
	sets       map[string]SetConfig
	configured []string

	catalog *catalog

	requests *prometheus.CounterVec
	items    *prometheus.CounterVec
	// okRequests and itemsByVerb are the counters of each verb, resolved
	// once: WithLabelValues hashes its labels on every call.
	okRequests  map[string]prometheus.Counter
	itemsByVerb map[string]prometheus.Counter
}

// verbs are the six verbs of OAI-PMH.
var verbs = []string{verbIdentify, verbListMetadataFormats, verbListSets, verbGetRecord, verbListIdentifiers, verbListRecords}

// New returns the provider of a store. It reads, or on first use creates,
// the resumption token key in the store's node state. cfg must be valid;
// New copies it.
func New(ctx context.Context, st Store, cfg Config, o Options) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("oai.New: %w", err)
	}
	cfg.Sets = slices.Clone(cfg.Sets)
	p := &Provider{
		cfg:     cfg,
		st:      st,
		log:     o.Logger,
		friends: o.Friends,
		clock:   o.Clock,
		baseURL: cfg.BaseURL + "/oai",
		repoID:  st.RepositoryID(),
		sets:    map[string]SetConfig{},
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.log = p.log.With("component", "oai")
	if p.clock == nil {
		p.clock = time.Now
	}
	key, err := st.GetState(stateTokenKey)
	if err != nil {
		return nil, fmt.Errorf("oai.New: %w", err)
	}
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("oai.New: token key: %w", err)
		}
		if err := st.SetState(ctx, stateTokenKey, key); err != nil {
			return nil, fmt.Errorf("oai.New: store token key: %w", err)
		}
	}
	p.key = key
	for _, s := range cfg.Sets {
		p.sets[s.Spec] = s
		for spec := s.Spec; ; {
			if !slices.Contains(p.configured, spec) {
				p.configured = append(p.configured, spec)
			}
			i := strings.LastIndexByte(spec, ':')
			if i < 0 {
				break
			}
			spec = spec[:i]
		}
	}
	slices.Sort(p.configured)
	if p.catalog, err = newCatalog(st); err != nil {
		return nil, fmt.Errorf("oai.New: %w", err)
	}
	p.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "colligo_oai_requests_total", Help: "OAI-PMH requests by verb and outcome (ok or the error code).",
	}, []string{"verb", "outcome"})
	p.items = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "colligo_oai_items_total", Help: "Records, headers and sets written in OAI-PMH responses, by verb.",
	}, []string{"verb"})
	p.okRequests, p.itemsByVerb = map[string]prometheus.Counter{}, map[string]prometheus.Counter{}
	for _, v := range verbs {
		p.okRequests[v] = p.requests.WithLabelValues(v, "ok")
		p.itemsByVerb[v] = p.items.WithLabelValues(v)
	}
	if o.Registry != nil {
		if err := o.Registry.Register(p.requests); err != nil {
			return nil, fmt.Errorf("oai.New: metrics: %w", err)
		}
		if err := o.Registry.Register(p.items); err != nil {
			return nil, fmt.Errorf("oai.New: metrics: %w", err)
		}
	}
	return p, nil
}

// BaseURL returns the OAI-PMH base URL: the node's base URL + "/oai".
func (p *Provider) BaseURL() string { return p.baseURL }

// Routes registers the OAI-PMH endpoint: GET and POST on /oai.
func (p *Provider) Routes(r *httprouter.Router) {
	r.GET("/oai", p.handle)
	r.POST("/oai", p.handle)
}

// Run keeps the catalogue of original formats current until ctx ends,
// reading new entries at most once a second, and saves it in node state.
// It returns nil when ctx ends.
func (p *Provider) Run(ctx context.Context) error {
	const every = time.Second
	lastSave := time.Now()
	for ctx.Err() == nil {
		changed, err := p.catalog.catchUp(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Warn("format catalogue: catch-up failed", "err", err)
		}
		if changed || time.Since(lastSave) > time.Minute {
			if err := p.catalog.save(ctx, false); err != nil && ctx.Err() == nil {
				p.log.Warn("format catalogue: save failed", "err", err)
			}
			lastSave = time.Now()
		}
		p.catalog.mu.Lock()
		seq := p.catalog.seq
		p.catalog.mu.Unlock()
		if err := p.st.WaitSeq(ctx, seq); err != nil {
			// Save the position for the next start; a closed store or an
			// ended ctx is the normal end.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = p.catalog.save(sctx, false)
			cancel()
			return nil
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	return nil
}

// handle answers one OAI-PMH request.
func (p *Provider) handle(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	q, qerr, ok := p.readArgs(w, r)
	if !ok {
		return
	}
	x := newResponse(w, r)
	now := p.clock().UTC().Truncate(time.Second)
	req, perr := parseRequest(q)
	if qerr != nil {
		req, perr = nil, protoErr(CodeBadArgument, "the arguments are not a valid form-encoded query: %v", qerr)
	}
	verb := "invalid"
	if req != nil {
		verb = req.verb
	}
	var err error
	if perr != nil {
		err = perr
	} else {
		err = p.serve(r.Context(), x, now, req)
	}
	outcome := "ok"
	var pe *ProtocolError
	var pes protocolErrors
	switch {
	case errors.As(err, &pes):
		outcome = pes[0].Code
		p.writeErrors(x, now, req, pes...)
		err = nil
	case errors.As(err, &pe):
		outcome = pe.Code
		p.writeErrors(x, now, req, pe)
		err = nil
	}
	if err == nil {
		x.finish() // an error here is the client going away
		if c, ok := p.okRequests[verb]; ok && outcome == "ok" {
			c.Inc()
		} else {
			p.requests.WithLabelValues(verb, outcome).Inc()
		}
		return
	}
	p.requests.WithLabelValues(verb, "failed").Inc()
	started := x.started
	x.release()
	if !started {
		p.log.Error("request failed", "verb", verb, "err", err)
		problem.Error(w, r, http.StatusInternalServerError, "the repository failed to answer the request")
		return
	}
	// The response is under way and cannot turn into an error: break the
	// connection, so that the harvester sees a failure rather than a
	// truncated list that looks complete.
	p.log.Error("response aborted", "verb", verb, "err", err)
	panic(http.ErrAbortHandler)
}

// readArgs returns the request's arguments: the query of a GET, the
// form-encoded body of a POST (§3.1.1.2), and the error of a malformed
// query. HTTP-level faults (a wrong content type, a body too large) are
// answered here with a problem, and ok is false.
func (p *Provider) readArgs(w http.ResponseWriter, r *http.Request) (q url.Values, qerr error, ok bool) {
	raw := r.URL.RawQuery
	if r.Method == http.MethodPost {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/x-www-form-urlencoded" {
			problem.Error(w, r, http.StatusUnsupportedMediaType, "send OAI-PMH arguments in a GET query or a POST body of type application/x-www-form-urlencoded")
			return nil, nil, false
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.cfg.MaxRequestBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				problem.Error(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("an OAI-PMH request body may have at most %d bytes", p.cfg.MaxRequestBytes))
			} else {
				problem.Error(w, r, http.StatusBadRequest, "the request body could not be read")
			}
			return nil, nil, false
		}
		if raw != "" && len(body) > 0 {
			// Arguments in both places make one request, so that a repeat
			// across them is a repeated argument.
			raw += "&"
		}
		raw += string(body)
	}
	q, qerr = url.ParseQuery(raw)
	return q, qerr, true
}

// serve dispatches a valid request. A *ProtocolError returned means
// nothing was written yet.
func (p *Provider) serve(ctx context.Context, x *response, now time.Time, req *request) error {
	switch req.verb {
	case verbIdentify:
		return p.identify(ctx, x, now, req)
	case verbListMetadataFormats:
		return p.listMetadataFormats(ctx, x, now, req)
	case verbListSets:
		return p.listSets(ctx, x, now, req)
	case verbGetRecord:
		return p.getRecord(ctx, x, now, req)
	default:
		return p.list(ctx, x, now, req)
	}
}

// begin writes the envelope up to the verb's element. req nil writes a
// request element without attributes (badVerb, badArgument; §3.2).
func (p *Provider) begin(x *response, responseDate time.Time, req *request) {
	x.str(xmlHead)
	x.str("<responseDate>")
	x.datestamp(responseDate)
	x.str("</responseDate>\n<request")
	if req != nil {
		x.str(` verb="`)
		x.str(req.verb)
		x.str(`"`)
		for _, name := range argOrder {
			if v, ok := req.args[name]; ok {
				x.str(" ")
				x.str(name)
				x.str(`="`)
				x.text(v)
				x.str(`"`)
			}
		}
	}
	x.str(">")
	x.text(p.baseURL)
	x.str("</request>\n")
}

// end closes the envelope.
func (p *Provider) end(x *response) { x.str("</OAI-PMH>\n") }

// writeErrors writes an error response.
func (p *Provider) writeErrors(x *response, now time.Time, req *request, errs ...*ProtocolError) {
	if len(errs) > 0 && (errs[0].Code == CodeBadVerb || errs[0].Code == CodeBadArgument) {
		req = nil
	}
	p.begin(x, now, req)
	for _, e := range errs {
		x.str(`<error code="`)
		x.str(e.Code)
		x.str(`">`)
		x.text(e.Message)
		x.str("</error>\n")
	}
	p.end(x)
}

// errs joins protocol errors for handle, which answers all of them.
type protocolErrors []*ProtocolError

func (e protocolErrors) Error() string {
	var parts []string
	for _, pe := range e {
		parts = append(parts, pe.Error())
	}
	return strings.Join(parts, "; ")
}
