package linkheader

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// headerValues extracts Link header values from a file of testdata: the
// "Link:" lines of curl transcripts (with their continuation lines), the
// values of Apache "Header add Link" directives, or a whole application/
// linkset file.
func headerValues(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "signposting", name))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	switch {
	case strings.HasSuffix(name, ".lset.txt"):
		return []string{text}
	case strings.HasSuffix(name, ".htaccess.txt"):
		var out []string
		for _, m := range regexp.MustCompile(`(?m)Header add Link (.*)$`).FindAllStringSubmatch(text, -1) {
			v := strings.TrimSpace(m[1])
			if strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) {
				v = strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`)
			}
			out = append(out, v)
		}
		return out
	}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(text))
	cur, in := "", false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case len(line) > 5 && strings.EqualFold(line[:5], "link:"):
			if in {
				out = append(out, cur)
			}
			cur, in = line[5:], true
		case in && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && strings.TrimSpace(line) != "":
			cur += "\n" + line
		default:
			if in {
				out = append(out, cur)
			}
			in = false
		}
	}
	if in {
		out = append(out, cur)
	}
	return out
}

func TestParseRealHeaders(t *testing.T) {
	tests := []struct {
		file  string
		links int
		// rels counts relation types over all links.
		rels map[string]int
	}{
		{"signposting-org-fair-landing-link-header.txt", 10, map[string]int{"cite-as": 1, "type": 2, "author": 1, "describedby": 2, "license": 1, "item": 3}},
		{"signposting-org-fair-landing-link-header-with-linkset-links.txt", 12, map[string]int{"cite-as": 1, "linkset": 2, "item": 3}},
		{"signposting-org-fair-content-resource-csv-link-header.txt", 2, map[string]int{"collection": 1, "type": 1}},
		{"signposting-org-fair-content-resource-pdf-link-header.txt", 1, map[string]int{"collection": 1}},
		{"signposting-org-fair-content-resource-linkset-links.txt", 3, map[string]int{"linkset": 2, "collection": 1}},
		{"signposting-org-fair-metadata-resource-bibtex-link-header.txt", 1, map[string]int{"describes": 1}},
		{"signposting-org-fair-linkset.lset.txt", 19, map[string]int{"cite-as": 1, "author": 2, "collection": 3, "describes": 2, "describedby": 3}},
		{"a2a-08-linkset.lset.txt", 3, map[string]int{"cite-as": 1, "describedby": 1, "item": 1}},
		{"a2a-28-linkset-txt-only.lset.txt", 3, map[string]int{"item": 1}},
		{"signposting-org-pattern-author-springer.txt", 3, map[string]int{"author": 3}},
		{"signposting-org-pattern-author-eprints.txt", -1, map[string]int{}},
		{"signposting-org-pattern-identifier-dspace.txt", 1, map[string]int{"cite-as": 1}},
		{"signposting-org-pattern-metadata_resources-plos.txt", 5, map[string]int{"describedby": 3, "describes": 2}},
		{"a2a-17-citeas-multiple-rels.htaccess.txt", 1, map[string]int{"canonical": 1, "cite-as": 1, "http://schema.org/identifier": 1}},
		{"a2a-23-full-separate-headers.htaccess.txt", 7, map[string]int{"cite-as": 1, "type": 1, "collection": 1}},
		{"a2a-30-full-joint-unquoted-rels.htaccess.txt", 7, map[string]int{"cite-as": 1, "describedby": 1, "item": 1, "license": 1, "type": 1, "author": 1, "collection": 1}},
		{"a2a-31-describedby-profile.htaccess.txt", 4, map[string]int{"describedby": 2, "profile": 2}},
		{"a2a-14-linkset-conneg.htaccess.txt", 8, map[string]int{"linkset": 2, "alternate": 2, "canonical": 2}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			links, err := Parse(headerValues(t, tc.file)...)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tc.links >= 0 && len(links) != tc.links {
				t.Errorf("got %d links, want %d: %+v", len(links), tc.links, links)
			}
			got := map[string]int{}
			for _, l := range links {
				if l.Target == "" || strings.ContainsAny(l.Target, " \n<>") {
					t.Errorf("bad target %q", l.Target)
				}
				for _, r := range l.Rels() {
					got[r]++
				}
			}
			for rel, n := range tc.rels {
				if got[rel] != n {
					t.Errorf("rel %q: %d links, want %d", rel, got[rel], n)
				}
			}
		})
	}
}

func TestParseFAIRLandingDetails(t *testing.T) {
	links, err := Parse(headerValues(t, "signposting-org-fair-landing-link-header.txt")...)
	if err != nil {
		t.Fatal(err)
	}
	want := Link{Target: "https://doi.org/10.5061/dryad.5d23f", Rel: "describedby", Type: "application/vnd.datacite.datacite+json"}
	if !reflect.DeepEqual(links[5], want) {
		t.Errorf("link 5 = %+v, want %+v", links[5], want)
	}
	ls, err := Parse(headerValues(t, "a2a-31-describedby-profile.htaccess.txt")...)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := ls[0].Param("profile"); p != "http://www.w3.org/ns/json-ld#compacted" {
		t.Errorf("profile = %q", p)
	}
	ls, err = Parse(headerValues(t, "a2a-30-full-joint-unquoted-rels.htaccess.txt")...)
	if err != nil {
		t.Fatal(err)
	}
	if ls[1].Type != "text/turtle" || ls[6].Type != "text/html" || !ls[4].HasRel("type") || ls[4].Target != "http://schema.org/Dataset" {
		t.Errorf("unquoted values read wrong: %+v", ls)
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	// A real header from the signposting.org hackathon notes: the target
	// is never closed.
	if _, err := Parse(headerValues(t, "signposting-org-apples-hackathon-dataverse-example.txt")[0]); err == nil {
		t.Errorf("unclosed target accepted")
	}
	for _, in := range []string{
		`https://example.org/; rel="x"`,
		`<https://example.org/>; rel="x`,
		`<https://example.org/>; ="x"`,
		`<https://example.org/> rel="x"`,
		`<https://example.org/>; rel="x" <https://b/>`,
		`<https://example.org/>; rel=a"b`,
		`<https://example.org/>; title="x\`,
	} {
		if links, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", in, links)
		}
	}
}

func TestParseCases(t *testing.T) {
	tests := []struct {
		in   string
		want []Link
	}{
		{``, nil},
		{` , ,`, nil},
		{`<a>`, []Link{{Target: "a"}}},
		{`<https://a/>;REL="Cite-As";Rel="ignored"`, []Link{{Target: "https://a/", Rel: "Cite-As"}}},
		{`<https://a/>; rel="  canonical   cite-as "; type=text/html; type="x"`, []Link{{Target: "https://a/", Rel: "canonical cite-as", Type: "text/html"}}},
		{`<https://a/>; title="a \"q\" \\ b"; hreflang=en; hreflang=de; crossorigin`, []Link{{Target: "https://a/", Params: []Param{{"title", `a "q" \ b`}, {"hreflang", "en"}, {"hreflang", "de"}, {"crossorigin", ""}}}}},
		{`<https://a/>; title*=UTF-8'de'Gr%C3%BC%C3%9Fe`, []Link{{Target: "https://a/", Params: []Param{{"title*", "Grüße"}}}}},
		{"<https://a/>\n ; anchor=\"https://b/\"\n ; rel=\"item\" ,\n<https://c/>;rel=item;", []Link{{Target: "https://a/", Anchor: "https://b/", Rel: "item"}, {Target: "https://c/", Rel: "item"}}},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestRels(t *testing.T) {
	l := Link{Rel: "Canonical cite-as http://schema.org/Identifier"}
	if got := l.Rels(); !reflect.DeepEqual(got, []string{"canonical", "cite-as", "http://schema.org/Identifier"}) {
		t.Errorf("Rels = %q", got)
	}
	if !l.HasRel("CITE-AS") || l.HasRel("http://schema.org/identifier") || !l.HasRel("http://schema.org/Identifier") {
		t.Errorf("HasRel wrong")
	}
}

func TestFormat(t *testing.T) {
	links := []Link{
		{Target: "https://example.org/records/ä b", Rel: "cite-as"},
		{Target: "https://example.org/m.ttl", Rel: "describedby", Type: "text/turtle", Params: []Param{{"profile", "https://schema.org/"}, {"title", `say "hi"`}, {"title*", "Grüße 'x'"}}},
		{Target: "https://example.org/f.csv", Rel: "collection", Anchor: "https://example.org/ä", Type: "text/html"},
	}
	got := Format(links)
	want := `<https://example.org/records/%C3%A4%20b>; rel="cite-as", <https://example.org/m.ttl>; rel="describedby"; type="text/turtle"; profile="https://schema.org/"; title="say \"hi\""; title*=UTF-8''Gr%C3%BC%C3%9Fe%20%27x%27, <https://example.org/f.csv>; rel="collection"; anchor="https://example.org/%C3%A4"; type="text/html"`
	if got != want {
		t.Errorf("Format =\n%s\nwant\n%s", got, want)
	}
	back, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if back[1].Params[2].Value != "Grüße 'x'" || back[0].Target != "https://example.org/records/%C3%A4%20b" {
		t.Errorf("round trip: %+v", back)
	}
	set := FormatLinkset(links[:2])
	if strings.Count(set, "\n") != 2 || !strings.Contains(set, "rel=\"cite-as\",\n<") {
		t.Errorf("FormatLinkset = %q", set)
	}
	if back, err := Parse(set); err != nil || len(back) != 2 {
		t.Errorf("Parse(FormatLinkset) = %v, %v", back, err)
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts,
// Format writes in a form Parse reads back to the same links.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "signposting", "*"))
	for _, file := range files {
		name := filepath.Base(file)
		if strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".html") || strings.HasSuffix(name, ".md") {
			continue
		}
		for _, v := range headerValues(f, name) {
			f.Add(v)
		}
	}
	f.Add(`<a>; title*=UTF-8''%E2%82%AC; rel=x`)
	f.Fuzz(func(t *testing.T, in string) {
		links, err := Parse(in)
		if err != nil {
			return
		}
		out := Format(links)
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Format(Parse(%q))) = %v; formatted %q", in, err, out)
		}
		if len(again) != len(links) {
			t.Fatalf("round trip of %q: %d links, then %d", in, len(links), len(again))
		}
		for i := range links {
			a, b := links[i], again[i]
			if URI(a.Target) != b.Target || URI(a.Anchor) != b.Anchor || a.Type != b.Type || a.Rel != b.Rel || len(a.Params) != len(b.Params) {
				t.Fatalf("round trip of %q: %+v became %+v", in, a, b)
			}
			for j := range a.Params {
				if a.Params[j] != b.Params[j] && a.Params[j].Name != "title*" {
					t.Fatalf("round trip of %q: param %+v became %+v", in, a.Params[j], b.Params[j])
				}
			}
		}
	})
}
