package search

import (
	"context"
	"testing"
	"time"

	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

// testEnv is a real store and a search service on it, in a temp dir.
type testEnv struct {
	t   *testing.T
	dir string
	st  *store.Store
	svc *Service
}

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(store.Config{Dir: dir + "/store", RepositoryID: "test.example"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func openService(t testing.TB, dir string, st *store.Store) *Service {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Dir = dir + "/search"
	svc, err := Open(cfg, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	dir := t.TempDir()
	e := &testEnv{t: t, dir: dir, st: openStore(t, dir)}
	e.svc = openService(t, dir, e.st)
	t.Cleanup(func() {
		e.svc.Close()
		e.st.Close()
	})
	return e
}

func (e *testEnv) put(recs ...*store.Record) {
	e.t.Helper()
	if _, err := e.st.Put(context.Background(), recs...); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) catchUp() {
	e.t.Helper()
	if err := e.svc.CatchUp(context.Background(), nil); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) search(req Request) *Result {
	e.t.Helper()
	res, err := e.svc.Search(context.Background(), req)
	if err != nil {
		e.t.Fatalf("Search(%+v): %v", req, err)
	}
	return res
}

func rec(id, origin, title string, mod func(m *store.Metadata)) *store.Record {
	r := &store.Record{ID: id, Origin: origin, Metadata: store.Metadata{Titles: []store.Text{{Value: title}}}}
	if mod != nil {
		mod(&r.Metadata)
	}
	return r
}

func hitIDs(res *Result) []string {
	var ids []string
	for _, h := range res.Hits {
		ids = append(ids, h.ID)
	}
	return ids
}

func TestSearchSmoke(t *testing.T) {
	e := newEnv(t)
	g := gen.New(7, gen.Institutions[0])
	var recs []*store.Record
	for i := 0; i < 500; i++ {
		r := g.Record(i)
		r.Origin = "uni-a"
		recs = append(recs, r)
	}
	e.put(recs...)
	e.catchUp()
	if cp, last := e.svc.Checkpoint(), e.st.LastSeq(); cp != last {
		t.Fatalf("checkpoint %d after catch-up, store at %d", cp, last)
	}
	start := time.Now()
	res := e.search(Request{Query: "glacier temperature"})
	t.Logf("total %d, %d hits in %s; facets %v", res.Total, len(res.Hits), time.Since(start), res.Facets["type"])
	if res.Total == 0 || len(res.Hits) == 0 {
		t.Fatalf("no hits")
	}
	for _, h := range res.Hits[:3] {
		t.Logf("%s %.3f %q %s", h.ID, h.Score, h.Title, h.Snippet)
	}
	all := e.search(Request{})
	if all.Total != 500 {
		t.Errorf("empty query total %d, want 500", all.Total)
	}
}
