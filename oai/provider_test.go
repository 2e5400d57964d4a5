package oai

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/colligo/colligo/oai/oaitest"
	"github.com/colligo/colligo/oai/oaixml"
	"github.com/colligo/colligo/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testClock is a settable clock at second granularity shared by the store
// (datestamps) and the provider (responseDate, token issue times).
type testClock struct{ t atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.set(time.Date(2024, 3, 15, 9, 30, 0, 0, time.UTC))
	return c
}
func (c *testClock) now() time.Time          { return time.Unix(c.t.Load(), 0).UTC() }
func (c *testClock) set(t time.Time)         { c.t.Store(t.Unix()) }
func (c *testClock) advance(d time.Duration) { c.t.Add(int64(d / time.Second)) }

// testConfig is a valid configuration with a few configured sets.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.BaseURL = "https://node.example"
	cfg.RepositoryName = "Colligo test node"
	cfg.AdminEmail = "admin@node.example"
	cfg.NodeID = "node.example"
	cfg.Sets = []SetConfig{
		{Spec: "type:dataset", Name: "Datasets", Description: "Research data & software <all kinds>", Types: []string{"Dataset"}},
		{Spec: "type:article", Name: "Articles", Types: []string{"Article", "journal article"}},
		{Spec: "lang:de", Name: "German", Filter: []string{"language=de"}},
		{Spec: "source:uni-b.example", Name: "Universität Beispielstadt"},
	}
	return cfg
}

// fixture is a real store in a temporary directory and a real provider
// behind a real HTTP server.
type fixture struct {
	t     testing.TB
	dir   string
	cfg   Config
	clock *testClock // nil: real time
	st    *store.Store
	d     *Deriver
	p     *Provider
	srv   *httptest.Server
	// friends is what Options.Friends returns.
	friends atomic.Pointer[[]string]
}

// fixedKey makes tokens, and so golden files, reproducible.
var fixedKey = bytes.Repeat([]byte{0x42}, 32)

func newFixture(t testing.TB, cfg Config, clock *testClock) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), cfg: cfg, clock: clock}
	f.open()
	t.Cleanup(f.close)
	return f
}

func (f *fixture) open() {
	f.t.Helper()
	d, err := NewDeriver(f.cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	var clock func() time.Time
	if f.clock != nil {
		clock = f.clock.now
		d.clock = f.clock.now
	}
	f.d = d
	st, err := store.Open(store.Config{Dir: f.dir, RepositoryID: "node.example", Derive: d.Derive, Clock: clock, CacheSize: 8 << 20})
	if err != nil {
		f.t.Fatal(err)
	}
	f.st = st
	if f.clock != nil {
		if k, _ := st.GetState(stateTokenKey); k == nil {
			if err := st.SetState(context.Background(), stateTokenKey, fixedKey); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	f.p, err = New(context.Background(), st, f.cfg, Options{Clock: clock, Friends: func() []string {
		if l := f.friends.Load(); l != nil {
			return *l
		}
		return nil
	}})
	if err != nil {
		f.t.Fatal(err)
	}
	f.srv = newServer(f.p)
}

// newServer serves a provider's routes on a loopback test server.
func newServer(p *Provider) *httptest.Server {
	r := httprouter.New()
	p.Routes(r)
	return httptest.NewServer(r)
}

func (f *fixture) close() {
	if f.srv != nil {
		f.srv.Close()
		f.srv = nil
	}
	if f.st != nil {
		if err := f.st.Close(); err != nil {
			f.t.Error(err)
		}
		f.st = nil
	}
}

// restart closes and reopens the store and the provider on the same
// directory, as a node restart does.
func (f *fixture) restart() {
	f.close()
	f.open()
}

func (f *fixture) put(recs ...*store.Record) []store.PutResult {
	f.t.Helper()
	res, err := f.st.Put(context.Background(), recs...)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// get sends a GET with the query and returns the body, after checking the
// HTTP answer and validating the body against the OAI-PMH schemas.
func (f *fixture) get(query string) []byte {
	f.t.Helper()
	return f.do(http.MethodGet, query, true)
}

// getLax is get for responses with original payloads (see
// oaitest.ValidateLaxMetadata).
func (f *fixture) getLax(query string) []byte {
	f.t.Helper()
	return f.do(http.MethodGet, query, false)
}

func (f *fixture) do(method, query string, strict bool) []byte {
	f.t.Helper()
	var req *http.Request
	var err error
	if method == http.MethodPost {
		req, err = http.NewRequest(method, f.srv.URL+"/oai", strings.NewReader(query))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req, err = http.NewRequest(method, f.srv.URL+"/oai?"+query, nil)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("%s %s: status %d: %s", method, query, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		f.t.Errorf("%s %s: Content-Type %q", method, query, ct)
	}
	if strict {
		oaitest.Validate(f.t, body)
	} else {
		oaitest.ValidateLaxMetadata(f.t, body)
	}
	oaitest.CheckDates(f.t, body)
	return body
}

// parsed is a response read back with the project's own OAI-PMH reader.
type parsed struct {
	responseDate string
	request      *oaixml.Request
	errors       []*oaixml.Error
	records      []*oaixml.Record
	headers      []*oaixml.Header
	sets         []*oaixml.Set
	formats      []*oaixml.MetadataFormat
	identify     *oaixml.Identify
	token        *oaixml.ResumptionToken
}

func parse(t testing.TB, body []byte) *parsed {
	t.Helper()
	var p parsed
	d := oaixml.NewDecoder(bytes.NewReader(body), oaixml.Options{}, nil)
	for {
		it, err := d.Next()
		if err == io.EOF {
			return &p
		}
		if err != nil {
			t.Fatalf("parse response: %v\n%s", err, body)
		}
		switch v := it.(type) {
		case oaixml.ResponseDate:
			p.responseDate = string(v)
		case *oaixml.Request:
			p.request = v
		case *oaixml.Error:
			p.errors = append(p.errors, v)
		case *oaixml.Record:
			p.records = append(p.records, v)
		case *oaixml.Header:
			p.headers = append(p.headers, v)
		case *oaixml.Set:
			p.sets = append(p.sets, v)
		case *oaixml.MetadataFormat:
			p.formats = append(p.formats, v)
		case *oaixml.Identify:
			p.identify = v
		case *oaixml.ResumptionToken:
			p.token = v
		}
	}
}

// errorCodes returns the codes of a response's errors.
func (p *parsed) errorCodes() []string {
	var codes []string
	for _, e := range p.errors {
		codes = append(codes, e.Code)
	}
	return codes
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./oai -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n got %s\nwant %s", name, got, want)
	}
}

func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
