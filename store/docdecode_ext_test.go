package store_test

import (
	"encoding/json"
	"testing"

	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

// genDocs returns the documents of n generated records.
func genDocs(tb testing.TB, n int) [][]byte {
	g := gen.New(1, gen.Institutions[0])
	docs := make([][]byte, n)
	for i := range docs {
		doc, err := store.EncodeDoc(g.Record(i))
		if err != nil {
			tb.Fatal(err)
		}
		docs[i] = doc
	}
	return docs
}

// FuzzDecodeDoc checks that decodeDoc decodes any bytes as json.Unmarshal
// does: the same Record, the same error.
func FuzzDecodeDoc(f *testing.F) {
	for _, doc := range genDocs(f, 8) {
		f.Add(doc)
	}
	doc, err := store.EncodeDoc(store.BenchRecord())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc)
	for _, doc := range store.DecodeDocTable() {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		store.CheckDecodeDoc(t, "fuzzed", doc)
	})
}

// BenchmarkDecodeDoc compares decodeDoc with json.Unmarshal on the
// documents of generated records (gen) and on a typical harvested record,
// with provenance (harvested; BenchmarkEncodeDoc's).
func BenchmarkDecodeDoc(b *testing.B) {
	harvested, err := store.EncodeDoc(store.BenchRecord())
	if err != nil {
		b.Fatal(err)
	}
	for _, docs := range []struct {
		name string
		docs [][]byte
	}{
		{"gen", genDocs(b, 256)},
		{"harvested", [][]byte{harvested}},
	} {
		size := 0
		for _, doc := range docs.docs {
			size += len(doc)
		}
		for _, dec := range []struct {
			name   string
			decode func([]byte, *store.Record) error
		}{
			{"decodeDoc", store.DecodeDoc},
			{"json.Unmarshal", func(doc []byte, r *store.Record) error { return json.Unmarshal(doc, r) }},
		} {
			b.Run(docs.name+"/"+dec.name, func(b *testing.B) {
				b.SetBytes(int64(size / len(docs.docs)))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					var r store.Record
					if err := dec.decode(docs.docs[i%len(docs.docs)], &r); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}
