package node

import (
	"crypto/subtle"
	"fmt"
	"html/template"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/colligo/colligo/node/problem"
	"github.com/colligo/colligo/store"
)

// routes registers the node's own URLs. Components register theirs with
// their Routes method (see Router).
func (n *Node) routes() *httprouter.Router {
	r := httprouter.New()
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		problem.Error(w, req, http.StatusNotFound, "nothing is served at "+req.URL.Path)
	})
	r.HandleMethodNotAllowed = true
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		problem.Error(w, req, http.StatusMethodNotAllowed, req.Method+" is not allowed on "+req.URL.Path+"; allowed: "+w.Header().Get("Allow"))
	})
	r.PanicHandler = func(w http.ResponseWriter, req *http.Request, v any) {
		if v == http.ErrAbortHandler {
			panic(v) // a handler breaks a response under way (oai): let net/http drop the connection
		}
		n.log.Error("panic serving request", "path", req.URL.Path, "panic", v, "stack", string(debug.Stack()))
		problem.Error(w, req, http.StatusInternalServerError, "internal error")
	}
	r.GET("/", n.home)
	r.GET("/healthz", n.healthz)
	r.GET("/readyz", n.readyz)
	r.Handler(http.MethodGet, "/metrics", promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{Registry: n.reg}))
	r.GET("/api/schema/record.json", n.recordSchema)
	r.GET("/api/records", n.listRecords)
	r.GET("/api/records/:id", n.getRecord)
	r.PUT("/api/records/:id", n.admin(n.putRecord))
	r.DELETE("/api/records/:id", n.admin(n.deleteRecord))
	r.POST("/api/admin/import", n.admin(n.importRecords))
	r.POST("/api/admin/verify", n.admin(n.verify))
	r.POST("/api/admin/backup", n.admin(n.backup))
	return r
}

// handler wraps the router with request metrics and debug logging.
func (n *Node) handler() http.Handler {
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "colligo_http_requests_total", Help: "HTTP requests by method and status."}, []string{"method", "code"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "colligo_http_request_duration_seconds", Help: "HTTP request latency.", Buckets: []float64{.001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 5}}, []string{"method"})
	n.reg.MustRegister(reqs, dur)
	inner := promhttp.InstrumentHandlerCounter(reqs, promhttp.InstrumentHandlerDuration(dur, n.router))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		inner.ServeHTTP(w, r)
		n.log.Debug("request", "method", r.Method, "path", r.URL.Path, "elapsed", time.Since(start))
	})
}

// admin requires the admin bearer token.
func (n *Node) admin(h httprouter.Handle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(n.cfg.AdminToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="colligo"`)
			detail := "this endpoint needs the admin token: Authorization: Bearer <token>"
			if ok {
				detail = "the bearer token is not the admin token"
			}
			problem.Error(w, r, http.StatusUnauthorized, detail)
			return
		}
		h(w, r, ps)
	}
}

// IsAdmin reports whether a request carries the admin token. Components
// use it for their own write endpoints.
func (n *Node) IsAdmin(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(n.cfg.AdminToken)) == 1
}

// Admin wraps a component's handler with the admin token check.
func (n *Node) Admin(h httprouter.Handle) httprouter.Handle { return n.admin(h) }

func (n *Node) healthz(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

func (n *Node) readyz(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	n.mu.Lock()
	ready := n.ready
	n.mu.Unlock()
	if !ready {
		problem.Error(w, r, http.StatusServiceUnavailable, "the node is starting or stopping")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ready")
}

var homeTemplate = template.Must(template.New("home").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Name}} · Colligo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="search" type="application/opensearchdescription+xml" href="/opensearch.xml" title="{{.Name}}">
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}
a{color:#0645ad}li{margin:.3rem 0}.meta{color:#555;font-size:.9rem}form input[type=search]{width:70%;padding:.4rem}</style></head>
<body><h1>{{.Name}}</h1>
<p class="meta">A Colligo node · {{.Count}} records · node <code>{{.NodeID}}</code></p>
<form action="/search" method="get"><input type="search" name="q" placeholder="Search every institution"> <button>Search</button></form>
<p><a href="/oai?verb=Identify">OAI-PMH</a> · <a href="/api/records">Records (JSON)</a> · <a href="/api/schema/record.json">Record schema</a> · <a href="/metrics">Metrics</a></p>
<h2>Latest records</h2><ul>{{range .Records}}<li><a href="/records/{{.ID}}">{{.Title}}</a> <span class="meta">{{.Creators}} · {{.Datestamp}}{{if .Deleted}} · deleted{{end}}</span></li>{{else}}<li>No records yet. Import some with <code>colligo import FILE</code>, or run <code>colligo serve --demo</code>.</li>{{end}}</ul>
</body></html>`))

type homeRecord struct {
	ID, Title, Creators, Datestamp string
	Deleted                        bool
}

func (n *Node) home(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	ctx := r.Context()
	count, _ := n.store.Len(ctx)
	var recs []homeRecord
	it := n.store.Scan(ctx, store.Query{Reverse: true})
	for len(recs) < 25 && it.Next() {
		e := it.Entry()
		rec, err := n.store.Get(ctx, e.ID)
		if err != nil {
			continue
		}
		hr := homeRecord{ID: e.ID, Datestamp: e.Datestamp.Format("2006-01-02"), Deleted: e.Deleted, Title: e.ID}
		if len(rec.Metadata.Titles) > 0 {
			hr.Title = rec.Metadata.Titles[0].Value
		}
		var names []string
		for i, c := range rec.Metadata.Creators {
			if i == 3 {
				names = append(names, "et al.")
				break
			}
			names = append(names, c.Name)
		}
		hr.Creators = strings.Join(names, "; ")
		recs = append(recs, hr)
	}
	it.Close()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	homeTemplate.Execute(w, map[string]any{"Name": n.cfg.RepositoryName, "NodeID": n.cfg.NodeID, "Count": count, "Records": recs})
}

// writeJSON writes v as indented JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := jsonEncoder(w)
	_ = enc.Encode(v)
}

func atoiDefault(s string, def, max int) int {
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		return def
	}
	if v > max {
		return max
	}
	return v
}
