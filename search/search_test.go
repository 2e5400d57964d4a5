package search

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

func TestAnalysisMatches(t *testing.T) {
	e := newEnv(t)
	e.put(
		rec("a", "n1", "Glacier mass balance", nil),
		rec("b", "n1", "Ökologie der Alpen", nil),
		rec("c", "n1", "Café culture in Zürich", nil),
		rec("d", "n1", "Modelling rainfall", func(m *store.Metadata) {
			m.Descriptions = []store.Text{{Value: "We modeled the monsoon over Kerala."}}
		}),
		rec("e", "n1", "Balance of mass in glaciers", nil),
	)
	e.catchUp()
	tests := []struct {
		q    string
		want []string
	}{
		{"glaciers", []string{"a", "e"}},
		{"GLACIER", []string{"a", "e"}},
		{"okologie", []string{"b"}},
		{"Ökologie", []string{"b"}},
		{"cafe zurich", []string{"c"}},
		{"model", []string{"d"}},
		{"models monsoon", []string{"d"}},
		{`"mass balance"`, []string{"a"}},
		{`"balance of mass"`, []string{"e"}},
		{`title:"glacier mass"`, []string{"a"}},
		{"description:kerala", []string{"d"}},
		{"title:kerala", nil},
		{"glacier -balance", nil},
		{"glacier OR rainfall", []string{"a", "d", "e"}},
		{"NOT glacier", []string{"b", "c", "d"}},
	}
	for _, tc := range tests {
		res := e.search(Request{Query: tc.q, Limit: 100})
		got := hitIDs(res)
		sort.Strings(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("search %q = %v, want %v", tc.q, got, tc.want)
		}
	}
}

// genRecords makes n records spread over three origins.
func genRecords(n int) []*store.Record {
	gens := []*gen.Generator{gen.New(1, gen.Institutions[0]), gen.New(2, gen.Institutions[1]), gen.New(3, gen.Institutions[2])}
	var recs []*store.Record
	for i := 0; i < n; i++ {
		r := gens[i%3].Record(i / 3)
		r.Origin = fmt.Sprintf("node-%d", i%3)
		recs = append(recs, r)
	}
	return recs
}

// TestFacetsBruteForce checks facet counts and filters against counts
// made by reading every stored record.
func TestFacetsBruteForce(t *testing.T) {
	e := newEnv(t)
	recs := genRecords(900)
	for i := 0; i < len(recs); i += 300 {
		e.put(recs[i : i+300]...) // several batches, several segments
		e.catchUp()
	}
	// Delete a few: they must not count.
	for _, id := range []string{recs[0].ID, recs[5].ID, recs[7].ID} {
		if _, err := e.st.Delete(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	e.catchUp()
	ctx := context.Background()
	var live []*store.Record
	for _, r := range recs {
		got, err := e.st.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Deleted {
			live = append(live, got)
		}
	}
	valuesOf := func(r *store.Record, f Facet) []string {
		m := &r.Metadata
		switch f {
		case FacetType:
			// Concept facets count a mapped value under its concept.
			if m.TypeURI != "" {
				return []string{m.TypeURI}
			}
			return nonEmpty(m.Type)
		case FacetSubject:
			var s []string
			for _, x := range m.Subjects {
				if x.URI != "" {
					s = append(s, x.URI)
				} else {
					s = append(s, x.Value)
				}
			}
			return dedupe(s)
		case FacetYear:
			return nonEmpty(yearOf(m))
		case FacetLanguage:
			return dedupe(m.Languages)
		case FacetLicense:
			if m.LicenseSPDX != "" {
				return []string{m.LicenseSPDX}
			}
			return nonEmpty(m.License)
		case FacetOrigin:
			return nonEmpty(r.Origin)
		}
		return nil
	}
	contains := func(r *store.Record, word string) bool {
		for _, t := range Terms(r.Metadata.Titles[0].Value + " " + r.Metadata.Descriptions[0].Value) {
			if t == word {
				return true
			}
		}
		return false
	}
	cases := []struct {
		q       string
		filters []Filter
	}{
		{"", nil},
		{"glacier", nil},
		{"glacier", []Filter{{FacetLanguage, "en"}}},
		{"", []Filter{{FacetType, "Dataset"}, {FacetType, "Datensatz"}}},
		{"", []Filter{{FacetOrigin, "node-1"}, {FacetLanguage, "de"}}},
		{"sediment", []Filter{{FacetYear, "2010"}, {FacetYear, "2011"}, {FacetLicense, "CC-BY-4.0"}}},
	}
	for _, tc := range cases {
		res := e.search(Request{Query: tc.q, Filters: tc.filters, FacetLimit: 1000, Limit: 5})
		pass := func(r *store.Record, skip Facet) bool {
			if tc.q != "" && !contains(r, Terms(tc.q)[0]) {
				return false
			}
			by := map[Facet][]string{}
			for _, f := range tc.filters {
				by[f.Facet] = append(by[f.Facet], f.Value)
			}
			for f, vals := range by {
				if f == skip {
					continue
				}
				ok := false
				for _, v := range valuesOf(r, f) {
					ok = ok || slices.Contains(vals, v)
				}
				if !ok {
					return false
				}
			}
			return true
		}
		var total int64
		for _, r := range live {
			if pass(r, -1) {
				total++
			}
		}
		if res.Total != total {
			t.Errorf("q=%q filters=%v: total %d, want %d", tc.q, tc.filters, res.Total, total)
		}
		for _, f := range Facets() {
			want := map[string]int64{}
			for _, r := range live {
				if pass(r, f) {
					for _, v := range valuesOf(r, f) {
						want[v]++
					}
				}
			}
			got := map[string]int64{}
			for _, fv := range res.Facets[f.String()] {
				got[fv.Value] = fv.Count
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("q=%q filters=%v: facet %s = %v, want %v", tc.q, tc.filters, f, got, want)
			}
		}
	}
}

func TestClusters(t *testing.T) {
	e := newEnv(t)
	doi := func(v string) func(m *store.Metadata) {
		return func(m *store.Metadata) {
			m.Identifiers = []store.Identifier{{Scheme: "doi", Value: v}}
		}
	}
	e.put(
		rec("a-1", "node-a", "Glacier velocities of the Alps", doi("10.5072/X1")),
		&store.Record{ID: "b-1", Origin: "node-b", Metadata: store.Metadata{Titles: []store.Text{{Value: "Glacier velocities (copy)"}},
			Identifiers: []store.Identifier{{Scheme: "doi", Value: "https://doi.org/10.5072/x1"}}},
			Provenance: []store.Provenance{{BaseURL: "https://b.example/oai", Identifier: "oai:b.example:1", Datestamp: "2024-01-01"}}},
		rec("c-1", "node-a", "Glacier lakes", doi("10.5072/other")),
	)
	e.catchUp()
	res := e.search(Request{Query: "glacier velocities"})
	if len(res.Hits) != 1 || res.Total != 2 {
		t.Fatalf("hits %v total %d, want one clustered hit of two records", hitIDs(res), res.Total)
	}
	h := res.Hits[0]
	if len(h.AlsoHeldBy) != 1 {
		t.Fatalf("hit %s also held by %+v, want the other copy", h.ID, h.AlsoHeldBy)
	}
	other := h.AlsoHeldBy[0]
	if !(h.ID == "a-1" && other.ID == "b-1" && other.Origin == "node-b" && len(other.Provenance) == 1) &&
		!(h.ID == "b-1" && other.ID == "a-1" && other.Origin == "node-a") {
		t.Errorf("hit %s with copy %+v", h.ID, other)
	}
	// A query only one copy matches shows that copy.
	res = e.search(Request{Query: "copy"})
	if ids := hitIDs(res); !slices.Equal(ids, []string{"b-1"}) {
		t.Errorf("search copy = %v, want [b-1]", ids)
	}
	res = e.search(Request{Query: "glacier", AllCopies: true})
	if len(res.Hits) != 3 {
		t.Errorf("all copies: %v, want 3 hits", hitIDs(res))
	}
	res = e.search(Request{Query: "glacier"})
	if len(res.Hits) != 2 {
		t.Errorf("clustered: %v, want 2 hits", hitIDs(res))
	}
	res = e.search(Request{Query: "filter:x"[:0] + "origin:node-b"})
	if ids := hitIDs(res); !slices.Equal(ids, []string{"b-1"}) {
		t.Errorf("origin:node-b = %v", ids)
	}
}

func TestCursorPaging(t *testing.T) {
	e := newEnv(t)
	e.put(genRecords(250)...)
	e.catchUp()
	for _, sortBy := range []string{SortRelevance, SortDate, SortUpdated} {
		var all []string
		cursor := ""
		for page := 0; page < 100; page++ {
			res := e.search(Request{Query: "temperature OR glacier", Sort: sortBy, Limit: 7, Cursor: cursor, AllCopies: true})
			all = append(all, hitIDs(res)...)
			if res.Next == "" {
				break
			}
			cursor = res.Next
		}
		one := e.search(Request{Query: "temperature OR glacier", Sort: sortBy, Limit: 100, AllCopies: true})
		if int64(len(all)) != one.Total {
			t.Errorf("sort %s: paged through %d hits, total %d", sortBy, len(all), one.Total)
		}
		seen := map[string]bool{}
		for _, id := range all {
			if seen[id] {
				t.Errorf("sort %s: %s on two pages", sortBy, id)
			}
			seen[id] = true
		}
		if n := min(len(all), len(one.Hits)); !slices.Equal(all[:n], hitIDs(one)[:n]) {
			t.Errorf("sort %s: pages give another order than one big page", sortBy)
		}
	}
	if _, err := e.svc.Search(context.Background(), Request{Query: "x", Cursor: "garbage"}); err == nil {
		t.Error("a garbage cursor was accepted")
	}
}

func TestYearRangeAndFields(t *testing.T) {
	e := newEnv(t)
	for y := 2005; y <= 2015; y++ {
		e.put(rec(fmt.Sprint("y", y), "n", "Survey", func(m *store.Metadata) {
			m.Issued = fmt.Sprintf("%d-05-01", y)
			m.Type = "Jeu de données"
			m.Languages = []string{"fr"}
			m.Identifiers = []store.Identifier{{Scheme: "doi", Value: fmt.Sprintf("10.5072/Y%d", y)}}
			if y%2 == 0 {
				m.Creators = []store.Person{{Name: "Even, E.", ORCID: "0000-0002-1825-0097"}}
			}
		}))
	}
	e.catchUp()
	for q, want := range map[string]int64{
		"year:2010..2012": 3, "year:..2006": 2, "year:2014..": 2, "year:2010": 1,
		`type:"jeu de donnees"`: 11, "type:Jeu": 0, "language:fr": 11, "language:en": 0,
		"doi:10.5072/y2007": 1, "https://doi.org/10.5072/Y2008": 1, "identifier:10.5072/y2009": 1,
		"doi:10.5072/y2099": 0, "orcid:0000-0002-1825-0097": 5, "orcid:https://orcid.org/0000-0002-1825-0097": 5,
		"orcid:0000-0001-5109-3700": 0,
	} {
		if res := e.search(Request{Query: q}); res.Total != want {
			t.Errorf("%s: %d records, want %d", q, res.Total, want)
		}
	}
	res := e.search(Request{Sort: SortDate, Limit: 3})
	if ids := hitIDs(res); !slices.Equal(ids, []string{"y2015", "y2014", "y2013"}) {
		t.Errorf("sort=date: %v", ids)
	}
}

// TestUpdatesReplace updates and deletes records indexed in earlier
// segments: Bluge finds the versions they replace through the ids in the
// columns (colSegment.DocsMatchingTerms), and no record may be counted
// twice, keep its old words, or stay after its deletion.
func TestUpdatesReplace(t *testing.T) {
	e := newEnv(t)
	for batch := 0; batch < 3; batch++ {
		var recs []*store.Record
		for i := 0; i < 40; i++ {
			recs = append(recs, rec(fmt.Sprintf("u%d-%d", batch, i), "n", "Glacier survey", nil))
		}
		e.put(recs...)
		e.catchUp()
	}
	// Every other record of the first two segments gets a new title.
	var changed []*store.Record
	for batch := 0; batch < 2; batch++ {
		for i := 0; i < 40; i += 2 {
			changed = append(changed, rec(fmt.Sprintf("u%d-%d", batch, i), "n", "Moraine survey", nil))
		}
	}
	e.put(changed...)
	e.catchUp()
	if _, err := e.st.Delete(context.Background(), "u2-1"); err != nil {
		t.Fatal(err)
	}
	e.catchUp()
	for q, want := range map[string]int64{"survey": 119, "glacier": 79, "moraine": 40} {
		if res := e.search(Request{Query: q}); res.Total != want {
			t.Errorf("%s: %d records, want %d", q, res.Total, want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	for _, req := range []Request{{Query: `"open`}, {Sort: "size"}, {Limit: 1000}, {Cursor: "x"}} {
		_, err := e.svc.Search(context.Background(), req)
		var be *BadRequestError
		if !errors.As(err, &be) {
			t.Errorf("Search(%+v) = %v, want a BadRequestError", req, err)
		}
	}
}

// TestCatchUpAfterRestart writes while no indexer runs, reopens, and
// checks that the index catches up.
func TestCatchUpAfterRestart(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	svc := openService(t, dir, st)
	ctx := context.Background()
	st.Put(ctx, genRecords(60)...)
	if err := svc.CatchUp(ctx, nil); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	// Written while the index is closed.
	st.Put(ctx, rec("late-1", "n", "Permafrost thaw ponds", nil))
	st.Delete(ctx, genRecords(1)[0].ID)
	svc = openService(t, dir, st)
	defer st.Close()
	defer svc.Close()
	if cp := svc.Checkpoint(); cp >= st.LastSeq() {
		t.Fatalf("checkpoint %d already at %d before catching up", cp, st.LastSeq())
	}
	svc.Start()
	waitFor(t, 10*time.Second, func() bool { return svc.Checkpoint() == st.LastSeq() })
	res, err := svc.Search(ctx, Request{Query: "permafrost thaw"})
	if err != nil || !slices.Contains(hitIDs(res), "late-1") {
		t.Fatalf("late record not found after restart: %v %v", hitIDs(res), err)
	}
	res, _ = svc.Search(ctx, Request{})
	if res.Total != 60 {
		t.Errorf("total %d after restart, want 60 (60 + 1 added - 1 deleted)", res.Total)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSearchableWithinASecond writes through the store while the indexer
// runs and polls the search, with a deadline.
func TestSearchableWithinASecond(t *testing.T) {
	e := newEnv(t)
	e.svc.Start()
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("live-%d", i)
		word := fmt.Sprintf("zyxword%d", i)
		start := time.Now()
		e.put(rec(id, "n", "Title "+word, nil))
		deadline := start.Add(time.Second)
		for {
			res, err := e.svc.Search(ctx, Request{Query: word})
			if err != nil {
				t.Fatal(err)
			}
			if res.Total == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not searchable within 1s of its write", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// A deletion leaves the hits as quickly.
	e.st.Delete(ctx, "live-0")
	waitFor(t, time.Second, func() bool {
		res, _ := e.svc.Search(ctx, Request{Query: "zyxword0"})
		return res.Total == 0
	})
}

// TestCheckpointCrash: the checkpoint lives in the same Bluge batch as the
// documents, so an index copied at any moment (what a crash leaves) never
// has a checkpoint ahead of its documents, and catching up from it
// reaches the same state.
func TestCheckpointCrash(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	defer st.Close()
	svc := openService(t, dir, st)
	ctx := context.Background()
	recs := genRecords(120)
	svc.Start()
	snapDir := dir + "/copy"
	for i := 0; i < len(recs); i += 20 {
		st.Put(ctx, recs[i:i+20]...)
	}
	// Copy the index's files while the indexer works: a crash image.
	waitFor(t, 10*time.Second, func() bool { return svc.Checkpoint() > 0 })
	gen, _ := readCurrent(dir + "/search")
	if err := copyDir(genDir(dir+"/search", gen), genDir(snapDir, gen)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(snapDir+"/CURRENT", []byte(fmt.Sprintf("g%06d\n", gen)), 0o644)
	waitFor(t, 10*time.Second, func() bool { return svc.Checkpoint() == st.LastSeq() })
	want, _ := svc.Search(ctx, Request{Limit: 100, AllCopies: true, Sort: SortUpdated})
	svc.Close()

	cfg := DefaultConfig()
	cfg.Dir = snapDir
	crashed, err := Open(cfg, st, Options{})
	if err != nil {
		t.Fatalf("the crash image does not open: %v", err)
	}
	defer crashed.Close()
	cp := crashed.Checkpoint()
	sh, _ := crashed.shard()
	v, _ := sh.acquire()
	// Every record written at or before the checkpoint is in the image.
	for _, r := range recs {
		_, head, err := st.GetWithHead(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if head.Seq <= cp {
			found := false
			for _, s := range v.segs {
				it := s.live.Iterator()
				for it.HasNext() {
					if s.cols.id(it.Next()) == r.ID {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("checkpoint %d is ahead of record %s (seq %d)", cp, r.ID, head.Seq)
			}
		}
	}
	v.release()
	if err := crashed.CatchUp(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := crashed.Search(ctx, Request{Limit: 100, AllCopies: true, Sort: SortUpdated})
	if !slices.Equal(hitIDs(got), hitIDs(want)) || got.Total != want.Total {
		t.Errorf("after catching up the crash image holds %d records, the index %d", got.Total, want.Total)
	}
}

func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".pid") {
			continue
		}
		b, err := os.ReadFile(src + "/" + e.Name())
		if err != nil {
			if os.IsNotExist(err) {
				continue // removed meanwhile by the deletion policy
			}
			return err
		}
		if err := os.WriteFile(dst+"/"+e.Name(), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// TestReindexWhileServing rebuilds while searches and writes go on.
func TestReindexWhileServing(t *testing.T) {
	e := newEnv(t)
	e.put(genRecords(300)...)
	e.svc.Start()
	ctx := context.Background()
	waitFor(t, 10*time.Second, func() bool { return e.svc.Checkpoint() == e.st.LastSeq() })
	done := make(chan error, 1)
	go func() { done <- e.svc.Reindex(ctx, nil) }()
	rng := rand.New(rand.NewPCG(1, 1))
	writes := 0
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
			res := e.search(Request{Query: "glacier"})
			if res.Total == 0 {
				t.Fatal("no hits while reindexing")
			}
			if writes < 20 {
				e.put(rec(fmt.Sprintf("during-%d", writes), "n", fmt.Sprintf("Reindex probe %d", rng.IntN(1000)), nil))
				writes++
			}
		}
	}
	waitFor(t, 10*time.Second, func() bool { return e.svc.Checkpoint() == e.st.LastSeq() })
	res := e.search(Request{Query: "reindex probe"})
	if res.Total != int64(writes) {
		t.Errorf("%d probe records after reindex, want %d", res.Total, writes)
	}
	if ents, _ := os.ReadDir(e.dir + "/search"); len(ents) != 2 { // CURRENT and one generation
		var names []string
		for _, x := range ents {
			names = append(names, x.Name())
		}
		t.Errorf("index directory holds %v, want CURRENT and one generation", names)
	}
	if err := e.svc.Reindex(ctx, nil); err != nil {
		t.Errorf("second reindex: %v", err)
	}
}

// TestRelevanceBruteForce checks every hit's BM25 score against one
// computed from the stored records: term frequencies and field lengths
// from the analysed text, document frequencies and average lengths over
// all records.
func TestRelevanceBruteForce(t *testing.T) {
	e := newEnv(t)
	recs := genRecords(600)
	for i := 0; i < len(recs); i += 200 {
		e.put(recs[i : i+200]...) // three segments
		e.catchUp()
	}
	ctx := context.Background()
	fieldTerms := map[string]map[string][]string{} // field, record id: its terms
	for _, f := range textFields {
		fieldTerms[f] = map[string][]string{}
	}
	for _, r := range recs {
		got, err := e.st.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		m := &got.Metadata
		add := func(f, text string) { fieldTerms[f][r.ID] = append(fieldTerms[f][r.ID], Terms(text)...) }
		for _, x := range m.Titles {
			add(fieldTitle, x.Value)
		}
		for _, p := range m.Creators {
			add(fieldCreator, p.Name)
		}
		for _, p := range m.Contributors {
			add(fieldCreator, p.Name)
		}
		for _, x := range m.Subjects {
			add(fieldSubject, x.Value)
		}
		for _, x := range m.Descriptions {
			add(fieldDescription, x.Value)
		}
	}
	n := float64(len(recs))
	bm25 := func(id, field, term string) float64 {
		var df, docs, tokens float64
		for _, ts := range fieldTerms[field] {
			if len(ts) > 0 {
				docs++
				tokens += float64(len(ts))
			}
			if slices.Contains(ts, term) {
				df++
			}
		}
		tf := 0.0
		for _, x := range fieldTerms[field][id] {
			if x == term {
				tf++
			}
		}
		if tf == 0 {
			return 0
		}
		l := float64(len(fieldTerms[field][id]))
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		return fieldWeights[field] * idf * tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*l/(tokens/docs)))
	}
	queries := []struct {
		q      string
		fields []string // the fields its words score in
	}{
		{"glacier", defaultFields},
		{"glacier sediment", defaultFields},
		{"climate OR ocean", defaultFields},
		{"title:model", []string{fieldTitle}},
		{"description:temperature", []string{fieldDescription}},
	}
	checked, repeated := 0, 0
	for _, tc := range queries {
		res := e.search(Request{Query: tc.q, Limit: 100, AllCopies: true, NoFacets: true})
		if len(res.Hits) == 0 {
			t.Errorf("%q: no hits", tc.q)
		}
		var words []string
		for _, w := range strings.Fields(strings.ReplaceAll(tc.q, "OR", "")) {
			if _, v, ok := strings.Cut(w, ":"); ok {
				w = v
			}
			words = append(words, Terms(w)...)
		}
		for _, h := range res.Hits {
			want := 0.0
			for _, w := range words {
				for _, f := range tc.fields {
					want += bm25(h.ID, f, w)
					if c := strings.Count(" "+strings.Join(fieldTerms[f][h.ID], " ")+" ", " "+w+" "); c > 1 {
						repeated++
					}
				}
			}
			if math.Abs(h.Score-want) > 1e-4*want {
				t.Errorf("%q: %s scores %.6f, want %.6f", tc.q, h.ID, h.Score, want)
			}
			checked++
		}
	}
	if repeated == 0 {
		t.Error("no hit holds a query word twice: frequencies above 1 untested")
	}
	t.Logf("%d scores checked, %d with a word more than once", checked, repeated)
}
