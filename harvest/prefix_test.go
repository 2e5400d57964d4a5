package harvest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/colligo/colligo/oai/crosswalk"
	"github.com/colligo/colligo/store/gen"
	"github.com/colligo/colligo/store/ingest"
)

const nsMARC = "http://www.loc.gov/MARC21/slim"

func marcPayload(i int) []byte {
	return fmt.Appendf(nil, `<marc:record xmlns:marc="%s"><marc:controlfield tag="001">%d</marc:controlfield></marc:record>`, nsMARC, i)
}

// A source harvested in another format is harvested in oai_dc for the
// model, and its own payload is kept beside the oai_dc one.
func TestOtherPrefix(t *testing.T) {
	rp := newTestRepo(t, 120)
	rp.formats["marcxml"] = nsMARC
	for i, x := range rp.recs {
		x.payloads["marcxml"] = marcPayload(i)
	}
	rp.recs = append(rp.recs, &testRecord{ident: "oai:uni-a.example:marc-only", ds: rp.now.Add(-time.Minute),
		payloads: map[string][]byte{"marcxml": marcPayload(999)}})
	h, st, _ := newTestHarvester(t, testConfig())
	src := Source{ID: "m", BaseURL: rp.URL(), Prefix: "marcxml"}
	res := mustHarvest(t, h, src)
	// The oai_dc list adds, the marcxml list adds its payload.
	wantCounts(t, "first harvest", res.Counts, 120, 120, 0, 0, 1)
	if len(res.Errors) != 1 || res.Errors[0].Identifier != "oai:uni-a.example:marc-only" {
		t.Errorf("errors %+v", res.Errors)
	}
	g := gen.New(7, gen.Institutions[0])
	for _, i := range []int{0, 119} {
		id := ingest.LocalID(g.OAIIdentifier(i))
		rec, err := st.Get(ctx, id)
		if err != nil || len(rec.Originals) != 2 || rec.Originals[0].Prefix != "marcxml" || rec.Originals[0].Namespace != nsMARC ||
			rec.Originals[0].Schema != "https://schema.example/marcxml.xsd" || rec.Originals[1].Prefix != "oai_dc" {
			t.Fatalf("record %d: %+v %v", i, rec, err)
		}
		if m, _ := st.Original(ctx, id, "marcxml"); !bytes.Equal(m, marcPayload(i)) {
			t.Errorf("marcxml payload %s", m)
		}
		if d, _ := st.Original(ctx, id, "oai_dc"); !bytes.Equal(d, crosswalk.OAIDC(g.Record(i), "")) {
			t.Errorf("oai_dc payload %s", d)
		}
		if rec.Metadata.Titles[0].Value != g.Record(i).Metadata.Titles[0].Value {
			t.Errorf("title %q", rec.Metadata.Titles[0].Value)
		}
	}
	res = mustHarvest(t, h, src)
	wantCounts(t, "no change", res.Counts, 0, 0, 0, 0, 0)
	lists := queries(rp, "ListRecords")
	a, b := lists[len(lists)-2], lists[len(lists)-1]
	if a.Get("metadataPrefix") != "oai_dc" || b.Get("metadataPrefix") != "marcxml" || a.Get("from") == "" || a.Get("from") != b.Get("from") {
		t.Errorf("incremental lists %v and %v: want both prefixes from the same from", a, b)
	}

	// A new oai_dc version keeps the marcxml payload.
	rp.touch(5, "Changed title", false)
	res = mustHarvest(t, h, src)
	wantCounts(t, "change", res.Counts, 0, 1, 1, 0, 0)
	id := ingest.LocalID(g.OAIIdentifier(5))
	if m, err := st.Original(ctx, id, "marcxml"); err != nil || !bytes.Equal(m, marcPayload(5)) {
		t.Errorf("marcxml payload after an oai_dc change: %s %v", m, err)
	}
	if rec, _ := st.Get(ctx, id); rec.Metadata.Titles[0].Value != "Changed title" {
		t.Errorf("title %q", rec.Metadata.Titles[0].Value)
	}
}

// A record a source re-exposes with an <about><provenance> container keeps
// the chain after this harvest's entry.
func TestAboutProvenance(t *testing.T) {
	rp := newTestRepo(t, 0)
	g := gen.New(7, gen.Institutions[0])
	rp.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if !isList(r) {
			return false
		}
		io.WriteString(w, oaiDoc(rp.now, `<ListRecords><record><header><identifier>oai:node-a.example:x1</identifier><datestamp>2024-05-01T00:00:00Z</datestamp></header><metadata>`+
			string(crosswalk.OAIDC(g.Record(1), ""))+`</metadata><about><provenance xmlns="http://www.openarchives.org/OAI/2.0/provenance">
  <originDescription harvestDate="2024-04-30T10:00:00Z" altered="true">
    <baseURL>https://uni-c.example/oai</baseURL><identifier>oai:uni-c.example:1</identifier>
    <datestamp>2024-04-29</datestamp><metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace>
    <originDescription harvestDate="2024-04-01T00:00:00Z" altered="false">
      <baseURL>https://origin.example/oai</baseURL><identifier>oai:origin.example:9</identifier>
      <datestamp>2020-01-01</datestamp><metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace>
    </originDescription>
  </originDescription></provenance></about></record></ListRecords>`))
		return true
	}
	h, st, _ := newTestHarvester(t, testConfig())
	mustHarvest(t, h, Source{ID: "node-a", BaseURL: rp.URL()})
	rec, err := st.Get(ctx, ingest.LocalID("oai:node-a.example:x1"))
	if err != nil {
		t.Fatal(err)
	}
	p := rec.Provenance
	if len(p) != 3 || p[0].Identifier != "oai:node-a.example:x1" || p[1].BaseURL != "https://uni-c.example/oai" || !p[1].Altered ||
		p[1].HarvestDate != time.Date(2024, 4, 30, 10, 0, 0, 0, time.UTC) || p[2].Identifier != "oai:origin.example:9" || p[2].Altered {
		t.Errorf("provenance %+v", p)
	}
}
