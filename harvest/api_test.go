package harvest

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/colligo/colligo/store"
)

// testAdmin stands in for node's bearer-token check.
func testAdmin(next httprouter.Handle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		if r.Header.Get("Authorization") != "Bearer secret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		next(w, r, ps)
	}
}

func apiCall(t *testing.T, srv *httptest.Server, method, path, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestAPI(t *testing.T) {
	rp := newTestRepo(t, 120)
	cfg := testConfig()
	cfg.Sources = []Source{{ID: "from-config", BaseURL: "https://config.example/oai", Enabled: true}}
	h, st, _ := newTestHarvester(t, cfg)
	r := httprouter.New()
	h.Routes(r, testAdmin)
	srv := httptest.NewServer(r)
	defer srv.Close()

	if resp, err := http.Get(srv.URL + "/api/sources"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a token: %v %v", resp.Status, err)
	}
	for _, bad := range []string{`{}`, `{"base_url": "ftp://x.example/oai"}`, `{"base_url": "https://x.example/oai?verb=Identify"}`,
		`{"base_url": "https://x.example/oai", "every": "soon"}`, `{"base_url": "https://x.example/oai", "colour": "red"}`, `not json`} {
		resp, b := apiCall(t, srv, "POST", "/api/sources", bad)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("POST %s: %s %s", bad, resp.Status, b)
		}
	}
	resp, b := apiCall(t, srv, "POST", "/api/sources", `{"base_url": "`+rp.URL()+`", "id": "repo", "every": "6h", "enabled": false}`)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") != "/api/sources/repo" {
		t.Fatalf("POST: %s %s", resp.Status, b)
	}
	var created SourceStatus
	if err := json.Unmarshal(b, &created); err != nil || created.Prefix != "oai_dc" || created.Every != 6*time.Hour || created.Enabled {
		t.Errorf("created %+v %v", created, err)
	}
	if resp, b := apiCall(t, srv, "POST", "/api/sources", `{"base_url": "`+rp.URL()+`", "id": "repo"}`); resp.StatusCode != http.StatusConflict {
		t.Errorf("duplicate: %s %s", resp.Status, b)
	}

	// Harvest now, with streamed progress.
	resp, b = apiCall(t, srv, "POST", "/api/sources/repo/harvest", "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("harvest: %s %s", resp.Status, b)
	}
	last := lastLine(t, b)
	if last.Result == nil || last.Result.Added != 120 || last.Error != "" {
		t.Errorf("harvest result %s", b)
	}
	resp, b = apiCall(t, srv, "GET", "/api/sources", "")
	var list struct{ Sources []SourceStatus }
	if err := json.Unmarshal(b, &list); err != nil || len(list.Sources) != 2 {
		t.Fatalf("list %s %v", b, err)
	}
	if s := list.Sources[1]; s.ID != "repo" || s.Status.Added != 120 || s.Status.LastSuccess.IsZero() || s.Config {
		t.Errorf("repo status %+v", s)
	}
	if s := list.Sources[0]; s.ID != "from-config" || !s.Config {
		t.Errorf("config source %+v", s)
	}
	if !strings.Contains(string(b), `"last_success"`) || !strings.Contains(string(b), `"every": "6h0m0s"`) {
		t.Errorf("list JSON %s", b)
	}

	// An ad hoc harvest of a source given in the body.
	resp, b = apiCall(t, srv, "POST", "/api/harvest", `{"base_url": "`+rp.URL()+`", "id": "adhoc", "set": "b"}`)
	// (The same records: they change origin.)
	if last := lastLine(t, b); resp.StatusCode != 200 || last.Result == nil || last.Result.Updated != 6 || last.Result.Records != 6 {
		t.Errorf("ad hoc harvest: %s %s", resp.Status, b)
	}
	// The same id as a registered source with other settings is refused.
	if resp, b := apiCall(t, srv, "POST", "/api/harvest", `{"base_url": "`+rp.URL()+`", "id": "repo", "set": "b"}`); resp.StatusCode != 400 {
		t.Errorf("conflicting ad hoc harvest: %s %s", resp.Status, b)
	}
	// A failing harvest reports the error and its URL in the last line.
	resp, b = apiCall(t, srv, "POST", "/api/harvest", `{"base_url": "`+rp.URL()+`", "id": "bad", "prefix": "nonesuch"}`)
	if last := lastLine(t, b); last.Error == "" || !strings.Contains(last.ErrorURL, "verb=ListMetadataFormats") || !strings.Contains(last.Error, `does not offer metadataPrefix "nonesuch" (it offers oai_dc)`) {
		t.Errorf("failing harvest: %s", b)
	}

	if resp, b := apiCall(t, srv, "DELETE", "/api/sources/from-config", ""); resp.StatusCode != http.StatusConflict {
		t.Errorf("DELETE config source: %s %s", resp.Status, b)
	}
	if resp, b := apiCall(t, srv, "DELETE", "/api/sources/repo", ""); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE: %s %s", resp.Status, b)
	}
	if resp, _ := apiCall(t, srv, "GET", "/api/sources/repo", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET after DELETE: %s", resp.Status)
	}
	if resp, _ := apiCall(t, srv, "POST", "/api/sources/repo/harvest", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("harvest after DELETE: %s", resp.Status)
	}
	if names, _ := st.StateNames("harvest/checkpoint/repo/"); len(names) != 0 {
		t.Errorf("checkpoints left after DELETE: %v", names)
	}
	// Its records stay.
	if n, _ := st.Count(ctx, store.Query{Origin: "repo"}); n != 114 {
		t.Errorf("%d records of the removed source", n)
	}
	// Sources added through the API survive a restart.
	h2, _ := newHarvesterOn(t, st, cfg)
	if _, err := h2.Source("adhoc"); err == nil {
		t.Error("an ad hoc harvest registered a source")
	}
	if _, err := h2.Source("repo"); err == nil {
		t.Error("the removed source came back")
	}
}

func lastLine(t *testing.T, b []byte) StreamLine {
	t.Helper()
	var last StreamLine
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		last = StreamLine{}
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
	}
	return last
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The scheduler harvests due sources, and keeps the next run, and the
// metrics count what was harvested.
func TestSchedulerAndMetrics(t *testing.T) {
	rp := newTestRepo(t, 50)
	rp2 := newTestRepo(t, 30)
	cfg := testConfig()
	cfg.Sources = []Source{{ID: "sched", BaseURL: rp.URL(), Every: time.Hour, Enabled: true},
		{ID: "manual", BaseURL: rp2.URL(), Enabled: true}}
	st := openTestStore(t, t.TempDir())
	defer st.Close()
	reg := prometheus.NewRegistry()
	h, err := New(st, cfg, WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.Start()
	waitFor(t, "the scheduled harvest", func() bool {
		s, _ := h.Source("sched")
		return !s.Status.LastSuccess.IsZero() && !s.Status.Running
	})
	s, _ := h.Source("sched")
	if s.Status.Added != 50 || !s.Status.NextRun.Equal(s.Status.LastStart.Add(time.Hour)) {
		t.Errorf("status %+v", s.Status)
	}
	if m, _ := h.Source("manual"); !m.Status.LastStart.IsZero() || !m.Status.NextRun.IsZero() {
		t.Errorf("the manual source was scheduled: %+v", m.Status)
	}
	// A source added while running is scheduled at once.
	rp3 := newTestRepo(t, 10)
	if _, err := h.AddSource(ctx, Source{ID: "late", BaseURL: rp3.URL(), Every: 2 * time.Hour, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the added source", func() bool {
		s, _ := h.Source("late")
		return s.Status.Records == 10
	})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "colligo_harvest_records_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var src, outcome string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "source":
					src = l.GetValue()
				case "outcome":
					outcome = l.GetValue()
				}
			}
			if src == "sched" && outcome == "added" {
				found = m.GetCounter().GetValue() == 50
			}
		}
	}
	if !found {
		t.Error("colligo_harvest_records_total{source=sched,outcome=added} is not 50")
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.HarvestOnce(ctx, Source{ID: "x", BaseURL: rp.URL()}, RunOptions{}); err == nil {
		t.Error("HarvestOnce after Close succeeded")
	}
}

// The config file form of the settings and sources.
func TestConfigTOML(t *testing.T) {
	var c struct {
		Harvest Config `toml:"harvest"`
	}
	c.Harvest = DefaultConfig()
	md, err := toml.Decode(`
[harvest]
request_timeout = "30s"
retries = 3
[[harvest.sources]]
id = "zenodo"
base_url = "https://zenodo.org/oai2d"
set = "user-software"
every = "6h"
[[harvest.sources]]
base_url = "https://export.arxiv.org/oai2"
prefix = "arXiv"
enabled = false
`, &c)
	if err != nil || len(md.Undecoded()) != 0 {
		t.Fatal(err, md.Undecoded())
	}
	h := c.Harvest
	if h.RequestTimeout != 30*time.Second || h.Retries != 3 || h.BackoffBase != 2*time.Second || len(h.Sources) != 2 {
		t.Fatalf("config %+v", h)
	}
	z, a := h.Sources[0], h.Sources[1]
	if z.ID != "zenodo" || z.Every != 6*time.Hour || !z.Enabled || z.Prefix != "oai_dc" || z.Set != "user-software" {
		t.Errorf("zenodo %+v", z)
	}
	if a.ID != "export.arxiv.org" || a.Enabled || a.Every != 0 || a.Prefix != "arXiv" {
		t.Errorf("arxiv %+v", a)
	}
	if err := h.Validate(); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{`colour = "red"`, `every = "often"`, `enabled = "yes"`} {
		_, err := toml.Decode("[[harvest.sources]]\nbase_url = \"https://x.example/oai\"\n"+bad+"\n", &c)
		if err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	bad := DefaultConfig()
	bad.Sources = []Source{{BaseURL: "https://a.example/oai"}, {BaseURL: "https://a.example/oai", Set: "x"}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "sources[1].id") {
		t.Errorf("duplicate ids: %v", err)
	}
	bad = DefaultConfig()
	bad.BackoffMax = time.Millisecond
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "backoff_max") {
		t.Errorf("backoff: %v", err)
	}
}

// While a harvest runs, the status shows its counts so far.
func TestStatusWhileRunning(t *testing.T) {
	rp := newTestRepo(t, 500)
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	// Registered after the repository's Close, so run before it: a failing
	// test must not leave the handler blocked and Close waiting forever.
	t.Cleanup(free)
	rp.fault = nthList([]int{3}, func(w http.ResponseWriter, r *http.Request) {
		<-release
		rp.answer(w, r)
	})
	h, _, _ := newTestHarvester(t, testConfig())
	src, err := h.AddSource(ctx, Source{ID: "slow", BaseURL: rp.URL()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := h.HarvestOnce(ctx, src, RunOptions{})
		done <- err
	}()
	// The first two pages are stored while the third is held back.
	waitFor(t, "the first pages", func() bool {
		s, _ := h.Source("slow")
		return s.Status.Running && s.Status.Added == 200
	})
	free()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s, _ := h.Source("slow"); s.Status.Running || s.Status.Added != 500 {
		t.Errorf("status after the harvest %+v", s.Status)
	}
}
