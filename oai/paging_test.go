package oai

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/colligo/colligo/store"
)

// tickingClock moves one second forward every few readings, so that
// datestamps spread over many seconds while the test runs at full speed.
type tickingClock struct{ n atomic.Int64 }

func (c *tickingClock) now() time.Time {
	n := c.n.Add(1)
	return time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC).Add(time.Duration(n/4) * time.Second)
}

// version is one stored version of a record, as its writer saw it.
type version struct {
	seq       uint64
	datestamp time.Time
	deleted   bool
}

// writeLog records every version writers stored.
type writeLog struct {
	mu   sync.Mutex
	byID map[string][]version
	ops  atomic.Int64
}

func (l *writeLog) add(res []store.PutResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range res {
		if r.Outcome == store.Unchanged {
			continue
		}
		l.byID[r.ID] = append(l.byID[r.ID], version{r.Seq, r.Datestamp, r.Outcome == store.Deleted})
	}
	l.ops.Add(1)
}

// harvestAll pages through a list with its resumption tokens and returns
// every header or record, the first page's responseDate and its token.
func harvestAll(t *testing.T, f *fixture, query string, between func()) (items []*harvested, first *parsed, firstToken *token) {
	t.Helper()
	args, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	verb := args.Get("verb")
	p := parse(t, f.get(query))
	first = p
	if p.token != nil && p.token.Value != "" {
		var err error
		if firstToken, err = decodeToken(p.token.Value, f.p.key); err != nil {
			t.Fatal(err)
		}
	}
	var cursor int64
	for page := 0; ; page++ {
		if len(p.errors) > 0 {
			if page == 0 && p.errors[0].Code == CodeNoRecordsMatch {
				return nil, first, nil
			}
			t.Fatalf("page %d: %+v", page, p.errors[0])
		}
		n := 0
		for _, r := range p.records {
			items = append(items, &harvested{r.Header.Identifier, r.Header.Datestamp, r.Header.Deleted, r.Header.Sets})
			n++
		}
		for _, h := range p.headers {
			items = append(items, &harvested{h.Identifier, h.Datestamp, h.Deleted, h.Sets})
			n++
		}
		if p.token == nil {
			if page > 0 {
				t.Fatalf("page %d of a resumed list has no resumptionToken", page)
			}
			return items, first, firstToken
		}
		if p.token.Cursor != cursor {
			t.Fatalf("page %d: cursor %d, want %d (records before this page)", page, p.token.Cursor, cursor)
		}
		cursor += int64(n)
		if p.token.Value == "" {
			if p.token.CompleteListSize >= 0 && p.token.CompleteListSize != cursor {
				t.Fatalf("last page: completeListSize %d, but %d records were returned", p.token.CompleteListSize, cursor)
			}
			return items, first, firstToken
		}
		if p.token.CompleteListSize >= 0 && p.token.CompleteListSize <= cursor {
			t.Fatalf("page %d: completeListSize %d with %d returned and a next page", page, p.token.CompleteListSize, cursor)
		}
		if between != nil {
			between()
		}
		p = parse(t, f.get(q("verb", verb, "resumptionToken", p.token.Value)))
	}
}

type harvested struct {
	identifier, datestamp string
	deleted               bool
	sets                  []string
}

// A harvest pages through a list while writers add, update and delete
// records. The list returns exactly the records of its snapshot that were
// not rewritten before it reached them, in datestamp order, each once; the
// incremental harvest from the first page's responseDate returns the
// current version of every record written meanwhile; together they cover
// every record.
func TestPagingWithConcurrentWriters(t *testing.T) {
	for _, set := range []string{"", "type:dataset"} {
		t.Run("set="+set, func(t *testing.T) { testPagingWithConcurrentWriters(t, set) })
	}
}

func testPagingWithConcurrentWriters(t *testing.T, set string) {
	cfg := testConfig()
	cfg.PageSize = 7
	f := &fixture{t: t, dir: t.TempDir(), cfg: cfg}
	clk := &tickingClock{}
	// Open with the ticking clock for the store and the provider.
	d, err := NewDeriver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.d = d
	st, err := store.Open(store.Config{Dir: f.dir, RepositoryID: "node.example", Derive: d.Derive, Clock: clk.now, CacheSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	f.st = st
	t.Cleanup(f.close)
	if f.p, err = New(context.Background(), st, cfg, Options{Clock: clk.now}); err != nil {
		t.Fatal(err)
	}
	f.srv = newServer(f.p)

	ctx := context.Background()
	log := &writeLog{byID: map[string][]version{}}
	types := []string{"Dataset", "Article", "Software"}
	mk := func(id string, i int, title string) *store.Record {
		return &store.Record{ID: id, Origin: "node.example", Metadata: store.Metadata{
			Titles: []store.Text{{Value: title}}, Type: types[i%len(types)]}}
	}
	const initial = 300
	for i := 0; i < initial; i += 50 {
		var recs []*store.Record
		for j := i; j < i+50; j++ {
			recs = append(recs, mk(fmt.Sprint("init-", j), j, "first"))
		}
		res, err := st.Put(ctx, recs...)
		if err != nil {
			t.Fatal(err)
		}
		log.add(res)
	}
	for i := 0; i < initial; i += 37 {
		res, err := st.Delete(ctx, fmt.Sprint("init-", i))
		if err != nil {
			t.Fatal(err)
		}
		log.add([]store.PutResult{res})
	}

	// Writers: new records, updates and deletions of existing ones.
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; !stop.Load(); i++ {
				var res []store.PutResult
				var err error
				switch k := rng.IntN(initial); rng.IntN(3) {
				case 0:
					res, err = st.Put(ctx, mk(fmt.Sprintf("new-%d-%d", w, i), k, "new"))
				case 1:
					res, err = st.Put(ctx, mk(fmt.Sprint("init-", k), k, fmt.Sprintf("update %d-%d", w, i)))
				default:
					var r store.PutResult
					if r, err = st.Delete(ctx, fmt.Sprint("init-", k)); err == nil {
						res = []store.PutResult{r}
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
				log.add(res)
			}
		})
	}
	t.Cleanup(func() { stop.Store(true); wg.Wait() }) // before the store closes
	// Between pages, let the writers make progress.
	between := func() {
		want := log.ops.Load() + 5
		deadline := time.Now().Add(10 * time.Second)
		for log.ops.Load() < want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	query := q("verb", "ListIdentifiers", "metadataPrefix", "oai_dc")
	if set != "" {
		query = q("verb", "ListIdentifiers", "metadataPrefix", "oai_dc", "set", set)
	}
	items, first, tok := harvestAll(t, f, query, between)
	stop.Store(true)
	wg.Wait()
	if tok == nil {
		t.Fatal("the list fit one page: no paging tested")
	}
	maxSeq := tok.maxSeq

	// Each record once, in datestamp order.
	seen := map[string]*harvested{}
	for i, it := range items {
		if seen[it.identifier] != nil {
			t.Fatalf("%s returned twice in one list", it.identifier)
		}
		seen[it.identifier] = it
		if i > 0 && it.datestamp < items[i-1].datestamp {
			t.Fatalf("datestamp order broken: %s %s after %s", it.identifier, it.datestamp, items[i-1].datestamp)
		}
	}
	// Set membership depends on the type, which never changes for an id.
	inSet := func(id string) bool {
		if set == "" {
			return true
		}
		r, err := st.Get(ctx, id)
		return err == nil && slices.Contains(r.OAISets, set)
	}
	// The list holds exactly the snapshot versions of the records not
	// rewritten since the list began.
	// Writers log in the order they return, not in seq order.
	for _, vs := range log.byID {
		slices.SortFunc(vs, func(a, b version) int { return cmp.Compare(a.seq, b.seq) })
	}
	want := 0
	for id, vs := range log.byID {
		var snap *version
		rewritten := false
		for i := range vs {
			if vs[i].seq <= maxSeq {
				snap = &vs[i]
			} else {
				rewritten = true
			}
		}
		got := seen["oai:node.example:"+id]
		if snap == nil {
			if got != nil {
				t.Errorf("%s written after the list began, but in it", id)
			}
			continue
		}
		if got != nil && got.datestamp != snap.datestamp.Format(time.RFC3339) && !rewritten {
			t.Errorf("%s: datestamp %s, want %s", id, got.datestamp, snap.datestamp.Format(time.RFC3339))
		}
		if got != nil && got.deleted != snap.deleted && !rewritten {
			t.Errorf("%s: deleted %v, want %v", id, got.deleted, snap.deleted)
		}
		if !rewritten && inSet(id) {
			want++
			if got == nil {
				t.Errorf("%s (seq %d <= %d, never rewritten) missing from the list", id, snap.seq, maxSeq)
			}
		}
	}
	if len(seen) < want {
		t.Errorf("list has %d records, want at least %d", len(seen), want)
	}

	// The incremental harvest from the first responseDate has the current
	// version of every record written since.
	inc, _, _ := harvestAll(t, f, q("verb", "ListIdentifiers", "metadataPrefix", "oai_dc", "from", first.responseDate)+setArg(set), nil)
	incSeen := map[string]*harvested{}
	for _, it := range inc {
		incSeen[it.identifier] = it
	}
	all := 0
	for id, vs := range log.byID {
		last := vs[len(vs)-1]
		if !inSet(id) {
			continue
		}
		all++
		oid := "oai:node.example:" + id
		if last.seq > maxSeq {
			got := incSeen[oid]
			if got == nil {
				t.Errorf("%s written during the harvest (seq %d, %v) missing from the incremental harvest from %s", id, last.seq, last.datestamp, first.responseDate)
			} else if got.datestamp != last.datestamp.Format(time.RFC3339) || got.deleted != last.deleted {
				t.Errorf("%s: incremental harvest has %s deleted=%v, want %s deleted=%v", id, got.datestamp, got.deleted, last.datestamp.Format(time.RFC3339), last.deleted)
			}
		}
		if seen[oid] == nil && incSeen[oid] == nil {
			t.Errorf("%s in neither harvest", id)
		}
	}
	t.Logf("set %q: %d records, list %d, incremental %d, writer ops %d, snapshot seq %d", set, all, len(items), len(inc), log.ops.Load(), maxSeq)
}

func setArg(set string) string {
	if set == "" {
		return ""
	}
	return "&set=" + set
}

// Tokens stay valid across a restart of the node: a re-sent token returns
// the same page, and the list ends with an empty token whose cursor and
// completeListSize add up.
func TestTokensAcrossRestart(t *testing.T) {
	cfg := testConfig()
	cfg.PageSize = 10
	clk := newTestClock()
	f := newFixture(t, cfg, clk)
	for i := range 25 {
		f.put(&store.Record{ID: fmt.Sprint("r", i), Origin: "node.example", Metadata: store.Metadata{Titles: []store.Text{{Value: fmt.Sprint("Record ", i)}}}})
		clk.advance(time.Second)
	}
	// A real key this time, made by the provider and kept in the store.
	if err := f.st.SetState(context.Background(), stateTokenKey, nil); err != nil {
		t.Fatal(err)
	}
	f.clock = nil
	f.restart()
	key := f.p.key
	p1 := parse(t, f.get(q("verb", "ListRecords", "metadataPrefix", "oai_dc")))
	if len(p1.records) != 10 || p1.token.Value == "" {
		t.Fatalf("page 1: %d records, token %+v", len(p1.records), p1.token)
	}
	f.restart()
	if !bytes.Equal(key, f.p.key) {
		t.Fatal("the token key changed across a restart")
	}
	page2 := q("verb", "ListRecords", "resumptionToken", p1.token.Value)
	p2 := parse(t, f.get(page2))
	if len(p2.errors) > 0 || len(p2.records) != 10 || p2.records[0].Header.Identifier != "oai:node.example:r10" || p2.token.Cursor != 10 || p2.token.CompleteListSize != 25 {
		t.Fatalf("page 2 after restart: %+v %+v", p2.errors, p2.token)
	}
	again := parse(t, f.get(page2))
	if len(again.records) != len(p2.records) {
		t.Fatalf("re-sent token: %d records, first time %d", len(again.records), len(p2.records))
	}
	for i, r := range p2.records {
		a := again.records[i]
		if a.Header.Identifier != r.Header.Identifier || a.Header.Datestamp != r.Header.Datestamp || !bytes.Equal(a.Metadata, r.Metadata) {
			t.Fatalf("re-sent token: record %d differs: %+v, first time %+v", i, a.Header, r.Header)
		}
	}
	p3 := parse(t, f.get(q("verb", "ListRecords", "resumptionToken", p2.token.Value)))
	if len(p3.records) != 5 || p3.token == nil || p3.token.Value != "" || p3.token.Cursor != 20 || p3.token.CompleteListSize != 25 {
		t.Fatalf("last page: %d records, token %+v", len(p3.records), p3.token)
	}
	// A list that ends exactly at a page boundary has no extra page.
	f.put(&store.Record{ID: "r25", Origin: "node.example", Metadata: store.Metadata{Titles: []store.Text{{Value: "one more"}}}})
	items, _, _ := harvestAll(t, f, q("verb", "ListIdentifiers", "metadataPrefix", "oai_dc", "from", "2024-03-15T09:30:06Z"), nil)
	if len(items) != 20 {
		t.Errorf("harvest from r6: %d items, want 20 in two pages", len(items))
	}
}
