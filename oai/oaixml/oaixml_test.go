package oaixml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type tally struct {
	records, deleted, headers, sets, formats, itemErrors, sanitized int
	token                                                           *ResumptionToken
	oaiError                                                        string
	identify                                                        *Identify
	first                                                           *Record
}

func decodeAll(t *testing.T, r io.Reader, opts Options) (tally, error) {
	t.Helper()
	var got tally
	d := NewDecoder(r, opts, nil)
	for {
		it, err := d.Next()
		if err == io.EOF {
			return got, nil
		}
		var ie *ItemError
		if errors.As(err, &ie) {
			got.itemErrors++
			continue
		}
		if err != nil {
			return got, err
		}
		switch v := it.(type) {
		case *Record:
			got.records++
			if got.first == nil {
				got.first = v
			}
			if v.Header.Deleted {
				got.deleted++
			}
			if v.Sanitized {
				got.sanitized++
			}
		case *Header:
			got.headers++
		case *Set:
			got.sets++
		case *MetadataFormat:
			got.formats++
		case *ResumptionToken:
			got.token = v
		case *Error:
			got.oaiError = v.Code
		case *Identify:
			got.identify = v
		}
	}
}

// TestRealResponses reads every response of real repositories in
// testdata/real (origins in its README) and checks what each one holds.
func TestRealResponses(t *testing.T) {
	tests := []struct {
		file                                     string
		records, deleted, headers, sets, formats int
		sanitized                                int
		token                                    string // "-" when no token element
		cursor, size                             int64
		oaiError                                 string
	}{
		{file: "alma-exlibris-listidentifiers-last-no-token.xml", headers: 10, token: "-"},
		{file: "alma-exlibris-listidentifiers-page1-bare-token.xml", headers: 100, token: "2017-01-01@2017-01-03@oai_komplett@marc21@15180036410002201", cursor: -1, size: -1},
		{file: "arxiv-error-norecordsmatch.xml", token: "-", oaiError: "noRecordsMatch"},
		{file: "arxiv-getrecord-oai_dc-utf8.xml", records: 1, token: "-"},
		{file: "arxiv-listrecords-arXiv-cs.xml", records: 46, token: "-"},
		{file: "bnf-gallica-listrecords-oai_dc-rootns.xml", records: 1, token: "1!53691!20513471!2505879!100!2402263!oai_dc", cursor: 0, size: 2402263},
		{file: "cds-invenio-listrecords-marcxml.xml", records: 2, token: "-"},
		{file: "dataverse-dvn-listrecords-mostly-deleted-token.xml", records: 10, deleted: 9, token: "1429887886829_null:10:null:oai_dc", cursor: 0, size: 19},
		{file: "digitalcommons-calpoly-listrecords-last-emptytoken.xml", records: 8, token: "", cursor: 200, size: 208},
		{file: "dspace-mit-getrecord-deleted.xml", records: 1, deleted: 1, token: "-"},
		{file: "dspace-mit-listidentifiers-last-emptytoken-cursor-is-page.xml", headers: 71, token: "", cursor: 1, size: 171},
		{file: "dspace-mit-listsets-page1-token.xml", sets: 100, token: "////100", cursor: 0, size: 966},
		{file: "dspace-hacettepe-listrecords-turkish-last-emptytoken-noattrs.xml", records: 3, token: "", cursor: -1, size: -1},
		{file: "eprints-cogprints-listrecords-oai_dc.xml", records: 45, token: "-"},
		{file: "inspire-listrecords-marcxml.xml", records: 2, token: "-"},
		{file: "ncar-esg-listrecords-dif-bad-from-attr.xml", records: 1, token: "", cursor: -1, size: -1},
		{file: "noaa-nodc-listrecords-datestamp-no-Z.xml", records: 5, token: "-"},
		{file: "puc-rio-maxwell-listrecords-NOT-WELLFORMED-vt-char-oaidc-prefix.xml", records: 5, sanitized: 1, token: "", cursor: 0, size: 5},
		{file: "zenodo-error-badresumptiontoken.xml", token: "-", oaiError: "badResumptionToken"},
		{file: "zenodo-listmetadataformats.xml", formats: 8, token: "-"},
		{file: "zenodo-listrecords-oai_dc-set-software-token.xml", records: 50, cursor: 0, size: 678880},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata/real", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := decodeAll(t, f, Options{})
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got.itemErrors != 0 {
				t.Errorf("%d item errors", got.itemErrors)
			}
			if got.records != tc.records || got.deleted != tc.deleted || got.headers != tc.headers || got.sets != tc.sets || got.formats != tc.formats || got.sanitized != tc.sanitized {
				t.Errorf("records %d deleted %d headers %d sets %d formats %d sanitized %d, want %d %d %d %d %d %d",
					got.records, got.deleted, got.headers, got.sets, got.formats, got.sanitized,
					tc.records, tc.deleted, tc.headers, tc.sets, tc.formats, tc.sanitized)
			}
			switch {
			case tc.token == "-":
				if got.token != nil {
					t.Errorf("token = %+v, want none", got.token)
				}
			case got.token == nil:
				if tc.token != "" || tc.size != 0 {
					t.Errorf("no token, want %q", tc.token)
				}
			default:
				if tc.token != "" && got.token.Value != tc.token {
					t.Errorf("token = %q, want %q", got.token.Value, tc.token)
				}
				if got.token.Cursor != tc.cursor || got.token.CompleteListSize != tc.size {
					t.Errorf("cursor %d size %d, want %d %d", got.token.Cursor, got.token.CompleteListSize, tc.cursor, tc.size)
				}
			}
			if got.oaiError != tc.oaiError {
				t.Errorf("OAI error = %q, want %q", got.oaiError, tc.oaiError)
			}
		})
	}
}

// Every real file decodes without a document-level error.
func TestAllRealFilesDecode(t *testing.T) {
	files, _ := filepath.Glob("testdata/real/*.xml")
	if len(files) < 40 {
		t.Fatalf("only %d real files", len(files))
	}
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeAll(t, f, Options{}); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		f.Close()
	}
}

func TestPayloadKeptVerbatimWithInheritedNamespaces(t *testing.T) {
	// BnF Gallica declares dc: and oai_dc: on the root element only.
	raw, err := os.ReadFile("testdata/real/bnf-gallica-listrecords-oai_dc-rootns.xml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeAll(t, bytes.NewReader(raw), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := got.first
	if !bytes.Contains(raw, r.Metadata) {
		t.Fatal("payload is not a verbatim slice of the response")
	}
	if r.Namespaces["dc"] != "http://purl.org/dc/elements/1.1/" || r.Namespaces["oai_dc"] != "http://www.openarchives.org/OAI/2.0/oai_dc/" {
		t.Fatalf("inherited namespaces = %v", r.Namespaces)
	}
	if r.Header.Identifier != "oai:bnf.fr:gallica/ark:/12148/bpt6k5440618t" || r.Header.Datestamp != "2010-06-09" || len(r.Header.Sets) != 2 {
		t.Fatalf("header = %+v", r.Header)
	}
	// Declared, the payload parses alone, with the right namespaces.
	alone := DeclareNamespaces(r.Metadata, r.Namespaces)
	var dc struct {
		XMLName xml.Name
		Titles  []string `xml:"http://purl.org/dc/elements/1.1/ title"`
	}
	if err := xml.Unmarshal(alone, &dc); err != nil {
		t.Fatalf("declared payload does not parse alone: %v\n%s", err, alone)
	}
	if dc.XMLName.Space != "http://www.openarchives.org/OAI/2.0/oai_dc/" || len(dc.Titles) == 0 {
		t.Fatalf("declared payload = %+v", dc)
	}
}

func TestSplitterFaults(t *testing.T) {
	rec := func(id string) string {
		return `<record><header><identifier>` + id + `</identifier><datestamp>2024-01-01</datestamp></header><metadata><x xmlns="urn:x">` + id + `</x></metadata></record>`
	}
	tests := []struct {
		name      string
		doc       string
		opts      Options
		records   int
		itemErrs  int
		fatal     bool
		wantInErr string
	}{
		{name: "plain", doc: `<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>` + rec("a") + rec("b") + `</ListRecords></OAI-PMH>`, records: 2},
		{name: "bare records file", doc: `<records>` + rec("a") + rec("b") + rec("c") + `</records>`, records: 3},
		{name: "comment and CDATA hide tags", doc: `<r><!-- <record> --><![CDATA[<record>]]>` + rec("a") + `</r>`, records: 1},
		{name: "quoted > in attribute", doc: `<r a="x>y">` + rec("a") + `</r>`, records: 1},
		{name: "too large record is skipped", doc: `<r>` + rec(strings.Repeat("x", 5000)) + rec("b") + `</r>`, opts: Options{MaxChunkSize: 1000}, records: 1, itemErrs: 1},
		{name: "bad record goes on", doc: `<r>` + `<record><header><identifier>a</identifier></header><metadata><x>&bogus;</x></metadata></record>` + rec("b") + `</r>`, records: 1, itemErrs: 1},
		{name: "record without metadata", doc: `<r><record><header><identifier>a</identifier><datestamp>2024-01-01</datestamp></header></record></r>`, itemErrs: 1},
		{name: "doctype with entities refused", doc: `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>` + rec("a") + `</r>`, fatal: true, wantInErr: "DOCTYPE"},
		{name: "mismatched tags", doc: `<r><ListRecords>` + rec("a") + `</r>`, records: 1, fatal: true, wantInErr: "does not match"},
		{name: "truncated", doc: `<r>` + rec("a") + `<record><header>`, records: 1, fatal: true, wantInErr: "unexpected end"},
		{name: "size limit", doc: `<r>` + rec("a") + rec("b") + `</r>`, opts: Options{MaxBytes: 100}, fatal: true, wantInErr: "size limit"},
		{name: "empty", doc: "  ", fatal: true, wantInErr: "no XML element"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAll(t, strings.NewReader(tc.doc), tc.opts)
			if (err != nil) != tc.fatal || (err != nil && !strings.Contains(err.Error(), tc.wantInErr)) {
				t.Fatalf("err = %v, want fatal=%v containing %q", err, tc.fatal, tc.wantInErr)
			}
			if got.records != tc.records || got.itemErrors != tc.itemErrs {
				t.Errorf("records %d item errors %d, want %d %d", got.records, got.itemErrors, tc.records, tc.itemErrs)
			}
		})
	}
}

func TestEncodings(t *testing.T) {
	latin1 := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r><record><header><identifier>a</identifier><datestamp>2024-01-01</datestamp></header><metadata><x xmlns=\"urn:x\">Caf\xe9</x></metadata></record></r>"
	bom := "\xEF\xBB\xBF<?xml version='1.0'?><r><record><header><identifier>a</identifier><datestamp>2024-01-01</datestamp></header><metadata><x xmlns=\"urn:x\">Café</x></metadata></record></r>"
	for name, doc := range map[string]string{"latin1": latin1, "bom": bom} {
		got, err := decodeAll(t, strings.NewReader(doc), Options{})
		if err != nil || got.records != 1 {
			t.Fatalf("%s: records %d, err %v", name, got.records, err)
		}
		if !bytes.Contains(got.first.Metadata, []byte("Café")) {
			t.Errorf("%s: payload %q lacks Café in UTF-8", name, got.first.Metadata)
		}
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a\x0Bb", "ab"},
		{"tab\tnl\n", "tab\tnl\n"},
		{"x&#11;y", "xy"},
		{"x&#x1F;y&#65;", "xy&#65;"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"&amp;&#;", "&amp;&#;"},
	}
	for _, tc := range tests {
		if got := string(Sanitize([]byte(tc.in))); got != tc.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDeclareNamespaces(t *testing.T) {
	tests := []struct {
		payload string
		ns      map[string]string
		want    string
	}{
		{`<dc:x>1</dc:x>`, map[string]string{"dc": "urn:dc"}, `<dc:x xmlns:dc="urn:dc">1</dc:x>`},
		{"\n  <!-- c --><a:x xmlns:a=\"urn:a\"/>", map[string]string{"a": "urn:other", "b": "urn:b"}, "\n  <!-- c --><a:x xmlns:b=\"urn:b\" xmlns:a=\"urn:a\"/>"},
		{`<x/>`, nil, `<x/>`},
	}
	for _, tc := range tests {
		if got := string(DeclareNamespaces([]byte(tc.payload), tc.ns)); got != tc.want {
			t.Errorf("DeclareNamespaces(%q, %v) = %q, want %q", tc.payload, tc.ns, got, tc.want)
		}
	}
}

// FuzzDecode feeds arbitrary documents to the decoder: it must never panic
// or loop, and every payload it returns must be a slice of well-formed XML.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/real/*.xml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil && len(b) < 20000 {
			f.Add(b)
		}
	}
	f.Add([]byte(`<r><record><header><identifier>a</identifier></header><metadata><x/></metadata></record></r>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		d := NewDecoder(bytes.NewReader(doc), Options{MaxChunkSize: 1 << 16}, nil)
		// Each item consumes input, so there are fewer items than bytes.
		for i := 0; i <= len(doc)+1; i++ {
			it, err := d.Next()
			var ie *ItemError
			if errors.As(err, &ie) {
				continue
			}
			if err != nil {
				return
			}
			if r, ok := it.(*Record); ok && len(r.Metadata) > 0 {
				if r.Metadata == nil {
					t.Fatal("nil payload")
				}
			}
		}
		t.Fatal("decoder returned more items than the document has bytes")
	})
}
