package ld

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testBase = "https://node.example"

// richRecord exercises every field of the model (as in oai/crosswalk).
func richRecord() *store.Record {
	return &store.Record{
		ID:            "glacier-2020",
		OAIIdentifier: "oai:node.example:glacier-2020",
		Datestamp:     time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		Origin:        "node.example",
		Metadata: store.Metadata{
			Titles:       []store.Text{{Value: "Glacier mass balance of the Alps, 2020", Lang: "en"}, {Value: "Gletscher-Massenbilanz der Alpen", Lang: "de"}},
			Creators:     []store.Person{{Name: "Doe, Jane", ORCID: "0000-0002-1825-0097", Affiliation: "Example University"}, {Name: "Müller, Hans", Identifiers: []store.Identifier{{Scheme: "isni", Value: "0000 0001 2146 438X"}}}, {Name: "Alpine Glacier Monitoring Group"}},
			Contributors: []store.Person{{Name: "Roe, Richard", Role: "DataCurator"}, {Name: "Poe, Edgar", Role: "Editor"}},
			Subjects:     []store.Subject{{Value: "glaciology"}, {Value: "Gletscher", Lang: "de", URI: "http://example.org/c/glacier", Scheme: "local"}},
			Descriptions: []store.Text{{Value: "Annual mass balance of 30 glaciers. <b>&</b>", Lang: "en"}},
			Publisher:    "Example University",
			Issued:       "2021-03-04",
			Created:      "2020",
			Type:         "Dataset",
			TypeURI:      "http://purl.org/coar/resource_type/c_ddb1",
			Identifiers:  []store.Identifier{{Scheme: "doi", Value: "10.5281/zenodo.123456"}, {Scheme: "url", Value: "https://example.org/data/1"}},
			Languages:    []string{"en", "de"},
			License:      "https://creativecommons.org/licenses/by/4.0/",
			LicenseSPDX:  "CC-BY-4.0",
			Rights:       []store.Text{{Value: "© 2021 Example University", Lang: "en"}},
			AccessRights: "open access", AccessRightsURI: "http://purl.org/coar/access_right/c_abf2",
			Relations: []store.Relation{{Type: "IsSupplementTo", Scheme: "doi", Value: "10.1000/paper.1"}, {Type: "IsPartOf", Value: "Alpine series, volume 3"}},
			Files: []store.File{
				{URL: "https://example.org/files/mb2020.csv", Type: "text/csv", Size: 52311, Name: "mb2020.csv", Checksum: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
				{URL: "https://example.org/files/readme.pdf", Size: 1200},
			},
		},
	}
}

// harvestedRecord came through a peer from its origin, an OAI-PMH
// repository; it has no DOI.
func harvestedRecord() *store.Record {
	return &store.Record{
		ID:            "uni-b-4711",
		OAIIdentifier: "oai:node.example:uni-b-4711",
		Datestamp:     time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC),
		Origin:        "uni-b.example",
		Metadata: store.Metadata{
			Titles:      []store.Text{{Value: "Bodenfeuchte im Tiroler Oberland", Lang: "de"}},
			Creators:    []store.Person{{Name: "Öztürk, Ahmet"}},
			Type:        "Doctoral thesis",
			Issued:      "2019",
			Publisher:   "Universität Beispielstadt",
			Identifiers: []store.Identifier{{Scheme: "url", Value: "https://repo.uni-b.example/handle/4711"}, {Scheme: "urn", Value: "urn:nbn:de:0000-4711"}},
			Languages:   []string{"de"},
		},
		Provenance: []store.Provenance{
			{BaseURL: "https://peer.example/oai", Identifier: "oai:peer.example:uni-b-4711", Datestamp: "2024-05-30T12:00:00Z",
				HarvestDate: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), MetadataNamespace: "http://www.openarchives.org/OAI/2.0/oai_dc/"},
			{BaseURL: "https://repo.uni-b.example/oai", Identifier: "oai:repo.uni-b.example:4711", Datestamp: "2019-11-02",
				HarvestDate: time.Date(2024, 5, 30, 12, 0, 0, 0, time.UTC), MetadataNamespace: "http://www.openarchives.org/OAI/2.0/oai_dc/", Altered: true},
		},
	}
}

// unnormalizedRecord has URIs the store would refuse (white space and
// characters IRIs cannot hold), as legacy data may: the outputs must
// encode them, not break.
func unnormalizedRecord() *store.Record {
	r := nastyRecord()
	r.ID = "unnormalized"
	r.Metadata.Subjects = []store.Subject{{Value: "x", URI: "http://example.org/a b?c=<d>"}}
	r.Metadata.Files = []store.File{{URL: "https://example.org/files/my file ü.tar.gz?x=1&y=2", Name: "my file ü.tar.gz"}}
	r.Metadata.Identifiers = []store.Identifier{{Scheme: "url", Value: "https://example.org/x y"}}
	return r
}

// nastyRecord has every character that one of the syntaxes must escape,
// and is still a record the store accepts.
func nastyRecord() *store.Record {
	return &store.Record{
		ID:            "nasty_1.x~y",
		OAIIdentifier: "oai:node.example:nasty_1.x~y",
		Datestamp:     time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC),
		Metadata: store.Metadata{
			Titles: []store.Text{
				{Value: `A "quoted" title with \backslash, </script><script>alert(1)</script> & <tags>`, Lang: "en"},
				{Value: "多行\n标题 and a tab\there", Lang: "zh-hant-tw"},
			},
			Creators:     []store.Person{{Name: "O'Brien, Séan {the} $1 & 50% #2 _x_ ^~"}, {Name: "Smith and Jones Ltd"}},
			Descriptions: []store.Text{{Value: "Line one\r\nline two ]]> \u00a0 end"}},
			Subjects:     []store.Subject{{Value: "x", URI: "http://example.org/a?c=%3Cd%3E&e=é"}},
			Type:         "Software",
			Issued:       "2024-02",
			Identifiers:  []store.Identifier{{Scheme: "arxiv", Value: "arXiv:2401.00001"}},
			License:      "https://example.org/licence?v=1&lang=en#section",
			Files:        []store.File{{URL: "https://example.org/files/my%20file%20ü.tar.gz?x=1&y=2", Name: "my file ü.tar.gz"}},
		},
	}
}

// wideRecord has n creators with ORCID iDs and n files.
func wideRecord(n int) *store.Record {
	r := &store.Record{ID: fmt.Sprintf("wide-%d", n), Metadata: store.Metadata{
		Titles:      []store.Text{{Value: fmt.Sprintf("A record with %d authors and files", n)}},
		Type:        "Dataset",
		License:     "https://creativecommons.org/publicdomain/zero/1.0/",
		Identifiers: []store.Identifier{{Scheme: "doi", Value: fmt.Sprintf("10.5072/wide.%d", n)}},
	}}
	for i := 0; i < n; i++ {
		r.Metadata.Creators = append(r.Metadata.Creators, store.Person{Name: fmt.Sprintf("Author%d, A.", i), ORCID: gen.ORCID(uint64(i))})
		r.Metadata.Files = append(r.Metadata.Files, store.File{URL: fmt.Sprintf("https://files.example/wide/%d/part-%04d.csv", n, i), Type: "text/csv", Size: int64(1000 + i)})
	}
	return r
}

// generated returns n generated records of each institution.
func generated(n int) []*store.Record {
	var out []*store.Record
	for i, inst := range gen.Institutions {
		g := gen.New(uint64(7+i), inst)
		for j := 0; j < n; j++ {
			r := g.Record(j)
			r.Datestamp = time.Date(2024, 1, 1, 0, 0, j, 0, time.UTC)
			r.OAIIdentifier = "oai:node.example:" + r.ID
			out = append(out, r)
		}
	}
	return out
}

func testPublisher(t testing.TB, base string, cfg Config) *Publisher {
	t.Helper()
	p, err := New(nil, Site{BaseURL: base, Name: "Test node", NodeID: "node.example"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// env is a real store in a temp dir, a publisher and an HTTP server.
type env struct {
	st   *store.Store
	pub  *Publisher
	srv  *httptest.Server
	base string
}

func newEnv(t testing.TB, cfg Config, recs ...*store.Record) *env {
	t.Helper()
	st, err := store.Open(store.Config{Dir: t.TempDir(), RepositoryID: "node.example", CacheSize: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if len(recs) > 0 {
		for i := 0; i < len(recs); i += 500 {
			if _, err := st.Put(context.Background(), recs[i:min(i+500, len(recs))]...); err != nil {
				t.Fatal(err)
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	pub, err := New(st, Site{BaseURL: base, Name: "Test node", NodeID: "node.example"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	router := httprouter.New()
	pub.Routes(router)
	srv := httptest.NewUnstartedServer(router)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{st: st, pub: pub, srv: srv, base: base}
}

// golden compares got with testdata/golden/name, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ld -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n got:\n%s\nwant:\n%s", name, got, want)
	}
}
