package ld

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	jsonld "github.com/piprate/json-gold/ld"
)

// realJSONLDFiles are schema.org JSON-LD documents from other
// repositories (see testdata/README.md), with every spelling of the
// schema.org context.
var realJSONLDFiles = []string{
	"a2a-02-html-full-dataset-multilingual.jsonld",
	"harvard-dataverse-dataset.jsonld",
	"oup-jmammal-scholarlyarticle.jsonld",
	"pangaea-dataset.jsonld",
	"zenodo-2021-record-1196821-dataset.jsonld",
	"zenodo-rdm-record-1196821-dataset.jsonld",
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestContextV1MatchesSchemaOrg: every term of our context expands as the
// schema.org 30.0 context expands it, IRI and type coercion alike, so that
// a description means the same under either context.
func TestContextV1MatchesSchemaOrg(t *testing.T) {
	loader := NewLoader(testBase)
	var ours map[string]map[string]any
	if err := json.Unmarshal(contextV1, &ours); err != nil {
		t.Fatal(err)
	}
	opts := jsonld.NewJsonLdOptions("")
	opts.DocumentLoader = loader
	oursCtx, err := jsonld.NewContext(nil, opts).Parse(testBase + ContextPath)
	if err != nil {
		t.Fatal(err)
	}
	schemaCtx, err := jsonld.NewContext(nil, opts).Parse("https://schema.org")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for term := range ours["@context"] {
		if strings.HasPrefix(term, "@") {
			continue
		}
		n++
		a, err := oursCtx.ExpandIri(term, false, true, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := schemaCtx.ExpandIri(term, false, true, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Errorf("term %q: ours expands to %v, schema.org to %v", term, a, b)
		}
		if ta, tb := oursCtx.GetTypeMapping(term), schemaCtx.GetTypeMapping(term); ta != tb {
			t.Errorf("term %q: ours coerces to %v, schema.org to %v", term, ta, tb)
		}
	}
	if n < 50 {
		t.Errorf("only %d terms checked", n)
	}
}

// TestDescribeUsesOnlyDefinedTerms: every key of our descriptions is a
// term of our context, a keyword or a compact IRI of a declared prefix,
// so nothing falls back to @vocab by accident.
func TestDescribeUsesOnlyDefinedTerms(t *testing.T) {
	var ctx map[string]map[string]any
	if err := json.Unmarshal(contextV1, &ctx); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				prefix, _, compact := strings.Cut(k, ":")
				switch {
				case strings.HasPrefix(k, "@"):
				case compact:
					if _, ok := ctx["@context"][prefix]; !ok {
						t.Errorf("key %q: prefix %q is not declared", k, prefix)
					}
				default:
					if _, ok := ctx["@context"][k]; !ok {
						t.Errorf("key %q is not a term of our context", k)
					}
				}
				if k == "@type" {
					if s, ok := val.(string); ok && !strings.Contains(s, ":") {
						if _, ok := ctx["@context"][s]; !ok {
							t.Errorf("type %q is not a term of our context", s)
						}
					}
				}
				walk(val)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, r := range append(generated(20), richRecord(), harvestedRecord(), nastyRecord()) {
		walk(Describe(r, testBase+"/records/"+r.ID))
	}
}

// TestLoaderOffline: real JSON-LD with every spelling of the schema.org
// context expands with our loader, and an unknown context is refused,
// not fetched.
func TestLoaderOffline(t *testing.T) {
	loader := NewLoader(testBase)
	for _, name := range append(realJSONLDFiles, "a2a-31-metadata-expanded.jsonld") {
		var doc any
		if err := json.Unmarshal(readTestdata(t, "jsonld/"+name), &doc); err != nil {
			t.Fatal(err)
		}
		opts := jsonld.NewJsonLdOptions("")
		opts.DocumentLoader = loader
		out, err := jsonld.NewJsonLdProcessor().ToRDF(doc, opts)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if n := len(out.(*jsonld.RDFDataset).GetQuads("@default")); n < 1 || n < 3 && !strings.Contains(name, "expanded") {
			t.Errorf("%s: only %d triples", name, n)
		}
	}
	opts := jsonld.NewJsonLdOptions("")
	opts.DocumentLoader = loader
	_, err := jsonld.NewJsonLdProcessor().Expand(map[string]any{"@context": "https://w3id.org/other/context.jsonld", "name": "x"}, opts)
	if err == nil || !strings.Contains(err.Error(), "never uses the network") {
		t.Errorf("unknown context: err = %v", err)
	}
}

func TestSchemaTypes(t *testing.T) {
	tests := []struct{ typ, uri, want string }{
		{"journal article", "", "ScholarlyArticle"},
		{"", "http://purl.org/coar/resource_type/c_ddb1", "Dataset"},
		{"Software", "", "SoftwareSourceCode"},
		{"book chapter", "", "Chapter"},
		{"Doctoral thesis", "", "Thesis"},
		{"Forschungsbericht", "", "Report"},
		{"Book", "", "Book"},
		{"photograph", "", "ImageObject"},
		{"video", "", "VideoObject"},
		{"podcast", "", "AudioObject"},
		{"Sammlung", "", "Collection"},
		{"", "", "CreativeWork"},
		{"lecture", "", "CreativeWork"},
	}
	for _, tc := range tests {
		r := richRecord()
		r.Metadata.Type, r.Metadata.TypeURI = tc.typ, tc.uri
		if got := SchemaType(&r.Metadata); got != tc.want {
			t.Errorf("SchemaType(%q, %q) = %s, want %s", tc.typ, tc.uri, got, tc.want)
		}
	}
}

func TestIRI(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://doi.org/10.1000/x", "https://doi.org/10.1000/x", true},
		{" https://example.org/a b ", "https://example.org/a%20b", true},
		{"https://example.org/<x>{y}|^`\\\"", "https://example.org/%3Cx%3E%7By%7D%7C%5E%60%5C%22", true},
		{"oai:repo.example:1 2", "oai:repo.example:1%202", true},
		{"urn:nbn:de:1234", "urn:nbn:de:1234", true},
		{"relative/path", "", false},
		{"1http://x", "", false},
		{"http:", "", false},
		{"", "", false},
		{"http://exa mple.org/", "", false},
		{"https://example.org/%zz", "", false},
		{"https://" + strings.Repeat("a", 2100) + ".org/", "", false},
	}
	for _, tc := range tests {
		got, ok := IRI(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("IRI(%q) = %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestIsURLAgreesWithJSONGold: isURL answers as json-gold's IsURL does.
func TestIsURLAgreesWithJSONGold(t *testing.T) {
	var urls []string
	p := testPublisher(t, testBase, DefaultConfig())
	for _, r := range append(generated(30), richRecord(), harvestedRecord(), nastyRecord(), wideRecord(5)) {
		g, err := p.Graph(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range g.Triples {
			for _, term := range []Term{tr.S, tr.P, tr.O} {
				if term.Kind == IRITerm {
					urls = append(urls, term.Value)
				}
			}
		}
	}
	urls = append(urls, "http://localhost:8080/records/x", "http://127.0.0.1:8080/", "https://a.b-c.de:1/x?y#z", "http://x.y.z/",
		"https://a.bc.de", "http://x/", "https://xn--mnchen-3ya.de/", "https://user:pw@example.org/", "https://example.org/a b",
		"https://münchen.de/straße", "https://example.org:99999/", "https://[::1]:80/x", "http://.example.org/", "https://example.org/%zz")
	for _, u := range urls {
		if got, want := isURL(u), jsonld.IsURL(u); got != want {
			t.Errorf("isURL(%q) = %v, jsonld.IsURL = %v", u, got, want)
		}
	}
}

func FuzzIsURL(f *testing.F) {
	for _, s := range []string{"https://doi.org/10.1/x", "http://localhost:8080/a", "https://a-b.example.org:443/x y", "http://1.2.3.4/",
		"https://example.org/files/a.csv?x=1#f", "https://a.b-c.de:1/x?y#z", "https://u@h.org/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isURL(s), jsonld.IsURL(s); got != want {
			t.Fatalf("isURL(%q) = %v, jsonld.IsURL = %v", s, got, want)
		}
	})
}

func TestHarvestedProvenanceAndSameAs(t *testing.T) {
	d := Describe(harvestedRecord(), testBase+"/records/uni-b-4711")
	same, _ := d["sameAs"].([]any)
	want := []any{"https://repo.uni-b.example/handle/4711", "urn:nbn:de:0000-4711", "oai:peer.example:uni-b-4711", "oai:repo.uni-b.example:4711"}
	if len(same) != len(want) {
		t.Fatalf("sameAs = %v, want %v", same, want)
	}
	for i := range want {
		if same[i] != want[i] {
			t.Errorf("sameAs[%d] = %v, want %v", i, same[i], want[i])
		}
	}
	prov, _ := d["prov:wasDerivedFrom"].(map[string]any)
	if prov["@id"] != "oai:peer.example:uni-b-4711" {
		t.Errorf("wasDerivedFrom = %v", prov)
	}
	origin, _ := prov["prov:wasDerivedFrom"].(map[string]any)
	if origin["@id"] != "oai:repo.uni-b.example:4711" || origin["prov:atLocation"].(map[string]any)["@id"] != "https://repo.uni-b.example/oai" {
		t.Errorf("origin = %v", origin)
	}
	if d["prov:generatedAtTime"].(map[string]any)["@value"] != "2024-06-01T00:00:00Z" {
		t.Errorf("generatedAtTime = %v", d["prov:generatedAtTime"])
	}
	p := testPublisher(t, testBase, DefaultConfig())
	if got := p.Signposts(harvestedRecord()).CiteAs.Target; got != "https://repo.uni-b.example/handle/4711" {
		t.Errorf("cite-as of a harvested record without DOI = %s, want the origin's landing page", got)
	}
	own := harvestedRecord()
	own.Provenance, own.Origin = nil, "node.example"
	if got := p.Signposts(own).CiteAs.Target; got != testBase+"/records/uni-b-4711" {
		t.Errorf("cite-as of an own record without DOI = %s, want the landing page", got)
	}
}

// TestExpandMatchesJSONGold: our expansion of descriptions gives what
// json-gold's Expand gives.
func TestExpandMatchesJSONGold(t *testing.T) {
	p := testPublisher(t, testBase, DefaultConfig())
	recs := append(generated(20), richRecord(), harvestedRecord(), nastyRecord(), unnormalizedRecord(), wideRecord(3))
	for _, r := range recs {
		doc := p.Describe(r)
		ours, err := p.proc.expandNode(doc)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := jsonld.NewJsonLdApi().Expand(p.proc.ctx, "", doc, p.proc.opts, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ours, theirs) {
			a, _ := json.MarshalIndent(ours, "", " ")
			b, _ := json.MarshalIndent(theirs, "", " ")
			t.Errorf("%s: expansions differ\nours:\n%s\njson-gold:\n%s", r.ID, a, b)
		}
	}
}
