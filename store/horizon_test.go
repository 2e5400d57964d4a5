package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSetSpecs(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for i, sets := range [][]string{{"a:b"}, {"a:c", "z"}, {"a:b:c"}, nil} {
		r := rec(fmt.Sprint("r", i), "t")
		r.Metadata.Type = ""
		r.Sets = sets
		if _, err := s.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.SetSpecs(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "a:b", "a:b:c", "a:c", "z"}
	if !slices.Equal(all, want) {
		t.Fatalf("SetSpecs = %q, want %q", all, want)
	}
	for _, tc := range []struct {
		after string
		max   int
		want  []string
	}{
		{"", 2, []string{"a", "a:b"}},
		{"a:b", 2, []string{"a:b:c", "a:c"}},
		{"a:c", 10, []string{"z"}},
		{"z", 10, nil},
		{"b", 10, []string{"z"}},
	} {
		got, err := s.SetSpecs(ctx, tc.after, tc.max)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("SetSpecs(%q, %d) = %q, %v, want %q", tc.after, tc.max, got, err, tc.want)
		}
	}
}

// A rendition whose name starts with "~" is not content: a write that
// changes only it leaves the record unchanged, and Verify agrees.
func TestVolatileRendition(t *testing.T) {
	var n atomic.Int64
	s, err := Open(Config{Dir: t.TempDir(), Derive: func(r *Record) (Derived, error) {
		return Derived{Renditions: map[string][]byte{"oai_dc": []byte("<dc/>"), "~stamp": fmt.Append(nil, n.Add(1))}}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	res, err := s.Put(ctx, rec("x", "t"))
	if err != nil || res[0].Outcome != Added {
		t.Fatalf("Put = %v, %v", res, err)
	}
	res, err = s.Put(ctx, rec("x", "t"))
	if err != nil || res[0].Outcome != Unchanged {
		t.Fatalf("second Put = %v, %v; want unchanged", res, err)
	}
	it := s.Scan(ctx, Query{})
	if !it.Next() || string(it.Entry().Rendition("~stamp")) != "1" {
		t.Errorf("volatile rendition = %q, want the first write's", it.Entry().Rendition("~stamp"))
	}
	it.Close()
	mustVerify(t, s)
}

// Every version written after the seq Horizon returns has a datestamp at
// or after the datestamp it returns, however batches and clock interleave.
func TestHorizon(t *testing.T) {
	var tick atomic.Int64
	base := time.Date(2024, 3, 15, 9, 30, 0, 0, time.UTC).Unix()
	// Every reading of the clock is a new second, and now and then the
	// clock steps back.
	clock := func() time.Time {
		n := tick.Add(1)
		if n%7 == 0 {
			n -= 3
		}
		return time.Unix(base+n, 0)
	}
	s, err := Open(Config{Dir: t.TempDir(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var (
		wg   sync.WaitGroup
		seen = map[uint64]time.Time{} // seq -> latest datestamp returned with it
		stop atomic.Bool
	)
	for w := range 3 {
		wg.Go(func() {
			for i := 0; i < 150; i++ {
				if _, err := s.Put(ctx, rec(fmt.Sprintf("w%d-%d", w, i%40), fmt.Sprint("t", i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var rg sync.WaitGroup
	rg.Go(func() {
		for !stop.Load() {
			seq, ts := s.Horizon()
			if ts.After(seen[seq]) {
				seen[seq] = ts
			}
		}
	})
	wg.Wait()
	stop.Store(true)
	rg.Wait()
	// The current versions: older ones were checked when they were current
	// only if a reader saw them, which is enough to catch a late batch.
	it := s.Scan(ctx, Query{})
	entries := map[uint64]time.Time{}
	for it.Next() {
		entries[it.Entry().Seq] = it.Entry().Datestamp
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	for hseq, hts := range seen {
		for seq, ts := range entries {
			if seq > hseq && ts.Before(hts) {
				t.Fatalf("Horizon() = %d, %v, but seq %d has datestamp %v", hseq, hts, seq, ts)
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("no observations")
	}
}

func TestEntryOf(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()
	if _, err := s.EntryOf(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("EntryOf(nope) = %v, want ErrNotFound", err)
	}
	s.Put(ctx, rec("a", "one"), rec("b", "two"))
	clk.advance(time.Second)
	res, _ := s.Put(ctx, rec("a", "three"))
	e, err := s.EntryOf(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != res[0].Seq || !e.Datestamp.Equal(res[0].Datestamp) || e.ID != "a" || string(e.Rendition("oai_dc")) != "<dc>a</dc>" || !slices.Equal(e.Sets, []string{"type:dataset"}) {
		t.Errorf("EntryOf(a) = %+v", e)
	}
}
