package vocab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/colligo/colligo/node/problem"
)

// Service serves the vocabulary layer over HTTP and loads schemes into the
// registry and the store.
type Service struct {
	reg     *Registry
	st      StateStore
	baseURL string
	log     *slog.Logger
	// remap starts re-mapping every record in the background (the node
	// runs store.Rederive); nil when records need no re-mapping.
	remap func()
	// RemapStatus, when set, reports the background re-mapping in
	// /api/vocab (as "remap").
	RemapStatus func() RemapStatus
}

// RemapStatus is the progress of re-mapping the records after a change of
// the vocabularies (or of other derive rules).
type RemapStatus struct {
	Running bool `json:"running"`
	// Records and Changed count the records of the current run (or of
	// the last one): seen so far, and rewritten because their mapping
	// changed. Total is the number of records when the run started.
	Records int64 `json:"records"`
	Changed int64 `json:"changed"`
	Total   int64 `json:"total"`
	// Started and Finished bound the current or last run.
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	// Error is why the last run failed, if it did.
	Error string `json:"error,omitempty"`
}

// NewService returns a service. remap, if not nil, is called after a
// scheme is loaded, to map every record again in the background.
func NewService(reg *Registry, st StateStore, baseURL string, log *slog.Logger, remap func()) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{reg: reg, st: st, baseURL: strings.TrimRight(baseURL, "/"), log: log.With("component", "vocab"), remap: remap}
}

// Load parses a scheme, stores it, adds it to the registry and starts
// re-mapping the records. A scheme that did not change is not stored again.
func (s *Service) Load(ctx context.Context, r io.Reader, format Format, id, field string) (sch *Scheme, changed bool, err error) {
	sch, err = Parse(r, format, id, field)
	if err != nil {
		return nil, false, err
	}
	if old := s.reg.Scheme(id); old != nil && old.Hash == sch.Hash && old.Field == sch.Field {
		return old, false, nil
	}
	if err := Save(ctx, s.st, sch); err != nil {
		return nil, false, err
	}
	s.reg.Add(sch)
	s.log.Info("scheme loaded", "scheme", id, "concepts", len(sch.Concepts), "hash", sch.Hash[:12])
	if s.remap != nil {
		s.remap()
	}
	return sch, true, nil
}

// Adopt loads a scheme a peer holds (its sorted N-Triples, as served at
// /vocab/{id}.nt) when this node lacks it or holds an older version (by
// load time; equal times are ordered by hash, so every node settles on
// the same version). It keeps the peer's load time and re-maps records.
func (s *Service) Adopt(ctx context.Context, ntriples []byte, id, field string, loaded time.Time) (adopted bool, err error) {
	if old := s.reg.Scheme(id); old != nil && !newer(loaded, hashOf(ntriples), old.Loaded, old.Hash) {
		return false, nil
	}
	sch, err := ParseNTriples(ntriples, id, field)
	if err != nil {
		return false, err
	}
	if old := s.reg.Scheme(id); old != nil && old.Hash == sch.Hash {
		return false, nil
	}
	sch.Loaded = loaded.UTC()
	if err := Save(ctx, s.st, sch); err != nil {
		return false, err
	}
	s.reg.Add(sch)
	s.log.Info("scheme adopted from a peer", "scheme", id, "concepts", len(sch.Concepts), "hash", sch.Hash[:12])
	if s.remap != nil {
		s.remap()
	}
	return true, nil
}

// Newer reports whether a scheme version (load time, hash) is newer than
// another: later load, or the same load time and a greater hash.
func Newer(loaded time.Time, hash string, than time.Time, thanHash string) bool {
	return newer(loaded, hash, than, thanHash)
}

func newer(a time.Time, ah string, b time.Time, bh string) bool {
	if !a.Equal(b) {
		return a.After(b)
	}
	return ah > bh
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// SchemeInfo describes a scheme in /api/vocab.
type SchemeInfo struct {
	ID       string `json:"id"`
	URI      string `json:"uri,omitempty"`
	Title    string `json:"title"`
	Field    string `json:"field"`
	Concepts int    `json:"concepts"`
	Hash     string `json:"hash"`
	Builtin  bool   `json:"builtin"`
	// Loaded is when the scheme was first loaded (peers keep the time).
	Loaded time.Time `json:"loaded"`
	// NTriples is where the scheme's triples are served.
	NTriples string `json:"ntriples"`
}

// Info describes a scheme.
func (s *Service) Info(sch *Scheme) SchemeInfo {
	builtin := false
	for _, b := range Builtins {
		builtin = builtin || b.ID == sch.ID
	}
	return SchemeInfo{ID: sch.ID, URI: sch.URI, Title: sch.Title("en"), Field: sch.Field, Concepts: len(sch.Concepts),
		Hash: sch.Hash, Builtin: builtin, Loaded: sch.Loaded, NTriples: s.baseURL + "/vocab/" + sch.ID + ".nt"}
}

// Routes registers the vocabulary URLs. admin wraps write handlers with the
// node's token check.
func (s *Service) Routes(r *httprouter.Router, admin func(httprouter.Handle) httprouter.Handle) {
	r.GET("/api/vocab", s.list)
	r.GET("/api/vocab/unmapped", s.unmapped)
	r.POST("/api/vocab/schemes", admin(s.load))
	r.GET("/vocab/:scheme", s.schemePage)
	r.GET("/vocab/:scheme/:concept", s.conceptPage)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func (s *Service) list(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	out := []SchemeInfo{}
	for _, sch := range s.reg.Schemes() {
		out = append(out, s.Info(sch))
	}
	body := map[string]any{"schemes": out}
	if s.RemapStatus != nil {
		body["remap"] = s.RemapStatus()
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Service) unmapped(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	vals := s.reg.Unmapped()
	bySource := map[string][]UnmappedValue{}
	var sources []string
	for _, v := range vals {
		if _, ok := bySource[v.Source]; !ok {
			sources = append(sources, v.Source)
		}
		bySource[v.Source] = append(bySource[v.Source], v)
	}
	sort.Strings(sources)
	type src struct {
		Source string          `json:"source"`
		Values []UnmappedValue `json:"values"`
	}
	out := []src{}
	for _, name := range sources {
		out = append(out, src{name, bySource[name]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"sources": out})
}

// load takes a scheme file as the body: POST /api/vocab/schemes?id=&field=&format=
func (s *Service) load(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	q := r.URL.Query()
	id, field := q.Get("id"), q.Get("field")
	if field == "" {
		field = FieldSubject
	}
	format := Format(q.Get("format"))
	if format == "" {
		var ok bool
		if format, ok = FormatOf(q.Get("name")); !ok {
			problem.Error(w, r, http.StatusBadRequest, "give format=turtle|ntriples|rdfxml or a file name with .ttl, .nt or .rdf")
			return
		}
	}
	if id == "" {
		id = IDFromName(q.Get("name"))
	}
	sch, changed, err := s.Load(r.Context(), http.MaxBytesReader(w, r.Body, MaxSchemeBytes), format, id, field)
	if err != nil {
		problem.Error(w, r, http.StatusBadRequest, err.Error())
		return
	}
	status := http.StatusOK
	if changed {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"scheme": s.Info(sch), "changed": changed, "remapping": changed && s.remap != nil})
}

// schemePage serves /vocab/{scheme}.nt (the scheme's triples, as peers
// fetch them) and /vocab/{scheme} (its concepts).
func (s *Service) schemePage(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	name := ps.ByName("scheme")
	if id, ok := strings.CutSuffix(name, ".nt"); ok {
		sch := s.reg.Scheme(id)
		if sch == nil {
			problem.Error(w, r, http.StatusNotFound, fmt.Sprintf("no scheme %q on this node", id))
			return
		}
		w.Header().Set("Content-Type", "application/n-triples")
		w.Header().Set("ETag", `"`+sch.Hash+`"`)
		if strings.Contains(r.Header.Get("If-None-Match"), sch.Hash) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(sch.NTriples)
		return
	}
	sch := s.reg.Scheme(name)
	if sch == nil {
		problem.Error(w, r, http.StatusNotFound, fmt.Sprintf("no scheme %q on this node", name))
		return
	}
	writeJSON(w, http.StatusOK, s.schemeJSON(sch, r.URL.Query().Get("lang")))
}

func (s *Service) schemeJSON(sch *Scheme, lang string) map[string]any {
	type item struct {
		ID    string `json:"id"`
		URI   string `json:"uri"`
		Label string `json:"label"`
		Top   bool   `json:"top,omitempty"`
	}
	var items []item
	for _, c := range sch.Concepts {
		items = append(items, item{c.LocalID(), c.URI, c.Label(lang), c.Top})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Label < items[j].Label })
	return map[string]any{"scheme": s.Info(sch), "concepts": items}
}

var conceptHTML = template.Must(template.New("concept").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Label}} · {{.Scheme}}</title>
<link rel="alternate" type="application/ld+json" href="{{.URL}}?format=jsonld">
<link rel="alternate" type="text/turtle" href="{{.URL}}?format=ttl">
<style>body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;line-height:1.5}dt{font-weight:600}</style></head>
<body><p><a href="/">Home</a> · scheme <a href="/vocab/{{.SchemeID}}">{{.Scheme}}</a></p>
<h1>{{.Label}}</h1><p><code>{{.URI}}</code></p>
{{with .Definition}}<p>{{.}}</p>{{end}}
<dl>{{range .Labels}}<dt>{{.Lang}}</dt><dd>{{.Text}}</dd>{{end}}</dl>
{{if .Broader}}<h2>Broader</h2><ul>{{range .Broader}}<li><a href="{{.Href}}">{{.Label}}</a></li>{{end}}</ul>{{end}}
{{if .Narrower}}<h2>Narrower</h2><ul>{{range .Narrower}}<li><a href="{{.Href}}">{{.Label}}</a></li>{{end}}</ul>{{end}}
<p><a href="/search?q=&amp;filter={{.Filter}}">Records with this concept</a></p>
</body></html>`))

// conceptPage serves /vocab/{scheme}/{concept} as HTML, JSON-LD, Turtle or
// N-Triples, by Accept or ?format=.
func (s *Service) conceptPage(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	sch := s.reg.Scheme(ps.ByName("scheme"))
	if sch == nil {
		problem.Error(w, r, http.StatusNotFound, fmt.Sprintf("no scheme %q on this node", ps.ByName("scheme")))
		return
	}
	c := sch.Concept(ps.ByName("concept"))
	if c == nil {
		problem.Error(w, r, http.StatusNotFound, fmt.Sprintf("scheme %q has no concept %q", sch.ID, ps.ByName("concept")))
		return
	}
	lang := r.URL.Query().Get("lang")
	if lang == "" {
		lang = acceptLanguage(r.Header.Get("Accept-Language"))
	}
	w.Header().Set("Vary", "Accept, Accept-Language")
	w.Header().Set("ETag", `"`+sch.Hash[:16]+`"`)
	switch pickFormat(r) {
	case "jsonld":
		w.Header().Set("Content-Type", "application/ld+json")
		json.NewEncoder(w).Encode(conceptJSONLD(sch, c))
	case "ttl":
		w.Header().Set("Content-Type", "text/turtle; charset=utf-8")
		writeConceptTriples(w, sch, c, true)
	case "nt":
		w.Header().Set("Content-Type", "application/n-triples")
		writeConceptTriples(w, sch, c, false)
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		s.writeConceptHTML(w, sch, c, lang)
	default:
		problem.Write(w, r, problem.Details{Status: http.StatusNotAcceptable, Type: problem.TypeUnavailable,
			Detail:    "this concept is available as HTML, JSON-LD, Turtle and N-Triples",
			Available: []string{"text/html", "application/ld+json", "text/turtle", "application/n-triples"}})
	}
}

func (s *Service) writeConceptHTML(w io.Writer, sch *Scheme, c *Concept, lang string) {
	type link struct{ Href, Label string }
	type label struct{ Lang, Text string }
	links := func(uris []string) []link {
		var out []link
		for _, u := range uris {
			href := u
			if cc, id := s.reg.Concept(u); cc != nil {
				href = "/vocab/" + id + "/" + cc.LocalID()
				out = append(out, link{href, cc.Label(lang)})
			}
		}
		return out
	}
	var labels []label
	for l, v := range c.PrefLabels {
		labels = append(labels, label{l, v})
	}
	sort.Slice(labels, func(i, j int) bool { return labels[i].Lang < labels[j].Lang })
	def := c.Definitions[lang]
	if def == "" {
		def = c.Definitions["en"]
	}
	field := map[string]string{FieldType: "type", FieldAccessRights: "access", FieldSubject: "subject"}[sch.Field]
	conceptHTML.Execute(w, map[string]any{
		"Lang": lang, "Label": c.Label(lang), "Scheme": sch.Title(lang), "SchemeID": sch.ID, "URI": c.URI,
		"URL": s.baseURL + "/vocab/" + sch.ID + "/" + c.LocalID(), "Definition": def, "Labels": labels,
		"Broader": links(c.Broader), "Narrower": links(c.Narrower), "Filter": field + ":" + c.URI,
	})
}

// conceptJSONLD describes a concept in SKOS JSON-LD with an inline context.
func conceptJSONLD(sch *Scheme, c *Concept) map[string]any {
	langMap := func(m map[string]string) []map[string]string {
		var out []map[string]string
		for l, v := range m {
			e := map[string]string{"@value": v}
			if l != "" {
				e["@language"] = l
			}
			out = append(out, e)
		}
		sort.Slice(out, func(i, j int) bool { return out[i]["@language"] < out[j]["@language"] })
		return out
	}
	multi := func(m map[string][]string) []map[string]string {
		var out []map[string]string
		for l, vs := range m {
			for _, v := range vs {
				e := map[string]string{"@value": v}
				if l != "" {
					e["@language"] = l
				}
				out = append(out, e)
			}
		}
		sort.Slice(out, func(i, j int) bool {
			return out[i]["@language"]+out[i]["@value"] < out[j]["@language"]+out[j]["@value"]
		})
		return out
	}
	doc := map[string]any{
		"@context": map[string]any{
			"skos":        nsSKOS,
			"prefLabel":   map[string]any{"@id": "skos:prefLabel"},
			"altLabel":    map[string]any{"@id": "skos:altLabel"},
			"hiddenLabel": map[string]any{"@id": "skos:hiddenLabel"},
			"definition":  map[string]any{"@id": "skos:definition"},
			"broader":     map[string]any{"@id": "skos:broader", "@type": "@id"},
			"narrower":    map[string]any{"@id": "skos:narrower", "@type": "@id"},
			"exactMatch":  map[string]any{"@id": "skos:exactMatch", "@type": "@id"},
			"closeMatch":  map[string]any{"@id": "skos:closeMatch", "@type": "@id"},
			"inScheme":    map[string]any{"@id": "skos:inScheme", "@type": "@id"},
		},
		"@id":   c.URI,
		"@type": "skos:Concept",
	}
	if sch.URI != "" {
		doc["inScheme"] = sch.URI
	}
	for k, v := range map[string][]map[string]string{"prefLabel": langMap(c.PrefLabels), "altLabel": multi(c.AltLabels), "hiddenLabel": multi(c.HiddenLabels), "definition": langMap(c.Definitions)} {
		if len(v) > 0 {
			doc[k] = v
		}
	}
	for k, v := range map[string][]string{"broader": c.Broader, "narrower": c.Narrower, "exactMatch": c.ExactMatch, "closeMatch": c.CloseMatch} {
		if len(v) > 0 {
			doc[k] = v
		}
	}
	return doc
}

// writeConceptTriples writes the triples of the scheme whose subject is
// the concept.
func writeConceptTriples(w io.Writer, sch *Scheme, c *Concept, turtle bool) {
	prefix := "<" + c.URI + "> "
	if turtle {
		fmt.Fprintf(w, "@prefix skos: <%s> .\n\n", nsSKOS)
	}
	for _, line := range strings.Split(string(sch.NTriples), "\n") {
		if strings.HasPrefix(line, prefix) {
			io.WriteString(w, line+"\n")
		}
	}
}

// pickFormat chooses among the concept's representations.
func pickFormat(r *http.Request) string {
	switch f := r.URL.Query().Get("format"); f {
	case "jsonld", "json":
		return "jsonld"
	case "ttl", "turtle":
		return "ttl"
	case "nt", "ntriples":
		return "nt"
	case "html":
		return "html"
	case "":
	default:
		return ""
	}
	best, bestQ := "html", -1.0
	accept := r.Header.Get("Accept")
	if strings.TrimSpace(accept) == "" {
		return "html"
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				fmt.Sscan(v, &q)
			}
		}
		var f string
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "text/html", "application/xhtml+xml", "*/*", "text/*":
			f = "html"
		case "application/ld+json", "application/json":
			f = "jsonld"
		case "text/turtle", "application/x-turtle":
			f = "ttl"
		case "application/n-triples":
			f = "nt"
		default:
			continue
		}
		if q > bestQ && q > 0 {
			best, bestQ = f, q
		}
	}
	if bestQ < 0 {
		return ""
	}
	return best
}

// acceptLanguage returns the first language of an Accept-Language header.
func acceptLanguage(h string) string {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			fmt.Sscan(v, &q)
		}
		if tag != "" && tag != "*" && q > bestQ {
			best, bestQ = strings.ToLower(tag), q
		}
	}
	return best
}
