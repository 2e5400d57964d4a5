package node

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/colligo/colligo/internal/procstat"
	"github.com/colligo/colligo/ld/linkheader"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

// startNode starts a node on a loopback port in a temp dir.
func startNodeLD(t testing.TB, cfg Config) *Node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = ln.Addr().String()
	cfg.BaseURL = ""
	cfg.AdminToken = "test-token"
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
	t.Cleanup(func() { n.Close() })
	return n
}

func TestNodeServesLinkedData(t *testing.T) {
	n := startNodeLD(t, DefaultConfig())
	if _, err := n.LoadDemo(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	id := gen.New(1000, gen.Institutions[0]).Record(5).ID
	resp, err := http.Get(n.RecordURL(id))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html" || !strings.Contains(string(body), `<script type="application/ld+json">`) {
		t.Fatalf("GET %s: %d %s", n.RecordURL(id), resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	links, err := linkheader.Parse(resp.Header.Values("Link")...)
	if err != nil {
		t.Fatal(err)
	}
	var cite []string
	for _, l := range links {
		if l.HasRel("cite-as") {
			cite = append(cite, l.Target)
		}
	}
	if !slices.Equal(cite, []string{"https://doi.org/10.5072/uni-a.5"}) {
		t.Errorf("cite-as %v", cite)
	}
	for _, u := range []string{n.RecordURL(id) + "/metadata.ttl", n.RecordURL(id) + "/linkset.json", n.Config().BaseURL + "/ns/v1/context.jsonld"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", u, resp.StatusCode)
		}
	}
	// The home page links the record to its landing page.
	resp, err = http.Get(n.Config().BaseURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	home, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(home), `href="/records/`) {
		t.Errorf("home page does not link records")
	}
	// Metrics are on the node's registry.
	resp, err = http.Get(n.Config().BaseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `colligo_ld_renders_total{format="html"}`) {
		t.Errorf("no ld metrics")
	}
}

func TestLDConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "colligo.toml")
	if err := os.WriteFile(path, []byte("[ld]\nmax_authors = 5\nmax_items = 7\ncache_mib = 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if err := cfg.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if cfg.LD.MaxAuthors != 5 || cfg.LD.MaxItems != 7 || cfg.LD.CacheMiB != 0 || cfg.LD.MaxLinkHeaderBytes != 4096 {
		t.Errorf("LD = %+v", cfg.LD)
	}
	if err := os.WriteFile(path, []byte("[ld]\nmax_author = 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := DefaultConfig()
	if err := bad.LoadFile(path); err == nil || !strings.Contains(err.Error(), "ld.max_author") {
		t.Errorf("misspelt key: %v", err)
	}
	cfg = DefaultConfig()
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	cfg.LD.MaxLinkHeaderBytes = 10
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "ld.max_link_header_bytes") {
		t.Errorf("Validate = %v", err)
	}
	// The example configuration is complete and loads.
	cfg = DefaultConfig()
	if err := cfg.LoadFile(filepath.Join("..", "configs", "colligo.toml")); err != nil {
		t.Fatal(err)
	}
	if cfg.LD != DefaultConfig().LD {
		t.Errorf("configs/colligo.toml [ld] = %+v, defaults %+v", cfg.LD, DefaultConfig().LD)
	}
}

// ldBenchN is the size of the landing-page benchmark's collection: 10,000
// records, the figure, or COLLIGO_LD_BENCH_N.
func ldBenchN() int {
	if n, err := strconv.Atoi(os.Getenv("COLLIGO_LD_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 10_000
}

// BenchmarkLandingPage: 16 concurrent clients in this process fetch
// landing pages of random records over loopback HTTP from a node with
// ldBenchN records; reports requests/s (client included) and latency
// percentiles. Each iteration is 16 × 500 requests. COLLIGO_LD_CACHE_MIB
// sets the render cache (default: the node's default);
// COLLIGO_LD_BENCH_CPUPROFILE writes a CPU profile of the requests.
func BenchmarkLandingPage(b *testing.B) {
	cfg := DefaultConfig()
	if v, err := strconv.Atoi(os.Getenv("COLLIGO_LD_CACHE_MIB")); err == nil {
		cfg.LD.CacheMiB = v
	}
	n := startNodeLD(b, cfg)
	total := ldBenchN()
	g := gen.New(42, gen.Institutions[0])
	ids := make([]string, 0, total)
	for from := 0; from < total; from += 1000 {
		recs := make([]*store.Record, 0, 1000)
		for i := from; i < min(from+1000, total); i++ {
			r := g.Record(i)
			ids = append(ids, r.ID)
			recs = append(recs, r)
		}
		if _, err := n.Store().Put(context.Background(), recs...); err != nil {
			b.Fatal(err)
		}
	}
	// The node indexes the records for search in the background: wait for
	// it, so that the clock and the CPU count measure landing pages only.
	deadline := time.Now().Add(5 * time.Minute)
	for n.Search().Checkpoint() < n.Store().LastSeq() {
		if time.Now().After(deadline) {
			b.Fatalf("search index at seq %d of %d after 5 minutes", n.Search().Checkpoint(), n.Store().LastSeq())
		}
		time.Sleep(50 * time.Millisecond)
	}
	const clients = 16
	const perRound = 500 // requests per client per iteration
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	base := n.Config().BaseURL + "/records/"
	var mu sync.Mutex
	var lat []time.Duration
	requests := 0
	round := 0
	cpu0 := procstat.Self()
	if path := os.Getenv("COLLIGO_LD_BENCH_CPUPROFILE"); path != "" {
		// A profile of the requests alone; -cpuprofile also has the
		// records' writing and indexing.
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	for b.Loop() {
		round++
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(seed, uint64(round)))
				mine := make([]time.Duration, 0, perRound)
				for i := 0; i < perRound; i++ {
					start := time.Now()
					req, _ := http.NewRequest("GET", base+ids[rng.IntN(len(ids))], nil)
					req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
					resp, err := client.Do(req)
					if err != nil {
						errs <- err
						return
					}
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != 200 {
						errs <- fmt.Errorf("status %d, %v", resp.StatusCode, err)
						return
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}(uint64(c))
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		requests += clients * perRound
	}
	b.ReportMetric(float64(requests)/b.Elapsed().Seconds(), "requests/s")
	// CPU time of the process (server and clients) per request: on a
	// machine shared with other work, requests/s shows the share this
	// process got; 2 cores / cpu-us/req is what two cores of its own give.
	b.ReportMetric(float64((procstat.Self()-cpu0).Microseconds())/float64(requests), "cpu-us/req")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
