package oai

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/colligo/colligo/internal/procstat"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

// Benchmarks run the provider in a child process (this test binary, see
// TestBenchServer) on a store of generated records, and harvest it over
// loopback with a real HTTP client that reads every byte, so that the
// server's memory is measured alone.
//
//	go test ./oai -run '^$' -bench . -benchtime 2x
//	COLLIGO_BENCH_N=1000000 COLLIGO_BENCH_DIR=/var/tmp go test ./oai -run '^$' -bench . -benchtime 1x -timeout 60m
//
// Besides rates and latencies they report the CPU time of the server
// process and of the clients per record or request, and the load average:
// on a shared machine the CPU time is the steadier figure.
// COLLIGO_OAI_BENCH_CACHE_MIB sets the server's block cache (default the
// store's, 256 MiB): a smaller one makes 100,000 records behave as a
// million do with the default, for memory. COLLIGO_OAI_BENCH_CPUPROFILE
// writes the server's CPU profile.

// benchN is the number of generated records: 100,000 by default,
// COLLIGO_BENCH_N to change it.
func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("COLLIGO_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

func benchConfig() Config {
	cfg := DefaultConfig()
	cfg.BaseURL = "https://bench.example"
	cfg.RepositoryName = "Colligo benchmark"
	cfg.AdminEmail = "admin@bench.example"
	cfg.NodeID = "uni-a.example"
	cfg.Sets = []SetConfig{
		{Spec: "type:dataset", Name: "Datasets", Types: []string{"Dataset"}},
		{Spec: "type:article", Name: "Articles", Types: []string{"Article"}},
	}
	return cfg
}

// benchRecord is the i-th benchmark record: generated, and one in ten
// harvested from another node, with provenance.
func benchRecord(g *gen.Generator, i int) *store.Record {
	r := g.Record(i)
	r.Origin = "uni-a.example"
	if i%10 == 9 {
		r.Origin = "uni-b.example"
		r.Provenance = []store.Provenance{{BaseURL: "https://uni-b.example/oai", Identifier: "oai:uni-b.example:" + r.ID,
			Datestamp: "2024-01-01T00:00:00Z", HarvestDate: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
			MetadataNamespace: "http://www.openarchives.org/OAI/2.0/oai_dc/", Altered: true}}
	}
	return r
}

var benchDirOnce sync.Once

// benchStore returns a data directory holding n benchmark records, made
// once and kept in COLLIGO_BENCH_DIR when set (it takes a while at 1M).
func benchStore(b *testing.B, n int) string {
	base := os.Getenv("COLLIGO_BENCH_DIR")
	if base == "" {
		base = os.TempDir()
	}
	dir := filepath.Join(base, fmt.Sprintf("colligo-oai-bench-%d-v1", n))
	benchDirOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
			return
		}
		os.RemoveAll(dir)
		start := time.Now()
		d, err := NewDeriver(benchConfig())
		if err != nil {
			b.Fatal(err)
		}
		st, err := store.Open(store.Config{Dir: dir, RepositoryID: "uni-a.example", Derive: d.Derive})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		const batch = 1000
		var pending []*store.PendingCommit
		for from := 0; from < n; from += batch {
			ps := make([]*store.Prepared, min(batch, n-from))
			var wg sync.WaitGroup
			workers := runtime.GOMAXPROCS(0)
			for w := range workers {
				wg.Go(func() {
					g := gen.New(42, gen.Institutions[0])
					for j := w; j < len(ps); j += workers {
						p, err := st.Prepare(benchRecord(g, from+j))
						if err != nil {
							b.Error(err)
							return
						}
						ps[j] = p
					}
				})
			}
			wg.Wait()
			pc, err := st.CommitAsync(ctx, ps, store.CommitOptions{})
			if err != nil {
				b.Fatal(err)
			}
			pending = append(pending, pc)
			if len(pending) > 4 {
				if _, err := pending[0].Wait(); err != nil {
					b.Fatal(err)
				}
				pending = pending[1:]
			}
		}
		for _, pc := range pending {
			if _, err := pc.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Logf("generated %d records in %s in %v", n, dir, time.Since(start).Round(time.Millisecond))
	})
	return dir
}

// TestBenchServer is the benchmarks' server process: with
// COLLIGO_OAI_BENCH_DIR set, it serves the store there on loopback, prints
// its address, and serves until its standard input closes.
func TestBenchServer(t *testing.T) {
	dir := os.Getenv("COLLIGO_OAI_BENCH_DIR")
	if dir == "" {
		t.Skip("the benchmarks' server process")
	}
	debug.SetGCPercent(200) // as colligo serve does
	cfg := benchConfig()
	cfg.PageSize, _ = strconv.Atoi(os.Getenv("COLLIGO_OAI_BENCH_PAGE"))
	cacheMiB, _ := strconv.Atoi(os.Getenv("COLLIGO_OAI_BENCH_CACHE_MIB"))
	st, err := store.Open(store.Config{Dir: dir, RepositoryID: "uni-a.example", CacheSize: int64(cacheMiB) << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := New(context.Background(), st, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := httprouter.New()
	p.Routes(r)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Printf("ADDR %s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

// benchServer starts the server process and returns its base URL and pid.
func benchServer(b *testing.B, dir string, pageSize int) (string, int) {
	args := []string{"-test.run=^TestBenchServer$", "-test.count=1"}
	if prof := os.Getenv("COLLIGO_OAI_BENCH_CPUPROFILE"); prof != "" {
		// The server's profile, for `go tool pprof`.
		args = append(args, "-test.cpuprofile="+prof)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "COLLIGO_OAI_BENCH_DIR="+dir, "COLLIGO_OAI_BENCH_PAGE="+strconv.Itoa(pageSize))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			go io.Copy(io.Discard, stdout)
			return "http://" + addr + "/oai", cmd.Process.Pid
		}
	}
	b.Fatal("the server process did not start")
	return "", 0
}

// loadAverage returns the 1-minute load average, to read wall-clock
// figures measured on a shared machine.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

var tokenRe = regexp.MustCompile(`<resumptionToken[^>]*>([^<]*)</resumptionToken>`)

// harvester is a client that harvests a whole list, reading every byte.
type harvester struct {
	client    *http.Client
	gzip      bool
	buf       bytes.Buffer
	firstByte []time.Duration
	bytes     int64 // of XML
	wire      int64 // on the wire
	zr        *gzip.Reader
}

func newHarvester(gzip bool) *harvester {
	return &harvester{gzip: gzip, client: &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16}}}
}

// page fetches one page and returns its records and next token.
func (h *harvester) page(ctx context.Context, url string) (int, string, error) {
	var start, first time.Time
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if h.gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	start = time.Now()
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	h.buf.Reset()
	cr := &countingReader{r: resp.Body}
	var in io.Reader = cr
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if h.zr == nil {
			h.zr, err = gzip.NewReader(cr)
		} else {
			err = h.zr.Reset(cr)
		}
		if err != nil {
			return 0, "", err
		}
		in = h.zr
	} else if h.gzip {
		return 0, "", fmt.Errorf("%s: not gzip-compressed", url)
	}
	_, err = h.buf.ReadFrom(in)
	resp.Body.Close()
	if err != nil {
		return 0, "", err
	}
	h.wire += cr.n
	h.firstByte = append(h.firstByte, first.Sub(start))
	body := h.buf.Bytes()
	h.bytes += int64(len(body))
	if bytes.Contains(body, []byte("<error ")) {
		return 0, "", fmt.Errorf("%s: %s", url, body)
	}
	n := bytes.Count(body, []byte("<record>"))
	var tok string
	if m := tokenRe.FindSubmatch(body[max(0, len(body)-1024):]); m != nil {
		tok = string(m[1])
	}
	return n, tok, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(float64(len(s))*p))]) / float64(time.Millisecond)
}

var setSizes sync.Map

// benchSetSize counts the records of a set, by generating them again (the
// store is held by the server process).
func benchSetSize(b *testing.B, set string) int {
	if v, ok := setSizes.Load(set); ok {
		return v.(int)
	}
	d, err := NewDeriver(benchConfig())
	if err != nil {
		b.Fatal(err)
	}
	g := gen.New(42, gen.Institutions[0])
	k := 0
	for i := range benchN() {
		der, err := d.Derive(benchRecord(g, i))
		if err != nil {
			b.Fatal(err)
		}
		if slices.Contains(der.Sets, set) {
			k++
		}
	}
	setSizes.Store(set, k)
	return k
}

// BenchmarkListRecords harvests every record in oai_dc through all the
// resumption tokens, at several page sizes, and reports the rate, the
// time to the first byte of a page and the server's memory.
func BenchmarkListRecords(b *testing.B) {
	n := benchN()
	dir := benchStore(b, n)
	for _, tc := range []struct {
		page int
		gzip bool
		set  string
	}{{100, false, ""}, {500, false, ""}, {5000, false, ""}, {500, true, ""}, {500, false, "type:dataset"}} {
		name := fmt.Sprintf("page=%d", tc.page)
		if tc.gzip {
			name += "/gzip"
		}
		if tc.set != "" {
			name += "/set=" + tc.set
		}
		b.Run(name, func(b *testing.B) {
			base, pid := benchServer(b, dir, tc.page)
			h := newHarvester(tc.gzip)
			ctx := context.Background()
			want := n
			if tc.set != "" {
				want = benchSetSize(b, tc.set)
			}
			rssStart := procstat.Memory(pid, "VmRSS")
			var total int
			srv0, cli0 := procstat.CPU(pid), procstat.Self()
			for b.Loop() {
				got := 0
				url := base + "?verb=ListRecords&metadataPrefix=oai_dc"
				if tc.set != "" {
					url += "&set=" + tc.set
				}
				for {
					k, tok, err := h.page(ctx, url)
					if err != nil {
						b.Fatal(err)
					}
					got += k
					if tok == "" {
						break
					}
					url = base + "?verb=ListRecords&resumptionToken=" + tok
				}
				if got != want {
					b.Fatalf("harvested %d records, want %d", got, want)
				}
				total += got
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
			// CPU per record, steadier than the rate on a shared machine.
			b.ReportMetric(float64((procstat.CPU(pid)-srv0).Nanoseconds())/1e3/float64(total), "server-cpu-us/record")
			b.ReportMetric(float64((procstat.Self()-cli0).Nanoseconds())/1e3/float64(total), "client-cpu-us/record")
			b.ReportMetric(loadAverage(), "load1")
			b.ReportMetric(percentile(h.firstByte, 0.5), "first-byte-p50-ms")
			b.ReportMetric(percentile(h.firstByte, 0.99), "first-byte-p99-ms")
			b.ReportMetric(float64(procstat.Memory(pid, "VmHWM"))/(1<<20), "server-peak-RSS-MiB")
			b.ReportMetric(float64(rssStart)/(1<<20), "server-start-RSS-MiB")
			b.ReportMetric(float64(h.bytes)/float64(total), "xml-B/record")
			b.ReportMetric(float64(h.wire)/float64(total), "wire-B/record")
		})
	}
}

// BenchmarkGetRecord asks for random records in oai_dc from 16 clients at
// once and reports latency percentiles.
func BenchmarkGetRecord(b *testing.B) {
	n := benchN()
	dir := benchStore(b, n)
	for _, prefix := range []string{"oai_dc", "oai_datacite"} {
		b.Run(prefix, func(b *testing.B) {
			base, pid := benchServer(b, dir, 500)
			const clients, perClient = 16, 500
			client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: clients}}
			var (
				mu   sync.Mutex
				lats []time.Duration
				reqs int
			)
			srv0, cli0 := procstat.CPU(pid), procstat.Self()
			for b.Loop() {
				var wg sync.WaitGroup
				for c := range clients {
					wg.Go(func() {
						rng := rand.New(rand.NewPCG(uint64(c), uint64(reqs)))
						local := make([]time.Duration, 0, perClient)
						for range perClient {
							id := fmt.Sprintf("uni-a-%d", rng.IntN(n))
							start := time.Now()
							resp, err := client.Get(base + "?verb=GetRecord&metadataPrefix=" + prefix + "&identifier=oai:uni-a.example:" + id)
							if err != nil {
								b.Error(err)
								return
							}
							body, err := io.ReadAll(resp.Body)
							resp.Body.Close()
							if err != nil || !bytes.Contains(body, []byte("<GetRecord>")) {
								b.Errorf("GetRecord %s: %v %.300s", id, err, body)
								return
							}
							local = append(local, time.Since(start))
						}
						mu.Lock()
						lats = append(lats, local...)
						mu.Unlock()
					})
				}
				wg.Wait()
				reqs += clients * perClient
			}
			b.ReportMetric(float64(reqs)/b.Elapsed().Seconds(), "requests/s")
			b.ReportMetric(float64((procstat.CPU(pid)-srv0).Nanoseconds())/1e3/float64(reqs), "server-cpu-us/req")
			b.ReportMetric(float64((procstat.Self()-cli0).Nanoseconds())/1e3/float64(reqs), "client-cpu-us/req")
			b.ReportMetric(loadAverage(), "load1")
			b.ReportMetric(percentile(lats, 0.5), "p50-ms")
			b.ReportMetric(percentile(lats, 0.99), "p99-ms")
		})
	}
}
