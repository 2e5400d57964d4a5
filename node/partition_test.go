package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/colligo/colligo/federation"
	"github.com/colligo/colligo/store"
)

// network is a filtering proxy inside the test: while a partition is on,
// gossip (UDP packets and TCP streams) and HTTP between nodes of different
// groups are dropped, as a firewall would.
type network struct {
	mu    sync.Mutex
	on    bool
	group map[string]int // gossip and HTTP addresses -> group
}

func (nw *network) cut(from, to string) bool {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	gf, ok1 := nw.group[from]
	gt, ok2 := nw.group[to]
	return nw.on && ok1 && ok2 && gf != gt
}

func (nw *network) set(on bool) {
	nw.mu.Lock()
	nw.on = on
	nw.mu.Unlock()
}

func (nw *network) place(addr string, g int) {
	nw.mu.Lock()
	nw.group[addr] = g
	nw.mu.Unlock()
}

// filterTransport wraps memberlist's network transport: outgoing packets
// and connections across the cut fail, incoming packets from across it
// are dropped. (Incoming streams need no filter: the dialling side, also
// a filterTransport, refuses to dial across the cut.)
type filterTransport struct {
	*memberlist.NetTransport
	nw      *network
	self    string
	packets chan *memberlist.Packet
}

func newFilterTransport(t *testing.T, nw *network) *filterTransport {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, BindPort: 0})
	if err != nil {
		t.Fatal(err)
	}
	ft := &filterTransport{NetTransport: nt, nw: nw, self: net.JoinHostPort("127.0.0.1", strconv.Itoa(nt.GetAutoBindPort())), packets: make(chan *memberlist.Packet, 256)}
	go func() {
		for p := range nt.PacketCh() {
			if !nw.cut(p.From.String(), ft.self) {
				ft.packets <- p
			}
		}
		close(ft.packets)
	}()
	return ft
}

func (ft *filterTransport) PacketCh() <-chan *memberlist.Packet { return ft.packets }

func (ft *filterTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if ft.nw.cut(ft.self, addr) {
		return time.Now(), nil // lost on the way
	}
	return ft.NetTransport.WriteTo(b, addr)
}

func (ft *filterTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if ft.nw.cut(ft.self, addr) {
		return nil, errors.New("partitioned")
	}
	return ft.NetTransport.DialTimeout(addr, timeout)
}

// memberlist prefers the node-aware methods, which the embedded transport
// would otherwise provide unfiltered.

func (ft *filterTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return ft.WriteTo(b, a.Addr)
}

func (ft *filterTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return ft.DialTimeout(a.Addr, timeout)
}

// filterHTTP is the nodes' HTTP transport to peers, cut likewise.
type filterHTTP struct {
	nw   *network
	self string
}

func (f filterHTTP) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.nw.cut(f.self, r.URL.Host) {
		return nil, errors.New("partitioned")
	}
	return http.DefaultTransport.RoundTrip(r)
}

func startPartitionable(t *testing.T, nw *network, id string, group int, seeds ...string) *Node {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.NodeID, cfg.RepositoryID = id, id+".example"
	cfg.Federation = federation.LocalConfig()
	cfg.Federation.Seeds = seeds
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPAddr = ln.Addr().String()
	cfg.Finish()
	ft := newFilterTransport(t, nw)
	nw.place(ft.self, group)
	nw.place(cfg.HTTPAddr, group)
	n, err := New(cfg, WithListener(ln), WithFederation(federation.WithTransport(ft)), WithPeerTransport(filterHTTP{nw, cfg.HTTPAddr}))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func status(n *Node, peer string) string {
	for _, p := range n.Federation().Peers() {
		if p.ID == peer {
			return p.Status
		}
	}
	return ""
}

// A partition between two groups heals, and both sides converge on the
// same records, including those written on each side meanwhile.
func TestPartitionHeals(t *testing.T) {
	nw := &network{group: map[string]int{}}
	a := startPartitionable(t, nw, "p-a", 1)
	seed := a.Federation().Addr()
	b := startPartitionable(t, nw, "p-b", 1, seed)
	c := startPartitionable(t, nw, "p-c", 2, seed)
	d := startPartitionable(t, nw, "p-d", 2, seed)
	nodes := []*Node{a, b, c, d}
	for i, n := range nodes {
		putGen(t, n, i%3, 20)
	}
	converged := func(want map[string]int64) func() bool {
		return func() bool {
			for _, n := range nodes {
				for origin, c := range want {
					if holds(n, origin) != c {
						return false
					}
				}
			}
			return true
		}
	}
	eventually(t, "convergence before the partition", 30*time.Second, converged(map[string]int64{"p-a": 20, "p-b": 20, "p-c": 20, "p-d": 20}))

	nw.set(true)
	for _, x := range []struct {
		n    *Node
		peer string
	}{{a, "p-c"}, {c, "p-a"}} {
		eventually(t, fmt.Sprintf("%s seeing %s dead", x.n.Config().NodeID, x.peer), 20*time.Second, func() bool {
			return status(x.n, x.peer) == "dead"
		})
	}
	// Both sides keep writing.
	for _, n := range []*Node{a, c} {
		r := &store.Record{ID: "during-" + n.Config().NodeID, Origin: n.Config().NodeID, Metadata: store.Metadata{Titles: []store.Text{{Value: "Written during the partition"}}}}
		if _, err := n.Store().Put(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "each side converging on its own side", 20*time.Second, func() bool {
		return holds(b, "p-a") == 21 && holds(d, "p-c") == 21
	})
	if holds(c, "p-a") != 20 || holds(a, "p-c") != 20 {
		t.Fatal("records crossed the partition")
	}

	nw.set(false)
	eventually(t, "convergence after the partition healed", 30*time.Second, converged(map[string]int64{"p-a": 21, "p-b": 20, "p-c": 21, "p-d": 20}))
	// Membership heals too: every node sees every other alive again.
	for _, n := range nodes {
		for _, o := range nodes {
			if o != n {
				eventually(t, fmt.Sprintf("%s seeing %s alive after healing", n.Config().NodeID, o.Config().NodeID), 20*time.Second, func() bool {
					return status(n, o.Config().NodeID) == "alive"
				})
			}
		}
	}
}
