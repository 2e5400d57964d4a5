package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/colligo/colligo/store/gen"
)

// exampleBody is the record body of issue 3, verbatim.
const exampleBody = `{"metadata": {"titles": [{"value": "Glacier mass balance of the Alps, 2020", "lang": "en"}],
  "creators": [{"name": "Doe, Jane", "orcid": "0000-0002-1825-0097", "affiliation": "Example University"}],
  "type": "Dataset", "issued": "2021-03-04", "subjects": [{"value": "glaciology"}],
  "descriptions": [{"value": "Annual mass balance of 30 glaciers.", "lang": "en"}],
  "identifiers": [{"scheme": "doi", "value": "10.5281/zenodo.123456"}], "publisher": "Example University",
  "license": "https://creativecommons.org/licenses/by/4.0/", "languages": ["en"],
  "files": [{"url": "https://example.org/files/mb2020.csv", "type": "text/csv", "size": 52311}]}}`

const testToken = "test-admin-token"

// startNode starts a real node on a loopback port.
func startNode(t testing.TB) (*Node, string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.RepositoryID = "uni-a.example"
	cfg.AdminToken = testToken
	n := launch(t, cfg)
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	return n, "http://" + n.Addr()
}

// launch starts a node of cfg on a free loopback port; the caller closes
// it.
func launch(t testing.TB, cfg Config) *Node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPAddr = ln.Addr().String()
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, WithListener(ln))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return n
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, a.body)
	}
	return m
}

func call(t testing.TB, method, url, token string, body string, header ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

// The example body of the issue goes in unchanged and comes back with the
// same field names and values, plus the assigned fields.
func TestPutGetExampleRecord(t *testing.T) {
	_, base := startNode(t)
	put := call(t, "PUT", base+"/api/records/glacier-2020", testToken, exampleBody)
	if put.status != http.StatusCreated {
		t.Fatalf("PUT = %d %s", put.status, put.body)
	}
	get := call(t, "GET", base+"/api/records/glacier-2020", "", "")
	if get.status != http.StatusOK || get.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET = %d %s %s", get.status, get.header.Get("Content-Type"), get.body)
	}
	var sent map[string]any
	json.Unmarshal([]byte(exampleBody), &sent)
	got := get.json(t)
	sentMeta, gotMeta := sent["metadata"].(map[string]any), got["metadata"].(map[string]any)
	for k, v := range sentMeta {
		if !subset(v, gotMeta[k]) {
			t.Errorf("metadata.%s: sent %v, got %v", k, v, gotMeta[k])
		}
	}
	if got["id"] != "glacier-2020" || got["oai_identifier"] != "oai:uni-a.example:glacier-2020" || got["deleted"] != false {
		t.Errorf("assigned fields: %v", got)
	}
	if ds, _ := got["datestamp"].(string); len(ds) != 20 || !strings.HasSuffix(ds, "Z") {
		t.Errorf("datestamp %q is not UTC at second granularity", got["datestamp"])
	}
	// PUT back what GET gave: accepted, unchanged, same datestamp.
	again := call(t, "PUT", base+"/api/records/glacier-2020", testToken, string(get.body))
	if again.status != http.StatusOK || again.header.Get("Colligo-Outcome") != "unchanged" || again.json(t)["datestamp"] != got["datestamp"] {
		t.Fatalf("PUT of the GET body = %d %s %s", again.status, again.header.Get("Colligo-Outcome"), again.body)
	}
}

// subset reports whether every field of want is in got with the same value.
func subset(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !subset(v, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !subset(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(want, got)
}

func TestRecordAPIErrors(t *testing.T) {
	_, base := startNode(t)
	url := base + "/api/records/x1"
	tests := []struct {
		name, method, url, token, body string
		header                         []string
		status                         int
		inDetail                       string
	}{
		{"no token", "PUT", url, "", exampleBody, nil, 401, "admin token"},
		{"wrong token", "PUT", url, "nope", exampleBody, nil, 401, "not the admin token"},
		{"not JSON", "PUT", url, testToken, "{", nil, 400, "not valid JSON"},
		{"unknown field", "PUT", url, testToken, `{"metadata": {"titles": [{"value": "x"}]}, "colour": 1}`, nil, 400, `"colour"`},
		{"wrong type", "PUT", url, testToken, `{"metadata": {"titles": "x"}}`, nil, 400, "titles"},
		{"id mismatch", "PUT", url, testToken, `{"id": "other", "metadata": {"titles": [{"value": "x"}]}}`, nil, 400, "differs"},
		{"bad id", "PUT", base + "/api/records/has%20space", testToken, `{"metadata": {"titles": [{"value": "x"}]}}`, nil, 400, "invalid field"},
		{"wrong media type", "PUT", url, testToken, exampleBody, []string{"Content-Type", "application/xml"}, 415, "application/json"},
		{"too large", "PUT", url, testToken, `{"metadata": {"titles": [{"value": "` + strings.Repeat("x", 5<<20) + `"}]}}`, nil, 413, "at most"},
		{"stale If-Match", "PUT", url, testToken, exampleBody, []string{"If-Match", `"999-abc"`}, 412, "changed"},
		{"missing record", "GET", base + "/api/records/nope", "", "", nil, 404, "no record"},
		{"delete missing", "DELETE", base + "/api/records/nope", testToken, "", nil, 404, "no record"},
		{"unknown path", "GET", base + "/nothing/here", "", "", nil, 404, "nothing is served"},
		{"wrong method", "POST", url, testToken, exampleBody, nil, 405, "not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, tc.method, tc.url, tc.token, tc.body, tc.header...)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q, want application/problem+json", ct)
			}
			p := a.json(t)
			if int(p["status"].(float64)) != tc.status || !strings.Contains(fmt.Sprint(p["detail"]), tc.inDetail) {
				t.Errorf("problem %s lacks %q", a.body, tc.inDetail)
			}
		})
	}
	// Validation errors name every bad field.
	a := call(t, "PUT", url, testToken, `{"metadata": {"titles": [], "issued": "2021-13", "creators": [{"name": "X", "orcid": "0000-0002-1825-0098"}], "identifiers": [{"scheme": "doi", "value": "nope"}]}}`)
	if a.status != 400 {
		t.Fatalf("invalid record: %d %s", a.status, a.body)
	}
	var p struct {
		Type   string
		Errors []struct{ Field, Message string }
	}
	json.Unmarshal(a.body, &p)
	var fields []string
	for _, e := range p.Errors {
		fields = append(fields, e.Field)
	}
	want := []string{"metadata.creators[0].orcid", "metadata.issued", "metadata.identifiers[0]", "metadata.titles"}
	if p.Type != "urn:colligo:problem:invalid-record" || !reflect.DeepEqual(fields, want) {
		t.Errorf("problem type %q fields %v, want %v", p.Type, fields, want)
	}
	if a := call(t, "GET", url, "", ""); a.status != 404 {
		t.Errorf("a rejected record was stored: %d", a.status)
	}
}

func TestDeleteKeepsTombstone(t *testing.T) {
	n, base := startNode(t)
	call(t, "PUT", base+"/api/records/r1", testToken, exampleBody)
	d := call(t, "DELETE", base+"/api/records/r1", testToken, "")
	if d.status != 200 || d.json(t)["deleted"] != true {
		t.Fatalf("DELETE = %d %s", d.status, d.body)
	}
	g := call(t, "GET", base+"/api/records/r1", "", "")
	m := g.json(t)
	if m["deleted"] != true || m["metadata"].(map[string]any)["titles"] == nil {
		t.Fatalf("tombstone = %s", g.body)
	}
	// A conditional GET with the ETag answers 304.
	if c := call(t, "GET", base+"/api/records/r1", "", "", "If-None-Match", g.header.Get("ETag")); c.status != 304 {
		t.Errorf("conditional GET = %d", c.status)
	}
	rep, _ := n.Store().Verify(context.Background(), nil)
	if !rep.OK() {
		t.Fatal(rep.Problems)
	}
}

func TestConcurrentPuts(t *testing.T) {
	n, base := startNode(t)
	var wg sync.WaitGroup
	g := gen.New(3, gen.Institutions[0])
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				r := g.Record(c*25 + i)
				r.ID = ""
				b, _ := json.Marshal(r)
				if a := call(t, "PUT", fmt.Sprintf("%s/api/records/c%d-%d", base, c, i), testToken, string(b)); a.status != 201 {
					t.Errorf("PUT = %d %s", a.status, a.body)
				}
			}
		}()
	}
	wg.Wait()
	rep, err := n.Store().Verify(context.Background(), nil)
	if err != nil || !rep.OK() || rep.Records != 200 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	list := call(t, "GET", base+"/api/records?limit=150", "", "").json(t)
	if list["total"].(float64) != 200 || len(list["records"].([]any)) != 150 || list["next"] == "" {
		t.Fatalf("list: total %v, %d records, next %v", list["total"], len(list["records"].([]any)), list["next"])
	}
	rest := call(t, "GET", base+"/api/records?limit=150&cursor="+list["next"].(string), "", "").json(t)
	if len(rest["records"].([]any)) != 50 || rest["next"] != nil {
		t.Fatalf("second page: %d records, next %v", len(rest["records"].([]any)), rest["next"])
	}
}

func TestServiceEndpoints(t *testing.T) {
	n, base := startNode(t)
	call(t, "PUT", base+"/api/records/r1", testToken, exampleBody)
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/healthz", "text/plain; charset=utf-8", "ok"},
		{"/readyz", "text/plain; charset=utf-8", "ready"},
		{"/metrics", "", `colligo_store_writes_total{outcome="added"} 1`},
		{"/api/schema/record.json", "application/schema+json", `"$schema"`},
		{"/", "text/html; charset=utf-8", "Glacier mass balance"},
	} {
		a := call(t, "GET", base+tc.path, "", "")
		if a.status != 200 || (tc.ctype != "" && a.header.Get("Content-Type") != tc.ctype) || !bytes.Contains(a.body, []byte(tc.contains)) {
			t.Errorf("GET %s = %d %q, want %q containing %q", tc.path, a.status, a.header.Get("Content-Type"), tc.ctype, tc.contains)
		}
	}
	var schema map[string]any
	if err := json.Unmarshal(call(t, "GET", base+"/api/schema/record.json", "", "").body, &schema); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	// The node file tells the CLI where the node is; it goes at Close.
	info, err := ReadInfo(n.Config().DataDir)
	if err != nil || info.AdminToken != testToken || info.HTTPAddr != n.Addr() {
		t.Fatalf("node file: %+v, %v", info, err)
	}
	n.Close()
	if _, err := os.Stat(filepath.Join(n.Config().DataDir, NodeFile)); !os.IsNotExist(err) {
		t.Errorf("node file left behind: %v", err)
	}
}

// Importing through a running node: what the CLI does when the store is
// held by the node.
func TestImportThroughNode(t *testing.T) {
	n, _ := startNode(t)
	var buf bytes.Buffer
	gen.New(9, gen.Institutions[2]).WriteOAIDC(&buf, 0, 1500, true)
	l, err := OpenLocal(n.Config())
	if err != nil {
		t.Fatal(err)
	}
	if l.Client == nil {
		t.Fatal("OpenLocal opened a store the node holds")
	}
	sum, err := l.Client.Import(context.Background(), &buf, "gen.xml", int64(buf.Len()), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 1470 || sum.Deleted != 30 {
		t.Fatalf("summary %+v", sum)
	}
	if c, _ := n.Store().Len(context.Background()); c != 1500 {
		t.Fatalf("%d records stored", c)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(c *Config)
		field string
	}{
		{"default is valid", func(c *Config) {}, ""},
		{"repository id without dot", func(c *Config) { c.RepositoryID = "agora" }, "repository_id"},
		{"bad base url", func(c *Config) { c.BaseURL = "ftp://x" }, "base_url"},
		{"bad http addr", func(c *Config) { c.HTTPAddr = "8080" }, "http_addr"},
		{"bad email", func(c *Config) { c.AdminEmail = "nobody" }, "admin_email"},
		{"bad log level", func(c *Config) { c.LogLevel = "loud" }, "log_level"},
		{"bad node id", func(c *Config) { c.NodeID = "a b" }, "node_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			if err := c.Finish(); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			ce, ok := err.(*ConfigError)
			if !ok || ce.Field != tc.field {
				t.Fatalf("Validate = %v, want an error on %s", err, tc.field)
			}
		})
	}
	if s := fmt.Sprint(Secret("hunter2")); strings.Contains(s, "hunter2") {
		t.Errorf("a secret prints as %q", s)
	}
}
