package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// fakeClock is a settable clock; writes in tests get controlled datestamps.
type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(c.t.Load(), 0) }
func (c *fakeClock) set(t time.Time)         { c.t.Store(t.Unix()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d / time.Second)) }

func testDerive(r *Record) (Derived, error) {
	d := Derived{Renditions: map[string][]byte{"oai_dc": []byte("<dc>" + r.ID + "</dc>")}}
	if r.Metadata.Type != "" {
		d.Sets = append(d.Sets, "type:"+strings.ToLower(r.Metadata.Type))
	}
	return d, nil
}

func openTest(t *testing.T) (*Store, *fakeClock) {
	t.Helper()
	clk := &fakeClock{}
	clk.set(time.Date(2024, 3, 15, 9, 30, 0, 0, time.UTC))
	s, err := Open(Config{Dir: t.TempDir(), RepositoryID: "uni-a.example", Derive: testDerive, Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, clk
}

func rec(id, title string) *Record {
	return &Record{ID: id, Metadata: Metadata{Titles: []Text{{Value: title}}, Type: "Dataset"}}
}

func mustVerify(t *testing.T, s *Store) *VerifyReport {
	t.Helper()
	rep, err := s.Verify(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("verify found %d problems: %v", rep.Count, rep.Problems)
	}
	return rep
}

func TestPutGetOutcomes(t *testing.T) {
	ctx := context.Background()
	s, clk := openTest(t)
	res, err := s.Put(ctx, rec("a", "First"))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != Added || res[0].Seq != 1 {
		t.Fatalf("first put = %+v, want added at seq 1", res[0])
	}
	clk.advance(time.Minute)
	res, _ = s.Put(ctx, rec("a", "First"))
	if res[0].Outcome != Unchanged || !res[0].Datestamp.Equal(time.Date(2024, 3, 15, 9, 30, 0, 0, time.UTC)) {
		t.Fatalf("same content = %+v, want unchanged with the old datestamp", res[0])
	}
	res, _ = s.Put(ctx, rec("a", "First, revised"))
	if res[0].Outcome != Updated || res[0].Seq != 2 {
		t.Fatalf("changed content = %+v, want updated at seq 2", res[0])
	}
	got, err := s.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Metadata.Titles[0].Value != "First, revised" || got.OAIIdentifier != "oai:uni-a.example:a" ||
		!got.Datestamp.Equal(time.Date(2024, 3, 15, 9, 31, 0, 0, time.UTC)) || !slices.Equal(got.OAISets, []string{"type:dataset"}) {
		t.Fatalf("Get = %+v", got)
	}
	res1, err := s.Delete(ctx, "a")
	if err != nil || res1.Outcome != Deleted {
		t.Fatalf("Delete = %+v, %v", res1, err)
	}
	got, _ = s.Get(ctx, "a")
	if !got.Deleted || got.Metadata.Titles[0].Value != "First, revised" {
		t.Fatalf("tombstone = %+v, want deleted with its metadata kept", got)
	}
	if res1, _ = s.Delete(ctx, "a"); res1.Outcome != Unchanged {
		t.Fatalf("second Delete = %+v, want unchanged", res1)
	}
	if _, err := s.Delete(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete of missing record: %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of missing record: %v, want ErrNotFound", err)
	}
	mustVerify(t, s)
}

func TestValidationErrorNamesFields(t *testing.T) {
	s, _ := openTest(t)
	r := &Record{ID: "bad id", Metadata: Metadata{
		Creators:    []Person{{Name: "Doe, Jane", ORCID: "0000-0002-1825-0098"}},
		Issued:      "2021-13-01",
		Identifiers: []Identifier{{Scheme: "doi", Value: "not-a-doi"}},
		Files:       []File{{URL: "ftp://x", Size: -1}},
	}}
	_, err := s.Put(context.Background(), r)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Put = %v, want *ValidationError", err)
	}
	var fields []string
	for _, fe := range ve.Errors {
		fields = append(fields, fe.Field)
	}
	for _, want := range []string{"id", "metadata.titles", "metadata.creators[0].orcid", "metadata.issued", "metadata.identifiers[0]", "metadata.files[0].url", "metadata.files[0].size"} {
		if !slices.Contains(fields, want) {
			t.Errorf("validation errors %v lack %q", fields, want)
		}
	}
	if n, _ := s.Len(context.Background()); n != 0 {
		t.Fatalf("an invalid record was stored")
	}
}

func TestScanOrderAndBounds(t *testing.T) {
	ctx := context.Background()
	s, clk := openTest(t)
	base := time.Date(2024, 3, 15, 9, 30, 0, 0, time.UTC)
	// 10 records a second apart; records 3 and 5 updated later.
	for i := 0; i < 10; i++ {
		clk.set(base.Add(time.Duration(i) * time.Second))
		r := rec(fmt.Sprintf("r%d", i), "Title")
		if i%2 == 0 {
			r.Metadata.Type = "Article"
		}
		if _, err := s.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	clk.set(base.Add(20 * time.Second))
	s.Put(ctx, rec("r3", "Changed"), rec("r5", "Changed"))

	ids := func(q Query) []string {
		it := s.Scan(ctx, q)
		defer it.Close()
		var out []string
		for it.Next() {
			out = append(out, it.Entry().ID)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		n, err := s.Count(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if q.After == 0 && n != int64(len(out)) {
			t.Errorf("Count(%+v) = %d, Scan yields %d", q, n, len(out))
		}
		return out
	}
	tests := []struct {
		name string
		q    Query
		want []string
	}{
		{"all", Query{}, []string{"r0", "r1", "r2", "r4", "r6", "r7", "r8", "r9", "r3", "r5"}},
		{"from", Query{From: base.Add(8 * time.Second)}, []string{"r8", "r9", "r3", "r5"}},
		{"until", Query{Until: base.Add(2 * time.Second)}, []string{"r0", "r1", "r2"}},
		{"from until", Query{From: base.Add(4 * time.Second), Until: base.Add(7 * time.Second)}, []string{"r4", "r6", "r7"}},
		{"set", Query{Set: "type:article"}, []string{"r0", "r2", "r4", "r6", "r8"}},
		{"ancestor set", Query{Set: "type"}, []string{"r0", "r1", "r2", "r4", "r6", "r7", "r8", "r9", "r3", "r5"}},
		{"set until", Query{Set: "type:dataset", Until: base.Add(9 * time.Second)}, []string{"r1", "r7", "r9"}},
		{"origin", Query{Origin: ""}, []string{"r0", "r1", "r2", "r4", "r6", "r7", "r8", "r9", "r3", "r5"}},
		{"after", Query{After: 9}, []string{"r9", "r3", "r5"}},
		{"snapshot", Query{MaxSeq: 9}, []string{"r0", "r1", "r2", "r4", "r6", "r7", "r8"}},
		{"empty range", Query{From: base.Add(time.Hour)}, nil},
		{"until before all", Query{Until: base.Add(-time.Hour)}, nil},
		{"unknown set", Query{Set: "nope"}, nil},
		{"reverse", Query{Reverse: true, From: base.Add(8 * time.Second)}, []string{"r5", "r3", "r9", "r8"}},
		{"reverse set", Query{Reverse: true, Set: "type:article", Until: base.Add(5 * time.Second)}, []string{"r4", "r2", "r0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("Scan(%+v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
	if e, ok, _ := s.Earliest(ctx); !ok || !e.Equal(base) {
		t.Errorf("Earliest = %v, want %v", e, base)
	}
	mustVerify(t, s)
}

func TestCountAcrossBlocks(t *testing.T) {
	ctx := context.Background()
	s, clk := openTest(t)
	const n = 3*(1<<blockShift) + 100
	for i := 0; i < n; i += 500 {
		var batch []*Record
		for j := i; j < min(i+500, n); j++ {
			r := rec(fmt.Sprintf("r%05d", j), "T")
			if j%3 == 0 {
				r.Metadata.Type = "Article"
			}
			batch = append(batch, r)
		}
		clk.advance(time.Second)
		if _, err := s.Put(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	// Update a spread of records so blocks have holes.
	clk.advance(time.Second)
	var upd []*Record
	for j := 0; j < n; j += 7 {
		upd = append(upd, rec(fmt.Sprintf("r%05d", j), "changed"))
	}
	s.Put(ctx, upd...)
	for _, q := range []Query{{}, {Set: "type:article"}, {Set: "type"}, {After: 5000}, {MaxSeq: 9000}, {Set: "type:dataset", MaxSeq: 10000}} {
		want := 0
		it := s.Scan(ctx, q)
		for it.Next() {
			want++
		}
		it.Close()
		q.After = 0 // Count ignores After
		it = s.Scan(ctx, q)
		want = 0
		for it.Next() {
			want++
		}
		it.Close()
		got, err := s.Count(ctx, q)
		if err != nil || got != int64(want) {
			t.Errorf("Count(%+v) = %d, %v; scan counts %d", q, got, err, want)
		}
	}
	mustVerify(t, s)
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	const writers, each = 8, 60
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				// Writers overlap on ids so updates race with each other.
				id := fmt.Sprintf("r%d", (w*each+i)%100)
				r := rec(id, fmt.Sprintf("w%d i%d", w, i))
				if i%5 == 0 {
					r.Sets = []string{fmt.Sprintf("w:%d", w)}
				}
				if _, err := s.Put(ctx, r); err != nil {
					t.Error(err)
					return
				}
				if i%11 == 0 {
					if _, err := s.Delete(ctx, id); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	rep := mustVerify(t, s)
	if rep.Records != 100 {
		t.Fatalf("records = %d, want 100", rep.Records)
	}
	// Every seq in the log is unique and the datestamps never go back.
	ch, _ := s.Changes(ctx, 0, 1<<20)
	if uint64(len(ch)) != s.LastSeq() {
		t.Fatalf("change log has %d entries, last seq %d", len(ch), s.LastSeq())
	}
}

func TestPayloadsAndState(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	r := rec("h1", "Harvested")
	r.Origin = "zenodo"
	r.Originals = []Original{{Prefix: "oai_dc", XML: []byte("<oai_dc:dc/>")}, {Prefix: "marcxml", XML: []byte("<record/>")}}
	p, err := s.Prepare(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, []*Prepared{p}, CommitOptions{State: map[string][]byte{"harvest/zenodo": []byte("tok1")}}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.GetState("harvest/zenodo"); string(v) != "tok1" {
		t.Fatalf("state = %q", v)
	}
	if b, err := s.Original(ctx, "h1", "marcxml"); err != nil || string(b) != "<record/>" {
		t.Fatalf("Original = %q, %v", b, err)
	}
	// The new version drops marcxml: its payload must go.
	r = rec("h1", "Harvested")
	r.Origin = "zenodo"
	r.Originals = []Original{{Prefix: "oai_dc", XML: []byte("<oai_dc:dc>x</oai_dc:dc>")}}
	if _, err := s.Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Original(ctx, "h1", "marcxml"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stale payload still there: %v", err)
	}
	it := s.Scan(ctx, Query{Origin: "zenodo"})
	n := 0
	for it.Next() {
		n++
	}
	it.Close()
	if n != 1 {
		t.Fatalf("origin scan = %d entries", n)
	}
	mustVerify(t, s)
}

func TestIfSeqConflict(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	res, _ := s.Put(ctx, rec("a", "one"))
	p, _ := s.Prepare(rec("a", "two"))
	if _, err := s.Commit(ctx, []*Prepared{p.IfSeq(res[0].Seq + 5)}, CommitOptions{}); !errors.Is(err, ErrConflict) {
		t.Fatalf("Commit with stale IfSeq = %v, want ErrConflict", err)
	}
	p, _ = s.Prepare(rec("a", "two"))
	if _, err := s.Commit(ctx, []*Prepared{p.IfSeq(res[0].Seq)}, CommitOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestWaitSeqAndReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.WaitSeq(ctx, 0) }()
	s.Put(ctx, rec("a", "x"))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Dir: dir}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, _ := s.Put(ctx, rec("b", "y"))
	if res[0].Seq != 2 {
		t.Fatalf("seq after reopen = %d, want 2", res[0].Seq)
	}
}

func TestCheckpointRestore(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	for i := 0; i < 50; i++ {
		s.Put(ctx, rec(fmt.Sprintf("r%d", i), "x"))
	}
	cp := t.TempDir() + "/cp"
	if err := s.Checkpoint(ctx, cp); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir() + "/restored"
	if err := Restore(ctx, cp, dst); err != nil {
		t.Fatal(err)
	}
	if err := Restore(ctx, cp, dst); err == nil {
		t.Fatal("Restore into a non-empty directory succeeded")
	}
	r, err := Open(Config{Dir: dst})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n, _ := r.Len(ctx); n != 50 {
		t.Fatalf("restored %d records, want 50", n)
	}
	mustVerify(t, r)
}

func TestRederive(t *testing.T) {
	ctx := context.Background()
	var typeSets atomic.Bool
	clk := &fakeClock{}
	clk.set(time.Date(2024, 3, 15, 9, 30, 0, 0, time.UTC))
	s, err := Open(Config{Dir: t.TempDir(), Clock: clk.now, Derive: func(r *Record) (Derived, error) {
		d := Derived{Renditions: map[string][]byte{"oai_dc": []byte("<dc/>")}}
		if typeSets.Load() && r.Metadata.Type != "" {
			d.Sets = []string{"type:" + strings.ToLower(r.Metadata.Type)}
		}
		return d, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 1200; i++ {
		r := rec(fmt.Sprintf("r%d", i), "x")
		if i%3 == 0 {
			r.Metadata.Type = ""
		}
		if i%7 == 0 {
			r.Originals = []Original{{Prefix: "marc", XML: []byte("<m/>")}}
		}
		if _, err := s.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	s.Delete(ctx, "r5")
	clk.advance(time.Hour)
	// Nothing changed in the rules: nothing is rewritten.
	if done, changed, err := s.Rederive(ctx, nil); err != nil || done != 1200 || changed != 0 {
		t.Fatalf("Rederive = %d, %d, %v; want 1200 seen, 0 changed", done, changed, err)
	}
	typeSets.Store(true)
	done, changed, err := s.Rederive(ctx, nil)
	if err != nil || done != 1200 || changed != 800 {
		t.Fatalf("Rederive = %d, %d, %v; want 1200 seen, 800 changed", done, changed, err)
	}
	if n, _ := s.Count(ctx, Query{Set: "type:dataset"}); n != 800 {
		t.Fatalf("set holds %d records, want 800", n)
	}
	if b, err := s.Original(ctx, "r7", "marc"); err != nil || string(b) != "<m/>" {
		t.Fatalf("payload after rederive: %q, %v", b, err)
	}
	if r, _ := s.Get(ctx, "r5"); !r.Deleted {
		t.Fatal("tombstone came back to life")
	}
	mustVerify(t, s)
}

func TestIDFilter(t *testing.T) {
	f := newIDFilter(10)
	for i := 0; i < 300000; i++ { // forces several layers
		f.add(fmt.Sprintf("id-%d", i))
	}
	for i := 0; i < 300000; i++ {
		if !f.mayContain(fmt.Sprintf("id-%d", i)) {
			t.Fatalf("added id %d not found", i)
		}
	}
	fp := 0
	for i := 0; i < 100000; i++ {
		if f.mayContain(fmt.Sprintf("other-%d", i)) {
			fp++
		}
	}
	if fp > 5000 {
		t.Errorf("%d false positives in 100000", fp)
	}
	// A reopened store knows its ids: an update is an update.
	dir := t.TempDir()
	s, _ := Open(Config{Dir: dir})
	s.Put(context.Background(), rec("a", "one"))
	s.Close()
	s, _ = Open(Config{Dir: dir})
	defer s.Close()
	res, err := s.Put(context.Background(), rec("a", "two"))
	if err != nil || res[0].Outcome != Updated {
		t.Fatalf("after reopen: %+v %v", res, err)
	}
}

// Large values live in blob files (value separation): a checkpoint and a
// restore must carry them.
func TestCheckpointWithLargeValues(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	for i := 0; i < 3000; i++ {
		r := rec(fmt.Sprintf("r%d", i), "x")
		r.Metadata.Descriptions = []Text{{Value: strings.Repeat(fmt.Sprintf("word%d ", i), 300)}}
		if _, err := s.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	cp := t.TempDir() + "/cp"
	if err := s.Checkpoint(ctx, cp); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir() + "/restored"
	if err := Restore(ctx, cp, dst); err != nil {
		t.Fatal(err)
	}
	r, err := Open(Config{Dir: dst})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Get(ctx, "r2999")
	if err != nil || !strings.HasPrefix(got.Metadata.Descriptions[0].Value, "word2999 ") {
		t.Fatalf("restored record: %v", err)
	}
	mustVerify(t, r)
}

// GetMany reads what GetWithHead reads, record by record: live, updated,
// deleted and missing ids, in any order and with repeats.
func TestGetManyMatchesGetWithHead(t *testing.T) {
	ctx := context.Background()
	s, clk := openTest(t)
	for i := range 50 {
		if _, err := s.Put(ctx, rec(fmt.Sprintf("r%02d", i), fmt.Sprintf("Title %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(time.Hour)
	if _, err := s.Put(ctx, rec("r07", "Updated"), rec("r31", "Updated too")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "r12"); err != nil {
		t.Fatal(err)
	}
	ids := []string{"r49", "nope", "r07", "r12", "r00", "r31", "r07", "zz", "r25"}
	seen := make([]bool, len(ids))
	err := s.GetMany(ctx, ids, func(i int, r *Record, h Head, err error) error {
		if seen[i] {
			t.Errorf("id %d (%q) reported twice", i, ids[i])
		}
		seen[i] = true
		wr, wh, werr := s.GetWithHead(ctx, ids[i])
		if errors.Is(werr, ErrNotFound) != errors.Is(err, ErrNotFound) || (werr == nil) != (err == nil) {
			t.Fatalf("%q: GetMany error %v, GetWithHead error %v", ids[i], err, werr)
		}
		if err != nil {
			return nil
		}
		if h != wh {
			t.Errorf("%q: head %+v, want %+v", ids[i], h, wh)
		}
		if !reflect.DeepEqual(r, wr) {
			t.Errorf("%q: record %+v, want %+v", ids[i], r, wr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range seen {
		if !ok {
			t.Errorf("id %d (%q) never reported", i, ids[i])
		}
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.GetMany(ctx, ids, func(int, *Record, Head, error) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn's error: GetMany returned %v after %d calls, want stop after 1", err, calls)
	}
}

// entrySize is exact: the committer writes entries in place with it.
func TestEntrySize(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		id, origin string
		sets       []string
		rs         []rendition
	}{
		{"a", "", nil, nil},
		{long, long, []string{"s", long}, []rendition{{"oai_dc", []byte(strings.Repeat("<x/>", 5000))}, {"~about", nil}}},
		{"b", "peer", []string{"source:peer"}, []rendition{{long, []byte(long)}}},
	} {
		b := appendEntry(nil, 1700000000, tc.id, true, tc.origin, tc.sets, tc.rs)
		if n := entrySize(tc.id, tc.origin, tc.sets, tc.rs); n != len(b) {
			t.Errorf("entrySize(%.10q...) = %d, appendEntry wrote %d", tc.id, n, len(b))
		}
		var e Entry
		if err := decodeEntry(&e, 1, b); err != nil || e.ID != tc.id || len(e.renditions) != len(tc.rs) {
			t.Errorf("decode: %v %+v", err, e)
		}
	}
}

// Heads written while the content hash was SHA-256 keep it: an unchanged
// record stays unchanged, Verify accepts it, and a change writes an XXH3
// head.
func TestLegacyHashHeads(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	harvested := func(title string) *Record {
		r := rec("h1", title)
		r.Origin = "peer"
		r.Provenance = []Provenance{{BaseURL: "https://peer.example/oai", Identifier: "oai:peer:1", Datestamp: "2024-01-01", HarvestDate: time.Unix(1700000000, 0).UTC(), Altered: true}}
		r.Originals = []Original{{Prefix: "oai_dc", XML: []byte("<dc>original</dc>")}}
		return r
	}
	for _, r := range []*Record{rec("p1", "Plain"), harvested("Harvested")} {
		if _, err := s.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
		// Rewrite the head as an older node wrote it.
		p, err := s.Prepare(harvested("Harvested"))
		if r.ID == "p1" {
			p, err = s.Prepare(rec("p1", "Plain"))
		}
		if err != nil {
			t.Fatal(err)
		}
		v, closer, err := s.db.Get(headKey(r.ID))
		if err != nil {
			t.Fatal(err)
		}
		h, rest, err := decodeHead(v)
		if err != nil {
			t.Fatal(err)
		}
		rest = bytes.Clone(rest)
		closer.Close()
		if h.legacyHash {
			t.Fatalf("%s: a new head is legacy", r.ID)
		}
		if h.hash, err = legacyContentHash(p.prov, p.doc, p.originals, p.renditions); err != nil {
			t.Fatal(err)
		}
		h.legacyHash = true
		if err := s.db.Set(headKey(r.ID), append(h.append(nil), rest...), pebble.Sync); err != nil {
			t.Fatal(err)
		}
		mustVerify(t, s)
		again := rec("p1", "Plain")
		if r.ID != "p1" {
			again = harvested("Harvested")
		}
		res, err := s.Put(ctx, again)
		if err != nil || res[0].Outcome != Unchanged {
			t.Fatalf("%s: the same content against a legacy head: %+v %v", r.ID, res, err)
		}
		changed := rec("p1", "Plain, changed")
		if r.ID != "p1" {
			changed = harvested("Harvested, changed")
		}
		if res, err = s.Put(ctx, changed); err != nil || res[0].Outcome != Updated {
			t.Fatalf("%s: changed content against a legacy head: %+v %v", r.ID, res, err)
		}
		v, closer, _ = s.db.Get(headKey(r.ID))
		if h, _, _ = decodeHead(v); h.legacyHash {
			t.Errorf("%s: the updated head is still legacy", r.ID)
		}
		closer.Close()
		mustVerify(t, s)
	}
}
