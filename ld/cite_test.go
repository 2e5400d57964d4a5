package ld

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/colligo/colligo/store"
)

func TestBibTeXEscapes(t *testing.T) {
	b := string(BibTeX(nastyRecord(), "https://example.org/x?a=1&b=%20#f"))
	for _, want := range []string{
		"@misc{obrien2024quoted,",
		`author = {O'Brien, Séan \{the\} \$1 \& 50\% \#2 \_x\_ \^{}\~{} and {Smith and Jones Ltd}}`,
		`title = {A "quoted" title with \textbackslash{}backslash, \textless{}/script\textgreater{}\textless{}script\textgreater{}alert(1)\textless{}/script\textgreater{} \& \textless{}tags\textgreater{}}`,
		"url = {https://example.org/x?a=1&b=%20#f}",
		"abstract = {Line one line two ]]\\textgreater{} \u00a0 end}",
		"year = {2024},\n  month = {2}",
	} {
		if !strings.Contains(b, want) {
			t.Errorf("BibTeX lacks %q:\n%s", want, b)
		}
	}
	// Braces balance, so BibTeX reads the entry to its end.
	depth := 0
	for i, c := range b {
		switch {
		case c == '\\':
			continue
		case c == '{' && (i == 0 || b[i-1] != '\\'):
			depth++
		case c == '}' && (i == 0 || b[i-1] != '\\'):
			depth--
		}
		if depth < 0 {
			t.Fatalf("unbalanced braces at %d:\n%s", i, b)
		}
	}
	if depth != 0 {
		t.Errorf("unbalanced braces:\n%s", b)
	}
}

func TestBibTeXTypesAndKeys(t *testing.T) {
	tests := []struct {
		typ, want string
	}{
		{"journal article", "article"},
		{"Doctoral thesis", "phdthesis"},
		{"Master thesis", "mastersthesis"},
		{"conference paper", "inproceedings"},
		{"Forschungsbericht", "techreport"},
		{"book chapter", "incollection"},
		{"Dataset", "misc"},
	}
	for _, tc := range tests {
		r := richRecord()
		r.Metadata.Type, r.Metadata.TypeURI = tc.typ, ""
		if got := BibTeXType(&r.Metadata); got != tc.want {
			t.Errorf("BibTeXType(%q) = %s, want %s", tc.typ, got, tc.want)
		}
	}
	r := &store.Record{ID: "x-1", Metadata: store.Metadata{Titles: []store.Text{{Value: "On it"}}}}
	if k := bibKey(r); k != "record-x1" {
		t.Errorf("key without creator or year = %q", k)
	}
	r.Metadata.Creators = []store.Person{{Name: "Jean-Luc Ørsted"}}
	r.Metadata.Issued = "1999"
	if k := bibKey(r); k != "orsted1999" {
		t.Errorf("key = %q", k)
	}
}

func TestCSL(t *testing.T) {
	var item map[string]any
	if err := json.Unmarshal(CSL(nastyRecord(), "https://arxiv.org/abs/2401.00001"), &item); err != nil {
		t.Fatal(err)
	}
	authors := item["author"].([]any)
	if a := authors[0].(map[string]any); a["family"] != "O'Brien" || a["given"] != "Séan {the} $1 & 50% #2 _x_ ^~" {
		t.Errorf("author 0 = %v", a)
	}
	if a := authors[1].(map[string]any); a["literal"] != "Smith and Jones Ltd" {
		t.Errorf("author 1 = %v", a)
	}
	if item["type"] != "software" || item["URL"] != "https://arxiv.org/abs/2401.00001" {
		t.Errorf("item = %v", item)
	}
	if dp := item["issued"].(map[string]any)["date-parts"].([]any)[0].([]any); len(dp) != 2 || dp[0].(float64) != 2024 || dp[1].(float64) != 2 {
		t.Errorf("issued = %v", item["issued"])
	}
}
