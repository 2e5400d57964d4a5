package oai

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/colligo/colligo/oai/oaixml"
	"github.com/colligo/colligo/store"
)

// richRecord exercises every field of the model (as crosswalk's tests).
func richRecord() *store.Record {
	return &store.Record{
		ID:     "glacier-2020",
		Origin: "node.example",
		Sets:   []string{"collection:glaciology"},
		Metadata: store.Metadata{
			Titles:       []store.Text{{Value: "Glacier mass balance of the Alps, 2020", Lang: "en"}, {Value: "Gletscher-Massenbilanz der Alpen", Lang: "de"}},
			Creators:     []store.Person{{Name: "Doe, Jane", ORCID: "0000-0002-1825-0097", Affiliation: "Example University"}, {Name: "Müller, Hans"}},
			Contributors: []store.Person{{Name: "Roe, Richard", Role: "DataCurator"}},
			Subjects:     []store.Subject{{Value: "glaciology"}, {Value: "Gletscher", Lang: "de", URI: "http://example.org/c/glacier", Scheme: "local"}},
			Descriptions: []store.Text{{Value: "Annual mass balance of 30 glaciers. <b>&</b>", Lang: "en"}},
			Publisher:    "Example University",
			Issued:       "2021-03-04",
			Type:         "Dataset",
			TypeURI:      "http://purl.org/coar/resource_type/c_ddb1",
			Identifiers:  []store.Identifier{{Scheme: "doi", Value: "10.5281/zenodo.123456"}, {Scheme: "url", Value: "https://example.org/data/1"}},
			Languages:    []string{"en", "de"},
			License:      "https://creativecommons.org/licenses/by/4.0/",
			AccessRights: "open access", AccessRightsURI: "http://purl.org/coar/access_right/c_abf2",
			Relations: []store.Relation{{Type: "IsSupplementTo", Scheme: "doi", Value: "10.1000/paper.1"}},
			Files:     []store.File{{URL: "https://example.org/files/mb2020.csv", Type: "text/csv", Size: 52311}},
		},
	}
}

// firstRealRecord reads the first record of a real response (the files of
// oaixml/testdata/real, origins in its README).
func firstRealRecord(t testing.TB, file string) *oaixml.Record {
	t.Helper()
	f, err := os.Open("oaixml/testdata/real/" + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := oaixml.NewDecoder(f, oaixml.Options{}, nil)
	for {
		it, err := d.Next()
		if err == io.EOF {
			t.Fatalf("%s: no record", file)
		}
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := it.(*oaixml.Record); ok {
			return r
		}
	}
}

// harvestedRecord is a record harvested from CERN's CDS in marcxml (the
// real payload of cds-invenio-listrecords-marcxml.xml), which CDS had
// itself harvested from INSPIRE: a provenance chain of two.
func harvestedRecord(t testing.TB) *store.Record {
	t.Helper()
	src := firstRealRecord(t, "cds-invenio-listrecords-marcxml.xml")
	return &store.Record{
		ID:     "cds.cern.ch-445527",
		Origin: "cds.cern.ch",
		Metadata: store.Metadata{
			Titles:      []store.Text{{Value: "Search for the Standard Model Higgs boson at LEP"}},
			Creators:    []store.Person{{Name: "ALEPH Collaboration"}},
			Type:        "journal article",
			Issued:      "2000",
			Identifiers: []store.Identifier{{Scheme: "doi", Value: "10.1016/S0370-2693(00)00889-3"}},
		},
		Provenance: []store.Provenance{
			{BaseURL: "http://cds.cern.ch/oai2d", Identifier: src.Header.Identifier, Datestamp: src.Header.Datestamp,
				HarvestDate: time.Date(2024, 3, 14, 22, 0, 5, 0, time.UTC), MetadataNamespace: src.MetadataNamespace, Altered: true},
			{BaseURL: "https://inspirehep.net/api/oai2d", Identifier: "oai:inspirehep.net:529576", Datestamp: "2018-12-20 10:00:00",
				HarvestDate: time.Date(2018, 12, 27, 3, 0, 0, 0, time.UTC), MetadataNamespace: src.MetadataNamespace, Altered: false},
		},
		Originals: []store.Original{{
			Prefix: "marcxml", Namespace: src.MetadataNamespace,
			Schema:     "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
			Namespaces: src.Namespaces, XML: src.Metadata,
		}},
	}
}

// goldenFixture is a repository with a record of the node, a German
// article, a harvested record and a deleted record, written one a second
// apart from 2024-03-15T09:30:00Z.
func goldenFixture(t *testing.T) *fixture {
	cfg := testConfig()
	cfg.PageSize = 2
	clk := newTestClock()
	f := newFixture(t, cfg, clk)
	f.put(richRecord())
	clk.advance(time.Second)
	article := &store.Record{ID: "zeitschrift-7", Origin: "node.example", Metadata: store.Metadata{
		Titles: []store.Text{{Value: "Über Gletscher & Zeit", Lang: "de"}}, Type: "Zeitschriftenartikel",
		TypeURI: "http://purl.org/coar/resource_type/c_6501", Languages: []string{"de"}, Issued: "2019",
	}}
	f.put(article)
	clk.advance(time.Second)
	f.put(harvestedRecord(t))
	clk.advance(time.Second)
	f.put(&store.Record{ID: "withdrawn-1", Origin: "node.example", Metadata: store.Metadata{Titles: []store.Text{{Value: "Withdrawn"}}, Type: "Dataset"}})
	clk.advance(time.Second)
	if _, err := f.st.Delete(t.Context(), "withdrawn-1"); err != nil {
		t.Fatal(err)
	}
	clk.set(time.Date(2024, 3, 16, 12, 0, 0, 0, time.UTC))
	return f
}

func TestGolden(t *testing.T) {
	f := goldenFixture(t)
	f.friends.Store(&[]string{"https://peer-b.example/oai", "https://peer-c.example/oai", "https://node.example/oai", "https://peer-b.example/oai"})
	for _, tc := range []struct {
		name, query string
		lax         bool // original payloads: see oaitest.ValidateLaxMetadata
	}{
		{"identify.xml", q("verb", "Identify"), false},
		{"listmetadataformats.xml", q("verb", "ListMetadataFormats"), false},
		{"listmetadataformats-harvested.xml", q("verb", "ListMetadataFormats", "identifier", "oai:node.example:cds.cern.ch-445527"), false},
		{"listsets.xml", q("verb", "ListSets"), false},
		{"getrecord-oai_dc.xml", q("verb", "GetRecord", "identifier", "oai:node.example:glacier-2020", "metadataPrefix", "oai_dc"), false},
		{"getrecord-oai_datacite.xml", q("verb", "GetRecord", "identifier", "oai:node.example:glacier-2020", "metadataPrefix", "oai_datacite"), false},
		{"getrecord-harvested-oai_dc.xml", q("verb", "GetRecord", "identifier", "oai:node.example:cds.cern.ch-445527", "metadataPrefix", "oai_dc"), false},
		{"getrecord-harvested-marcxml.xml", q("verb", "GetRecord", "identifier", "oai:node.example:cds.cern.ch-445527", "metadataPrefix", "marcxml"), true},
		{"getrecord-deleted.xml", q("verb", "GetRecord", "identifier", "oai:node.example:withdrawn-1", "metadataPrefix", "oai_dc"), false},
		{"listidentifiers-page1.xml", q("verb", "ListIdentifiers", "metadataPrefix", "oai_dc", "from", "2024-03-15"), false},
		{"listrecords-set.xml", q("verb", "ListRecords", "metadataPrefix", "oai_dc", "set", "type"), false},
		{"listrecords-marcxml.xml", q("verb", "ListRecords", "metadataPrefix", "marcxml"), true},
		{"error-badargument.xml", q("verb", "ListRecords", "metadataPrefix", "oai_dc", "from", "2024-03-15", "until", "2024-03-16T00:00:00Z"), false},
		{"error-cannotdisseminateformat.xml", q("verb", "GetRecord", "identifier", "oai:node.example:glacier-2020", "metadataPrefix", "mods"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.lax {
				body = f.getLax(tc.query)
			} else {
				body = f.get(tc.query)
			}
			golden(t, tc.name, body)
		})
	}
	// The second page of ListIdentifiers, through the token of the first.
	t.Run("listidentifiers-page2.xml", func(t *testing.T) {
		p1 := parse(t, f.get(q("verb", "ListIdentifiers", "metadataPrefix", "oai_dc", "from", "2024-03-15")))
		body := f.get(q("verb", "ListIdentifiers", "resumptionToken", p1.token.Value))
		golden(t, "listidentifiers-page2.xml", body)
	})
}

// The golden responses say what they should, read back with the project's
// own OAI-PMH reader.
func TestGoldenContent(t *testing.T) {
	f := goldenFixture(t)
	id := parse(t, f.get(q("verb", "Identify"))).identify
	if id.BaseURL != "https://node.example/oai" || id.EarliestDatestamp != "2024-03-15T09:30:00Z" || id.DeletedRecord != "persistent" ||
		id.Granularity != "YYYY-MM-DDThh:mm:ssZ" || !strings.Contains(strings.Join(id.Compression, " "), "gzip") {
		t.Errorf("Identify = %+v", id)
	}
	r := parse(t, f.getLax(q("verb", "GetRecord", "identifier", "oai:node.example:cds.cern.ch-445527", "metadataPrefix", "marcxml"))).records[0]
	src := firstRealRecord(t, "cds-invenio-listrecords-marcxml.xml")
	if !bytes.Equal(r.Metadata, src.Metadata) {
		t.Errorf("marcxml payload differs from what the source sent:\n got %s\nwant %s", r.Metadata, src.Metadata)
	}
	if len(r.About) != 1 || !bytes.Contains(r.About[0], []byte(`altered="false"`)) || !bytes.Contains(r.About[0], []byte("<identifier>oai:cds.cern.ch:445527</identifier>")) {
		t.Errorf("about = %s", r.About)
	}
	if got := r.Header.Sets; len(got) != 2 || got[0] != "source:cds.cern.ch" || got[1] != "type:article" {
		t.Errorf("sets = %q", got)
	}
	dc := parse(t, f.get(q("verb", "GetRecord", "identifier", "oai:node.example:cds.cern.ch-445527", "metadataPrefix", "oai_dc"))).records[0]
	if !bytes.Contains(dc.About[0], []byte(`altered="true"`)) || !bytes.Contains(dc.About[0], []byte(`<datestamp>2018-12-20T10:00:00Z</datestamp>`)) {
		t.Errorf("oai_dc about = %s", dc.About[0])
	}
	del := parse(t, f.get(q("verb", "GetRecord", "identifier", "oai:node.example:withdrawn-1", "metadataPrefix", "oai_datacite"))).records[0]
	if !del.Header.Deleted || del.Metadata != nil {
		t.Errorf("deleted record = %+v", del)
	}
}
