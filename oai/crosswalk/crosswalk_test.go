package crosswalk

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/colligo/colligo/oai/oaitest"
	"github.com/colligo/colligo/oai/oaixml"
	"github.com/colligo/colligo/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

// richRecord exercises every field of the model.
func richRecord() *store.Record {
	return &store.Record{
		ID: "glacier-2020",
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
			Languages:    []string{"en"},
			License:      "https://creativecommons.org/licenses/by/4.0/",
			LicenseSPDX:  "CC-BY-4.0",
			AccessRights: "open access", AccessRightsURI: "http://purl.org/coar/access_right/c_abf2",
			Relations: []store.Relation{{Type: "IsSupplementTo", Scheme: "doi", Value: "10.1000/paper.1"}},
			Files:     []store.File{{URL: "https://example.org/files/mb2020.csv", Type: "text/csv", Size: 52311}},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./oai/crosswalk -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\n got %s\nwant %s", name, got, want)
	}
}

func TestOAIDCGoldenAndValid(t *testing.T) {
	out := OAIDC(richRecord(), "https://node.example/records/glacier-2020")
	golden(t, "rich.oai_dc.xml", out)
	oaitest.Validate(t, out)
}

func TestDataCiteGolden(t *testing.T) {
	golden(t, "rich.datacite.xml", DataCite(richRecord(), "https://node.example/records/glacier-2020"))
	// Without a DOI the landing page is the identifier.
	r := richRecord()
	r.Metadata.Identifiers = nil
	r.Metadata.Issued = ""
	out := DataCite(r, "https://node.example/records/x")
	if !bytes.Contains(out, []byte(`<identifier identifierType="URL">https://node.example/records/x</identifier>`)) {
		t.Errorf("no landing-page identifier in %s", out)
	}
}

// A record written as oai_dc and read back keeps what Dublin Core can say.
func TestDCRoundTrip(t *testing.T) {
	in := richRecord()
	m, err := FromDC(OAIDC(in, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := in.Metadata
	if !slices.Equal(m.Titles, want.Titles) || !slices.Equal(m.Descriptions, want.Descriptions) ||
		m.Publisher != want.Publisher || m.Issued != want.Issued || m.Type != want.Type || m.TypeURI != want.TypeURI ||
		!slices.Equal(m.Identifiers, want.Identifiers) || !slices.Equal(m.Languages, want.Languages) ||
		m.License != want.License || m.AccessRightsURI != want.AccessRightsURI {
		t.Errorf("round trip:\n got %+v\nwant %+v", m, want)
	}
	if len(m.Creators) != 2 || m.Creators[1].Name != "Müller, Hans" || len(m.Subjects) != 2 {
		t.Errorf("creators %+v subjects %+v", m.Creators, m.Subjects)
	}
}

func firstRecord(t *testing.T, file string, sink func(*store.Metadata) oaixml.MetadataSink) (*oaixml.Record, store.Metadata) {
	t.Helper()
	f, err := os.Open(filepath.Join("../oaixml/testdata/real", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var m store.Metadata
	d := oaixml.NewDecoder(f, oaixml.Options{}, sink(&m))
	for {
		it, err := d.Next()
		if err == io.EOF {
			t.Fatal("no record")
		}
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := it.(*oaixml.Record); ok {
			return r, m
		}
	}
}

// Real records of real repositories map to the model as a cataloguer would
// expect (files from ../oaixml/testdata/real, origins in its README).
func TestFromRealDC(t *testing.T) {
	t.Run("zenodo", func(t *testing.T) {
		_, m := firstRecord(t, "zenodo-listrecords-oai_dc-set-software-token.xml", DCSink)
		if len(m.Titles) == 0 || len(m.Creators) == 0 || m.Issued == "" || m.License == "" && len(m.Rights) == 0 {
			t.Errorf("zenodo record mapped to %+v", m)
		}
		hasDOI := false
		for _, id := range m.Identifiers {
			hasDOI = hasDOI || id.Scheme == "doi"
		}
		if !hasDOI {
			t.Errorf("no DOI among %+v", m.Identifiers)
		}
	})
	t.Run("puc-rio default dc namespace and [pt] prefixes", func(t *testing.T) {
		r, m := firstRecord(t, "puc-rio-maxwell-listrecords-NOT-WELLFORMED-vt-char-oaidc-prefix.xml", DCSink)
		if len(m.Titles) == 0 || m.Titles[0].Lang != "pt" || m.Titles[0].Value[0] == '[' {
			t.Errorf("title = %+v, want the [pt] prefix read as the language", m.Titles)
		}
		if r.MetadataNamespace != NamespaceOAIDC {
			t.Errorf("payload namespace = %q", r.MetadataNamespace)
		}
	})
	t.Run("gallica namespaces on the root", func(t *testing.T) {
		_, m := firstRecord(t, "bnf-gallica-listrecords-oai_dc-rootns.xml", DCSink)
		if len(m.Titles) == 0 || len(m.Languages) == 0 {
			t.Errorf("gallica record mapped to %+v", m)
		}
	})
}

func TestClassifyType(t *testing.T) {
	tests := []struct {
		text, uri string
		want      Kind
	}{
		{"Dataset", "", Dataset},
		{"info:eu-repo/semantics/article", "", Article},
		{"Zeitschriftenartikel", "", Article},
		{"", "http://purl.org/coar/resource_type/c_6501", Article},
		{"Text", "http://purl.org/coar/resource_type/c_5ce6", Software},
		{"Doctoral thesis", "", Thesis},
		{"info:eu-repo/semantics/conferenceObject", "", ConferencePaper},
		{"something", "", Other},
	}
	for _, tc := range tests {
		if got := ClassifyType(tc.text, tc.uri); got != tc.want {
			t.Errorf("ClassifyType(%q, %q) = %v, want %v", tc.text, tc.uri, got, tc.want)
		}
	}
}

// The scanner's fast path and encoding/xml map every real oai_dc record
// the same way.
func TestDCFastPathAgrees(t *testing.T) {
	files, _ := filepath.Glob("../oaixml/testdata/real/*.xml")
	n := 0
	for _, file := range files {
		b, _ := os.ReadFile(file)
		sp := oaixml.NewSplitter(bytes.NewReader(b), oaixml.Options{})
		for {
			c, err := sp.Next()
			if err != nil {
				break
			}
			if c.Name != "record" {
				continue
			}
			var fast store.Metadata
			r, err := oaixml.ParseRecord(c, DCSink(&fast))
			if err != nil || r.MetadataNamespace != NamespaceOAIDC {
				continue
			}
			slow, err := FromDC(r.Metadata, r.Namespaces)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Errorf("%s %s:\nfast %+v\nslow %+v", file, r.Header.Identifier, fast, slow)
			}
			n++
		}
	}
	if n < 300 {
		t.Fatalf("only %d oai_dc records compared", n)
	}
}
