package harvest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
	"github.com/colligo/colligo/store/ingest"
)

// cancelAfter returns RunOptions whose OnCommit cancels the harvest after
// n pages were stored, and the checkpoints it saw. The repo holds back
// list requests after the (n+2)th until then, so the list cannot end
// before the cancellation.
func cancelAfter(rp *testRepo, n int) (context.Context, RunOptions, *[]Checkpoint) {
	cctx, cancel := context.WithCancel(ctx)
	gate := make(chan struct{})
	var lists atomic.Int32
	rp.fault = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if isList(r) && lists.Add(1) > int32(n+2) {
			select {
			case <-gate:
			case <-r.Context().Done():
				return true
			}
		}
		return false
	}
	var cps []Checkpoint
	return cctx, RunOptions{OnCommit: func(cp Checkpoint) {
		cps = append(cps, cp)
		if len(cps) == n {
			cancel()
			close(gate)
		}
	}}, &cps
}

// A harvest stopped after some pages resumes with the token of the first
// page it had not stored, and stores every record once.
func TestResumeAfterStop(t *testing.T) {
	rp := newTestRepo(t, 1000)
	h, st, _ := newTestHarvester(t, testConfig())
	src := Source{ID: "r", BaseURL: rp.URL()}
	cctx, opts, cps := cancelAfter(rp, 3)
	res, err := h.HarvestOnce(cctx, src, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	stored, _ := st.Count(ctx, store.Query{Origin: "r"})
	last := (*cps)[len(*cps)-1]
	if stored != last.Records || stored != res.Added || stored < 300 || stored == 1000 {
		t.Fatalf("stored %d, last checkpoint %+v, added %d", stored, last, res.Added)
	}
	b, _ := st.GetState(checkpointName("r", "oai_dc"))
	cp, _ := decodeCheckpoint(b)
	if cp.Token == "" || cp.Token != last.Token || cp.Records != stored {
		t.Fatalf("stored checkpoint %+v, last acknowledged %+v", cp, last)
	}
	if st, _ := h.loadStatus("r"); st.LastError == "" {
		t.Errorf("status of a stopped harvest: %+v", st)
	}

	before := len(queries(rp, "ListRecords"))
	res = mustHarvest(t, h, src)
	if res.Mode != "resumed" {
		t.Errorf("mode %s", res.Mode)
	}
	wantCounts(t, "resumed", res.Counts, 1000-stored, 0, 0, 0, 0)
	if first := queries(rp, "ListRecords")[before]; first.Get("resumptionToken") != cp.Token {
		t.Errorf("resumed with %v, want token %q", first, cp.Token)
	}
	if n, _ := st.Count(ctx, store.Query{Origin: "r"}); n != 1000 {
		t.Errorf("%d records after resuming", n)
	}
}

// A checkpointed token the source no longer knows (here HTTP 404, as
// expired tokens are answered by some) restarts the list from its from.
func TestExpiredCheckpointToken(t *testing.T) {
	rp := newTestRepo(t, 600)
	h, st, _ := newTestHarvester(t, testConfig())
	src := Source{ID: "x", BaseURL: rp.URL()}
	mustHarvest(t, h, src)
	for i := 0; i < 400; i++ {
		rp.touch(i, fmt.Sprintf("New title %d", i), false)
	}
	cctx, opts, _ := cancelAfter(rp, 2)
	if _, err := h.HarvestOnce(cctx, src, opts); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	b, _ := st.GetState(checkpointName("x", "oai_dc"))
	cp, _ := decodeCheckpoint(b)
	if cp.Token == "" || cp.ListFrom == "" {
		t.Fatalf("checkpoint %+v", cp)
	}
	expired := false
	rp.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Query().Get("resumptionToken") == cp.Token && !expired {
			expired = true
			http.Error(w, "token expired", http.StatusNotFound)
			return true
		}
		return false
	}
	before := len(queries(rp, "ListRecords"))
	res := mustHarvest(t, h, src)
	lists := queries(rp, "ListRecords")[before:]
	if lists[0].Get("resumptionToken") != cp.Token || lists[1].Get("from") != cp.ListFrom {
		t.Errorf("requests %v: want the expired token, then from=%s", lists, cp.ListFrom)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "404") {
		t.Errorf("warnings %q", res.Warnings)
	}
	g := gen.New(7, gen.Institutions[0])
	for _, i := range []int{0, 399} {
		rec, _ := st.Get(ctx, ingest.LocalID(g.OAIIdentifier(i)))
		if rec.Metadata.Titles[0].Value != fmt.Sprintf("New title %d", i) {
			t.Errorf("record %d: %q", i, rec.Metadata.Titles[0].Value)
		}
	}
}

// A node killed (SIGKILL) at random points of a harvest loses nothing it
// acknowledged, and the harvest resumes to exactly the source's records.
func TestCrashDuringHarvest(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const n = 3000
	rp := newTestRepo(t, n)
	db := filepath.Join(t.TempDir(), "db")
	rng := rand.New(rand.NewPCG(3, 4))
	g := gen.New(7, gen.Institutions[0])
	for round := 0; round < 8; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
		cmd.Env = append(os.Environ(), "COLLIGO_HARVEST_CRASH_CHILD="+db+","+rp.URL())
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 1 + rng.IntN(4)
		var acked int64
		seen := 0
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
				acked, _ = strconv.ParseInt(v, 10, 64)
				if seen++; seen == killAfter {
					cmd.Process.Signal(syscall.SIGKILL)
				}
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		st := openTestStore(t, db)
		if rep, err := st.Verify(ctx, nil); err != nil || !rep.OK() {
			t.Fatalf("round %d: verify: %v %+v", round, err, rep)
		}
		// The list is in datestamp order: the first acked records are in.
		for i := 0; i < int(acked) && i < n; i += 97 {
			if _, err := st.Head(ctx, ingest.LocalID(g.OAIIdentifier(i))); err != nil {
				t.Fatalf("round %d: record %d acknowledged (%d) but missing: %v", round, i, acked, err)
			}
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Every round after the first resumed with a token: the complete
	// list was started once.
	full := 0
	for _, q := range queries(rp, "ListRecords") {
		if !q.Has("resumptionToken") && !q.Has("from") {
			full++
		}
	}
	if full != 1 {
		t.Errorf("the complete list was started %d times: a killed harvest must resume", full)
	}
	st := openTestStore(t, db)
	defer st.Close()
	h, _ := newHarvesterOn(t, st, testConfig())
	res := mustHarvest(t, h, Source{ID: "crash", BaseURL: rp.URL()})
	if res.Unchanged != 0 || res.Updated != 0 {
		t.Errorf("final harvest: %+v: records were fetched twice", res.Counts)
	}
	if n2, _ := st.Count(ctx, store.Query{Origin: "crash"}); n2 != n {
		t.Errorf("%d records after the crashes, want %d", n2, n)
	}
	if rep, _ := st.Verify(ctx, nil); !rep.OK() || rep.Records != n {
		t.Errorf("verify %+v", rep)
	}
}

// TestCrashChild is the child of TestCrashDuringHarvest: it harvests and
// prints "ACK n" after each durable page, n being the records stored.
func TestCrashChild(t *testing.T) {
	spec := os.Getenv("COLLIGO_HARVEST_CRASH_CHILD")
	if spec == "" {
		t.Skip("run by TestCrashDuringHarvest")
	}
	db, base, _ := strings.Cut(spec, ",")
	st := openTestStore(t, db)
	defer st.Close()
	h, err := New(st, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	_, err = h.HarvestOnce(context.Background(), Source{ID: "crash", BaseURL: base}, RunOptions{OnCommit: func(cp Checkpoint) {
		fmt.Printf("ACK %d\n", cp.Records)
	}})
	if err != nil {
		t.Fatal(err)
	}
}
