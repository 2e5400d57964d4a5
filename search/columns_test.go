package search

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

// testRows makes documents with ids and facet values named after them:
// type "T<id>", every other one two subjects.
// Descriptions: "melt melt <id>" ("<id> <id>" too for every third).
// Lookup keys: the id as an identifier, "shared" as an ORCID for every
// other one.
func testRows(ds *dicts, ids ...string) docRows {
	var rows docRows
	b := newBuilder(ds)
	for i, id := range ids {
		d := &document{id: id, seq: uint64(10 + i), date: int32(20200101 + i), cluster: uint64(i) << 40}
		b.reset()
		desc := "melt melt " + id
		if i%3 == 0 {
			desc += " " + id + " " + id
		}
		b.textField(fieldDescription, desc)
		b.lookupField(fieldIdentifier, id)
		if i%2 == 1 {
			b.lookupField(fieldORCID, "shared", "shared")
		}
		b.finish(d)
		d.facetOrds[FacetType] = []uint32{ds[FacetType].ord("T" + id)}
		if i%2 == 0 {
			d.facetOrds[FacetSubject] = []uint32{ds[FacetSubject].ord("s1"), ds[FacetSubject].ord("s-" + id)}
		}
		rows = append(rows, d)
	}
	return rows
}

// describe lists the columns of each document as text, facet values by
// name.
func describe(c *columns, ds *dicts) []string {
	var out []string
	for d := uint32(0); d < uint32(c.n); d++ {
		s := fmt.Sprintf("%s seq=%d date=%d cluster=%x flags=%d", c.id(d), c.seq(d), c.date(d), c.cluster(d), c.flags[d])
		for f := range c.facets {
			col := &c.facets[f]
			col.each(d, func(o uint32) { s += fmt.Sprintf(" %s=%s", Facet(f), ds[f].name(col.glob[o])) })
		}
		for t := range c.text {
			if l := c.text[t].lens.at(d); l != 0 {
				s += fmt.Sprintf(" %s.len=%d", textFields[t], l)
			}
		}
		if docs := c.lookup(lookupKey(lookupSeed(fieldIdentifier), c.id(d))).ToArray(); len(docs) != 1 || docs[0] != d {
			s += fmt.Sprintf(" identifier->%v", docs)
		}
		out = append(out, s)
	}
	var shared []string
	for _, d := range c.lookup(lookupKey(lookupSeed(fieldORCID), "shared")).ToArray() {
		shared = append(shared, c.id(d))
	}
	out = append(out, fmt.Sprintf("orcid:shared %v", shared))
	for t := range c.text {
		tc := &c.text[t]
		for i := 0; i < len(tc.termOffs)/4-1; i++ {
			term := string(tc.termData[le32(tc.termOffs[4*i:]):le32(tc.termOffs[4*i+4:])])
			s := fmt.Sprintf("%s:%s", textFields[t], term)
			docs, tfs := tc.freqs(term)
			for e := range tfs {
				s += fmt.Sprintf(" %s*%d", c.id(le32(docs[4*e:])), tfs[e])
			}
			out = append(out, s)
		}
	}
	return out
}

func TestColumnsEncodeMerge(t *testing.T) {
	ds := newDicts()
	rowsA, rowsB := testRows(ds, "a0", "a1", "a2"), testRows(ds, "b0", "b1")
	blobA, crc, err := encodeColumns(rowsA, ds)
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	if _, crc2, err := writeColumns(&w, rowsA, ds); err != nil || crc2 != crc || !bytes.Equal(w.Bytes(), blobA) {
		t.Fatalf("writeColumns differs from encodeColumns (%v)", err)
	}
	blobB, _, err := encodeColumns(rowsB, ds)
	if err != nil {
		t.Fatal(err)
	}
	// Read through another process's dictionaries.
	ds2 := newDicts()
	ds2[FacetSubject].ord("taken first") // so that ordinals differ
	a, err := openColumns(blobA, ds2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := openColumns(blobB, ds2)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"a0 seq=10 date=20200101 cluster=0 flags=0 type=Ta0 subject=s1 subject=s-a0 description.len=5",
		"a1 seq=11 date=20200102 cluster=10000000000 flags=0 type=Ta1 description.len=3",
		"a2 seq=12 date=20200103 cluster=20000000000 flags=0 type=Ta2 subject=s1 subject=s-a2 description.len=3",
		"orcid:shared [a1]",
		"description:a0 a0*3",
		"description:melt a0*2 a1*2 a2*2",
	}
	if got := describe(a, ds2); !reflect.DeepEqual(got, want) {
		t.Errorf("columns read back:\n%q\nwant\n%q", got, want)
	}
	if a.facets[FacetType].vals.width != 1 || a.facets[FacetType].offs != nil || a.facets[FacetSubject].offs == nil {
		t.Errorf("type is width %d multi %v, subject multi %v", a.facets[FacetType].vals.width, a.facets[FacetType].offs != nil, a.facets[FacetSubject].offs != nil)
	}

	// Merge dropping a1 and b0, numbered as ice numbers them.
	const drop = 1 << 63
	rows, err := newMergeRows([]*columns{a, b}, [][]uint64{{0, drop, 1}, {drop, 2}})
	if err != nil {
		t.Fatal(err)
	}
	var mb bytes.Buffer
	if _, _, err := writeColumns(&mb, rows, ds2); err != nil {
		t.Fatal(err)
	}
	m, err := openColumns(mb.Bytes(), ds)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		want[0], want[2],
		"b1 seq=11 date=20200102 cluster=10000000000 flags=0 type=Tb1 description.len=3",
		"orcid:shared [b1]",
		"description:a0 a0*3",
		"description:melt a0*2 a2*2 b1*2",
	}
	if got := describe(m, ds); !reflect.DeepEqual(got, want) {
		t.Errorf("merged:\n%q\nwant\n%q", got, want)
	}
	if got := m.lookup(lookupKey(lookupSeed(fieldIdentifier), "a1")); !got.IsEmpty() {
		t.Errorf("the dropped a1's identifier finds documents %v", got.ToArray())
	}
	if _, err := newMergeRows([]*columns{a}, [][]uint64{{0, 2, 1}}); err == nil {
		t.Error("out-of-order numbering accepted")
	}
}

func TestColumnsWidths(t *testing.T) {
	for _, tc := range []struct {
		values int
		width  int
	}{{1, 1}, {255, 1}, {256, 2}, {65535, 2}, {65536, 4}} {
		t.Run(fmt.Sprint(tc.values), func(t *testing.T) {
			ds := newDicts()
			rows := make(docRows, tc.values)
			for i := range rows {
				rows[i] = &document{id: fmt.Sprint(i)}
				rows[i].facetOrds[FacetYear] = []uint32{ds[FacetYear].ord(fmt.Sprint("y", i))}
			}
			blob, _, err := encodeColumns(rows, ds)
			if err != nil {
				t.Fatal(err)
			}
			c, err := openColumns(blob, ds)
			if err != nil {
				t.Fatal(err)
			}
			col := &c.facets[FacetYear]
			if col.vals.width != tc.width {
				t.Errorf("width %d, want %d", col.vals.width, tc.width)
			}
			for _, d := range []uint32{0, uint32(tc.values - 1)} {
				if got, want := ds[FacetYear].name(col.glob[col.at(d)]), fmt.Sprint("y", d); got != want {
					t.Errorf("document %d: %s, want %s", d, got, want)
				}
			}
		})
	}
}

func TestColumnsCorrupt(t *testing.T) {
	ds := newDicts()
	blob, _, err := encodeColumns(testRows(ds, "a0", "a1", "a2"), ds)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openColumns(blob[:20], ds); err == nil {
		t.Error("truncated columns opened")
	}
	if _, err := openColumns(append([]byte("CLC3"), blob[5:]...), ds); err == nil {
		t.Error("shortened columns opened")
	}
	// A value past its dictionary: the last type value (width 1) is the
	// byte before the subject sections; find it from the footer instead
	// of hard-coding offsets.
	bad := bytes.Clone(blob)
	c, _ := openColumns(bad, ds)
	vals := c.facets[FacetType].vals.b
	vals[len(vals)-1] = 200
	if _, err := openColumns(bad, ds); err == nil {
		t.Error("value past the dictionary accepted")
	}
}

// FuzzOpenColumns checks that no corruption of a segment's columns makes
// opening them panic: it fails or gives columns whose every accessor
// stays in range.
func FuzzOpenColumns(f *testing.F) {
	ds := newDicts()
	blob, _, err := encodeColumns(testRows(ds, "a0", "a1", "a2", "a3"), ds)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(blob)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := openColumns(b, newDicts())
		if err != nil {
			return
		}
		describe(c, ds)
	})
}
