package search

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/colligo/colligo/node/problem"
)

// Routes registers the search URLs. admin wraps a handler with the node's
// admin check (for POST /api/admin/reindex).
//
//	GET  /api/search          JSON answer (Result)
//	GET  /api/search.atom     the same search as an Atom 1.0 feed
//	GET  /search              HTML results page
//	GET  /opensearch.xml      OpenSearch 1.1 description
//	POST /api/admin/reindex   rebuild the index; JSON lines of progress
func (s *Service) Routes(r *httprouter.Router, admin func(httprouter.Handle) httprouter.Handle) {
	r.GET("/api/search", s.handleJSON)
	r.GET("/api/search.atom", s.handleAtom)
	r.GET("/search", s.handleHTML)
	r.GET("/opensearch.xml", s.handleOpenSearch)
	r.POST("/api/admin/reindex", admin(s.handleReindex))
}

// ParseRequest reads a Request from URL parameters: q, filter
// (repeatable, facet:value), sort, cursor, limit, facet (repeatable or
// comma-separated; "none" for no facets), facet_limit, all_copies, lang.
func ParseRequest(v url.Values) (Request, error) {
	req := Request{Query: v.Get("q"), Sort: v.Get("sort"), Cursor: v.Get("cursor"), Lang: v.Get("lang"), Scope: v.Get("scope")}
	switch req.Scope {
	case "", "local", "live":
	default:
		return req, badParam("scope", "%q is not local or live", req.Scope)
	}
	for _, f := range v["filter"] {
		flt, err := ParseFilter(f)
		if err != nil {
			return req, &BadRequestError{Param: "filter", Pos: -1, Msg: err.Error()}
		}
		req.Filters = append(req.Filters, flt)
	}
	intParam := func(name string, dst *int) error {
		if s := v.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return badParam(name, "%q is not a number", s)
			}
			*dst = n
		}
		return nil
	}
	if err := intParam("limit", &req.Limit); err != nil {
		return req, err
	}
	if err := intParam("facet_limit", &req.FacetLimit); err != nil {
		return req, err
	}
	if a := v.Get("all_copies"); a != "" {
		b, err := strconv.ParseBool(a)
		if err != nil {
			return req, badParam("all_copies", "%q is not true or false", a)
		}
		req.AllCopies = b
	}
	for _, fs := range v["facet"] {
		for _, name := range strings.Split(fs, ",") {
			name = strings.TrimSpace(name)
			if name == "none" {
				req.NoFacets = true
				continue
			}
			f, ok := ParseFacet(name)
			if !ok {
				return req, badParam("facet", "unknown facet %q; facets are %s", name, strings.Join(facetNames[:], ", "))
			}
			req.Facets = append(req.Facets, f)
		}
	}
	return req, nil
}

// writeError answers a search error with a problem.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var be *BadRequestError
	switch {
	case errors.As(err, &be):
		e := map[string]any{"param": be.Param, "message": be.Msg}
		if be.Pos >= 0 {
			e["position"] = be.Pos
		}
		problem.Write(w, r, problem.Details{Type: problem.TypeBadQuery, Title: "Bad search request", Status: http.StatusBadRequest,
			Detail: be.Error(), Errors: []any{e}})
	case errors.Is(err, ErrClosed):
		problem.Error(w, r, http.StatusServiceUnavailable, "the search index is closed")
	case errors.Is(err, r.Context().Err()):
		problem.Error(w, r, http.StatusServiceUnavailable, "the search was cancelled")
	default:
		problem.Error(w, r, http.StatusInternalServerError, "the search failed")
	}
}

func (s *Service) handleJSON(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	req, err := ParseRequest(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	if req.Lang == "" {
		req.Lang = firstLanguage(r.Header.Get("Accept-Language"))
	}
	var res *Result
	if req.Scope == "live" {
		res, err = s.SearchLive(r.Context(), req, r.URL.Query())
	} else {
		res, err = s.Search(r.Context(), req)
		if res != nil {
			s.annotate(res)
		}
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(res)
}

// base returns the node's public base URL.
func (s *Service) base() string { return strings.TrimRight(s.opt.BaseURL, "/") }

// Atom 1.0 (RFC 4287) with OpenSearch response elements.
type atomFeed struct {
	XMLName      xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	OS           string      `xml:"xmlns:opensearch,attr"`
	Title        string      `xml:"title"`
	ID           string      `xml:"id"`
	Updated      string      `xml:"updated"`
	Links        []atomLink  `xml:"link"`
	Author       atomPerson  `xml:"author"`
	Generator    string      `xml:"generator"`
	TotalResults int64       `xml:"opensearch:totalResults"`
	ItemsPerPage int         `xml:"opensearch:itemsPerPage"`
	Query        atomOSQuery `xml:"opensearch:Query"`
	Entries      []atomEntry `xml:"entry"`
}

type atomOSQuery struct {
	Role        string `xml:"role,attr"`
	SearchTerms string `xml:"searchTerms,attr"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomText struct {
	Type string `xml:"type,attr,omitempty"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	Title      string         `xml:"title"`
	ID         string         `xml:"id"`
	Updated    string         `xml:"updated"`
	Links      []atomLink     `xml:"link"`
	Authors    []atomPerson   `xml:"author"`
	Summary    *atomText      `xml:"summary,omitempty"`
	Categories []atomCategory `xml:"category"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

// handleAtom answers a search as an Atom feed, newest first: sort
// defaults to "updated" (the record's last change on the node), so a
// subscribed feed shows new and changed records at the top.
func (s *Service) handleAtom(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	v := r.URL.Query()
	if v.Get("sort") == "" {
		v.Set("sort", SortUpdated)
	}
	req, err := ParseRequest(v)
	if err != nil {
		writeError(w, r, err)
		return
	}
	req.NoFacets = true
	res, err := s.Search(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	base := s.base()
	self := base + "/api/search.atom?" + v.Encode()
	html := url.Values{"q": {req.Query}}
	for _, f := range v["filter"] {
		html.Add("filter", f)
	}
	title := "Search"
	if req.Query != "" {
		title = "Search: " + req.Query
	}
	feed := atomFeed{
		OS:    "http://a9.com/-/spec/opensearch/1.1/",
		Title: title + " · " + s.opt.SiteName,
		// The feed's id is the query's URL without the cursor: every page
		// of one subscription shares it.
		ID:           feedID(base, v),
		Links:        []atomLink{{Rel: "self", Type: "application/atom+xml", Href: self}, {Rel: "alternate", Type: "text/html", Href: base + "/search?" + html.Encode()}, {Rel: "search", Type: "application/opensearchdescription+xml", Href: base + "/opensearch.xml"}},
		Author:       atomPerson{Name: s.opt.SiteName},
		Generator:    "Colligo",
		TotalResults: res.Total,
		ItemsPerPage: len(res.Hits),
		Query:        atomOSQuery{Role: "request", SearchTerms: req.Query},
	}
	if res.Next != "" {
		nv := cloneValues(v)
		nv.Set("cursor", res.Next)
		feed.Links = append(feed.Links, atomLink{Rel: "next", Type: "application/atom+xml", Href: base + "/api/search.atom?" + nv.Encode()})
	}
	var newest time.Time
	for _, h := range res.Hits {
		e := atomEntry{Title: h.Title, ID: absURL(base, h.URL), Updated: h.Updated.UTC().Format(time.RFC3339),
			Links: []atomLink{{Rel: "alternate", Type: "text/html", Href: absURL(base, h.URL)}}}
		for _, c := range h.Creators {
			e.Authors = append(e.Authors, atomPerson{Name: c})
		}
		if h.Snippet != "" {
			e.Summary = &atomText{Type: "html", Body: h.Snippet}
		}
		if h.Type != "" {
			e.Categories = append(e.Categories, atomCategory{Term: h.Type})
		}
		if h.Updated.After(newest) {
			newest = h.Updated
		}
		feed.Entries = append(feed.Entries, e)
	}
	if newest.IsZero() {
		newest = time.Unix(0, 0)
	}
	feed.Updated = newest.UTC().Format(time.RFC3339)
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	enc.Encode(feed)
}

func feedID(base string, v url.Values) string {
	nv := cloneValues(v)
	nv.Del("cursor")
	return base + "/api/search.atom?" + nv.Encode()
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func absURL(base, u string) string {
	if strings.HasPrefix(u, "/") {
		return base + u
	}
	return u
}

// handleOpenSearch serves the OpenSearch 1.1 description: templates for
// the HTML, JSON and Atom forms of a search.
func (s *Service) handleOpenSearch(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	base := s.base()
	short := s.opt.SiteName
	if len([]rune(short)) > 16 {
		short = string([]rune(short)[:16])
	}
	type osURL struct {
		Type     string `xml:"type,attr"`
		Rel      string `xml:"rel,attr,omitempty"`
		Template string `xml:"template,attr"`
	}
	doc := struct {
		XMLName       xml.Name `xml:"http://a9.com/-/spec/opensearch/1.1/ OpenSearchDescription"`
		ShortName     string   `xml:"ShortName"`
		Description   string   `xml:"Description"`
		Tags          string   `xml:"Tags"`
		URLs          []osURL  `xml:"Url"`
		InputEncoding string   `xml:"InputEncoding"`
		OutputEnc     string   `xml:"OutputEncoding"`
	}{
		ShortName:   short,
		Description: "Search the records of " + s.opt.SiteName + ", a Colligo node",
		Tags:        "repository research metadata",
		URLs: []osURL{
			{Type: "text/html", Template: base + "/search?q={searchTerms}"},
			{Type: "application/json", Template: base + "/api/search?q={searchTerms}&limit={count?}&cursor={startPage?}"},
			{Type: "application/atom+xml", Template: base + "/api/search.atom?q={searchTerms}&limit={count?}&cursor={startPage?}"},
			{Type: "application/opensearchdescription+xml", Rel: "self", Template: base + "/opensearch.xml"},
		},
		InputEncoding: "UTF-8",
		OutputEnc:     "UTF-8",
	}
	w.Header().Set("Content-Type", "application/opensearchdescription+xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	enc.Encode(doc)
}

// handleReindex rebuilds the index and streams JSON lines:
// {"progress": ...} about once a second, then {"done": true, ...} or
// {"error": "..."}.
func (s *Service) handleReindex(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	send := func(v any) {
		enc.Encode(v)
		if flusher != nil {
			flusher.Flush()
		}
	}
	start := time.Now()
	err := s.Reindex(r.Context(), func(p Progress) { send(map[string]any{"progress": p}) })
	if err != nil {
		send(map[string]any{"error": err.Error()})
		return
	}
	send(map[string]any{"done": true, "checkpoint": s.Checkpoint(), "seconds": time.Since(start).Seconds()})
}

var pageTemplate = template.Must(template.New("search").Funcs(template.FuncMap{
	"join": strings.Join,
	// safe marks fragments this package built with every piece of
	// record text escaped (Hit.Snippet, Hit.Highlights).
	"safe": func(s string) template.HTML { return template.HTML(s) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{if .Q}}{{.Q}} · {{end}}Search · {{.Site}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="search" type="application/opensearchdescription+xml" href="/opensearch.xml" title="{{.Site}}">
<link rel="alternate" type="application/atom+xml" href="{{.Atom}}" title="This search as a feed">
<style>body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}
a{color:#0645ad}.meta{color:#555;font-size:.9rem}mark{background:#fde68a}form input[type=search]{width:60%;padding:.4rem}
.wrap{display:flex;gap:2rem}.facets{min-width:14rem;font-size:.9rem}.facets ul{list-style:none;padding:0;margin:.2rem 0 1rem}
.hits{flex:1}.hit{margin:0 0 1.2rem}.err{color:#b00}</style></head>
<body><p><a href="/">{{.Site}}</a></p>
<form action="/search" method="get"><input type="search" name="q" value="{{.Q}}" placeholder="Search every institution" autofocus>
{{range .Filters}}<input type="hidden" name="filter" value="{{.}}">{{end}}<button>Search</button></form>
{{if .Err}}<p class="err">{{.Err}}</p>{{else}}
<p class="meta">{{.Res.Total}} records{{range .Filters}} · {{.}} <a href="{{$.Without .}}" title="remove this filter">✕</a>{{end}} · <a href="{{.Atom}}">Atom feed</a> · <a href="{{.JSON}}">JSON</a></p>
<div class="wrap"><div class="facets">{{range .Facets}}<strong>{{.Name}}</strong><ul>{{range .Values}}<li><a href="{{.Link}}">{{.Value}}</a> <span class="meta">{{.Count}}</span></li>{{end}}</ul>{{end}}</div>
<div class="hits">{{range .Res.Hits}}<div class="hit"><a href="{{.URL}}">{{if .Highlights.title}}{{safe .Highlights.title}}{{else}}{{.Title}}{{end}}</a>
<div class="meta">{{join .Creators "; "}}{{if .Year}} · {{.Year}}{{end}}{{if .Type}} · {{.Type}}{{end}} · {{.Origin}}{{range .AlsoHeldBy}} · also at <a href="{{.URL}}">{{.Origin}}</a>{{end}}</div>
<div>{{safe .Snippet}}</div></div>{{else}}<p>No records match.</p>{{end}}
{{if .Next}}<p><a href="{{.Next}}">Next page →</a></p>{{end}}</div></div>{{end}}
</body></html>`))

type pageFacet struct {
	Name   string
	Values []pageValue
}

type pageValue struct {
	Value string
	Count int64
	Link  string
}

type pageData struct {
	Site, Q, Err, Atom, JSON, Next string
	Filters                        []string
	Res                            *Result
	Facets                         []pageFacet
	v                              url.Values
}

// Without returns the page's URL without one filter.
func (p *pageData) Without(f string) string {
	nv := cloneValues(p.v)
	nv.Del("cursor")
	nv.Del("filter")
	for _, g := range p.v["filter"] {
		if g != f {
			nv.Add("filter", g)
		}
	}
	return "/search?" + nv.Encode()
}

func (s *Service) handleHTML(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	v := r.URL.Query()
	p := &pageData{Site: s.opt.SiteName, Q: v.Get("q"), Filters: v["filter"], v: v}
	plain := cloneValues(v)
	plain.Del("cursor")
	p.Atom = "/api/search.atom?" + plain.Encode()
	p.JSON = "/api/search?" + v.Encode()
	req, err := ParseRequest(v)
	var res *Result
	if err == nil {
		res, err = s.Search(r.Context(), req)
	}
	status := http.StatusOK
	if err != nil {
		var be *BadRequestError
		if !errors.As(err, &be) {
			writeError(w, r, err)
			return
		}
		status = http.StatusBadRequest
		p.Err = be.Error()
	} else {
		p.Res = res
		if res.Next != "" {
			nv := cloneValues(v)
			nv.Set("cursor", res.Next)
			p.Next = "/search?" + nv.Encode()
		}
		for _, f := range Facets() {
			vals := res.Facets[f.String()]
			if len(vals) == 0 {
				continue
			}
			pf := pageFacet{Name: f.String()}
			for _, fv := range vals {
				nv := cloneValues(plain)
				nv.Add("filter", f.String()+":"+fv.Value)
				name := fv.Value
				if fv.Label != "" {
					name = fv.Label
				}
				pf.Values = append(pf.Values, pageValue{Value: name, Count: fv.Count, Link: "/search?" + nv.Encode()})
			}
			p.Facets = append(p.Facets, pf)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, p); err != nil {
		fmt.Fprintln(w, "<!-- template error -->")
	}
}

// firstLanguage returns the preferred language of an Accept-Language
// header (the highest q, first among equals), or "".
func firstLanguage(h string) string {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if tag = strings.TrimSpace(tag); tag != "" && tag != "*" && q > bestQ {
			best, bestQ = strings.ToLower(tag), q
		}
	}
	return best
}
