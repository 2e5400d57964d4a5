package search

import (
	"reflect"
	"testing"
)

func TestColumnsEncodeMerge(t *testing.T) {
	ds := newDicts()
	mk := func(ids ...string) *columns {
		var b colBuilder
		for i, id := range ids {
			var f [numFacets][]uint32
			f[FacetType] = []uint32{ds[FacetType].ord("T" + id)}
			if i%2 == 0 {
				f[FacetSubject] = []uint32{ds[FacetSubject].ord("s1"), ds[FacetSubject].ord("s-" + id)}
			}
			b.add(id, uint64(10+i), int32(20200101+i), uint64(i), 0, &f)
		}
		return b.finish()
	}
	a, b := mk("a0", "a1", "a2"), mk("b0", "b1")
	// Round trip through another process's dictionaries.
	ds2 := newDicts()
	got, err := decodeColumns(a.encode(ds), ds2)
	if err != nil {
		t.Fatal(err)
	}
	for d := uint32(0); d < 3; d++ {
		var want, have []string
		a.facets[FacetSubject].each(d, func(o uint32) { want = append(want, ds[FacetSubject].name(o)) })
		got.facets[FacetSubject].each(d, func(o uint32) { have = append(have, ds2[FacetSubject].name(o)) })
		if !reflect.DeepEqual(want, have) || got.id(d) != a.id(d) || got.seq[d] != a.seq[d] || got.date[d] != a.date[d] {
			t.Errorf("doc %d: %v %s, want %v %s", d, have, got.id(d), want, a.id(d))
		}
	}
	// Merge dropping a1 and b0, numbered as ice numbers them.
	const drop = 1 << 63
	m, err := mergeColumns([]*columns{a, b}, [][]uint64{{0, drop, 1}, {drop, 2}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for d := uint32(0); d < uint32(m.n); d++ {
		ids = append(ids, m.id(d))
	}
	if !reflect.DeepEqual(ids, []string{"a0", "a2", "b1"}) || m.seq[1] != 12 || ds[FacetType].name(m.facets[FacetType].vals[2]) != "Tb1" {
		t.Errorf("merged %v seq %v", ids, m.seq)
	}
	if _, err := mergeColumns([]*columns{a}, [][]uint64{{0, 2, 1}}); err == nil {
		t.Error("out-of-order numbering accepted")
	}
	if _, err := decodeColumns(a.encode(ds)[:20], newDicts()); err == nil {
		t.Error("truncated columns decoded")
	}
}
