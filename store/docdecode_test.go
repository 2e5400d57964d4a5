package store

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// checkDecodeDoc decodes doc with decodeDoc and with json.Unmarshal and
// compares: the same Record (reflect.DeepEqual, which compares the times'
// locations too: json.Unmarshal gives UTC for "Z", Local for the local
// offset and a new fixed zone for another one), and the same error. It
// also checks that the fast path, when it takes doc, decodes it as
// json.Unmarshal does, and reports whether it did (fast), and whether all
// was well (ok).
func checkDecodeDoc(t testing.TB, name string, doc []byte) (fast, ok bool) {
	t.Helper()
	failed := 0
	defer func() { ok = failed == 0 }()
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
		failed++
	}
	var want, got, fastGot Record
	werr := json.Unmarshal(doc, &want)
	err := decodeDoc(doc, &got)
	fast = decodeDocFast(doc, &fastGot)
	switch {
	case (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error():
		errorf("%s: decodeDoc error %v, json.Unmarshal error %v\ndoc %q", name, err, werr, doc)
	case !reflect.DeepEqual(got, want):
		errorf("%s: decodeDoc differs from json.Unmarshal:\n got %#v\nwant %#v\ndoc %q", name, got, want, doc)
	}
	if fast {
		if werr != nil {
			errorf("%s: the fast path decoded a document json.Unmarshal refuses (%v)\ndoc %q", name, werr, doc)
		} else if !reflect.DeepEqual(fastGot, want) {
			errorf("%s: the fast path differs from json.Unmarshal:\n got %#v\nwant %#v\ndoc %q", name, fastGot, want, doc)
		}
	}
	return fast, ok
}

// TestDecodeDocAsJSON compares decodeDoc with json.Unmarshal on the
// documents of random records, filled by reflection as for
// TestAppendDocAsJSON, and checks that the fast path decodes every one of
// them, as written and indented: a field added to Record that the decoder
// does not know makes it give up, and this test fail.
func TestDecodeDocAsJSON(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0x6465636f6465))
	n, failed, decoded := 4000, 0, 0
	if testing.Short() {
		n = 500
	}
	docs := [][]byte{}
	if doc, err := encodeDoc(benchRecord()); err != nil {
		t.Fatal(err)
	} else {
		docs = append(docs, doc)
	}
	for range n {
		var r Record
		fillRandom(t, rng, reflect.ValueOf(&r).Elem(), "Record")
		if doc, err := encodeDoc(&r); err == nil { // not for times MarshalJSON refuses
			docs = append(docs, doc)
		}
	}
	for _, doc := range docs {
		if failed >= 3 {
			break
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, doc, " ", "\t"); err != nil {
			t.Fatalf("%v: %q", err, doc)
		}
		for _, doc := range [][]byte{doc, indented.Bytes()} {
			fast, ok := checkDecodeDoc(t, "random record", doc)
			if !fast {
				t.Errorf("the fast path gave up on an encoded document (a member it does not know?):\n%s", doc)
			}
			if !fast || !ok {
				failed++
			}
		}
		decoded++
	}
	if failed > 0 {
		t.Logf("seed %d", seed)
	}
	if decoded < n/2 {
		t.Errorf("only %d of %d random records encoded", decoded, n)
	}
}

// decodeDocTable holds documents for TestDecodeDocTable and seeds for
// FuzzDecodeDoc. fast tells whether the fast path decodes the document
// (or, for documents json.Unmarshal refuses, must not).
var decodeDocTable = []struct {
	name string
	doc  string
	fast bool
}{
	{"empty object", `{}`, true},
	{"zero record", `{"id":"","oai_identifier":"","datestamp":"0001-01-01T00:00:00Z","deleted":false,"metadata":{}}`, true},
	{"full", `{"id":"x","oai_identifier":"oai:a:x","datestamp":"2024-01-02T03:04:05Z","deleted":true,"sets":["a","b:c"],"oai_sets":["a"],"origin":"o","metadata":{` +
		`"titles":[{"value":"T","lang":"en"}],"creators":[{"name":"N","orcid":"0000-0002-1825-0097","identifiers":[{"scheme":"isni","value":"1"}],"affiliation":"A","role":"R"}],` +
		`"contributors":[{"name":"C"}],"subjects":[{"value":"s","lang":"en","uri":"u","scheme":"sc"}],"descriptions":[{"value":"d"}],"publisher":"P","issued":"2020","created":"2019",` +
		`"type":"Dataset","type_uri":"tu","identifiers":[{"scheme":"doi","value":"10.1/x"}],"languages":["en","de"],"license":"l","license_spdx":"CC0-1.0","rights":[{"value":"r"}],` +
		`"access_rights":"ar","access_rights_uri":"aru","relations":[{"type":"IsPartOf","scheme":"doi","value":"v"}],"files":[{"url":"u","type":"t","size":12,"name":"n","checksum":"c"}]},` +
		`"originals":[{"prefix":"oai_dc","namespace":"ns","schema":"xsd","namespaces":{"dc":"http://purl.org/dc/elements/1.1/","z":""}}],` +
		`"provenance":[{"base_url":"b","identifier":"i","datestamp":"2024","harvest_date":"2024-03-05T07:09:11.12Z","metadata_namespace":"m","altered":true}]}`, true},

	// Strings.
	{"escapes", `{"id":"a\"b\\c\/d\be\ff\ng\rh\ti\u0041\u00e9\u2028\u003c\u0026\u0000\u001f"}`, true},
	{"escape first and last", `{"id":"\n","origin":"x\t"}`, true},
	{"surrogate pair", `{"id":"\ud83d\ude00 \uD83D\uDE00"}`, true},
	{"lone high surrogate", `{"id":"\ud83d"}`, true},
	{"lone high surrogate then text", `{"id":"\ud83dx"}`, true},
	{"lone low surrogate", `{"id":"\ude00"}`, true},
	{"reversed pair", `{"id":"\ude00\ud83d"}`, true},
	{"high high low", `{"id":"\ud83d\ud83d\ude00"}`, true},
	{"high then escape", `{"id":"\ud83d\n"}`, true},
	{"high then other \\u", `{"id":"\ud83d\u0041"}`, true},
	{"high then U+FFFD", `{"id":"\ud83d\ufffd"}`, true},
	{"high then short", `{"id":"\ud83d\u12"}`, false},
	{"invalid UTF-8", "{\"id\":\"a\xffb\xfe\",\"origin\":\"\xed\xa0\x80\",\"metadata\":{\"titles\":[{\"value\":\"\xe2\x80\"},{\"value\":\"\xc0\x80\xf4\x90\x80\x80\"}]}}", true},
	{"invalid UTF-8 and escapes", "{\"id\":\"\xff\\n\xf0\x9f\x98\"}", true},
	{"valid UTF-8", "{\"id\":\"é日本語😀\ufffd\u2028\x7f\U0010ffff\"}", true},
	{"control character", "{\"id\":\"a\x01\"}", false},
	{"control character after an escape", "{\"id\":\"\\na\x1f\"}", false},
	{"bad escape", `{"id":"\q"}`, false},
	{"single quote escape", `{"id":"\'"}`, false},
	{"short \\u", `{"id":"\u12"}`, false},
	{"bad hex", `{"id":"\u12g4"}`, false},
	{"unterminated string", `{"id":"abc`, false},
	{"unterminated escape", `{"id":"abc\`, false},
	{"unterminated escaped string", `{"id":"abc\"}`, false},

	// Layout.
	{"whitespace", " \t\n\r{ \"id\" : \"x\" ,\n\"metadata\" :\t{ \"titles\" : [ { \"value\" : \"t\" } , {\"value\":\"u\"} ] , \"files\" : [ { \"size\" : 5 } ] } ,\"deleted\" : true } \n", true},
	{"reordered", `{"provenance":[{"altered":true,"harvest_date":"2024-01-01T00:00:00Z","base_url":"b"}],"metadata":{"files":[{"size":1,"url":"u"}],"titles":[{"lang":"en","value":"t"}]},"id":"x","deleted":false}`, true},
	{"nulls", `{"id":null,"oai_identifier":null,"datestamp":null,"deleted":null,"sets":null,"oai_sets":null,"origin":null,"metadata":null,"provenance":null,"originals":null}`, true},
	{"null members", `{"metadata":{"titles":[{"value":null,"lang":null}],"creators":[{"name":null,"identifiers":null}],"files":[{"size":null,"url":null}],"relations":null,"publisher":null}}`, true},
	{"null elements", `{"sets":[null,"a"],"metadata":{"titles":[null],"creators":[null,{"identifiers":[null]}]},"provenance":[null,{"harvest_date":null,"altered":null}],"originals":[null,{"namespaces":{"a":null}}]}`, true},
	{"empty arrays", `{"sets":[],"oai_sets":[ ],"metadata":{"titles":[],"creators":[],"contributors":[],"subjects":[],"descriptions":[],"identifiers":[],"languages":[],"rights":[],"relations":[],"files":[]},"provenance":[],"originals":[{"namespaces":{}},{"namespaces":{ }}]}`, true},
	{"empty member name", `{"":1}`, false},

	// Members encoding/json decodes otherwise, or ignores.
	{"unknown member", `{"id":"a","extra":{"x":[1,2.5,null,true]}}`, false},
	{"unknown nested member", `{"metadata":{"titles":[{"value":"v","extra":1}]}}`, false},
	{"xml member", `{"originals":[{"prefix":"p","XML":"PHgvPg=="}]}`, false},
	{"upper case", `{"ID":"a"}`, false},
	{"mixed case", `{"Id":"a","Metadata":{"Titles":[{"Value":"v"}]}}`, false},
	{"long s", `{"origin":"x","ſets":["a"]}`, false},
	{"kelvin", `{"metadata":{"files":[{"\u212aind":1}]}}`, false},
	{"escaped name", `{"\u0069d":"a"}`, false},
	{"duplicate", `{"id":"a","id":"b"}`, false},
	{"duplicate slice", `{"sets":["a","b"],"sets":["c"]}`, false},
	{"duplicate slice null", `{"sets":["a"],"sets":null}`, false},
	{"duplicate struct", `{"metadata":{"titles":[{"value":"a","lang":"en"}],"publisher":"p"},"metadata":{"titles":[{"value":"b"}]}}`, false},
	{"duplicate nested", `{"metadata":{"titles":[{"value":"a","lang":"en","lang":"de"}]}}`, false},
	{"duplicate map", `{"originals":[{"namespaces":{"a":"1"},"namespaces":{"b":"2"}}]}`, false},
	{"duplicate map key", `{"originals":[{"namespaces":{"a":"1","b":"2","a":"3"}}]}`, true},
	{"map key escapes", "{\"originals\":[{\"namespaces\":{\"\\u0061\\n\":\"1\",\"\\ud800\":\"2\",\"\xff\":\"3\",\"\\ufffd\":\"4\"}}]}", true},

	// Values of another type.
	{"number for string", `{"id":1}`, false},
	{"bool for string", `{"id":true}`, false},
	{"string for bool", `{"deleted":"true"}`, false},
	{"string for slice", `{"sets":"a"}`, false},
	{"object for slice", `{"sets":{}}`, false},
	{"array for struct", `{"metadata":[]}`, false},
	{"object for slice of structs", `{"metadata":{"titles":{}}}`, false},
	{"string for struct", `{"metadata":{"titles":["x"]}}`, false},
	{"number element", `{"sets":["a",1,"b"]}`, false},
	{"string for int", `{"metadata":{"files":[{"size":"1"}]}}`, false},
	{"number for time", `{"provenance":[{"harvest_date":1}]}`, false},
	{"object for time", `{"datestamp":{}}`, false},
	{"number for map value", `{"originals":[{"namespaces":{"a":1}}]}`, false},
	{"array for map", `{"originals":[{"namespaces":[]}]}`, false},

	// Numbers.
	{"max int64", `{"metadata":{"files":[{"size":9223372036854775807}]}}`, true},
	{"min int64", `{"metadata":{"files":[{"size":-9223372036854775808}]}}`, true},
	{"minus zero", `{"metadata":{"files":[{"size":-0},{"size":0}]}}`, true},
	{"above int64", `{"metadata":{"files":[{"size":9223372036854775808}]}}`, false},
	{"below int64", `{"metadata":{"files":[{"size":-9223372036854775809}]}}`, false},
	{"far above int64", `{"metadata":{"files":[{"size":99999999999999999999999999}]}}`, false},
	{"exponent", `{"metadata":{"files":[{"size":1e3}]}}`, false},
	{"fraction", `{"metadata":{"files":[{"size":1.0}]}}`, false},
	{"leading zero", `{"metadata":{"files":[{"size":01}]}}`, false},
	{"plus", `{"metadata":{"files":[{"size":+1}]}}`, false},
	{"minus alone", `{"metadata":{"files":[{"size":-}]}}`, false},
	{"number then letter", `{"metadata":{"files":[{"size":12x}]}}`, false},

	// Times.
	{"time offset", `{"provenance":[{"harvest_date":"2024-05-02T03:04:05.123456789+02:00"},{"harvest_date":"2024-05-02T03:04:05-03:30"}]}`, true},
	{"time zero offset", `{"provenance":[{"harvest_date":"2024-01-01T00:00:00+00:00"},{"harvest_date":"2024-01-01T00:00:00-00:00"}]}`, true},
	{"time fraction", `{"datestamp":"2024-01-01T00:00:00.1Z","provenance":[{"harvest_date":"0001-01-01T00:00:00Z"}]}`, true},
	{"time zero in another zone", `{"provenance":[{"harvest_date":"0001-01-01T01:00:00+01:00"}]}`, true},
	{"time out of range", `{"provenance":[{"harvest_date":"2024-13-01T00:00:00Z"}]}`, false},
	{"time not RFC 3339", `{"datestamp":"2024-01-01 00:00:00Z"}`, false},
	{"time escaped", `{"datestamp":"2024-01-01T00:00:00\u005a"}`, false},
	{"time empty", `{"datestamp":""}`, false},
	{"time with U+FFFD", "{\"datestamp\":\"2024-01-01T00:00:00Z\xff\"}", false},

	// Not JSON, or not an object.
	{"empty", ``, false},
	{"space", ` `, false},
	{"null", `null`, false},
	{"array", `[]`, false},
	{"string", `"x"`, false},
	{"truncated", `{"id":"a"`, false},
	{"truncated member", `{"id":`, false},
	{"truncated name", `{"id`, false},
	{"trailing comma", `{"id":"a",}`, false},
	{"trailing comma in array", `{"sets":["a",]}`, false},
	{"leading comma in array", `{"sets":[,"a"]}`, false},
	{"missing colon", `{"id" "a"}`, false},
	{"single quotes", `{"id":'a'}`, false},
	{"trailing garbage", `{"id":"a"}x`, false},
	{"two objects", `{"id":"a"}{}`, false},
	{"trailing NUL", "{\"id\":\"a\"}\x00", false},
	{"NUL before brace", "{\"id\":\"a\"\x00}", false},
	{"tru", `{"deleted":tru}`, false},
	{"truex", `{"deleted":truex}`, false},
	{"nul", `{"id":nul}`, false},
	{"nullx", `{"id":nullx}`, false},
	{"unclosed array", `{"sets":["a"}`, false},
	{"unclosed object", `{"metadata":{"titles":[]}`, false},
	{"BOM", "\ufeff{}", false},
}

func TestDecodeDocTable(t *testing.T) {
	for _, tc := range decodeDocTable {
		fast, _ := checkDecodeDoc(t, tc.name, []byte(tc.doc))
		if fast != tc.fast {
			t.Errorf("%s: fast path %v, want %v", tc.name, fast, tc.fast)
		}
	}
}

// TestDecodeDocValues checks a few results by hand, in case encoding/json
// changes.
func TestDecodeDocValues(t *testing.T) {
	var r Record
	doc := "{\"id\":\"\\ud83d\\ude00\\ud83dx\\u003c\xff\",\"sets\":[],\"metadata\":{\"files\":[{\"size\":-7}]},\"provenance\":[{\"harvest_date\":\"2024-05-02T03:04:05+02:00\"}]}"
	if err := decodeDoc([]byte(doc), &r); err != nil {
		t.Fatal(err)
	}
	if r.ID != "😀\ufffdx<\ufffd" {
		t.Errorf("id %q", r.ID)
	}
	if r.Sets == nil || len(r.Sets) != 0 {
		t.Errorf("sets %#v, want empty, not nil", r.Sets)
	}
	if r.Metadata.Files[0].Size != -7 {
		t.Errorf("size %d", r.Metadata.Files[0].Size)
	}
	hd := r.Provenance[0].HarvestDate
	if _, off := hd.Zone(); off != 2*3600 || !hd.Equal(time.Date(2024, 5, 2, 1, 4, 5, 0, time.UTC)) {
		t.Errorf("harvest date %v", hd)
	}
	r = Record{}
	if err := decodeDoc([]byte(`{"datestamp":"2024-05-02T03:04:05Z"}`), &r); err != nil || r.Datestamp.Location() != time.UTC {
		t.Errorf("datestamp %v in %v, %v", r.Datestamp, r.Datestamp.Location(), err)
	}
}
