package store

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// encodeDocJSON is encodeDoc as it was before appendDoc, with encoding/json:
// the reference appendDoc must match byte for byte (stored content hashes
// depend on these bytes).
func encodeDocJSON(r *Record) ([]byte, error) {
	// The assigned fields live in the head; keep them out of the document
	// so that the hash sees content only. Provenance is written last (see
	// contentHash).
	ds, oid, prov := r.Datestamp, r.OAIIdentifier, r.Provenance
	r.Datestamp, r.OAIIdentifier, r.Provenance = time.Time{}, "", nil
	// Both parts are encoded into one pooled buffer (json.Encoder writes
	// what json.Marshal returns, and a newline) and copied out once.
	buf := jsonDocBuffers.Get().(*bytes.Buffer)
	defer jsonDocBuffers.Put(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	err := enc.Encode(r)
	r.Datestamp, r.OAIIdentifier, r.Provenance = ds, oid, prov
	if err != nil {
		return nil, err
	}
	buf.Truncate(buf.Len() - 1) // the newline
	if len(prov) > 0 {
		buf.Truncate(buf.Len() - 1) // the closing brace
		buf.WriteString(`,"provenance":`)
		if err := enc.Encode(prov); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1)
		buf.WriteByte('}')
	}
	return bytes.Clone(buf.Bytes()), nil
}

var jsonDocBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// checkEncodeDoc compares encodeDoc with encodeDocJSON on r: the same
// bytes, or both an error with the same message.
func checkEncodeDoc(t *testing.T, name string, r *Record) bool {
	t.Helper()
	want, werr := encodeDocJSON(r)
	got, err := encodeDoc(r)
	switch {
	case werr != nil || err != nil:
		if werr == nil || err == nil || err.Error() != werr.Error() {
			t.Errorf("%s: encodeDoc error %v, encoding/json error %v\nrecord %#v", name, err, werr, r)
			return false
		}
	case !bytes.Equal(got, want):
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Errorf("%s: encodeDoc differs from encoding/json at byte %d:\n got %q\nwant %q\nrecord %#v", name, i, got, want, r)
		return false
	}
	return true
}

func TestAppendDocTable(t *testing.T) {
	harvested := time.Date(2024, 3, 5, 7, 9, 11, 120000000, time.UTC)
	full := &Record{
		ID:            "full",
		OAIIdentifier: "oai:x:full",
		Datestamp:     time.Unix(1700000000, 0),
		Deleted:       true,
		Sets:          []string{"a", "b:c"},
		OAISets:       []string{"a", "b", "b:c"},
		Origin:        "peer",
		Metadata: Metadata{
			Titles:       []Text{{Value: "T <1> & \"2\""}, {Value: "Titel", Lang: "de"}},
			Creators:     []Person{{Name: "Doe, J", ORCID: "0000-0002-1825-0097", Identifiers: []Identifier{{Scheme: "isni", Value: "1"}}, Affiliation: "U", Role: "R"}, {Name: ""}},
			Contributors: []Person{{Name: "Roe", Role: "Editor"}},
			Subjects:     []Subject{{Value: "s", Lang: "en", URI: "http://s", Scheme: "x"}, {Value: ""}},
			Descriptions: []Text{{Value: "line\nline\ttab\r\x00\x1f\x7f\u2028\u2029\xff é"}},
			Publisher:    "P", Issued: "2020", Created: "2019-01", Type: "Dataset", TypeURI: "http://t",
			Identifiers:     []Identifier{{Scheme: "doi", Value: "10.1/x"}, {}},
			Languages:       []string{"en", ""},
			License:         "https://creativecommons.org/licenses/by/4.0/",
			LicenseSPDX:     "CC-BY-4.0",
			Rights:          []Text{{Value: "r", Lang: "en"}},
			AccessRights:    "open access",
			AccessRightsURI: "http://a",
			Relations:       []Relation{{Value: "v"}, {Type: "IsPartOf", Value: "w"}, {Scheme: "doi", Value: "x"}, {Type: "T", Scheme: "S"}},
			Files:           []File{{URL: "u"}, {URL: "v", Type: "text/csv", Size: -3, Name: "n", Checksum: "c"}, {Size: math.MaxInt64}},
		},
		Provenance: []Provenance{
			{BaseURL: "https://x/oai?a=1&b=2", Identifier: "oai:x:1", Datestamp: "2024", HarvestDate: harvested, MetadataNamespace: "ns", Altered: true},
			{HarvestDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", -(3*3600+30*60+15)))},
			{},
		},
		Originals: []Original{
			{Prefix: "oai_dc", Namespace: "n", Schema: "s", Namespaces: map[string]string{"z": "1", "a<": "2", "dc": "", "": "e", "\xff": "f"}, XML: []byte("<x/>")},
			{Prefix: "", Namespaces: map[string]string{}},
		},
	}
	for _, tc := range []struct {
		name string
		r    *Record
		want string // when not empty
	}{
		{"zero", &Record{}, `{"id":"","oai_identifier":"","datestamp":"0001-01-01T00:00:00Z","deleted":false,"metadata":{}}`},
		{"plain", rec("a", "Title <b>&amp; \u2028 \"quoted\" é"), `{"id":"a","oai_identifier":"","datestamp":"0001-01-01T00:00:00Z","deleted":false,"metadata":{"titles":[{"value":"Title \u003cb\u003e\u0026amp; \u2028 \"quoted\" é"}],"type":"Dataset"}}`},
		{"publisher first", &Record{ID: "p", Metadata: Metadata{Publisher: "P", Files: []File{{URL: "u", Size: 7}}}}, `{"id":"p","oai_identifier":"","datestamp":"0001-01-01T00:00:00Z","deleted":false,"metadata":{"publisher":"P","files":[{"url":"u","size":7}]}}`},
		{"provenance", &Record{ID: "h", Provenance: []Provenance{{HarvestDate: harvested}}}, `{"id":"h","oai_identifier":"","datestamp":"0001-01-01T00:00:00Z","deleted":false,"metadata":{},"provenance":[{"base_url":"","identifier":"","datestamp":"","harvest_date":"2024-03-05T07:09:11.12Z","altered":false}]}`},
		{"empty slices", &Record{Sets: []string{}, Provenance: []Provenance{}, Originals: []Original{}, Metadata: Metadata{Titles: []Text{}, Files: []File{}}}, ""},
		{"full", full, ""},
		{"year 10000", &Record{Provenance: []Provenance{{HarvestDate: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}}, ""},
		{"year -1", &Record{Provenance: []Provenance{{}, {HarvestDate: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}}}, ""},
		{"zone 24h", &Record{Provenance: []Provenance{{HarvestDate: time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600))}}}, ""},
		{"datestamp out of range", &Record{Datestamp: time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC)}, ""},
	} {
		if !checkEncodeDoc(t, tc.name, tc.r) {
			continue
		}
		if tc.want != "" {
			got, _ := encodeDoc(tc.r)
			if string(got) != tc.want {
				t.Errorf("%s: encodeDoc:\n got %s\nwant %s", tc.name, got, tc.want)
			}
		}
	}
	// Documents are appended, to what the buffer holds.
	b, err := appendDoc([]byte("prefix{"), full)
	want, _ := encodeDocJSON(full)
	if err != nil || string(b) != "prefix{"+string(want) {
		t.Errorf("appendDoc after a prefix: %q, %v", b, err)
	}
}

// TestAppendDocAsJSON compares encodeDoc with encoding/json on random
// records. The filler walks the Record type by reflection and fills every
// exported field, so a field added to Record (or to a type it holds) that
// appendDoc does not write makes this test fail; a field of a kind the
// filler does not know fails it too, to be added to fillRandom.
func TestAppendDocAsJSON(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0x636f6c6c69676f))
	n, failed := 4000, 0
	if testing.Short() {
		n = 500
	}
	for range n {
		var r Record
		fillRandom(t, rng, reflect.ValueOf(&r).Elem(), "Record")
		if !checkEncodeDoc(t, "random record", &r) {
			if failed++; failed >= 3 {
				break
			}
		}
	}
	if failed > 0 {
		t.Logf("seed %d", seed)
	}
}

// fillRandom fills v, and what it holds, with random values.
func fillRandom(t *testing.T, rng *rand.Rand, v reflect.Value, path string) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(randomTime(rng)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(randomString(rng))
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var x int64
		switch rng.IntN(6) {
		case 0, 1:
			x = 0
		case 2:
			x = rng.Int64N(100000)
		case 3:
			x = -rng.Int64N(100000)
		case 4:
			x = int64(rng.Uint64())
		case 5:
			x = []int64{math.MinInt64, math.MaxInt64, 1, -1}[rng.IntN(4)]
		}
		if !v.OverflowInt(x) {
			v.SetInt(x)
		}
	case reflect.Uint8:
		v.SetUint(uint64(rng.IntN(256)))
	case reflect.Slice:
		n := randomLen(rng)
		if n < 0 {
			return // nil
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fillRandom(t, rng, s.Index(i), path+"[]")
		}
		v.Set(s)
	case reflect.Map:
		n := randomLen(rng)
		if n < 0 {
			return // nil
		}
		m := reflect.MakeMapWithSize(v.Type(), n)
		for range n {
			k := reflect.New(v.Type().Key()).Elem()
			e := reflect.New(v.Type().Elem()).Elem()
			fillRandom(t, rng, k, path+"[key]")
			fillRandom(t, rng, e, path+"[]")
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		if rng.IntN(3) == 0 {
			return // nil
		}
		p := reflect.New(v.Type().Elem())
		fillRandom(t, rng, p.Elem(), "*"+path)
		v.Set(p)
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.IsExported() {
				fillRandom(t, rng, v.Field(i), path+"."+f.Name)
			}
		}
	default:
		t.Fatalf("fillRandom: %s is a %s: teach fillRandom (and appendDoc) about it", path, v.Type())
	}
}

// randomLen is -1 (nil) or a length, often 0.
func randomLen(rng *rand.Rand) int {
	switch x := rng.IntN(10); {
	case x < 3:
		return -1
	case x < 4:
		return 0
	default:
		return 1 + rng.IntN(4)
	}
}

// stringParts are what random strings are made of: the bytes and runes
// encoding/json escapes or replaces, and some it does not.
var stringParts = func() []string {
	parts := []string{
		"a", "Hello, world", "10.1234/abc", "https://example.org/oai?verb=x&y=<z>", "/", "'", "~",
		"<", ">", "&", `"`, `\`, "\x7f", "\u2028", "\u2029", "\u2027", "\u202a",
		"é", "日本語", "😀", "\ufffd", "\U0010ffff",
		"\xff", "\xfe", "\x80", "\xe2\x80", "\xe2\x80\xa8\xa8", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x9f\x98",
	}
	for c := range 0x20 {
		parts = append(parts, string(rune(c)))
	}
	return parts
}()

func randomString(rng *rand.Rand) string {
	if rng.IntN(4) == 0 {
		return ""
	}
	var sb strings.Builder
	for range 1 + rng.IntN(6) {
		if rng.IntN(10) == 0 { // random bytes
			for range 1 + rng.IntN(4) {
				sb.WriteByte(byte(rng.IntN(256)))
			}
			continue
		}
		sb.WriteString(stringParts[rng.IntN(len(stringParts))])
	}
	return sb.String()
}

// randomTime returns the zero time, times in UTC and other zones, with and
// without fractions of seconds, and now and then one MarshalJSON refuses.
func randomTime(rng *rand.Rand) time.Time {
	var loc *time.Location
	switch rng.IntN(6) {
	case 0, 1:
		loc = time.UTC
	case 2:
		loc = time.FixedZone("", (rng.IntN(27*60)-12*60)*60) // whole minutes
	case 3:
		loc = time.FixedZone("X", rng.IntN(2*90000)-90000) // seconds, sometimes a day or more
	case 4:
		loc = time.Local
	case 5:
		loc = time.FixedZone("", 0)
	}
	sec := rng.Int64N(253402300800) - 62135596800 // years 1 to 9999
	var nsec int64
	switch rng.IntN(5) {
	case 0:
		nsec = rng.Int64N(1e9)
	case 1:
		nsec = rng.Int64N(1000) * 1e6
	case 2:
		nsec = rng.Int64N(1e6) * 1e3
	}
	switch rng.IntN(40) {
	case 0, 1, 2, 3, 4, 5:
		return time.Time{}
	case 6:
		return time.Now()
	case 7: // years out of range
		return time.Date([]int{-1, 0, 9999, 10000, 12345, -300}[rng.IntN(6)], time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), int(nsec), loc)
	}
	return time.Unix(sec, nsec).In(loc)
}

// benchRecord is a typical harvested record.
func benchRecord() *Record {
	desc := strings.Repeat("This dataset contains measurements of soil moisture & temperature taken at 42 sites (2010–2020); see the README for the methods. ", 12)[:1500]
	return &Record{
		ID:            "oai-repo.example.org-123456",
		OAIIdentifier: "oai:node:oai-repo.example.org-123456",
		Datestamp:     time.Unix(1700000000, 0),
		Sets:          []string{"openaire", "type:dataset"},
		OAISets:       []string{"openaire", "type", "type:dataset"},
		Origin:        "repo",
		Metadata: Metadata{
			Titles: []Text{
				{Value: "Soil moisture and temperature at 42 sites, 2010–2020", Lang: "en"},
				{Value: "Bodenfeuchte und -temperatur an 42 Standorten, 2010–2020", Lang: "de"},
				{Value: "Humidité et température du sol sur 42 sites", Lang: "fr"},
			},
			Creators: []Person{
				{Name: "Müller, Anna", ORCID: "0000-0002-1825-0097", Affiliation: "University of Example"},
				{Name: "Smith, John", Affiliation: "Example Institute"},
				{Name: "Dupont, Marie"},
			},
			Subjects: []Subject{
				{Value: "soil science", Lang: "en"},
				{Value: "hydrology", Lang: "en", URI: "http://example.org/subjects/hydrology", Scheme: "example"},
				{Value: "climate"},
			},
			Descriptions: []Text{{Value: desc, Lang: "en"}},
			Publisher:    "Example Data Repository",
			Issued:       "2021-04-12",
			Type:         "Dataset",
			TypeURI:      "http://purl.org/coar/resource_type/c_ddb1",
			Identifiers: []Identifier{
				{Scheme: "doi", Value: "10.1234/example.123456"},
				{Scheme: "handle", Value: "20.500.12345/6789"},
				{Scheme: "url", Value: "https://repo.example.org/record/123456"},
			},
			Languages:       []string{"en", "de"},
			License:         "https://creativecommons.org/licenses/by/4.0/",
			LicenseSPDX:     "CC-BY-4.0",
			Rights:          []Text{{Value: "Creative Commons Attribution 4.0 International", Lang: "en"}},
			AccessRights:    "open access",
			AccessRightsURI: "http://purl.org/coar/access_right/c_abf2",
		},
		Provenance: []Provenance{
			{BaseURL: "https://aggregator.example.org/oai", Identifier: "oai:aggregator:123456", Datestamp: "2024-05-01T10:00:00Z", HarvestDate: time.Date(2024, 5, 2, 3, 4, 5, 123456789, time.UTC), MetadataNamespace: "http://www.openarchives.org/OAI/2.0/oai_dc/"},
			{BaseURL: "https://repo.example.org/oai", Identifier: "oai:repo.example.org:123456", Datestamp: "2024-04-30", HarvestDate: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), MetadataNamespace: "http://datacite.org/schema/kernel-4", Altered: true},
		},
	}
}

func BenchmarkEncodeDoc(b *testing.B) {
	benchmarkEncodeDoc(b, encodeDoc)
}

// BenchmarkEncodeDocJSON measures encodeDoc as it was, with encoding/json.
func BenchmarkEncodeDocJSON(b *testing.B) {
	benchmarkEncodeDoc(b, encodeDocJSON)
}

func benchmarkEncodeDoc(b *testing.B, encode func(*Record) ([]byte, error)) {
	r := benchRecord()
	doc, err := encode(r)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encode(r); err != nil {
			b.Fatal(err)
		}
	}
}
