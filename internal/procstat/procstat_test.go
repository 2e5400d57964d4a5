package procstat

import (
	"os"
	"testing"
	"time"
)

func TestSelfAndCPU(t *testing.T) {
	before, procBefore := Self(), CPU(os.Getpid())
	if before < 0 || procBefore < 0 {
		t.Fatalf("Self %v, CPU %v: want readings", before, procBefore)
	}
	// Spin for 100 ms of CPU time: both readings must grow by about that.
	for Self()-before < 100*time.Millisecond {
	}
	self, proc := Self()-before, CPU(os.Getpid())-procBefore
	if self < 100*time.Millisecond || proc < 60*time.Millisecond || proc > self+60*time.Millisecond {
		t.Errorf("after 100 ms of work: Self grew %v, CPU grew %v", self, proc)
	}
	if got := CPU(-1); got != -1 {
		t.Errorf("CPU of no process = %v, want -1", got)
	}
}

func TestMemory(t *testing.T) {
	pid := os.Getpid()
	rss, peak := Memory(pid, "VmRSS"), Memory(pid, "VmHWM")
	if rss <= 1<<20 || peak < rss {
		t.Errorf("VmRSS %d, VmHWM %d bytes: want a resident set of over 1 MiB and a peak at least as large", rss, peak)
	}
	for _, tc := range []struct {
		pid   int
		field string
	}{{pid, "NoSuchField"}, {pid, "Name"}, {-1, "VmRSS"}} {
		if got := Memory(tc.pid, tc.field); got != -1 {
			t.Errorf("Memory(%d, %q) = %d, want -1", tc.pid, tc.field, got)
		}
	}
}
