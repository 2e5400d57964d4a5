package ld

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/colligo/colligo/ld/linkheader"
	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store"
)

// Store is what the publisher reads: a record's head (cheap, for
// conditional requests) and the record with its head. *store.Store
// implements it.
type Store interface {
	Head(ctx context.Context, id string) (store.Head, error)
	GetWithHead(ctx context.Context, id string) (*store.Record, store.Head, error)
}

// Format is a representation of a record.
type Format struct {
	// Name is the short name (?format=) and the cache key.
	Name string
	// Type is the exact media type it is served with.
	Type string
	// Profile is the profile the describedby link names, for types that do
	// not say which vocabulary or schema they follow.
	Profile string
	// Aliases are more ?format= names and media types that select it.
	Aliases []string
	// File is the name of the metadata resource under /records/{id}/,
	// empty for the landing page.
	File string
	// Title names the format on the landing page.
	Title string
}

// Formats are the representations of a record, in the order content
// negotiation prefers them (the landing page first, for */*).
var Formats = []Format{
	{Name: "html", Type: TypeHTML, Aliases: []string{"application/xhtml+xml"}, Title: "Landing page"},
	{Name: "jsonld", Type: "application/ld+json", Profile: "https://schema.org/", Aliases: []string{"json-ld", "json", "application/json"}, File: "metadata.jsonld", Title: "JSON-LD (schema.org)"},
	{Name: "ttl", Type: "text/turtle", Profile: "https://schema.org/", Aliases: []string{"turtle", "application/x-turtle"}, File: "metadata.ttl", Title: "Turtle"},
	{Name: "nt", Type: "application/n-triples", Profile: "https://schema.org/", Aliases: []string{"ntriples", "n-triples"}, File: "metadata.nt", Title: "N-Triples"},
	{Name: "rdf", Type: "application/rdf+xml", Profile: "https://schema.org/", Aliases: []string{"rdfxml", "rdf-xml", "xml-rdf"}, File: "metadata.rdf", Title: "RDF/XML"},
	{Name: "datacite", Type: "application/vnd.datacite.datacite+xml", Profile: "http://datacite.org/schema/kernel-4", Aliases: []string{"datacite-xml", "oai_datacite"}, File: "metadata.datacite.xml", Title: "DataCite XML 4.5"},
	{Name: "oai_dc", Type: "application/xml", Profile: "http://www.openarchives.org/OAI/2.0/oai_dc/", Aliases: []string{"dc", "text/xml"}, File: "metadata.oai_dc.xml", Title: "Dublin Core (oai_dc)"},
	{Name: "bibtex", Type: "application/x-bibtex", Aliases: []string{"bib", "text/x-bibtex"}, File: "metadata.bib", Title: "BibTeX"},
	{Name: "csl", Type: "application/vnd.citationstyles.csl+json", Aliases: []string{"csl-json", "citeproc", "application/citeproc+json"}, File: "metadata.csl.json", Title: "CSL-JSON"},
}

// RecordOffers are the offers content negotiation at /records/{id} picks
// from: Formats as Offers.
var RecordOffers = func() []Offer {
	out := make([]Offer, len(Formats))
	for i, f := range Formats {
		out[i] = Offer{Name: f.Name, Type: f.Type, Aliases: f.Aliases}
	}
	return out
}()

func formatByName(name string) (Format, bool) {
	for _, f := range Formats {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// Site is what the node tells the publisher about itself.
type Site struct {
	// BaseURL is the node's public URL without a trailing slash. Required.
	BaseURL string
	// Name is the repository's name, for page titles.
	Name string
	// NodeID is the node's id: records of other origins are harvested.
	NodeID string
	// Logger receives debug and error logs; nil discards them.
	Logger *slog.Logger
	// Registry receives the publisher's metrics; nil registers none.
	Registry prometheus.Registerer
}

// renderVersion changes when any output changes for the same record, so
// that entity tags from before a change no longer match.
const renderVersion = "1"

// Publisher serves records as linked data: the landing page, JSON-LD,
// Turtle, N-Triples, RDF/XML, DataCite, oai_dc, BibTeX and CSL-JSON, with
// FAIR Signposting. It only reads the store. It is safe for concurrent use
// and has no goroutines of its own.
type Publisher struct {
	cfg        Config
	site       Site
	st         Store
	log        *slog.Logger
	loader     *Loader
	proc       *processor
	cache      *cache
	contextURL string
	// salt goes into every entity tag: the configuration and code version
	// that shape the output.
	salt string

	renders *prometheus.CounterVec
	seconds *prometheus.HistogramVec
	hits    prometheus.Counter
	misses  prometheus.Counter
}

// New returns a publisher of the records of st. It copies cfg.
func New(st Store, site Site, cfg Config) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if site.BaseURL == "" {
		return nil, fmt.Errorf("ld.New: the site needs a base URL")
	}
	if site.Logger == nil {
		site.Logger = slog.New(slog.DiscardHandler)
	}
	if site.Name == "" {
		site.Name = "Colligo"
	}
	p := &Publisher{
		cfg: cfg, site: site, st: st,
		log:        site.Logger.With("component", "ld"),
		loader:     NewLoader(site.BaseURL),
		contextURL: site.BaseURL + ContextPath,
		cache:      newCache(int64(cfg.CacheMiB) << 20),
	}
	proc, err := newProcessor(p.loader, p.contextURL)
	if err != nil {
		return nil, err
	}
	p.proc = proc
	sum := sha256.Sum256([]byte(renderVersion + "\x00" + site.BaseURL + "\x00" + site.Name + "\x00" + site.NodeID + "\x00" +
		strconv.Itoa(cfg.MaxAuthors) + "/" + strconv.Itoa(cfg.MaxItems) + "/" + strconv.Itoa(cfg.MaxLinkHeaderBytes)))
	p.salt = hex.EncodeToString(sum[:3])
	p.renders = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "colligo_ld_renders_total", Help: "Representations rendered, by format."}, []string{"format"})
	p.seconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "colligo_ld_render_seconds", Help: "Time to render a representation, by format.",
		Buckets: []float64{.0001, .00025, .0005, .001, .002, .005, .01, .05}}, []string{"format"})
	p.hits = prometheus.NewCounter(prometheus.CounterOpts{Name: "colligo_ld_cache_hits_total", Help: "Representations served from the render cache."})
	p.misses = prometheus.NewCounter(prometheus.CounterOpts{Name: "colligo_ld_cache_misses_total", Help: "Representations not in the render cache."})
	if site.Registry != nil {
		for _, c := range []prometheus.Collector{p.renders, p.seconds, p.hits, p.misses} {
			if err := site.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("ld.New: register metrics: %w", err)
			}
		}
	}
	return p, nil
}

// RecordURL is a record's URI and landing page.
func (p *Publisher) RecordURL(id string) string { return p.site.BaseURL + "/records/" + id }

// ContextURL is the URL of our JSON-LD context.
func (p *Publisher) ContextURL() string { return p.contextURL }

// Loader returns the publisher's offline document loader.
func (p *Publisher) Loader() *Loader { return p.loader }

// harvested tells records of other origins from the node's own.
func (p *Publisher) harvested(r *store.Record) bool {
	return len(r.Provenance) > 0 || r.Origin != "" && p.site.NodeID != "" && r.Origin != p.site.NodeID
}

// Describe returns the record's schema.org description (see the package
// function Describe) with its URI on this node.
func (p *Publisher) Describe(r *store.Record) map[string]any { return Describe(r, p.RecordURL(r.ID)) }

// Graph returns the record's RDF graph: the one source of Turtle,
// N-Triples and RDF/XML.
func (p *Publisher) Graph(r *store.Record) (*Graph, error) { return p.proc.graph(p.Describe(r)) }

// JSONLD renders the record's description as JSON-LD with our context by
// URL.
func (p *Publisher) JSONLD(r *store.Record) ([]byte, error) {
	// As an Encoder with SetEscapeHTML(false) and SetIndent("", "  ")
	// writes it.
	b, err := appendJSONObject(make([]byte, 0, 8192), p.Describe(r), "@context", p.contextURL, false, "  ", 0)
	if err != nil {
		return nil, fmt.Errorf("ld: JSON-LD %s: %w", r.ID, err)
	}
	return append(b, '\n'), nil
}

// Render renders a record in a format (a Formats name, "linkset" or
// "linkset.json"). The landing page of a deleted record is its tombstone.
func (p *Publisher) Render(r *store.Record, format string) ([]byte, error) {
	body, _, err := p.render(r, format, false)
	return body, err
}

// render renders a record in a format and, when withLevel1 is set, returns
// the Level 1 Link header field value too.
func (p *Publisher) render(r *store.Record, format string, withLevel1 bool) (body []byte, level1 string, err error) {
	start := time.Now()
	var sp *Signposts
	var links []linkheader.Link
	switch {
	case !withLevel1 && format != "html" && format != "linkset" && format != "linkset.json":
	case r.Deleted:
		sp = p.Signposts(r)
		links = []linkheader.Link{sp.CiteAs}
		level1 = sp.CiteAs.String()
	default:
		sp = p.Signposts(r)
		links, level1, _ = sp.level1(p.cfg.MaxAuthors, p.cfg.MaxItems, p.cfg.MaxLinkHeaderBytes)
	}
	body, err = p.renderBody(r, format, sp, links)
	p.renders.WithLabelValues(format).Inc()
	p.seconds.WithLabelValues(format).Observe(time.Since(start).Seconds())
	return body, level1, err
}

func (p *Publisher) renderBody(r *store.Record, format string, sp *Signposts, links []linkheader.Link) ([]byte, error) {
	landing := p.RecordURL(r.ID)
	switch format {
	case "html":
		return p.landingPage(r, sp, links)
	case "jsonld":
		return p.JSONLD(r)
	case "ttl", "nt", "rdf":
		g, err := p.Graph(r)
		if err != nil {
			return nil, err
		}
		switch format {
		case "ttl":
			return g.Turtle()
		case "nt":
			return g.NTriples()
		}
		return g.RDFXML()
	case "datacite":
		return append([]byte(xmlDecl), append(crosswalk.DataCite(r, landing), '\n')...), nil
	case "oai_dc":
		return append([]byte(xmlDecl), append(crosswalk.OAIDC(r, landing), '\n')...), nil
	case "bibtex":
		return BibTeX(r, citeAs(r, landing, p.harvested(r))), nil
	case "csl":
		return CSL(r, citeAs(r, landing, p.harvested(r))), nil
	case "linkset":
		return sp.LinksetText(), nil
	case "linkset.json":
		return sp.LinksetJSON(), nil
	}
	return nil, fmt.Errorf("ld: no format %q", format)
}

const xmlDecl = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// profileParams are the profile parameters of the describedby links, by
// index in Formats; made once, since every landing page has them, and
// shared: nothing changes a Link's Params.
var profileParams = func() [][]linkheader.Param {
	out := make([][]linkheader.Param, len(Formats))
	for i, f := range Formats {
		if f.Profile != "" {
			out[i] = []linkheader.Param{{Name: "profile", Value: f.Profile}}
		}
	}
	return out
}()

// Signposts returns the record's FAIR Signposting links.
func (p *Publisher) Signposts(r *store.Record) *Signposts {
	m := &r.Metadata
	landing := p.RecordURL(r.ID)
	s := &Signposts{Anchor: landing}
	s.CiteAs = linkheader.Link{Target: linkheader.URI(citeAs(r, landing, p.harvested(r))), Rel: "cite-as"}
	s.Types = []linkheader.Link{
		{Target: schemaOrgHTTPS(SchemaType(m)), Rel: "type"},
		{Target: schemaOrgHTTPS("AboutPage"), Rel: "type"},
	}
	for _, c := range m.Creators {
		if u, ok := PersonURI(c); ok {
			s.Authors = append(s.Authors, linkheader.Link{Target: linkheader.URI(u), Rel: "author"})
		}
	}
	s.DescribedBy = make([]linkheader.Link, 0, len(Formats))
	for i, f := range Formats {
		if f.File == "" {
			continue
		}
		l := linkheader.Link{Target: landing + "/" + f.File, Rel: "describedby", Type: f.Type}
		if f.Profile != "" {
			if i < len(profileParams) && profileParams[i] != nil && profileParams[i][0].Value == f.Profile {
				l.Params = profileParams[i]
			} else { // Formats changed since the package started
				l.Params = []linkheader.Param{{Name: "profile", Value: f.Profile}}
			}
		}
		s.DescribedBy = append(s.DescribedBy, l)
	}
	if u, ok := IRI(m.License); ok {
		s.License = []linkheader.Link{{Target: linkheader.URI(u), Rel: "license"}}
	}
	for _, f := range m.Files {
		if u, ok := IRI(f.URL); ok {
			s.Items = append(s.Items, linkheader.Link{Target: linkheader.URI(u), Rel: "item", Type: FileType(f)})
		}
	}
	s.Linksets = []linkheader.Link{
		{Target: landing + "/linkset", Rel: "linkset", Type: TypeLinkset},
		{Target: landing + "/linkset.json", Rel: "linkset", Type: TypeLinksetJSON},
	}
	return s
}

// Level1 returns the record's Level 1 links as configured.
func (p *Publisher) Level1(r *store.Record) (links []linkheader.Link, truncated bool) {
	return p.Signposts(r).Level1(p.cfg.MaxAuthors, p.cfg.MaxItems, p.cfg.MaxLinkHeaderBytes)
}

// etag is the entity tag of a record version in a format.
func (p *Publisher) etag(h store.Head, format string) string {
	return `"` + hex.EncodeToString(h.Hash[:8]) + "-" + p.salt + "-" + format + `"`
}
