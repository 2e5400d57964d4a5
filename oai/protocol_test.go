package oai

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/colligo/colligo/oai/oaitest"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/gen"
)

// An empty repository identifies itself with an earliestDatestamp that is
// not the current time, and lists nothing.
func TestEmptyRepository(t *testing.T) {
	cfg := testConfig()
	cfg.Sets = nil
	clk := newTestClock()
	f := newFixture(t, cfg, clk)
	id := parse(t, f.get(q("verb", "Identify")))
	if id.identify.EarliestDatestamp != "1970-01-01T00:00:00Z" {
		t.Errorf("earliestDatestamp of an empty repository = %s", id.identify.EarliestDatestamp)
	}
	if !bytes.Contains(f.get(q("verb", "Identify")), []byte("<friends xmlns")) {
		t.Error("no friends description")
	}
	for query, code := range map[string]string{
		q("verb", "ListRecords", "metadataPrefix", "oai_dc"):     CodeNoRecordsMatch,
		q("verb", "ListIdentifiers", "metadataPrefix", "oai_dc"): CodeNoRecordsMatch,
		q("verb", "ListSets"): CodeNoSetHierarchy,
	} {
		if got := parse(t, f.get(query)).errorCodes(); !slices.Equal(got, []string{code}) {
			t.Errorf("%s: %q, want %s", query, got, code)
		}
	}
}

// from and until are inclusive, at both granularities; until of a day is
// the whole day.
func TestFromUntil(t *testing.T) {
	cfg := testConfig()
	cfg.Sets = nil
	clk := newTestClock()
	f := newFixture(t, cfg, clk)
	// One record a day at 23:59:59, 10 to 14 March, and one at midnight.
	clk.set(time.Date(2024, 3, 10, 23, 59, 59, 0, time.UTC))
	for i := range 5 {
		f.put(&store.Record{ID: fmt.Sprint("d", 10+i), Origin: "node.example", Metadata: store.Metadata{Titles: []store.Text{{Value: "x"}}}})
		clk.advance(24 * time.Hour)
	}
	clk.set(time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC))
	f.put(&store.Record{ID: "d15", Origin: "node.example", Metadata: store.Metadata{Titles: []store.Text{{Value: "x"}}}})
	for _, tc := range []struct {
		from, until string
		want        []string
	}{
		{"2024-03-11", "2024-03-12", []string{"d11", "d12"}},
		{"2024-03-11T23:59:59Z", "2024-03-12T23:59:59Z", []string{"d11", "d12"}},
		{"2024-03-11T23:59:59Z", "2024-03-12T23:59:58Z", []string{"d11"}},
		{"2024-03-12T00:00:00Z", "2024-03-12T23:59:59Z", []string{"d12"}},
		{"2024-03-14", "", []string{"d14", "d15"}},
		{"2024-03-15T00:00:00Z", "", []string{"d15"}},
		{"2024-03-15T00:00:01Z", "", nil},
		{"", "2024-03-10", []string{"d10"}},
		{"", "2024-03-10T23:59:58Z", nil},
		{"2024-03-13", "2024-03-13", []string{"d13"}},
	} {
		args := []string{"verb", "ListIdentifiers", "metadataPrefix", "oai_dc"}
		if tc.from != "" {
			args = append(args, "from", tc.from)
		}
		if tc.until != "" {
			args = append(args, "until", tc.until)
		}
		p := parse(t, f.get(q(args...)))
		var got []string
		for _, h := range p.headers {
			got = append(got, strings.TrimPrefix(h.Identifier, "oai:node.example:"))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("from %q until %q: %q, want %q (errors %q)", tc.from, tc.until, got, tc.want, p.errorCodes())
		}
	}
}

// POST with a form body answers exactly as GET; gzip and deflate are
// served when asked for.
func TestPOSTAndCompression(t *testing.T) {
	f := goldenFixture(t)
	query := q("verb", "ListRecords", "metadataPrefix", "oai_dc", "set", "lang:de")
	get := f.get(query)
	if post := f.do(http.MethodPost, query, true); !bytes.Equal(get, post) {
		t.Errorf("POST differs from GET:\n%s\n%s", post, get)
	}
	for _, enc := range []string{"gzip", "deflate", "br;q=1, gzip;q=0.5", "identity", "gzip;q=0, deflate"} {
		t.Run(enc, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/oai?"+query, nil)
			req.Header.Set("Accept-Encoding", enc)
			resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			want := map[string]string{"gzip": "gzip", "deflate": "deflate", "br;q=1, gzip;q=0.5": "gzip", "identity": "", "gzip;q=0, deflate": "deflate"}[enc]
			if got := resp.Header.Get("Content-Encoding"); got != want {
				t.Fatalf("Content-Encoding %q, want %q", got, want)
			}
			if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
				t.Error("no Vary: Accept-Encoding")
			}
			switch want {
			case "gzip":
				body = gunzip(t, body)
			case "deflate":
				r, err := zlib.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(r)
			}
			if !bytes.Equal(body, get) {
				t.Errorf("decompressed body differs from the plain one")
			}
		})
	}
}

// ListSets pages through configured, explicit, automatic and ancestor
// sets, named; a set includes its descendants.
func TestSets(t *testing.T) {
	cfg := testConfig()
	cfg.PageSize = 3
	f := newFixture(t, cfg, newTestClock())
	f.put(
		&store.Record{ID: "a", Origin: "node.example", Sets: []string{"collection:maps:old"}, Metadata: store.Metadata{Titles: []store.Text{{Value: "A"}}}},
		&store.Record{ID: "b", Origin: "uni-b.example", Metadata: store.Metadata{Titles: []store.Text{{Value: "B"}}, Type: "Dataset"}},
		&store.Record{ID: "c", Origin: "uni-c.example", Sets: []string{"collection:photos"}, Metadata: store.Metadata{Titles: []store.Text{{Value: "C"}}}},
	)
	var specs, names []string
	query := q("verb", "ListSets")
	for page := 0; ; page++ {
		p := parse(t, f.get(query))
		if len(p.errors) > 0 {
			t.Fatal(p.errors[0])
		}
		for _, s := range p.sets {
			specs = append(specs, s.Spec)
			names = append(names, s.Name)
			if s.Spec == "type:dataset" && !bytes.Contains(s.Description, []byte("Research data &amp; software &lt;all kinds&gt;")) {
				t.Errorf("description of type:dataset: %s", s.Description)
			}
		}
		if p.token == nil || p.token.Value == "" {
			if page == 0 || p.token.Cursor != int64(len(specs)-len(p.sets)) || p.token.CompleteListSize != int64(len(specs)) {
				t.Errorf("last ListSets page: token %+v after %d sets", p.token, len(specs))
			}
			break
		}
		query = q("verb", "ListSets", "resumptionToken", p.token.Value)
	}
	want := []string{"collection", "collection:maps", "collection:maps:old", "collection:photos", "lang", "lang:de",
		"source", "source:node.example", "source:uni-b.example", "source:uni-c.example", "type", "type:article", "type:dataset"}
	if !slices.Equal(specs, want) {
		t.Errorf("ListSets: %q\nwant %q", specs, want)
	}
	if i := slices.Index(specs, "source:uni-b.example"); names[i] != "Universität Beispielstadt" {
		t.Errorf("configured name of an automatic set: %q", names[i])
	}
	if i := slices.Index(specs, "source:uni-c.example"); names[i] != "Records harvested from uni-c.example" {
		t.Errorf("name of an automatic set: %q", names[i])
	}
	for set, ids := range map[string][]string{
		"collection":           {"a", "c"},
		"collection:maps":      {"a"},
		"source":               {"a", "b", "c"},
		"source:node.example":  {"a"}, // the node's own records: what peers harvest
		"source:uni-b.example": {"b"},
		"type":                 {"b"},
	} {
		p := parse(t, f.get(q("verb", "ListIdentifiers", "metadataPrefix", "oai_dc", "set", set)))
		var got []string
		for _, h := range p.headers {
			got = append(got, strings.TrimPrefix(h.Identifier, "oai:node.example:"))
		}
		if !slices.Equal(got, ids) {
			t.Errorf("set %s: %q, want %q", set, got, ids)
		}
	}
}

// An original payload that relied on namespace declarations of its
// source's envelope is served with them declared on its root, and the
// format catalogue learns new formats in the background.
func TestOriginalFormats(t *testing.T) {
	f := newFixture(t, testConfig(), newTestClock())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	src := firstRealRecord(t, "bnf-gallica-listrecords-oai_dc-rootns.xml")
	if len(src.Namespaces) == 0 {
		t.Fatal("the Gallica record inherits no namespaces: wrong test file")
	}
	r := &store.Record{ID: "gallica-1", Origin: "gallica.bnf.fr", Metadata: store.Metadata{Titles: []store.Text{{Value: "Gallica"}}},
		Provenance: []store.Provenance{{BaseURL: "https://gallica.bnf.fr/services/OAIRecord", Identifier: src.Header.Identifier, Datestamp: src.Header.Datestamp, MetadataNamespace: src.MetadataNamespace}},
		Originals: []store.Original{
			{Prefix: "oai_dc", Namespace: src.MetadataNamespace, Namespaces: src.Namespaces, XML: src.Metadata},
			// The same payload under another prefix, as a source might
			// offer qualified DC: served as received.
			{Prefix: "gallica_dc", Namespace: src.MetadataNamespace, Schema: "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", Namespaces: src.Namespaces, XML: src.Metadata},
		}}
	f.put(r)
	// The catalogue catches up within a second or so.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := f.p.catalog.lookup("gallica_dc"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the catalogue never learnt gallica_dc")
		}
		time.Sleep(10 * time.Millisecond)
	}
	body := f.get(q("verb", "GetRecord", "identifier", "oai:node.example:gallica-1", "metadataPrefix", "gallica_dc"))
	got := parse(t, body).records[0]
	if !bytes.Contains(got.Metadata, []byte(`xmlns:dc="http://purl.org/dc/elements/1.1/"`)) {
		t.Errorf("inherited namespaces not declared:\n%s", got.Metadata)
	}
	// oai_dc is the node's rendering, not the original.
	dc := parse(t, f.get(q("verb", "GetRecord", "identifier", "oai:node.example:gallica-1", "metadataPrefix", "oai_dc"))).records[0]
	if !bytes.Contains(dc.Metadata, []byte("https://node.example/records/gallica-1")) {
		t.Errorf("oai_dc is not the node's rendering:\n%s", dc.Metadata)
	}
	formats := parse(t, f.get(q("verb", "ListMetadataFormats"))).formats
	var prefixes []string
	for _, m := range formats {
		prefixes = append(prefixes, m.Prefix)
	}
	if !slices.Equal(prefixes, []string{"oai_dc", "oai_datacite", "gallica_dc"}) {
		t.Errorf("ListMetadataFormats: %q", prefixes)
	}
	// The catalogue is kept in node state: a restart knows the format
	// without reading the store again.
	cancel()
	<-done
	done <- nil
	f.restart()
	if _, ok := f.p.catalog.lookup("gallica_dc"); !ok || f.p.catalog.seq == 0 {
		t.Errorf("after a restart the catalogue is empty (seq %d)", f.p.catalog.seq)
	}
	oaitest.CheckDates(t, body)
}

// A response the provider never had to flush before its end (GetRecord,
// an error, a short list) has a Content-Length; a list longer than the
// response buffer is chunked, and so is a compressed one that net/http
// could not buffer whole.
func TestContentLength(t *testing.T) {
	cfg := testConfig()
	cfg.PageSize = 100
	f := newFixture(t, cfg, nil)
	g := gen.New(3, gen.Institutions[0])
	var recs []*store.Record
	for i := range 60 {
		r := g.Record(i)
		r.Origin = "node.example"
		recs = append(recs, r)
	}
	f.put(recs...)
	for _, tc := range []struct {
		name, query, encoding string
		sized                 bool
	}{
		{"GetRecord", q("verb", "GetRecord", "metadataPrefix", "oai_dc", "identifier", "oai:node.example:"+recs[7].ID), "", true},
		{"GetRecord oai_datacite", q("verb", "GetRecord", "metadataPrefix", "oai_datacite", "identifier", "oai:node.example:"+recs[7].ID), "", true},
		{"error", q("verb", "GetRecord", "metadataPrefix", "oai_dc", "identifier", "oai:node.example:nope"), "", true},
		{"Identify", q("verb", "Identify"), "", true},
		{"short list", q("verb", "ListIdentifiers", "metadataPrefix", "oai_dc"), "", true},
		{"long list", q("verb", "ListRecords", "metadataPrefix", "oai_dc"), "", false},
		{"gzip", q("verb", "ListRecords", "metadataPrefix", "oai_dc"), "gzip", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/oai?"+tc.query, nil)
			if tc.encoding != "" {
				req.Header.Set("Accept-Encoding", tc.encoding)
			}
			resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if tc.encoding == "gzip" {
				body = gunzip(t, body)
			}
			oaitest.Validate(t, body)
			chunked := slices.Contains(resp.TransferEncoding, "chunked")
			if tc.sized && (resp.ContentLength != int64(len(body)) || chunked) {
				t.Errorf("Content-Length %d, Transfer-Encoding %v, for a body of %d bytes", resp.ContentLength, resp.TransferEncoding, len(body))
			}
			if !tc.sized && (resp.ContentLength != -1 || !chunked) {
				t.Errorf("Content-Length %d, Transfer-Encoding %v, want chunked", resp.ContentLength, resp.TransferEncoding)
			}
		})
	}
}
