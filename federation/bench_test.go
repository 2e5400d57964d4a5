package federation

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkMembership16 measures, with the default (production) intervals
// and encryption, how long 16 nodes take to know each other after they
// join one seed at once (membership convergence), and how long a node that
// crashes takes to be seen dead by all the others (failure detection).
// Issue 8's figures: convergence <= 3 s, failure seen by all <= 10 s. Each
// iteration starts a fresh group; medians and maxima over the iterations
// are reported (run with -benchtime 5x for five groups).
func BenchmarkMembership16(b *testing.B) {
	const size = 16
	key, _ := Keygen()
	var conv, fail []float64
	for i := 0; i < b.N; i++ {
		cfg := DefaultConfig()
		cfg.Gossip = "127.0.0.1:0"
		cfg.Key = Key(key)
		seed := start(b, fmt.Sprintf("g%d-n0", i), cfg)
		cfg.Seeds = []string{seed.f.Addr()}
		members := []*member{seed}
		t0 := time.Now()
		for j := 1; j < size; j++ {
			members = append(members, start(b, fmt.Sprintf("g%d-n%d", i, j), cfg))
		}
		waitAll(b, 30*time.Second, func() bool {
			for _, m := range members {
				if alive(m) != size-1 {
					return false
				}
			}
			return true
		})
		conv = append(conv, time.Since(t0).Seconds())

		victim := members[size/2]
		t1 := time.Now()
		victim.kill()
		waitAll(b, 60*time.Second, func() bool {
			for _, m := range members {
				if m == victim {
					continue
				}
				dead := false
				for _, p := range m.f.Peers() {
					if p.ID == victim.local.st.ID {
						dead = p.Status == "dead"
					}
				}
				if !dead {
					return false
				}
			}
			return true
		})
		fail = append(fail, time.Since(t1).Seconds())
		for _, m := range members {
			m.f.Close()
		}
	}
	slices.Sort(conv)
	slices.Sort(fail)
	b.ReportMetric(conv[len(conv)/2], "converge-s")
	b.ReportMetric(conv[len(conv)-1], "converge-max-s")
	b.ReportMetric(fail[len(fail)/2], "failure-s")
	b.ReportMetric(fail[len(fail)-1], "failure-max-s")
}

// waitAll polls cond every 10 ms until it holds.
func waitAll(b *testing.B, within time.Duration, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("not reached within %v", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
