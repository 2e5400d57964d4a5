package ld

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/knakk/rdf"
	jsonld "github.com/piprate/json-gold/ld"

	"github.com/colligo/colligo/store"
)

// parseJSONLD reads JSON-LD with json-gold, offline, into a graph.
func parseJSONLD(t *testing.T, p *Publisher, b []byte, root string) *Graph {
	t.Helper()
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("JSON-LD does not parse as JSON: %v\n%s", err, b)
	}
	opts := jsonld.NewJsonLdOptions("")
	opts.DocumentLoader = p.Loader()
	ds, err := jsonld.NewJsonLdProcessor().ToRDF(doc, opts)
	if err != nil {
		t.Fatalf("json-gold ToRDF: %v", err)
	}
	return GraphFromDataset(ds.(*jsonld.RDFDataset), root)
}

// parseKnakk reads Turtle, N-Triples or RDF/XML with knakk/rdf.
func parseKnakk(t *testing.T, b []byte, f rdf.Format, root string) *Graph {
	t.Helper()
	ts, err := rdf.NewTripleDecoder(bytes.NewReader(b), f).DecodeAll()
	if err != nil && err != io.EOF {
		t.Fatalf("knakk/rdf decode: %v\n%s", err, b)
	}
	g := &Graph{Root: root}
	for _, tr := range ts {
		g.Triples = append(g.Triples, Triple{S: fromKnakk(tr.Subj), P: fromKnakk(tr.Pred), O: fromKnakk(tr.Obj)})
	}
	g.normalize()
	return g
}

func fromKnakk(t rdf.Term) Term {
	switch v := t.(type) {
	case rdf.IRI:
		return Term{Kind: IRITerm, Value: v.String()}
	case rdf.Blank:
		return Term{Kind: BlankTerm, Value: v.String()}
	case rdf.Literal:
		if v.Lang() != "" {
			return Term{Kind: LiteralTerm, Value: v.String(), Datatype: rdfLangString, Lang: v.Lang()}
		}
		return Term{Kind: LiteralTerm, Value: v.String(), Datatype: v.DataType.String()}
	}
	return Term{}
}

var scriptJSONLD = regexp.MustCompile(`(?s)<script type="application/ld\+json">(.*?)</script>`)

func canonical(t *testing.T, g *Graph) string {
	t.Helper()
	c, err := g.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRDFFormatsIsomorphic: for a set of records, every RDF serialisation
// we serve parses back, with a parser that is not our writer, to a graph
// isomorphic to the one it was written from.
func TestRDFFormatsIsomorphic(t *testing.T) {
	p := testPublisher(t, testBase, DefaultConfig())
	recs := append([]*store.Record{richRecord(), harvestedRecord(), nastyRecord(), unnormalizedRecord(), wideRecord(3)}, generated(10)...)
	for _, r := range recs {
		t.Run(r.ID, func(t *testing.T) {
			root := p.RecordURL(r.ID)
			g, err := p.Graph(r)
			if err != nil {
				t.Fatal(err)
			}
			want := canonical(t, g)
			if strings.Count(want, "\n") < 10 {
				t.Fatalf("suspiciously small graph:\n%s", want)
			}
			check := func(format string, got *Graph) {
				t.Helper()
				if c := canonical(t, got); c != want {
					t.Errorf("%s: graph differs from the source graph\n got:\n%s\nwant:\n%s", format, c, want)
				}
			}
			for _, f := range []struct {
				name   string
				format rdf.Format
			}{{"ttl", rdf.Turtle}, {"nt", rdf.NTriples}, {"rdf", rdf.RDFXML}} {
				b, err := p.Render(r, f.name)
				if err != nil {
					t.Fatalf("%s: %v", f.name, err)
				}
				check(f.name, parseKnakk(t, b, f.format, root))
			}
			b, err := p.Render(r, "jsonld")
			if err != nil {
				t.Fatal(err)
			}
			check("jsonld", parseJSONLD(t, p, b, root))
			page, err := p.Render(r, "html")
			if err != nil {
				t.Fatal(err)
			}
			m := scriptJSONLD.FindSubmatch(page)
			if m == nil {
				t.Fatalf("no JSON-LD script in the landing page")
			}
			if bytes.Contains(m[1], []byte("</")) {
				t.Errorf("embedded JSON-LD contains \"</\"")
			}
			check("html", parseJSONLD(t, p, m[1], root))
		})
	}
}

// TestGraphMatchesJSONGoldToRDF: our last step of JSON-LD to RDF gives the
// graphs json-gold's own ToRDF gives, for our descriptions and for real
// JSON-LD from other repositories (TestExpandMatchesJSONGold covers the
// expansion step).
func TestGraphMatchesJSONGoldToRDF(t *testing.T) {
	p := testPublisher(t, testBase, DefaultConfig())
	var docs []map[string]any
	for _, r := range append([]*store.Record{richRecord(), harvestedRecord(), nastyRecord(), unnormalizedRecord()}, generated(5)...) {
		docs = append(docs, p.Describe(r))
	}
	for _, name := range realJSONLDFiles {
		var doc map[string]any
		if err := json.Unmarshal(readTestdata(t, "jsonld/"+name), &doc); err != nil {
			t.Fatal(err)
		}
		delete(doc, "@context")
		docs = append(docs, doc)
	}
	for _, doc := range docs {
		expanded, err := jsonld.NewJsonLdApi().Expand(p.proc.ctx, "", doc, p.proc.opts, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		root, _ := doc["@id"].(string)
		ours, err := p.proc.graphOfExpanded(jsonld.Arrayify(expanded), root)
		if err != nil {
			t.Fatal(err)
		}
		opts := jsonld.NewJsonLdOptions("")
		opts.DocumentLoader = p.Loader()
		opts.ExpandContext = p.ContextURL()
		ds, err := jsonld.NewJsonLdProcessor().ToRDF(doc, opts)
		if err != nil {
			t.Fatal(err)
		}
		theirs := GraphFromDataset(ds.(*jsonld.RDFDataset), ours.Root)
		if a, b := canonical(t, ours), canonical(t, theirs); a != b {
			t.Errorf("%v: graphs differ\n ours:\n%s\njson-gold:\n%s", doc["@id"], a, b)
		}
	}
}

func TestGoldenFormats(t *testing.T) {
	p := testPublisher(t, testBase, DefaultConfig())
	for _, r := range []*store.Record{richRecord(), harvestedRecord()} {
		for _, f := range Formats {
			b, err := p.Render(r, f.Name)
			if err != nil {
				t.Fatalf("%s %s: %v", r.ID, f.Name, err)
			}
			name := r.ID + "." + f.Name
			if f.File != "" {
				name = r.ID + "." + strings.TrimPrefix(f.File, "metadata.")
			}
			golden(t, name, b)
		}
		for _, name := range []string{"linkset", "linkset.json"} {
			b, err := p.Render(r, name)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, r.ID+"."+name, b)
		}
	}
	// The tombstone page.
	r := richRecord()
	r.Deleted = true
	b, err := p.Render(r, "html")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "glacier-2020.tombstone.html", b)
}

// TestXMLOutputsWellFormed: every XML output parses with encoding/xml.
func TestXMLOutputsWellFormed(t *testing.T) {
	p := testPublisher(t, testBase, DefaultConfig())
	for _, r := range append([]*store.Record{richRecord(), harvestedRecord(), nastyRecord(), unnormalizedRecord()}, generated(3)...) {
		for _, f := range []string{"rdf", "datacite", "oai_dc"} {
			b, err := p.Render(r, f)
			if err != nil {
				t.Fatal(err)
			}
			d := xml.NewDecoder(bytes.NewReader(b))
			for {
				_, err := d.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%s %s: %v\n%s", r.ID, f, err, b)
				}
			}
		}
	}
}

func TestRDFXMLRejectsWhatXMLCannotCarry(t *testing.T) {
	g := &Graph{Root: "http://a/", Triples: []Triple{{S: Term{Kind: IRITerm, Value: "http://a/"}, P: Term{Kind: IRITerm, Value: SchemaNS + "name"}, O: Term{Kind: LiteralTerm, Value: "bell \x07", Datatype: xsdString}}}}
	if _, err := g.RDFXML(); err == nil {
		t.Errorf("a literal with U+0007 was written as RDF/XML")
	}
	g.Triples[0].O.Value = "ok"
	g.Triples[0].P.Value = "http://example.org/p/123"
	if _, err := g.RDFXML(); err == nil {
		t.Errorf("a predicate without a QName was written as RDF/XML")
	}
	g.Triples[0].P.Value = "http://example.org/vocab#p-1.x"
	b, err := g.RDFXML()
	if err != nil || !bytes.Contains(b, []byte(`xmlns:ns0="http://example.org/vocab#"`)) || !bytes.Contains(b, []byte("<ns0:p-1.x>ok</ns0:p-1.x>")) {
		t.Errorf("RDFXML = %s, %v", b, err)
	}
}

// TestTurtlePrefixesOnlyWhenSafe: an IRI in a known namespace whose local
// part Turtle cannot write as a prefixed name turns the prefix off.
func TestTurtlePrefixesOnlyWhenSafe(t *testing.T) {
	g := &Graph{Root: "http://a/", Triples: []Triple{
		{S: Term{Kind: IRITerm, Value: "http://a/"}, P: Term{Kind: IRITerm, Value: SchemaNS + "name"}, O: Term{Kind: LiteralTerm, Value: "x", Datatype: xsdString}},
		{S: Term{Kind: IRITerm, Value: "http://a/"}, P: Term{Kind: IRITerm, Value: SchemaNS + "url"}, O: Term{Kind: IRITerm, Value: DCTermsNS + "x?y=1"}},
	}}
	b, err := g.Turtle()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("schema:name")) || bytes.Contains(b, []byte("dcterms:")) || !bytes.Contains(b, []byte("<http://purl.org/dc/terms/x?y=1>")) {
		t.Errorf("Turtle =\n%s", b)
	}
	back := parseKnakk(t, b, rdf.Turtle, "http://a/")
	if canonical(t, back) != canonical(t, g) {
		t.Errorf("Turtle does not read back")
	}
}

// TestLandingPageEscapes: text from records cannot open elements or
// links to anything but http(s) URLs.
func TestLandingPageEscapes(t *testing.T) {
	p := testPublisher(t, testBase, DefaultConfig())
	r := nastyRecord()
	r.Metadata.Subjects = append(r.Metadata.Subjects, store.Subject{Value: "click", URI: "javascript:alert(1)"})
	r.Metadata.Relations = []store.Relation{{Type: "IsPartOf", Value: "javascript:alert(2)"}}
	page, err := p.Render(r, "html")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>alert", "<tags>", `href="javascript:`, "</script><script>"} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("landing page contains %q", bad)
		}
	}
	if n := bytes.Count(page, []byte("<script")); n != 1 {
		t.Errorf("%d script elements, want the JSON-LD one", n)
	}
}

// TestConcurrentRendering: one publisher renders from many goroutines (the
// parsed context and the IRI caches are shared); run with -race.
func TestConcurrentRendering(t *testing.T) {
	p := testPublisher(t, testBase, DefaultConfig())
	recs := generated(20)
	want := map[string][]byte{}
	for _, r := range recs {
		b, err := p.Render(r, "ttl")
		if err != nil {
			t.Fatal(err)
		}
		want[r.ID] = b
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range recs {
				r := recs[(i+w)%len(recs)]
				for _, f := range []string{"ttl", "rdf", "jsonld", "html"} {
					b, err := p.Render(r, f)
					if err != nil {
						t.Error(err)
						return
					}
					if f == "ttl" && !bytes.Equal(b, want[r.ID]) {
						t.Errorf("%s: Turtle differs when rendered concurrently", r.ID)
					}
				}
			}
		}(w)
	}
	wg.Wait()
}
