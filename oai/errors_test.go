package oai

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/colligo/colligo/store"
)

// bareFixture is a repository with records but no sets at all: no set
// rules, and records without an origin (so no source:<origin> set).
func bareFixture(t *testing.T) *fixture {
	cfg := testConfig()
	cfg.Sets = nil
	f := newFixture(t, cfg, newTestClock())
	f.put(&store.Record{ID: "a", Metadata: store.Metadata{Titles: []store.Text{{Value: "A"}}}})
	return f
}

// TestErrors covers every verb with every error condition that applies to
// it (§3.6), by GET and by POST: the codes answered, and the request
// element, which echoes the arguments except after badVerb and
// badArgument. noMetadataFormats never applies (see
// TestDeletedRecordFormats).
func TestErrors(t *testing.T) {
	f := goldenFixture(t)
	bare := bareFixture(t)
	list := parse(t, f.get(q("verb", "ListRecords", "metadataPrefix", "oai_dc")))
	recordsToken := list.token.Value
	idToken := parse(t, f.get(q("verb", "ListIdentifiers", "metadataPrefix", "oai_dc"))).token.Value
	tampered := []byte(recordsToken)
	tampered[10] ^= 1
	// A token signed with another node's key.
	foreign := (&token{verb: verbByteRecords, issued: f.clock.now().Unix(), maxSeq: 3, prefix: "oai_dc"}).encode([]byte("another node's key, 32 bytes...."))

	type tc struct {
		name  string
		fx    *fixture
		query string
		codes []string
	}
	cases := []tc{
		// badVerb
		{"no verb", f, "", []string{CodeBadVerb}},
		{"no verb but arguments", f, q("metadataPrefix", "oai_dc"), []string{CodeBadVerb}},
		{"unknown verb", f, q("verb", "ListEverything"), []string{CodeBadVerb}},
		{"verb case", f, q("verb", "identify"), []string{CodeBadVerb}},
		{"repeated verb", f, "verb=Identify&verb=Identify", []string{CodeBadVerb}},
		{"verb with control character", f, "verb=Identify%01", []string{CodeBadVerb}},
		{"empty verb", f, "verb=", []string{CodeBadVerb}},

		// Identify
		{"Identify with an argument", f, q("verb", "Identify", "metadataPrefix", "oai_dc"), []string{CodeBadArgument}},
		{"Identify with a token", f, q("verb", "Identify", "resumptionToken", recordsToken), []string{CodeBadArgument}},
		{"malformed query", f, "verb=Identify&x=%zz", []string{CodeBadArgument}},
		{"semicolon query", f, "verb=Identify;metadataPrefix=oai_dc", []string{CodeBadArgument}},

		// ListMetadataFormats
		{"ListMetadataFormats unknown argument", f, q("verb", "ListMetadataFormats", "set", "type"), []string{CodeBadArgument}},
		{"ListMetadataFormats repeated identifier", f, "verb=ListMetadataFormats&identifier=oai:node.example:a&identifier=oai:node.example:b", []string{CodeBadArgument}},
		{"ListMetadataFormats empty identifier", f, "verb=ListMetadataFormats&identifier=", []string{CodeBadArgument}},
		{"ListMetadataFormats identifier with NUL", f, "verb=ListMetadataFormats&identifier=oai:node.example:a%00", []string{CodeBadArgument}},
		{"ListMetadataFormats unknown id", f, q("verb", "ListMetadataFormats", "identifier", "oai:node.example:nope"), []string{CodeIDDoesNotExist}},
		{"ListMetadataFormats other repository", f, q("verb", "ListMetadataFormats", "identifier", "oai:other.example:glacier-2020"), []string{CodeIDDoesNotExist}},
		{"ListMetadataFormats not an oai identifier", f, q("verb", "ListMetadataFormats", "identifier", "glacier-2020 <&>"), []string{CodeIDDoesNotExist}},

		// ListSets
		{"ListSets unknown argument", f, q("verb", "ListSets", "metadataPrefix", "oai_dc"), []string{CodeBadArgument}},
		{"ListSets token and argument", f, q("verb", "ListSets", "resumptionToken", "x", "set", "type"), []string{CodeBadArgument}},
		{"ListSets bad token", f, q("verb", "ListSets", "resumptionToken", "not-a-token"), []string{CodeBadResumptionToken}},
		{"ListSets token of another verb", f, q("verb", "ListSets", "resumptionToken", recordsToken), []string{CodeBadResumptionToken}},
		{"ListSets no sets", bare, q("verb", "ListSets"), []string{CodeNoSetHierarchy}},

		// GetRecord
		{"GetRecord no identifier", f, q("verb", "GetRecord", "metadataPrefix", "oai_dc"), []string{CodeBadArgument}},
		{"GetRecord no metadataPrefix", f, q("verb", "GetRecord", "identifier", "oai:node.example:glacier-2020"), []string{CodeBadArgument}},
		{"GetRecord extra argument", f, q("verb", "GetRecord", "identifier", "oai:node.example:glacier-2020", "metadataPrefix", "oai_dc", "from", "2024-01-01"), []string{CodeBadArgument}},
		{"GetRecord repeated metadataPrefix", f, "verb=GetRecord&identifier=oai:node.example:glacier-2020&metadataPrefix=oai_dc&metadataPrefix=oai_dc", []string{CodeBadArgument}},
		{"GetRecord metadataPrefix syntax", f, q("verb", "GetRecord", "identifier", "oai:node.example:glacier-2020", "metadataPrefix", "oai dc"), []string{CodeBadArgument}},
		{"GetRecord token", f, q("verb", "GetRecord", "resumptionToken", recordsToken), []string{CodeBadArgument}},
		{"GetRecord unknown id", f, q("verb", "GetRecord", "identifier", "oai:node.example:nope", "metadataPrefix", "oai_dc"), []string{CodeIDDoesNotExist}},
		{"GetRecord other repository", f, q("verb", "GetRecord", "identifier", "oai:other.example:glacier-2020", "metadataPrefix", "oai_dc"), []string{CodeIDDoesNotExist}},
		{"GetRecord unknown format", f, q("verb", "GetRecord", "identifier", "oai:node.example:glacier-2020", "metadataPrefix", "mods"), []string{CodeCannotDisseminateFormat}},
		{"GetRecord format the record lacks", f, q("verb", "GetRecord", "identifier", "oai:node.example:glacier-2020", "metadataPrefix", "marcxml"), []string{CodeCannotDisseminateFormat}},
		{"GetRecord deleted record, format it lacked", f, q("verb", "GetRecord", "identifier", "oai:node.example:withdrawn-1", "metadataPrefix", "marcxml"), []string{CodeCannotDisseminateFormat}},
	}
	for _, verb := range []string{verbListIdentifiers, verbListRecords} {
		token := recordsToken
		other := idToken
		if verb == verbListIdentifiers {
			token, other = idToken, recordsToken
		}
		v := func(kv ...string) string { return q(append([]string{"verb", verb}, kv...)...) }
		cases = append(cases,
			tc{verb + " no metadataPrefix", f, v("from", "2024-01-01"), []string{CodeBadArgument}},
			tc{verb + " unknown argument", f, v("metadataPrefix", "oai_dc", "identifier", "oai:node.example:a"), []string{CodeBadArgument}},
			tc{verb + " repeated set", f, "verb=" + verb + "&metadataPrefix=oai_dc&set=type&set=lang", []string{CodeBadArgument}},
			tc{verb + " set syntax", f, v("metadataPrefix", "oai_dc", "set", "type::x"), []string{CodeBadArgument}},
			tc{verb + " from not a date", f, v("metadataPrefix", "oai_dc", "from", "yesterday"), []string{CodeBadArgument}},
			tc{verb + " from month 13", f, v("metadataPrefix", "oai_dc", "from", "2024-13-01"), []string{CodeBadArgument}},
			tc{verb + " from February 30", f, v("metadataPrefix", "oai_dc", "from", "2024-02-30"), []string{CodeBadArgument}},
			tc{verb + " from with offset", f, v("metadataPrefix", "oai_dc", "from", "2024-01-01T00:00:00+01:00"), []string{CodeBadArgument}},
			tc{verb + " from with fraction", f, v("metadataPrefix", "oai_dc", "from", "2024-01-01T00:00:00.5Z"), []string{CodeBadArgument}},
			tc{verb + " until minutes only", f, v("metadataPrefix", "oai_dc", "until", "2024-01-01T00:00Z"), []string{CodeBadArgument}},
			tc{verb + " mixed granularity", f, v("metadataPrefix", "oai_dc", "from", "2024-01-01", "until", "2024-02-01T00:00:00Z"), []string{CodeBadArgument}},
			tc{verb + " from after until", f, v("metadataPrefix", "oai_dc", "from", "2024-02-02", "until", "2024-02-01"), []string{CodeBadArgument}},
			tc{verb + " empty from", f, "verb=" + verb + "&metadataPrefix=oai_dc&from=", []string{CodeBadArgument}},
			tc{verb + " token and argument", f, v("resumptionToken", token, "metadataPrefix", "oai_dc"), []string{CodeBadArgument}},
			tc{verb + " garbage token", f, v("resumptionToken", "MToxMDA6b2FpX2RjOjIwMjQtMDEtMDE6dHlwZTphcnRpY2xl"), []string{CodeBadResumptionToken}},
			tc{verb + " tampered token", f, v("resumptionToken", string(tampered)), []string{CodeBadResumptionToken}},
			tc{verb + " foreign token", f, v("resumptionToken", foreign), []string{CodeBadResumptionToken}},
			tc{verb + " token of the other list verb", f, v("resumptionToken", other), []string{CodeBadResumptionToken}},
			tc{verb + " unknown format", f, v("metadataPrefix", "mods"), []string{CodeCannotDisseminateFormat}},
			tc{verb + " unknown format and no sets", bare, v("metadataPrefix", "mods", "set", "type"), []string{CodeCannotDisseminateFormat, CodeNoSetHierarchy}},
			tc{verb + " no sets", bare, v("metadataPrefix", "oai_dc", "set", "type"), []string{CodeNoSetHierarchy}},
			tc{verb + " from in the future", f, v("metadataPrefix", "oai_dc", "from", "2030-01-01"), []string{CodeNoRecordsMatch}},
			tc{verb + " until before the first record", f, v("metadataPrefix", "oai_dc", "until", "2024-03-15T09:29:59Z"), []string{CodeNoRecordsMatch}},
			tc{verb + " empty configured set", f, v("metadataPrefix", "oai_dc", "set", "source:uni-b.example"), []string{CodeNoRecordsMatch}},
			tc{verb + " set nobody uses", f, v("metadataPrefix", "oai_dc", "set", "nothing:here"), []string{CodeNoRecordsMatch}},
			tc{verb + " original format, no match", f, v("metadataPrefix", "marcxml", "until", "2024-03-15T09:30:01Z"), []string{CodeNoRecordsMatch}},
			tc{verb + " original format in a set without it", f, v("metadataPrefix", "marcxml", "set", "type:dataset"), []string{CodeNoRecordsMatch}},
		)
	}
	for _, c := range cases {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(method+" "+c.name, func(t *testing.T) {
				body := c.fx.do(method, c.query, true)
				p := parse(t, body)
				if got := p.errorCodes(); !slices.Equal(got, c.codes) {
					t.Fatalf("%s %s: errors %q, want %q\n%s", method, c.query, got, c.codes, body)
				}
				if p.request == nil || p.request.BaseURL != "https://node.example/oai" {
					t.Fatalf("request element %+v", p.request)
				}
				want := map[string]string{}
				if c.codes[0] != CodeBadVerb && c.codes[0] != CodeBadArgument {
					vals, _ := url.ParseQuery(c.query)
					for k, v := range vals {
						want[k] = v[0]
					}
				}
				if !maps.Equal(p.request.Attrs, want) {
					t.Errorf("request attributes %q, want %q", p.request.Attrs, want)
				}
			})
		}
	}
	t.Run("expired token", func(t *testing.T) {
		defer f.clock.set(f.clock.now())
		f.clock.advance(7*24*time.Hour + time.Second)
		p := parse(t, f.get(q("verb", "ListRecords", "resumptionToken", recordsToken)))
		if got := p.errorCodes(); !slices.Equal(got, []string{CodeBadResumptionToken}) || !strings.Contains(p.errors[0].Message, "expired") {
			t.Errorf("errors %+v", p.errors)
		}
	})
	t.Run("token valid after 7 days less a second", func(t *testing.T) {
		defer f.clock.set(f.clock.now())
		f.clock.advance(7 * 24 * time.Hour)
		if p := parse(t, f.get(q("verb", "ListRecords", "resumptionToken", recordsToken))); len(p.errors) > 0 {
			t.Errorf("errors %+v", p.errors[0])
		}
	})
}

// A deleted record can be disseminated in the formats it had: GetRecord
// answers its deleted header in each, so ListMetadataFormats lists them.
func TestDeletedRecordFormats(t *testing.T) {
	f := goldenFixture(t)
	ctx := context.Background()
	if _, err := f.st.Delete(ctx, "cds.cern.ch-445527"); err != nil {
		t.Fatal(err)
	}
	p := parse(t, f.get(q("verb", "ListMetadataFormats", "identifier", "oai:node.example:cds.cern.ch-445527")))
	var prefixes []string
	for _, m := range p.formats {
		prefixes = append(prefixes, m.Prefix)
	}
	if !slices.Equal(prefixes, []string{"oai_dc", "oai_datacite", "marcxml"}) {
		t.Errorf("formats of a deleted record: %q", prefixes)
	}
	for _, prefix := range prefixes {
		r := parse(t, f.get(q("verb", "GetRecord", "identifier", "oai:node.example:cds.cern.ch-445527", "metadataPrefix", prefix)))
		if len(r.records) != 1 || !r.records[0].Header.Deleted || r.records[0].Metadata != nil || r.records[0].About != nil {
			t.Errorf("GetRecord %s of a deleted record: %+v", prefix, r.records)
		}
	}
	// In every list of every format, with its datestamp of deletion.
	for _, prefix := range prefixes {
		l := parse(t, f.get(q("verb", "ListIdentifiers", "metadataPrefix", prefix, "set", "source:cds.cern.ch")))
		if len(l.headers) != 1 || !l.headers[0].Deleted || l.headers[0].Datestamp != "2024-03-16T12:00:00Z" {
			t.Errorf("ListIdentifiers %s: %+v", prefix, l.headers)
		}
	}
}

func TestHTTPFaults(t *testing.T) {
	cfg := testConfig()
	cfg.MaxRequestBytes = 1024
	f := newFixture(t, cfg, nil)
	for _, tc := range []struct {
		name        string
		method      string
		contentType string
		body        string
		status      int
	}{
		{"POST as JSON", http.MethodPost, "application/json", `{"verb":"Identify"}`, http.StatusUnsupportedMediaType},
		{"POST too large", http.MethodPost, "application/x-www-form-urlencoded", "verb=Identify&x=" + strings.Repeat("a", 2000), http.StatusRequestEntityTooLarge},
		{"PUT", http.MethodPut, "application/x-www-form-urlencoded", "verb=Identify", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, f.srv.URL+"/oai", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

// failingStore is the real store with one read failing, as a disk or a
// corrupt block would make it fail.
type failingStore struct{ *store.Store }

func (s failingStore) EntryOf(ctx context.Context, id string) (*store.Entry, error) {
	return nil, errors.New("read error")
}

// A store failure before anything was written is an HTTP 500 problem,
// not an OAI-PMH response, and not compressed however the client asked.
func TestStoreFailure(t *testing.T) {
	f := goldenFixture(t)
	p, err := New(context.Background(), failingStore{f.st}, f.cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(p)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/oai?"+q("verb", "GetRecord", "identifier", "oai:node.example:glacier-2020", "metadataPrefix", "oai_dc"), nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/problem+json" ||
		resp.Header.Get("Content-Encoding") != "" || !strings.HasPrefix(string(body), "{") || strings.Contains(string(body), "read error") {
		t.Errorf("status %d, headers %v, body %q", resp.StatusCode, resp.Header, body)
	}
}
