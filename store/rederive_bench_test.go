package store_test

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

// BenchmarkRederive re-derives a store of generated records, each with an
// original payload, after the derive rules changed for every record (as a
// new base URL or vocabulary does), and reports records/s.
// COLLIGO_BENCH_N sets the size (default 100,000).
func BenchmarkRederive(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("COLLIGO_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	var base atomic.Int64
	derive := func(r *store.Record) (store.Derived, error) {
		url := "https://node" + strconv.FormatInt(base.Load(), 10) + ".example/records/" + r.ID
		return store.Derived{Renditions: map[string][]byte{"oai_dc": []byte("<dc><identifier>" + url + "</identifier></dc>")}}, nil
	}
	st, err := store.Open(store.Config{Dir: b.TempDir(), RepositoryID: "node.example", CacheSize: 256 << 20, Derive: derive})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	g := gen.New(7, gen.Institutions[0])
	for lo := 0; lo < n; lo += 2000 {
		recs := make([]*store.Record, 0, 2000)
		for i := lo; i < min(lo+2000, n); i++ {
			r := g.Record(i)
			r.Originals = []store.Original{{Prefix: "marcxml", Namespace: "http://www.loc.gov/MARC21/slim",
				XML: []byte(`<record xmlns="http://www.loc.gov/MARC21/slim"><controlfield tag="001">` + r.ID + `</controlfield></record>`)}}
			recs = append(recs, r)
		}
		if _, err := st.Put(ctx, recs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		base.Add(1)
		done, changed, err := st.Rederive(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if done != int64(n) || changed != int64(n) {
			b.Fatalf("re-derived %d records, %d changed; want %d and %d", done, changed, n, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
