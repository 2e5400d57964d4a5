package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A bulk store has no log: Close must flush, or the records are lost.
func TestBulkCloseFlushes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir, Derive: testDerive, Bulk: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		batch := make([]*Record, 50)
		for j := range batch {
			batch[j] = rec(fmt.Sprintf("r%d-%d", i, j), "Title")
		}
		if _, err := s.Put(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetState(ctx, "done", []byte("yes")); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Syncs != 0 || st.Batches != 11 {
		t.Errorf("stats %+v: a bulk store commits without syncs", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Config{Dir: dir, Derive: testDerive})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rep := mustVerify(t, s); rep.Records != 500 {
		t.Errorf("%d records after a bulk load and Close, want 500", rep.Records)
	}
	if v, _ := s.GetState("done"); string(v) != "yes" {
		t.Errorf("state %q", v)
	}
}

// A bulk store killed (SIGKILL) keeps a prefix of its commits: the state
// committed with a batch (a harvest checkpoint) says exactly which records
// are there.
func TestBulkCrashKeepsAPrefix(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	flushed := 0
	for round := range 4 {
		dir := filepath.Join(t.TempDir(), "db")
		cmd := exec.Command(os.Args[0], "-test.run=^TestBulkCrashChild$", "-test.v")
		cmd.Env = append(os.Environ(), "COLLIGO_BULK_CRASH_CHILD="+dir)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAt := 20 + rng.IntN(60)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
				if n, _ := strconv.Atoi(v); n >= killAt {
					cmd.Process.Signal(syscall.SIGKILL)
				}
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		s, err := Open(Config{Dir: dir, Derive: testDerive})
		if err != nil {
			t.Fatalf("round %d: reopen after the kill: %v", round, err)
		}
		rep := mustVerify(t, s)
		cp := 0
		if v, _ := s.GetState("cp"); v != nil {
			cp, _ = strconv.Atoi(string(v))
		}
		if cp > 0 {
			flushed++
		}
		t.Logf("round %d: killed at batch %d, checkpoint %d, %d records", round, killAt, cp, rep.Records)
		if rep.Records != int64(cp*bulkChildBatch) {
			t.Errorf("round %d (killed at %d): %d records with checkpoint %d, want %d", round, killAt, rep.Records, cp, cp*bulkChildBatch)
		}
		if cp > 0 {
			if _, err := s.Head(ctx, bulkChildID(cp, bulkChildBatch-1)); err != nil {
				t.Errorf("round %d: last record of checkpointed batch %d: %v", round, cp, err)
			}
		}
		if _, err := s.Head(ctx, bulkChildID(cp+1, 0)); err == nil {
			t.Errorf("round %d: a record of batch %d, after checkpoint %d, is there", round, cp+1, cp)
		}
		s.Close()
	}
	if flushed == 0 {
		t.Error("no round flushed before the kill: the test proves nothing (memtable too large?)")
	}
}

const bulkChildBatch = 20

func bulkChildID(batch, i int) string { return fmt.Sprintf("b%04d-%02d", batch, i) }

// TestBulkCrashChild is the child of TestBulkCrashKeepsAPrefix: it commits
// batches of records to a bulk store with a small memtable, each with the
// batch number as state "cp", and prints "ACK n" after each.
func TestBulkCrashChild(t *testing.T) {
	dir := os.Getenv("COLLIGO_BULK_CRASH_CHILD")
	if dir == "" {
		t.Skip("run by TestBulkCrashKeepsAPrefix")
	}
	s, err := Open(Config{Dir: dir, Derive: testDerive, Bulk: true, memTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	text := strings.Repeat("A description long enough to fill the memtable. ", 40)
	for b := 1; ; b++ {
		items := make([]*Prepared, bulkChildBatch)
		for i := range items {
			r := rec(bulkChildID(b, i), "Title")
			r.Metadata.Descriptions = []Text{{Value: text}}
			if items[i], err = s.Prepare(r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Commit(ctx, items, CommitOptions{State: map[string][]byte{"cp": []byte(strconv.Itoa(b))}}); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("ACK %d\n", b)
	}
}
