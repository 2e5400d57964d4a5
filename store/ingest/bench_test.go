package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/colligo/colligo/internal/procstat"
	"github.com/colligo/colligo/ld/vocab"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

// benchN is the number of generated records benchmarks use: 100,000 by
// default, COLLIGO_BENCH_N to change it (`make bench` uses 1,000,000).
func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("COLLIGO_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

var (
	benchFileOnce sync.Once
	benchFile     string
)

// generatedFile writes the benchmark's oai_dc file once per process, in
// COLLIGO_BENCH_DIR when set (to reuse it across runs) or a temp dir.
func generatedFile(b *testing.B, n int) string {
	benchFileOnce.Do(func() {
		dir := os.Getenv("COLLIGO_BENCH_DIR")
		if dir == "" {
			dir = os.TempDir()
		}
		benchFile = filepath.Join(dir, "colligo-bench-oai_dc-"+strconv.Itoa(n)+".xml")
		if _, err := os.Stat(benchFile); err == nil {
			return
		}
		f, err := os.Create(benchFile + ".tmp")
		if err != nil {
			b.Fatal(err)
		}
		if err := gen.New(42, gen.Institutions[0]).WriteOAIDC(f, 0, n, false); err != nil {
			b.Fatal(err)
		}
		f.Close()
		os.Rename(benchFile+".tmp", benchFile)
	})
	return benchFile
}

// BenchmarkImportOAIDC imports generated oai_dc records into an empty
// store and reports records/s and bytes on disk per record.
func BenchmarkImportOAIDC(b *testing.B) { benchImport(b, nil) }

// BenchmarkImportOAIDCMapped is BenchmarkImportOAIDC with the vocabulary
// step of a node's derive: the built-in COAR schemes map each record's
// type and access rights (issue 9: mapping adds < 5% to import time;
// compare the two cpu-µs/record figures).
func BenchmarkImportOAIDCMapped(b *testing.B) {
	reg := vocab.NewRegistry(nil)
	for _, bi := range vocab.Builtins {
		s, err := bi.Load()
		if err != nil {
			b.Fatal(err)
		}
		reg.Add(s)
	}
	benchImport(b, reg.Map)
}

// benchImport imports the generated file into fresh stores; mapping, if
// set, runs before the crosswalk in the store's derive.
func benchImport(b *testing.B, mapping func(*store.Record)) {
	n := benchN()
	file := generatedFile(b, n)
	fi, _ := os.Stat(file)
	var total int64
	var disk uint64
	cpu0 := procstat.Self()
	for b.Loop() {
		b.StopTimer()
		st := openStoreMapped(b, b.TempDir(), mapping)
		b.StartTimer()
		sum, err := File(context.Background(), st, file, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if sum.Added != int64(n) {
			b.Fatalf("added %d of %d", sum.Added, n)
		}
		total += sum.Added
		b.StopTimer()
		disk = st.Stats().DiskBytes
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
	// CPU time per record is steadier than wall time on a shared machine.
	b.ReportMetric(float64((procstat.Self()-cpu0).Microseconds())/float64(total), "cpu-µs/record")
	b.ReportMetric(float64(disk)/float64(n), "disk-B/record")
	b.ReportMetric(float64(fi.Size())/float64(n), "input-B/record")
}
