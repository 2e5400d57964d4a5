package ld

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/colligo/colligo/store"
)

// marshalStd is what appendJSON must write: encoding/json's bytes.
func marshalStd(t *testing.T, v any, escapeHTML bool, indent string) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func checkJSON(t *testing.T, name string, v any) {
	t.Helper()
	for _, escapeHTML := range []bool{true, false} {
		for _, indent := range []string{"", "  ", "\t"} {
			got, err := appendJSON(nil, v, escapeHTML, indent, 0)
			if err != nil {
				t.Fatalf("%s: appendJSON: %v", name, err)
			}
			if want := marshalStd(t, v, escapeHTML, indent); !bytes.Equal(got, want) {
				t.Fatalf("%s (escapeHTML %v, indent %q):\n got %s\nwant %s", name, escapeHTML, indent, got, want)
			}
		}
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"html", "</script><script>alert(1)</script> & <b>"},
		{"controls", "a\x00b\x01\b\f\n\r\t\x1f\x7f\"\\/"},
		{"separators", "line\u2028para\u2029end"},
		{"invalid UTF-8", "ok \xff\xfe é \xe2\x82 €"},
		{"non-ASCII", "多行 标题 Séan ü 🧊"},
		{"empty", ""},
		{"empties", map[string]any{"m": map[string]any{}, "a": []any{}, "n": nil, "nm": map[string]any(nil), "na": []any(nil)}},
		{"bools", []any{true, false, nil}},
		{"key order", map[string]any{"b": "1", "a": "2", "@id": "3", "A": "4", "é": "5", "<k>": "6"}},
		{"nested", map[string]any{"x": []any{map[string]any{"y": []any{"z", map[string]any{"@value": "v"}}}}}},
		{"other types", map[string]any{"n": 3, "f": 1.5, "s": []string{"a", "<"}, "m": map[string]int{"b": 1, "a": 2}}},
	} {
		checkJSON(t, tc.name, tc.v)
	}
	// Every description the tests and benchmarks make.
	p := testPublisher(t, "https://node.example", DefaultConfig())
	recs := append([]*store.Record{richRecord(), harvestedRecord(), nastyRecord(), unnormalizedRecord(), wideRecord(30)}, generated(700)...)
	for _, r := range recs {
		d := p.Describe(r)
		checkJSON(t, r.ID, withContext(d, p.ContextURL()))
		// With "@context" added on the way, as EmbeddedJSONLD and JSONLD
		// write it.
		for _, escapeHTML := range []bool{true, false} {
			for _, indent := range []string{"", "  "} {
				got, err := appendJSONObject(nil, d, "@context", "https://schema.org", escapeHTML, indent, 0)
				if want := marshalStd(t, withContext(d, "https://schema.org"), escapeHTML, indent); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s: appendJSONObject with @context (escapeHTML %v, indent %q) = %s, %v\nwant %s", r.ID, escapeHTML, indent, got, err, want)
				}
			}
		}
	}
	// A map that has the extra key already keeps its own.
	got, _ := appendJSONObject(nil, map[string]any{"@context": "mine", "a": "b"}, "@context", "other", true, "", 0)
	if string(got) != `{"@context":"mine","a":"b"}` {
		t.Errorf("appendJSONObject over an existing key = %s", got)
	}
}

// withContext returns a shallow copy of a description with "@context".
func withContext(d map[string]any, ctx any) map[string]any {
	out := make(map[string]any, len(d)+1)
	for k, v := range d {
		out[k] = v
	}
	out["@context"] = ctx
	return out
}

func TestEmbeddedJSONLDHasNoScriptEnd(t *testing.T) {
	p := testPublisher(t, "https://node.example", DefaultConfig())
	js, err := EmbeddedJSONLD(p.Describe(nastyRecord()))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "</") || !json.Valid(js) {
		t.Errorf("EmbeddedJSONLD = %s", js)
	}
}
