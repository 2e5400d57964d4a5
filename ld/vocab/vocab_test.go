package vocab

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/colligo/colligo/store"
)

func builtinRegistry(t testing.TB, mappings map[string]map[string]string) *Registry {
	t.Helper()
	reg := NewRegistry(mappings)
	for _, b := range Builtins {
		s, err := b.Load()
		if err != nil {
			t.Fatal(err)
		}
		reg.Add(s)
	}
	return reg
}

func TestParseCOARFiles(t *testing.T) {
	tests := []struct {
		file, id, field string
		format          Format
		concepts        int
		schemeURI       string
	}{
		{"builtin/coar-resource-types-3.2.nt", "rt", FieldType, NTriples, 110, "http://purl.org/coar/resource_type/scheme"},
		{"builtin/coar-access-rights-1.1.nt", "ar", FieldAccessRights, NTriples, 4, "http://purl.org/coar/access_right/scheme"},
		// A UTF-8 byte order mark and odd datatype IRIs (VocBench export).
		{"testdata/coar-resource-types-1.1.ttl", "rt11", FieldType, Turtle, 0, ""},
		// The 2020 clean-up also types its deprecated concepts.
		{"testdata/coar-access-rights-2020-12-04.ttl", "ar20", FieldAccessRights, Turtle, 11, ""},
		{"testdata/coar-version-types-1.1.nt", "vt", FieldSubject, NTriples, 8, ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s, err := Parse(f, tc.format, tc.id, tc.field)
			if err != nil {
				t.Fatal(err)
			}
			if tc.concepts > 0 && len(s.Concepts) != tc.concepts {
				t.Errorf("%d concepts, want %d", len(s.Concepts), tc.concepts)
			}
			if len(s.Concepts) < 4 {
				t.Errorf("only %d concepts", len(s.Concepts))
			}
			if tc.schemeURI != "" && s.URI != tc.schemeURI {
				t.Errorf("scheme URI %q, want %q", s.URI, tc.schemeURI)
			}
			// The canonical form parses back to the same scheme.
			again, err := ParseNTriples(s.NTriples, tc.id, tc.field)
			if err != nil || again.Hash != s.Hash || len(again.Concepts) != len(s.Concepts) {
				t.Errorf("canonical N-Triples do not round-trip: %v", err)
			}
		})
	}
}

func TestLookupInEveryLanguage(t *testing.T) {
	reg := builtinRegistry(t, map[string]map[string]string{"zenodo": {"Text": "http://purl.org/coar/resource_type/c_18cf"}})
	const article = "http://purl.org/coar/resource_type/c_6501"
	const dataset = "http://purl.org/coar/resource_type/c_ddb1"
	tests := []struct {
		source, field, value, want string
	}{
		{"", FieldType, "journal article", article},
		{"", FieldType, "Zeitschriftenaufsatz", article},
		{"", FieldType, "artículo", article},
		{"", FieldType, "ARTICULO", article}, // case and accents folded
		{"", FieldType, "Dataset", dataset},
		{"", FieldType, "Datensatz", dataset},
		{"", FieldType, "jeu de données", dataset},
		{"", FieldType, "conjunto de datos", dataset},
		{"", FieldType, "c_ddb1", dataset},
		{"", FieldAccessRights, "open access", "http://purl.org/coar/access_right/c_abf2"},
		{"", FieldAccessRights, "nur Metadaten", "http://purl.org/coar/access_right/c_14cb"},
		{"zenodo", FieldType, "text", "http://purl.org/coar/resource_type/c_18cf"},
		{"", FieldType, "Zeitschriftenartikel", "http://purl.org/coar/resource_type/43KC-T6DC"}, // magazine article
		{"", FieldType, "Sonderdruck", ""},
		{"", FieldSubject, "glaciology", ""},
	}
	for _, tc := range tests {
		got, ok := reg.Lookup(tc.source, tc.field, tc.value)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Lookup(%q, %q, %q) = %q, %v; want %q", tc.source, tc.field, tc.value, got, ok, tc.want)
		}
	}
}

func TestMapRecordAndUnmapped(t *testing.T) {
	reg := builtinRegistry(t, map[string]map[string]string{"src-x": {"Text": "http://purl.org/coar/resource_type/c_18cf"}})
	recs := []*store.Record{
		{ID: "a", Origin: "uni-b", Metadata: store.Metadata{Type: "Datensatz", AccessRights: "open access", Subjects: []store.Subject{{Value: "Glaziologie"}}}},
		{ID: "b", Origin: "uni-b", Metadata: store.Metadata{Type: "Sonderdruck"}},
		{ID: "c", Origin: "uni-b", Metadata: store.Metadata{Type: "Sonderdruck"}},
		{ID: "d", Origin: "src-x", Metadata: store.Metadata{Type: "Text", TypeURI: ""}},
		{ID: "e", Origin: "uni-b", Metadata: store.Metadata{Type: "Dataset", TypeURI: "http://example.org/own-type"}},
	}
	for _, r := range recs {
		reg.Map(r)
	}
	if recs[0].Metadata.TypeURI != "http://purl.org/coar/resource_type/c_ddb1" || recs[0].Metadata.AccessRightsURI != "http://purl.org/coar/access_right/c_abf2" {
		t.Errorf("record a mapped to %+v", recs[0].Metadata)
	}
	if recs[3].Metadata.TypeURI != "http://purl.org/coar/resource_type/c_18cf" {
		t.Errorf("per-source table not applied: %+v", recs[3].Metadata)
	}
	if recs[4].Metadata.TypeURI != "http://example.org/own-type" {
		t.Errorf("a given URI was replaced: %+v", recs[4].Metadata)
	}
	// Re-mapping the same record does not count it twice.
	reg.Map(recs[1])
	un := reg.Unmapped()
	if len(un) != 1 || un[0] != (UnmappedValue{Source: "uni-b", Field: FieldType, Value: "Sonderdruck", Records: 2}) {
		t.Fatalf("unmapped = %+v", un)
	}
	// Fixing the record removes it from the report.
	recs[1].Metadata.Type, recs[1].Metadata.TypeURI = "journal article", ""
	reg.Map(recs[1])
	if un := reg.Unmapped(); len(un) != 1 || un[0].Records != 1 {
		t.Fatalf("after fixing one record: %+v", un)
	}
}

func TestExpandNarrower(t *testing.T) {
	reg := builtinRegistry(t, nil)
	got := reg.Expand("", "Datensatz")
	if !slices.Contains(got, "http://purl.org/coar/resource_type/c_ddb1") || len(got) < 10 {
		t.Fatalf("Expand(Datensatz) = %v, want c_ddb1 and its narrower concepts", got)
	}
	for _, lang := range []string{"dataset", "jeu de données", "conjunto de datos"} {
		if e := reg.Expand("", lang); !slices.Equal(e, got) {
			t.Errorf("Expand(%q) differs from Expand(Datensatz)", lang)
		}
	}
	if reg.Expand("", "no such label at all") != nil {
		t.Error("a word no concept has expanded")
	}
	if e := reg.Expand(FieldType, "Datensatz"); !slices.Equal(e, got) {
		t.Errorf("Expand(type, Datensatz) = %v, want %v", e, got)
	}
	if e := reg.Expand(FieldSubject, "Datensatz"); e != nil {
		t.Errorf("Expand(subject, Datensatz) = %v: a resource type is no subject", e)
	}
	c, scheme := reg.Concept("http://purl.org/coar/resource_type/c_ddb1")
	if scheme != "coar-resource-types" || c.Label("de") != "Datensatz" || c.Label("xx") != "dataset" || c.Label("fr-CA") != "jeu de données" {
		t.Errorf("labels: %q %q %q", c.Label("de"), c.Label("xx"), c.Label("fr-CA"))
	}
	if len(c.Narrower) == 0 {
		t.Error("no narrower concepts")
	}
	for _, n := range c.Narrower {
		nc, _ := reg.Concept(n)
		if nc == nil || !slices.Contains(nc.Broader, c.URI) {
			t.Errorf("narrower %s does not have %s as broader", n, c.URI)
		}
	}
}

func TestPersistAndOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(store.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := NewRegistry(nil)
	changed, err := Open(ctx, st, reg)
	if err != nil || !changed || len(reg.Schemes()) != 2 {
		t.Fatalf("first Open: changed %v, %d schemes, %v", changed, len(reg.Schemes()), err)
	}
	svc := NewService(reg, st, "http://node.example", nil, nil)
	f, _ := os.Open("testdata/coar-version-types-1.1.nt")
	sch, changed, err := svc.Load(ctx, f, NTriples, "coar-version-types", FieldSubject)
	f.Close()
	if err != nil || !changed {
		t.Fatal(err)
	}
	f, _ = os.Open("testdata/coar-version-types-1.1.nt")
	if _, changed, _ = svc.Load(ctx, f, NTriples, "coar-version-types", FieldSubject); changed {
		t.Error("loading the same scheme again changed something")
	}
	f.Close()
	reg2 := NewRegistry(nil)
	if changed, err := Open(ctx, st, reg2); err != nil || changed || len(reg2.Schemes()) != 3 || reg2.Scheme("coar-version-types").Hash != sch.Hash {
		t.Fatalf("reopen: changed %v, %d schemes, %v", changed, len(reg2.Schemes()), err)
	}
}

func TestIDFromName(t *testing.T) {
	for in, want := range map[string]string{
		"coar_resourcetypes_v1.1_skos.ttl": "coar-resourcetypes-v1.1-skos",
		"/tmp/My Subjects.rdf":             "my-subjects",
		"ddc.nt.gz":                        "ddc",
	} {
		if got := IDFromName(in); got != want || !ValidID(got) {
			t.Errorf("IDFromName(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkLoadCOARResourceTypes: parsing and indexing the COAR Resource
// Types 3.2 scheme (the issue asks < 1 s).
func BenchmarkLoadCOARResourceTypes(b *testing.B) {
	for b.Loop() {
		s, err := Builtins[0].Load()
		if err != nil {
			b.Fatal(err)
		}
		NewRegistry(nil).Add(s)
	}
}

// BenchmarkMapRecord: the vocabulary step of a write.
func BenchmarkMapRecord(b *testing.B) {
	reg := builtinRegistry(b, nil)
	r := &store.Record{ID: "x", Origin: "o", Metadata: store.Metadata{Type: "Zeitschriftenaufsatz", AccessRights: "open access",
		Subjects: []store.Subject{{Value: "glaciology"}, {Value: "Klimawandel"}, {Value: "hydrology"}}}}
	for b.Loop() {
		r.Metadata.TypeURI, r.Metadata.AccessRightsURI = "", ""
		reg.Map(r)
	}
}
