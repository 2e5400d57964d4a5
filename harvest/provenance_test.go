package harvest

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

// provenanceCases are provenance containers: the form our provider writes,
// nested chains, and forms the fast path leaves to the full reader.
var provenanceCases = []struct {
	name string
	in   string
	fast bool // the fast path reads it
}{
	{"colligo", `<provenance xmlns="http://www.openarchives.org/OAI/2.0/provenance" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/provenance http://www.openarchives.org/OAI/2.0/provenance.xsd"><originDescription harvestDate="2026-11-26T14:53:49Z" altered="true"><baseURL></baseURL><identifier>oai:uni-a.example:0</identifier><datestamp>2024-01-01T00:00:00Z</datestamp><metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace></originDescription></provenance>`, true},
	{"nested", `
<provenance xmlns="http://www.openarchives.org/OAI/2.0/provenance">
  <originDescription harvestDate="2024-04-30T10:00:00Z" altered="true">
    <baseURL>https://uni-c.example/oai</baseURL><identifier>oai:uni-c.example:1</identifier>
    <datestamp>2024-04-29</datestamp><metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace>
    <originDescription harvestDate='2024-04-01T00:00:00Z' altered = "false">
      <baseURL>https://origin.example/oai?a=1&amp;b=2</baseURL><identifier>oai:origin.example:9</identifier>
      <datestamp>2020-01-01</datestamp><metadataNamespace/>
    </originDescription >
  </originDescription></provenance>
`, true},
	{"empty", `<provenance/>`, false},
	{"no origin", `<provenance></provenance>`, true},
	{"self-closing origin", `<provenance><originDescription harvestDate="2024-01-01"/></provenance>`, true},
	{"prefixed", `<p:provenance xmlns:p="http://www.openarchives.org/OAI/2.0/provenance"><p:originDescription><p:baseURL>x</p:baseURL></p:originDescription></p:provenance>`, false},
	{"comment", `<provenance><!-- x --><originDescription><baseURL>x</baseURL></originDescription></provenance>`, false},
	{"cdata", `<provenance><originDescription><baseURL><![CDATA[x]]></baseURL></originDescription></provenance>`, false},
	{"char ref", `<provenance><originDescription><baseURL>&#120;</baseURL></originDescription></provenance>`, false},
	{"unknown child", `<provenance><originDescription><note>x</note><baseURL>x</baseURL></originDescription></provenance>`, false},
	{"two origins", `<provenance><originDescription><baseURL>a</baseURL></originDescription><originDescription><baseURL>b</baseURL></originDescription></provenance>`, false},
	{"two nested", `<provenance><originDescription><originDescription><baseURL>a</baseURL></originDescription><originDescription><baseURL>b</baseURL></originDescription></originDescription></provenance>`, false},
	{"repeated field", `<provenance><originDescription><baseURL>a</baseURL><baseURL>b</baseURL></originDescription></provenance>`, false},
	{"prefixed attribute", `<provenance><originDescription x:altered="true" xmlns:x="u"/></provenance>`, false},
	{"other root", `<provenanceX><originDescription/></provenanceX>`, false},
	{"text after", `<provenance></provenance>x`, false},
	{"other container", `<rights>x</rights>`, false},
}

// TestFastProvenance: what the fast path reads, it reads as the full
// reader does.
func TestFastProvenance(t *testing.T) {
	for _, tc := range provenanceCases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := fastProvenance([]byte(tc.in))
			if ok != tc.fast {
				t.Fatalf("fastProvenance ok = %v, want %v", ok, tc.fast)
			}
			if !ok {
				return
			}
			if err := sameAsFull([]byte(tc.in), got); err != "" {
				t.Error(err)
			}
		})
	}
}

// sameAsFull compares the fast path's result with the scanner's and
// encoding/xml's.
func sameAsFull(in []byte, fast *originDescription) string {
	name, want, err := scanProvenance(in)
	if err != nil {
		return "fast path read what the scanner refuses: " + err.Error()
	}
	if name.Local != "provenance" {
		return "fast path read a root named " + name.Local
	}
	if !reflect.DeepEqual(fast, want) {
		return "fast " + dumpOrigin(fast) + ", scanner " + dumpOrigin(want)
	}
	var c struct {
		XMLName xml.Name
		Origin  *originDescription `xml:"originDescription"`
	}
	if err := xml.Unmarshal(in, &c); err != nil {
		// Where the chunk scanner and encoding/xml disagree, the record
		// parser decided already (the fuzzer found "]]>" in text, which
		// the scanner now refuses too).
		return ""
	}
	if !reflect.DeepEqual(fast, c.Origin) {
		return "fast " + dumpOrigin(fast) + ", encoding/xml " + dumpOrigin(c.Origin)
	}
	return ""
}

func dumpOrigin(o *originDescription) string {
	var b strings.Builder
	for ; o != nil; o = o.Origin {
		b.WriteString("[" + strings.Join([]string{o.HarvestDate, o.Altered, o.BaseURL, o.Identifier, o.Datestamp, o.MetadataNamespace}, "|") + "]")
	}
	return b.String()
}

// FuzzFastProvenance: whatever the fast path accepts, the full readers read
// alike.
func FuzzFastProvenance(f *testing.F) {
	for _, tc := range provenanceCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := fastProvenance(b)
		if !ok {
			return
		}
		// The fast path relies on the record parser having checked
		// well-formedness; only compare on well-formed input.
		if _, _, err := scanProvenance(b); err != nil {
			return
		}
		if err := sameAsFull(b, fast); err != "" {
			t.Fatal(err)
		}
	})
}
