package search

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	segment "github.com/blugelabs/bluge_segment_api"
	"github.com/blugelabs/ice"
)

// iceBytes returns a segment's file bytes.
func iceBytes(t *testing.T, seg segment.Segment) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := seg.WriteTo(&buf, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testNorm(_ string, n int) float32 { return normOf(n) }

// commonRows makes n documents that all share the words "shared" and
// "every" (so their postings span several chunks once n passes 1,024,
// and a bitmap container once it passes 4,096) and each has a word of
// its own.
func commonRows(n int) docRows {
	b := newBuilder(newDicts())
	rows := make(docRows, n)
	for i := range rows {
		d := &document{id: fmt.Sprint(i)}
		b.reset()
		b.textField(fieldDescription, fmt.Sprintf("shared every own%d every", i))
		if i%7 == 0 {
			b.textField(fieldTitle, "seventh", "shared title")
		}
		b.keywordField(fieldType, "dataset")
		b.finish(d)
		rows[i] = d
	}
	return rows
}

// randomRows makes n documents of random words (a few shared by many
// documents, others rare, some not ASCII) in random fields, some empty.
func randomRows(rng *rand.Rand, n int) docRows {
	words := []string{"ice", "glace", "eis", "lód", "氷", "ледник", "sediment", "x", "zz", "a1"}
	word := func() string {
		if rng.IntN(3) == 0 {
			return fmt.Sprintf("w%d", rng.IntN(5*n+1))
		}
		return words[rng.IntN(len(words))]
	}
	text := func() string {
		var sb strings.Builder
		for range rng.IntN(40) {
			sb.WriteString(word() + " ")
		}
		return sb.String()
	}
	b := newBuilder(newDicts())
	rows := make(docRows, n)
	for i := range rows {
		d := &document{id: fmt.Sprint(i)}
		b.reset()
		for _, f := range []string{fieldTitle, fieldCreator, fieldSubject, fieldDescription} {
			if rng.IntN(4) > 0 {
				b.textField(f, text(), text())
			}
		}
		for _, f := range []string{fieldType, fieldLanguage, fieldSet, fieldOrigin} {
			if rng.IntN(3) > 0 {
				b.keywordField(f, word(), word())
			}
		}
		b.finish(d)
		rows[i] = d
	}
	return rows
}

// TestIceWriterMatchesIce checks that newIceSegment writes the bytes
// ice.New writes for the same documents, and that the segment it opens
// answers as ice's does.
func TestIceWriterMatchesIce(t *testing.T) {
	recRows := func(n int) docRows {
		b := newBuilder(newDicts())
		var rows docRows
		for i, r := range genRecords(n) {
			rows = append(rows, b.build(r, uint64(i+1)))
		}
		return rows
	}
	cases := []struct {
		name string
		rows docRows
	}{
		{"one record", recRows(1)},
		{"two records", recRows(2)},
		{"records", recRows(700)},
		{"1,024 postings", commonRows(1024)}, // one chunk
		{"1,025 postings", commonRows(1025)}, // two
		{"several chunks", commonRows(3000)},
		{"bitmap containers", commonRows(5000)},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 12 {
		n := 1 + rng.IntN(3000)
		cases = append(cases, struct {
			name string
			rows docRows
		}{fmt.Sprintf("random %d of %d", i, n), randomRows(rng, n)})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs := make([]segment.Document, len(tc.rows))
			for i, d := range tc.rows {
				docs[i] = d
			}
			want, wantN, err := ice.New(docs, testNorm)
			if err != nil {
				t.Fatal(err)
			}
			w := iceWriters.New().(*iceWriter)
			data, err := w.write(tc.rows, testNorm)
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			wb := iceBytes(t, want)
			if !bytes.Equal(data, wb) {
				i := 0
				for i < min(len(data), len(wb)) && data[i] == wb[i] {
					i++
				}
				t.Fatalf("segment of %d bytes differs from ice.New's %d bytes at byte %d", len(data), len(wb), i)
			}
			got, gotN, err := newIceSegment(docs, tc.rows, testNorm)
			if err != nil {
				t.Fatal(err)
			}
			if gotN != wantN || got.Count() != want.Count() {
				t.Errorf("segment size %d, %d documents; ice.New: %d, %d", gotN, got.Count(), wantN, want.Count())
			}
			if gb := iceBytes(t, got); !bytes.Equal(gb, wb) {
				t.Errorf("loaded segment writes %d bytes that differ from ice.New's", len(gb))
			}
			checkPostings(t, got, tc.rows)
			// The same writer again (pooled state reset): same bytes.
			again, err := w.write(tc.rows, testNorm)
			if err != nil || !bytes.Equal(again, wb) {
				t.Errorf("second write differs (err %v)", err)
			}
		})
	}
}

// checkPostings checks, independently of ice.New, that seg answers every
// term of the documents rows with the documents that hold it, their
// frequencies and positions, and with no other document.
func checkPostings(t *testing.T, seg segment.Segment, rows docRows) {
	t.Helper()
	type post struct {
		doc  uint64
		freq int
		pos  []int
	}
	want := map[string]map[string][]post{}
	for i, d := range rows {
		for _, f := range d.fields {
			if want[f.name] == nil {
				want[f.name] = map[string][]post{}
			}
			for _, tm := range d.terms[f.lo:f.hi] {
				p := post{doc: uint64(i), freq: int(tm.freq)}
				for _, l := range d.locs[tm.lo:tm.hi] {
					p.pos = append(p.pos, int(l.pos))
				}
				term := string(d.text[tm.off:tm.end])
				want[f.name][term] = append(want[f.name][term], p)
			}
		}
	}
	for field, terms := range want {
		dict, err := seg.Dictionary(field)
		if err != nil {
			t.Fatal(err)
		}
		for term, posts := range terms {
			pl, err := dict.PostingsList([]byte(term), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			it, err := pl.Iterator(true, true, true, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []post
			for p, err := it.Next(); p != nil || err != nil; p, err = it.Next() {
				if err != nil {
					t.Fatal(err)
				}
				g := post{doc: p.Number(), freq: p.Frequency()}
				for _, l := range p.Locations() {
					g.pos = append(g.pos, l.Pos())
				}
				got = append(got, g)
			}
			if !reflect.DeepEqual(got, posts) {
				t.Fatalf("%s:%q postings %+v, want %+v", field, term, got, posts)
			}
		}
	}
}

// TestIceWriterFallback checks the batches the writer leaves to ice.New.
func TestIceWriterFallback(t *testing.T) {
	twice := commonRows(3)
	twice[1].fields = append(twice[1].fields, twice[1].fields[0]) // a field named twice
	dupTerm := commonRows(3)
	f := &dupTerm[2].fields[0]
	dupTerm[2].terms = append(dupTerm[2].terms[:f.hi:f.hi], dupTerm[2].terms[f.lo])
	f.hi++
	for name, rows := range map[string]docRows{"none": nil, "field twice": twice, "term twice": dupTerm} {
		w := iceWriters.Get().(*iceWriter)
		if _, err := w.write(rows, testNorm); !errors.Is(err, errIceFallback) {
			t.Errorf("%s: write = %v, want the fallback", name, err)
		}
		iceWriters.Put(w)
	}
	// Through newIceSegment, ice.New takes them.
	docs := make([]segment.Document, len(twice))
	for i, d := range twice {
		docs[i] = d
	}
	seg, _, err := newIceSegment(docs, twice, testNorm)
	if err != nil || seg.Count() != 3 {
		t.Fatalf("newIceSegment of a field named twice: %v", err)
	}
}

// BenchmarkNewSegment compares ice.New with iceWriter on a batch of
// 4,096 generated records (ns/op per batch; µs/record reported).
func BenchmarkNewSegment(b *testing.B) {
	bld := newBuilder(newDicts())
	recs := genRecords(4096)
	rows := make(docRows, len(recs))
	docs := make([]segment.Document, len(recs))
	for i, r := range recs {
		rows[i] = bld.build(r, uint64(i+1))
		docs[i] = rows[i]
	}
	perRecord := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(rows)), "µs/record")
	}
	b.Run("ice.New", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := ice.New(docs, testNorm); err != nil {
				b.Fatal(err)
			}
		}
		perRecord(b)
	})
	b.Run("iceWriter", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := newIceSegment(docs, rows, testNorm); err != nil {
				b.Fatal(err)
			}
		}
		perRecord(b)
	})
}
