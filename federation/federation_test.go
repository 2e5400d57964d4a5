package federation

import (
	"bytes"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// testLocal is a node's own state, set by the test.
type testLocal struct {
	mu      sync.Mutex
	st      State
	changed chan struct{}
}

func newLocal(id string) *testLocal {
	return &testLocal{st: State{ID: id}, changed: make(chan struct{})}
}

func (l *testLocal) State() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st
}

func (l *testLocal) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

func (l *testLocal) set(hwm uint64, records int64) {
	l.mu.Lock()
	l.st.HWM, l.st.Records = hwm, records
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// recorder remembers what the federation told the syncer.
type recorder struct {
	mu   sync.Mutex
	seen map[string]State
	gone map[string]string
}

func (r *recorder) PeerSeen(p Peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[p.ID] = p.State
	delete(r.gone, p.ID)
}

func (r *recorder) PeerGone(p Peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gone[p.ID] = p.Status
}

type member struct {
	f     *Federation
	local *testLocal
	rec   *recorder
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t testing.TB, id string, cfg Config) *member {
	t.Helper()
	m := &member{local: newLocal(id), rec: &recorder{seen: map[string]State{}, gone: map[string]string{}}, logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(m.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f, err := New(cfg, Meta{ID: id, BaseURL: "http://" + id + ".example"}, m.local, m.rec, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	m.f = f
	t.Cleanup(func() { f.Close() })
	return m
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(m *member) int { return len(m.f.LivePeers()) }

// kill stops a member without leaving, as a crash would.
func (m *member) kill() {
	m.f.closeOnce.Do(func() {
		m.f.cancel()
		m.f.ml.Shutdown()
		m.f.wg.Wait()
	})
}

func TestJoinStateAndFailure(t *testing.T) {
	key, _ := Keygen()
	cfg := LocalConfig()
	cfg.Key = Key(key)
	a := start(t, "a", cfg)
	cfg.Seeds = []string{a.f.Addr()}
	b := start(t, "b", cfg)
	c := start(t, "c", cfg)
	for _, m := range []*member{a, b, c} {
		waitFor(t, "three members", func() bool { return alive(m) == 2 })
	}
	// A writes: B and C learn its new high-water mark.
	a.local.set(42, 40)
	for _, m := range []*member{b, c} {
		waitFor(t, "a's state", func() bool {
			m.rec.mu.Lock()
			defer m.rec.mu.Unlock()
			return m.rec.seen["a"].HWM == 42 && m.rec.seen["a"].Records == 40
		})
	}
	// C stops without leaving (a crash): the others see it dead.
	c.kill()
	for _, m := range []*member{a, b} {
		waitFor(t, "c dead", func() bool {
			for _, p := range m.f.Peers() {
				if p.ID == "c" {
					return p.Status == "dead"
				}
			}
			return false
		})
	}
	// B leaves: A sees "left".
	b.f.Close()
	waitFor(t, "b left", func() bool {
		for _, p := range a.f.Peers() {
			if p.ID == "b" {
				if p.Status != "alive" && p.Status != "left" {
					t.Logf("b is %s", p.Status)
				}
				return p.Status == "left"
			}
		}
		return false
	})
	if got := a.rec.gone["b"]; got != "left" {
		t.Errorf("syncer told %q for b", got)
	}
}

func TestWrongKeyOrLabelIsRefused(t *testing.T) {
	k1, _ := Keygen()
	k2, _ := Keygen()
	cfg := LocalConfig()
	cfg.Key = Key(k1)
	a := start(t, "a", cfg)
	tests := []struct {
		name string
		edit func(c *Config)
	}{
		{"wrong key", func(c *Config) { c.Key = Key(k2) }},
		{"no key", func(c *Config) { c.Key = "" }},
		{"other consortium", func(c *Config) { c.ClusterLabel = "other" }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.Seeds = []string{a.f.Addr()}
			tc.edit(&c)
			x := start(t, fmt.Sprintf("x%d", i), c)
			// Give it time to try, then check nobody merged.
			time.Sleep(time.Second)
			if alive(x) != 0 || alive(a) != 0 {
				t.Fatalf("a node with the %s joined: %d / %d peers", tc.name, alive(x), alive(a))
			}
			x.f.Close()
		})
	}
	if logs := a.logs.String(); !bytes.Contains([]byte(logs), []byte("gossip refused")) {
		t.Errorf("refusals were not logged:\n%s", logs)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(c *Config)
		ok   bool
	}{
		{func(c *Config) {}, true},
		{func(c *Config) { c.Gossip = "0.0.0.0:7946" }, false},
		{func(c *Config) { c.Gossip, c.Advertise = "0.0.0.0:7946", "10.0.0.5:7946" }, true},
		{func(c *Config) { c.Advertise = "host:1" }, false},
		{func(c *Config) { c.Key = "bm90IGEga2V5" }, false},
		{func(c *Config) { c.Seeds = []string{"nope"} }, false},
	} {
		c := LocalConfig()
		tc.edit(&c)
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v", c, err)
		}
	}
	k, _ := Keygen()
	if _, err := decodeKey(k); err != nil {
		t.Fatal(err)
	}
	if fmt := (Key(k)).String(); fmt == k {
		t.Error("a key prints")
	}
}

// Every state a node publishes reaches every member without push-pull:
// memberlist hands a broadcast to a few random nodes only, so receivers
// relay what is new to them. Ten rounds among six members would almost
// surely miss some member without the relay.
func TestStateReachesEveryMember(t *testing.T) {
	cfg := LocalConfig()
	cfg.PushPullInterval = Duration{time.Hour} // no repair by push-pull
	a := start(t, "a", cfg)
	cfg.Seeds = []string{a.f.Addr()}
	members := []*member{a}
	for _, id := range []string{"b", "c", "d", "e", "f"} {
		members = append(members, start(t, id, cfg))
	}
	for _, m := range members {
		waitFor(t, "six members", func() bool { return alive(m) == 5 })
	}
	for round := uint64(1); round <= 10; round++ {
		a.local.set(round, int64(round))
		for _, m := range members[1:] {
			deadline := time.Now().Add(15 * time.Second)
			for {
				m.rec.mu.Lock()
				ok := m.rec.seen["a"].HWM == round
				m.rec.mu.Unlock()
				if ok {
					break
				}
				if time.Now().After(deadline) {
					for _, x := range members {
						for _, p := range x.f.Peers() {
							if p.ID == "a" {
								t.Logf("%s sees a: %+v status %s", x.local.st.ID, p.State, p.Status)
							}
						}
						t.Logf("%s queue %d logs %s", x.local.st.ID, x.f.queue.NumQueued(), x.logs.String())
					}
					t.Fatalf("%s: timed out waiting for a's state of round %d", m.local.st.ID, round)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	// An older state arriving late does not replace a newer one.
	b := members[1]
	old := State{ID: "a", HWM: 3, Records: 3, Sent: 1}
	b.f.send(event{kind: evState, state: &old})
	time.Sleep(100 * time.Millisecond)
	for _, p := range b.f.Peers() {
		if p.ID == "a" && p.State.HWM != 10 {
			t.Errorf("a stale state replaced a newer one: HWM %d", p.State.HWM)
		}
	}
}
