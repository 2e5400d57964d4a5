package node

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/colligo/colligo/federation"
	"github.com/colligo/colligo/search"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

// startFedNode starts a node that gossips on loopback and joins seeds.
func startFedNode(t testing.TB, id string, key string, seeds ...string) *Node {
	t.Helper()
	fc := federation.LocalConfig()
	fc.Key = federation.Key(key)
	fc.Seeds = seeds
	return startFedNodeCfg(t, id, fc)
}

// startFedNodeCfg starts a node with the given federation configuration.
func startFedNodeCfg(t testing.TB, id string, fc federation.Config) *Node {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.NodeID = id
	cfg.RepositoryID = id + ".example"
	cfg.RepositoryName = "Node " + id
	cfg.AdminToken = testToken
	cfg.Federation = fc
	n := launch(t, cfg)
	t.Cleanup(func() { n.Close() })
	return n
}

func eventually(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// putGen stores n generated records of institution inst as the node's own.
func putGen(t testing.TB, nd *Node, inst, n int) {
	t.Helper()
	g := gen.New(uint64(100+inst), gen.Institutions[inst])
	var recs []*store.Record
	for i := 0; i < n; i++ {
		r := g.Record(i)
		r.Origin = nd.Config().NodeID
		recs = append(recs, r)
	}
	if _, err := nd.Store().Put(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
}

func holds(nd *Node, origin string) int64 {
	c, _ := nd.Store().Count(context.Background(), store.Query{Origin: origin})
	return c
}

func searchCount(t testing.TB, nd *Node, q string, filters ...string) int64 {
	t.Helper()
	req := search.Request{Query: q, NoFacets: true, Limit: 1}
	for _, f := range filters {
		flt, err := search.ParseFilter(f)
		if err != nil {
			t.Fatal(err)
		}
		req.Filters = append(req.Filters, flt)
	}
	res, err := nd.Search().Search(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return res.Total
}

// Three nodes join, cross-index each other's records, and a write on one
// is searchable on the others; a vocabulary loaded on one reaches all.
func TestFederationThreeNodes(t *testing.T) {
	key, _ := federation.Keygen()
	a := startFedNode(t, "uni-a", key)
	b := startFedNode(t, "uni-b", key, a.Federation().Addr())
	c := startFedNode(t, "uni-c", key, a.Federation().Addr())
	putGen(t, a, 0, 40)
	putGen(t, b, 1, 40)
	putGen(t, c, 2, 40)
	nodes := []*Node{a, b, c}
	for _, n := range nodes {
		for _, o := range nodes {
			eventually(t, fmt.Sprintf("%s holding %s's records", n.Config().NodeID, o.Config().NodeID), 20*time.Second, func() bool {
				return holds(n, o.Config().NodeID) == 40
			})
		}
	}
	// Only each node's own records travel: nothing loops or multiplies.
	for _, n := range nodes {
		if total, _ := n.Store().Len(context.Background()); total != 120 {
			t.Errorf("%s holds %d records, want 120", n.Config().NodeID, total)
		}
	}
	// A write on A is searchable on B and C.
	r := &store.Record{ID: "fresh-1", Origin: "uni-a", Metadata: store.Metadata{Titles: []store.Text{{Value: "Zyxwvutsrqp unique glacier survey"}}}}
	if _, err := a.Store().Put(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	// (A too: the live search below asks it; its own indexer may come
	// after the peers', as it did once in CI under load.)
	for _, n := range []*Node{b, c, a} {
		eventually(t, n.Config().NodeID+" finding the new record", 10*time.Second, func() bool {
			return searchCount(t, n, "zyxwvutsrqp", "origin:uni-a") == 1
		})
	}
	// A live search asks the peers for their own records.
	var live struct {
		Total   int64
		Partial bool
		Scope   string
		Peers   []struct {
			ID string
			OK bool
		}
	}
	json.Unmarshal(call(t, "GET", "http://"+c.Addr()+"/api/search?q=zyxwvutsrqp&scope=live", "", "").body, &live)
	if live.Total != 1 || live.Partial || live.Scope != "live" || len(live.Peers) != 2 || !live.Peers[0].OK || !live.Peers[1].OK {
		t.Errorf("live search: %+v", live)
	}
	// The federation API.
	var info FederationInfo
	json.Unmarshal(call(t, "GET", "http://"+b.Addr()+"/api/federation", "", "").body, &info)
	if info.Self != "uni-b" || len(info.Members) != 3 {
		t.Fatalf("federation info: %+v", info)
	}
	for _, m := range info.Members[1:] {
		if m.State != "alive" || m.LastHarvest == nil || m.OAIBaseURL == "" {
			t.Errorf("member %+v", m)
		}
	}
	// Identify lists the peers as friends.
	body := string(call(t, "GET", "http://"+b.Addr()+"/oai?verb=Identify", "", "").body)
	if !strings.Contains(body, a.Config().BaseURL+"/oai") || !strings.Contains(body, c.Config().BaseURL+"/oai") {
		t.Errorf("Identify lacks the friends:\n%s", body)
	}
	// A scheme loaded on B reaches A and C, which re-map their records.
	scheme, _ := os.ReadFile("testdata/subjects.ttl")
	if a := call(t, "POST", "http://"+b.Addr()+"/api/vocab/schemes?id=test-subjects&field=subject&format=turtle", testToken, string(scheme)); a.status != 201 {
		t.Fatalf("load: %d %s", a.status, a.body)
	}
	want := b.Vocab().Scheme("test-subjects").Hash
	for _, n := range []*Node{a, c} {
		eventually(t, n.Config().NodeID+" adopting the scheme", 20*time.Second, func() bool {
			s := n.Vocab().Scheme("test-subjects")
			return s != nil && s.Hash == want
		})
	}
	// Each node's search uses it: the broader concept, in German, finds
	// the glaciology and hydrology records of all three institutions,
	// whatever language they were catalogued in.
	labels := map[string]bool{"glaciology": true, "glaziologie": true, "glaciologie": true, "glaciología": true,
		"hydrology": true, "hydrologie": true, "water science": true}
	var wantHits int64
	for inst := 0; inst < 3; inst++ {
		g := gen.New(uint64(100+inst), gen.Institutions[inst])
		for i := 0; i < 40; i++ {
			for _, s := range g.Record(i).Metadata.Subjects {
				if labels[strings.ToLower(s.Value)] {
					wantHits++
					break
				}
			}
		}
	}
	if wantHits == 0 {
		t.Fatal("the generated records have no glaciology or hydrology subject")
	}
	for _, n := range nodes {
		eventually(t, n.Config().NodeID+" searching with the scheme", 20*time.Second, func() bool {
			return searchCount(t, n, "subject:Geowissenschaften") == wantHits
		})
	}
	// B leaves: the others see it left, and keep its records.
	b.Close()
	for _, n := range []*Node{a, c} {
		eventually(t, n.Config().NodeID+" seeing uni-b left", 10*time.Second, func() bool {
			for _, p := range n.Federation().Peers() {
				if p.ID == "uni-b" {
					return p.Status == "left"
				}
			}
			return false
		})
		if holds(n, "uni-b") != 40 {
			t.Errorf("%s dropped uni-b's records", n.Config().NodeID)
		}
	}
}
