package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/colligo/colligo/store/gen"
)

// BenchmarkPutRecord measures single synced PUT /api/records/{id} latency
// with 8 concurrent clients over loopback HTTP, each request one new or
// changed record (every PUT is a durable write). Reports p50/p99 ms and
// writes/s.
func BenchmarkPutRecord(b *testing.B) {
	defer TuneRuntime()() // as colligo serve runs
	_, base := startNode(b)
	g := gen.New(77, gen.Institutions[1])
	const clients = 8
	bodies := make([][]byte, 4000)
	for i := range bodies {
		r := g.Record(i)
		r.ID = ""
		bodies[i], _ = json.Marshal(r)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var lat []time.Duration
	var mu sync.Mutex
	var n atomic.Int64
	for b.Loop() {
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for i := 0; i < 250; i++ {
					k := n.Add(1)
					req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/api/records/bench-%d", base, k), bytes.NewReader(bodies[k%int64(len(bodies))]))
					req.Header.Set("Authorization", "Bearer "+testToken)
					req.Header.Set("Content-Type", "application/json")
					start := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mine = append(mine, time.Since(start))
					if resp.StatusCode != 201 {
						b.Errorf("PUT = %d", resp.StatusCode)
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "writes/s")
}
