package node

import (
	"os"
	"runtime"
	"runtime/debug"
)

// TuneRuntime sets the Go runtime up the way a serving node wants it and
// returns what restores the previous settings (benchmarks use it to
// measure what colligo serve runs).
//
// GOGC 200: the store allocates little per record but churns; fewer
// collections for some memory.
//
// Twice as many Ps as the runtime would use (unless GOMAXPROCS is set in
// the environment): the live search index and Bluge's merges are long
// CPU-bound stretches, and with one P per core a write's committer,
// woken from its fsync, waited for a P until the Go scheduler preempted
// one (10 ms slices). With more Ps than cores the kernel schedules the
// woken thread at once. Measured with 8 clients PUTting on 2 cores: p99
// 20 ms with 2 Ps, 8 ms with 4.
func TuneRuntime() (restore func()) {
	gc := debug.SetGCPercent(200)
	procs := runtime.GOMAXPROCS(0)
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2 * procs)
	}
	return func() {
		debug.SetGCPercent(gc)
		runtime.GOMAXPROCS(procs)
	}
}
