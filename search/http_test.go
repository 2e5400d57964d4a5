package search

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/colligo/colligo/node/problem"
	"github.com/colligo/colligo/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// httpEnv serves a service over a store with a fixed clock, so that
// datestamps (and the golden feeds) do not change between runs.
func httpEnv(t *testing.T) (*httptest.Server, *Service) {
	dir := t.TempDir()
	clock := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	st, err := store.Open(store.Config{Dir: dir + "/store", RepositoryID: "test.example", Clock: func() time.Time {
		clock = clock.Add(time.Second)
		return clock
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Dir = dir + "/search"
	srv := httptest.NewUnstartedServer(nil)
	svc, err := Open(cfg, st, Options{BaseURL: "https://repo.example", SiteName: "Example Repository",
		RecordURL: func(id string) string { return "https://repo.example/records/" + id }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, r := range genRecords(12) {
		if _, err := st.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.CatchUp(ctx, nil); err != nil {
		t.Fatal(err)
	}
	router := httprouter.New()
	svc.Routes(router, func(h httprouter.Handle) httprouter.Handle { return h })
	srv.Config.Handler = router
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
		st.Close()
	})
	return srv, svc
}

func get(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

func TestHTTPSearchJSON(t *testing.T) {
	srv, _ := httpEnv(t)
	resp, b := get(t, srv.URL+"/api/search?q=glacier&filter=origin:node-1&facet=type,origin&limit=2")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	for _, h := range res.Hits {
		if h.Origin != "node-1" || h.ID == "" || h.Title == "" || !strings.HasPrefix(h.URL, "https://repo.example/records/") {
			t.Errorf("hit %+v", h)
		}
	}
	if _, ok := res.Facets["type"]; !ok || len(res.Facets) != 2 {
		t.Errorf("facets %v, want type and origin", res.Facets)
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	for _, k := range []string{"total", "hits", "facets"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("answer lacks %q", k)
		}
	}
}

func TestHTTPBadQuery(t *testing.T) {
	srv, _ := httpEnv(t)
	for _, tc := range []struct {
		q   string
		pos float64
	}{{`glacier "melt`, 8}, {"title:", 6}, {"a OR", 2}} {
		resp, b := get(t, srv.URL+"/api/search?"+url.Values{"q": {tc.q}}.Encode())
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("q=%q: status %d %s", tc.q, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var p struct {
			problem.Details
			Errors []map[string]any `json:"errors"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if p.Type != problem.TypeBadQuery || len(p.Errors) != 1 || p.Errors[0]["position"] != tc.pos || !strings.Contains(p.Detail, "character") {
			t.Errorf("q=%q: problem %s", tc.q, b)
		}
	}
	resp, _ := get(t, srv.URL+"/api/search?filter=colour:red")
	if resp.StatusCode != 400 {
		t.Errorf("unknown facet filter: status %d", resp.StatusCode)
	}
}

func TestHTTPAtom(t *testing.T) {
	srv, _ := httpEnv(t)
	resp, b := get(t, srv.URL+"/api/search.atom?q=&limit=5")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var feed struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		ID      string   `xml:"id"`
		Title   string   `xml:"title"`
		Updated string   `xml:"updated"`
		Author  []struct {
			Name string `xml:"name"`
		} `xml:"author"`
		Links []struct {
			Rel  string `xml:"rel,attr"`
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Entries []struct {
			ID      string `xml:"id"`
			Title   string `xml:"title"`
			Updated string `xml:"updated"`
			Link    struct {
				Href string `xml:"href,attr"`
			} `xml:"link"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(b, &feed); err != nil {
		t.Fatalf("feed is not Atom XML: %v", err)
	}
	// RFC 4287 §4.1.1: a feed has exactly one id, title, updated, an
	// author (or every entry has one), and entries have id, title, updated.
	if feed.ID == "" || feed.Title == "" || len(feed.Author) != 1 {
		t.Errorf("feed head incomplete: %+v", feed)
	}
	if _, err := time.Parse(time.RFC3339, feed.Updated); err != nil {
		t.Errorf("feed updated %q: %v", feed.Updated, err)
	}
	if len(feed.Entries) != 5 {
		t.Fatalf("%d entries, want 5", len(feed.Entries))
	}
	var prev time.Time
	for i, e := range feed.Entries {
		u, err := time.Parse(time.RFC3339, e.Updated)
		if err != nil || e.ID == "" || e.Title == "" || !strings.HasPrefix(e.Link.Href, "https://repo.example/records/") {
			t.Errorf("entry %d incomplete: %+v", i, e)
		}
		if i > 0 && u.After(prev) {
			t.Errorf("entry %d is newer than entry %d: not newest first", i, i-1)
		}
		prev = u
	}
	hasNext := false
	for _, l := range feed.Links {
		hasNext = hasNext || l.Rel == "next"
	}
	if !hasNext {
		t.Error("no rel=next link on a first page of 12 records")
	}
	golden(t, "feed.atom", b)
}

func TestHTTPOpenSearch(t *testing.T) {
	srv, _ := httpEnv(t)
	resp, b := get(t, srv.URL+"/opensearch.xml")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/opensearchdescription+xml") {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc struct {
		XMLName   xml.Name `xml:"http://a9.com/-/spec/opensearch/1.1/ OpenSearchDescription"`
		ShortName string   `xml:"ShortName"`
		URLs      []struct {
			Type     string `xml:"type,attr"`
			Template string `xml:"template,attr"`
		} `xml:"Url"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ShortName == "" || len([]rune(doc.ShortName)) > 16 {
		t.Errorf("ShortName %q: OpenSearch 1.1 wants 1 to 16 characters", doc.ShortName)
	}
	types := map[string]string{}
	for _, u := range doc.URLs {
		types[u.Type] = u.Template
	}
	for _, typ := range []string{"application/json", "application/atom+xml", "text/html"} {
		tpl := types[typ]
		if !strings.Contains(tpl, "{searchTerms}") {
			t.Errorf("no %s template with {searchTerms}: %q", typ, tpl)
			continue
		}
		// The template, filled in, is a working search on this server.
		u := strings.NewReplacer("https://repo.example", srv.URL, "{searchTerms}", "glacier", "{count?}", "3", "{startPage?}", "").Replace(tpl)
		if resp, body := get(t, u); resp.StatusCode != 200 {
			t.Errorf("%s template %s: status %d: %s", typ, u, resp.StatusCode, body)
		}
	}
	golden(t, "opensearch.xml", b)
}

func TestHTTPPage(t *testing.T) {
	srv, _ := httpEnv(t)
	resp, b := get(t, srv.URL+"/search?q=glacier&filter=language:en")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	page := string(b)
	for _, want := range []string{`rel="search"`, `href="/opensearch.xml"`, `application/atom+xml`, `filter=language%3Aen`, "<mark>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	resp, b = get(t, srv.URL+"/search?q=%22open")
	if resp.StatusCode != 400 || !strings.Contains(string(b), "character 0") {
		t.Errorf("bad query page: status %d", resp.StatusCode)
	}
}
