package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/colligo/colligo/internal/procstat"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

// benchN is the number of generated records the benchmarks use: 100,000
// by default, COLLIGO_BENCH_N to change it (`make bench` uses 1,000,000).
func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("COLLIGO_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// benchDir is where built stores and indexes are kept between runs
// (COLLIGO_BENCH_DIR), or else a temporary directory that lasts as long
// as the test binary: the store is built once for every benchmark and
// every -count, so it must outlive the benchmark that built it.
func benchDir(b *testing.B) string {
	if d := os.Getenv("COLLIGO_BENCH_DIR"); d != "" {
		return d
	}
	benchTmpOnce.Do(func() {
		benchTmp, benchTmpErr = os.MkdirTemp("", "colligo-search-bench-")
	})
	if benchTmpErr != nil {
		b.Fatal(benchTmpErr)
	}
	return benchTmp
}

var (
	benchTmpOnce sync.Once
	benchTmp     string
	benchTmpErr  error
)

// TestMain removes the benchmarks' temporary directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchTmp != "" {
		os.RemoveAll(benchTmp)
	}
	os.Exit(code)
}

var benchStoreOnce sync.Once

// benchStore returns the directory of a store holding n generated records
// of the three institutions, building it once (it is kept in
// COLLIGO_BENCH_DIR).
func benchStore(b *testing.B, n int) string {
	dir := filepath.Join(benchDir(b), "colligo-search-bench-store-"+strconv.Itoa(n))
	benchStoreOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
			return
		}
		os.RemoveAll(dir)
		st := openStore(b, dir)
		gens := []*gen.Generator{gen.New(42, gen.Institutions[0]), gen.New(43, gen.Institutions[1]), gen.New(44, gen.Institutions[2])}
		origins := []string{"uni-a.example", "uni-b.example", "uni-c.example"}
		ctx := context.Background()
		const chunk = 2000
		for from := 0; from < n; from += chunk {
			var recs []*store.Record
			for i := from; i < min(from+chunk, n); i++ {
				k := i % 3
				r := gens[k].Record(i / 3)
				r.Origin = origins[k]
				recs = append(recs, r)
			}
			if _, err := st.Put(ctx, recs...); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644)
	})
	return dir
}

// BenchmarkIndex indexes a store of generated records into an empty index
// (the path of a first start or a reindex) and reports records/s, CPU
// time per record, and the index's bytes on disk per record.
func BenchmarkIndex(b *testing.B) {
	n := benchN()
	sdir := benchStore(b, n)
	st, err := store.Open(store.Config{Dir: sdir + "/store", RepositoryID: "test.example"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var disk uint64
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		cfg := DefaultConfig()
		cfg.Dir = dir
		svc, err := Open(cfg, st, Options{})
		if err != nil {
			b.Fatal(err)
		}
		c0 := procstat.Self()
		b.StartTimer()
		if err := svc.CatchUp(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += procstat.Self() - c0
		sh, _ := svc.shard()
		disk = sh.diskBytes()
		if got := svc.Search; got == nil {
			b.Fatal()
		}
		res, err := svc.Search(context.Background(), Request{NoFacets: true, Limit: 1})
		if err != nil || res.Total != int64(n) {
			b.Fatalf("index holds %d records, want %d (%v)", res.Total, n, err)
		}
		svc.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/record")
	b.ReportMetric(float64(disk)/float64(n), "disk-B/record")
}

var benchIndexOnce sync.Once

// benchService opens a store of n generated records and an index of it,
// built once and kept in COLLIGO_BENCH_DIR.
func benchService(b *testing.B) (*Service, *store.Store) {
	n := benchN()
	sdir := benchStore(b, n)
	st, err := store.Open(store.Config{Dir: sdir + "/store", RepositoryID: "test.example"})
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Dir = filepath.Join(benchDir(b), "colligo-search-bench-index-"+strconv.Itoa(n))
	benchIndexOnce.Do(func() {
		// Build (or catch up) and let the merges finish, then reopen, so
		// that the queries meet a settled index and RSS is a serving
		// process's.
		svc, err := Open(cfg, st, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.CatchUp(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		sh, _ := svc.shard()
		if err := sh.settle(context.Background()); err != nil {
			b.Fatal(err)
		}
		svc.Close()
		runtime.GC()
		debug.FreeOSMemory()
	})
	svc, err := Open(cfg, st, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		svc.Close()
		st.Close()
	})
	v, _ := svc.cur.acquire()
	b.Logf("index: %d records in %d segments, %.0f bytes/record on disk", v.records, len(v.segs), float64(svc.cur.diskBytes())/float64(v.records))
	v.release()
	return svc, st
}

// benchWords are query words of the generated vocabulary: each occurs in
// about a third of the records' descriptions.
var benchWords = []string{"glacier", "temperature", "sediment", "climate", "isotope", "permafrost", "ocean", "soil", "nitrogen", "model", "network", "habitat", "rainfall", "velocity", "protein", "genome"}

// queriesPerRound is the number of queries one benchmark iteration runs.
const queriesPerRound = 200

func percentiles(ds []time.Duration) (p50, p99 float64) {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(p float64) float64 {
		i := int(p * float64(len(ds)-1))
		return float64(ds[i].Microseconds()) / 1000
	}
	return at(0.50), at(0.99)
}

// BenchmarkQueryFacets runs two-word queries (random pairs of common
// words) with four facets (type, year, language, license) and reports the
// p50 and p99 latency.
func BenchmarkQueryFacets(b *testing.B) {
	svc, _ := benchService(b)
	rng := rand.New(rand.NewPCG(1, 2))
	facets := []Facet{FacetType, FacetYear, FacetLanguage, FacetLicense}
	var lat []time.Duration
	var matches int64
	c0 := procstat.Self()
	for b.Loop() {
		// A round of queries per iteration, so that -benchtime 1x (make
		// bench) still gives percentiles.
		for range queriesPerRound {
			q := benchWords[rng.IntN(len(benchWords))] + " " + benchWords[rng.IntN(len(benchWords))]
			start := time.Now()
			res, err := svc.Search(context.Background(), Request{Query: q, Facets: facets})
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			matches += res.Total
		}
	}
	cpu := procstat.Self() - c0
	p50, p99 := percentiles(lat)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(lat)), "cpu-ms/query")
	b.ReportMetric(float64(matches)/float64(len(lat)), "matches/query")
	b.ReportMetric(float64(procstat.Memory(os.Getpid(), "VmRSS"))/(1<<20), "rss-MiB")
}

// BenchmarkRareTerm searches for a term that one record holds (a DOI)
// and reports the p50 and p99 latency.
func BenchmarkRareTerm(b *testing.B) {
	svc, _ := benchService(b)
	n := benchN()
	rng := rand.New(rand.NewPCG(3, 4))
	var lat []time.Duration
	c0 := procstat.Self()
	for b.Loop() {
		for range queriesPerRound {
			// Record identifiers are rare terms: each is in one record.
			i := rng.IntN(n)
			q := fmt.Sprintf("doi:10.5072/uni-%c.%d", 'a'+rune(i%3), i/3)
			start := time.Now()
			res, err := svc.Search(context.Background(), Request{Query: q})
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			if res.Total != 1 {
				b.Fatalf("%s: %d records, want 1", q, res.Total)
			}
		}
	}
	cpu := procstat.Self() - c0
	p50, p99 := percentiles(lat)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(lat)), "cpu-ms/query")
	runtime.KeepAlive(svc)
}
