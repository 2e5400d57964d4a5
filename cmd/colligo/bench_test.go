package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/colligo/colligo/federation"
	"github.com/colligo/colligo/internal/procstat"
	"github.com/colligo/colligo/store/gen"
)

// BenchmarkCrossIndexProcesses measures issue 8's initial cross-index as
// a consortium meets it: a peer (a colligo serve process) holds
// COLLIGO_BENCH_PEER_N (default 100,000) records of its own, imported
// and indexed before the clock starts; a new node (another process,
// empty) is started with --join, and the time from its start until its
// search finds every one of the peer's records is taken. Reports
// records/s (the figure: >= 10,000) and the CPU each process spent per
// record. node's BenchmarkCrossIndexPeer measures the same in one
// process, with a profile.
func BenchmarkCrossIndexProcesses(b *testing.B) {
	size := 100000
	if v, err := strconv.Atoi(os.Getenv("COLLIGO_BENCH_PEER_N")); err == nil && v > 0 {
		size = v
	}
	bin := binary(b)
	key, err := federation.Keygen()
	if err != nil {
		b.Fatal(err)
	}
	peer := &proc{t: b, id: "peer", data: b.TempDir(), http: freePort(b), gossip: freePort(b), logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	file := filepath.Join(b.TempDir(), "peer.jsonl")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	if err := gen.New(11, gen.Institutions[0]).WriteJSONL(f, 0, size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	// Imported under the node id and base URL it will serve with: with
	// others, the peer would re-derive every record at start, meanwhile.
	imp := exec.Command(bin, "import", "--quiet", "--data", peer.data, file)
	imp.Env = append(os.Environ(), "COLLIGO_NODE_ID=peer", "COLLIGO_BASE_URL=http://"+peer.http)
	if out, err := imp.CombinedOutput(); err != nil {
		b.Fatalf("colligo import: %v\n%s", err, out)
	}
	peer.args = []string{"serve", "--data", peer.data, "--http", peer.http, "--node-id", "peer", "--gossip", peer.gossip}
	peer.env = []string{"COLLIGO_GOSSIP_KEY=" + key}
	peer.start()
	waitUntil(b, "the peer's own index", 10*time.Minute, func() bool { return originTotal(peer.http, "peer") == int64(size) })
	// And at rest: its index merged and its store compacted (under 5% of
	// a core over a second), as a peer that has held its records a while.
	waitUntil(b, "the peer at rest", 10*time.Minute, func() bool {
		c := procstat.CPU(peer.cmd.Process.Pid)
		time.Sleep(time.Second)
		return procstat.CPU(peer.cmd.Process.Pid)-c < 50*time.Millisecond
	})

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := &proc{t: b, id: "joiner", data: b.TempDir(), http: freePort(b), gossip: freePort(b), logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
		j.args = []string{"serve", "--data", j.data, "--http", j.http, "--node-id", j.id, "--gossip", j.gossip, "--join", peer.gossip}
		j.env = peer.env
		peerCPU := procstat.CPU(peer.cmd.Process.Pid)
		start := time.Now()
		j.start()
		// A search every 50 ms: a request costs well under a millisecond.
		deadline := start.Add(10 * time.Minute)
		for originTotal(j.http, "peer") != int64(size) {
			if time.Now().After(deadline) {
				b.Fatalf("the joiner did not find the peer's %d records within 10 minutes; its log:\n%s", size, j.log())
			}
			time.Sleep(50 * time.Millisecond)
		}
		el := time.Since(start)
		b.ReportMetric(float64(size)/el.Seconds(), "records/s")
		b.ReportMetric(float64(procstat.CPU(j.cmd.Process.Pid).Microseconds())/float64(size), "joiner-cpu-µs/record")
		b.ReportMetric(float64((procstat.CPU(peer.cmd.Process.Pid)-peerCPU).Microseconds())/float64(size), "peer-cpu-µs/record")
		b.ReportMetric(float64(procstat.Memory(j.cmd.Process.Pid, "VmHWM"))/(1<<20), "joiner-peak-RSS-MiB")
		b.StopTimer()
		j.kill()
		b.StartTimer()
	}
}

// originTotal returns how many records of origin a node's search finds,
// or -1 when it does not answer.
func originTotal(addr, origin string) int64 {
	var res struct{ Total int64 }
	if err := getJSON("http://"+addr+"/api/search?filter=origin:"+origin+"&limit=0&facet=none", &res); err != nil {
		return -1
	}
	return res.Total
}
