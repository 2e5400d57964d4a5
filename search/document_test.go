package search

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	segment "github.com/blugelabs/bluge_segment_api"

	"github.com/colligo/colligo/store"
)

// visit lists what a document hands Bluge: per field its length, then
// each term with its frequency and positions.
func visit(d *document) []string {
	var out []string
	d.EachField(func(f segment.Field) {
		out = append(out, fmt.Sprintf("%s len=%d", f.Name(), f.Length()))
		f.EachTerm(func(t segment.FieldTerm) {
			s := fmt.Sprintf("  %s x%d", t.Term(), t.Frequency())
			t.EachLocation(func(l segment.Location) { s += fmt.Sprintf(" @%d", l.Pos()) })
			out = append(out, s)
		})
	})
	return out
}

func TestBuilderDocument(t *testing.T) {
	b := newBuilder(newDicts())
	r := &store.Record{ID: "r1", Origin: "n1"}
	r.Metadata.Titles = []store.Text{{Value: "Glacier mass, glacier melt"}, {Value: "Melt"}}
	r.Metadata.Languages = []string{"en", "de", "en"}
	// A first document leaves nothing behind in the builder's scratch.
	other := &store.Record{ID: "r0"}
	other.Metadata.Titles = []store.Text{{Value: "Something else entirely"}}
	b.build(other, 1)
	d := b.build(r, 7)
	// The id is a lookup key, not a field (see lookupSeed).
	want := []string{
		"title len=5", "  glacier x2 @1 @3", "  mass x1 @2", "  melt x2 @4 @105",
		"language len=2", "  en x1", "  de x1",
		"origin len=1", "  n1 x1",
	}
	if got := visit(d); !reflect.DeepEqual(got, want) {
		t.Errorf("document:\n%q\nwant\n%q", got, want)
	}
	if d.id != "r1" || d.seq != 7 {
		t.Errorf("id %q seq %d", d.id, d.seq)
	}
	if !slices.Contains(d.keys, lookupKey(lookupSeed(fieldID), "r1")) {
		t.Errorf("keys %x lack the id's", d.keys)
	}
	if cp := checkpointDoc(9); len(visit(cp)) != 0 || !slices.Equal(cp.keys, []uint64{lookupKey(lookupSeed(fieldID), metaDocID)}) {
		t.Errorf("checkpoint document: %q, keys %x", visit(cp), cp.keys)
	}
}

// TestTextFieldTerms checks a field's terms, frequencies and positions
// against a map, over fields large enough to grow the builder's term
// table and one after the other, so that a term of an earlier field
// would show if the table kept it.
func TestTextFieldTerms(t *testing.T) {
	b := newBuilder(newDicts())
	for _, words := range []int{3, 40, 700, 5, 2000} {
		var text []string
		for i := 0; i < words; i++ {
			text = append(text, fmt.Sprintf("w%dx", (i*7)%(words/2+1)))
		}
		b.reset()
		b.textField(fieldTitle, strings.Join(text, " "))
		d := &document{}
		b.finish(d)
		want := map[string][]int{}
		for i, w := range text {
			want[w] = append(want[w], i+1)
		}
		got := map[string][]int{}
		for _, tm := range d.terms {
			var pos []int
			for _, l := range d.locs[tm.lo:tm.hi] {
				pos = append(pos, int(l.pos))
			}
			if int(tm.freq) != len(pos) {
				t.Errorf("%d words: %s has frequency %d and %d positions", words, d.text[tm.off:tm.end], tm.freq, len(pos))
			}
			if _, dup := got[string(d.text[tm.off:tm.end])]; dup {
				t.Errorf("%d words: %s is two terms", words, d.text[tm.off:tm.end])
			}
			got[string(d.text[tm.off:tm.end])] = pos
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d words: terms and positions differ from a map's (%d terms, want %d)", words, len(got), len(want))
		}
	}
}
