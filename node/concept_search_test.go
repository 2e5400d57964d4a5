package node

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// conceptRecords are records of four institutions cataloguing the same
// kinds of things in their own words and languages; the built-in COAR
// Resource Types scheme (the real file) maps them.
var conceptRecords = []struct{ id, typ, title, lang string }{
	{"art-en", "journal article", "Alpine ice loss observed", "en"},
	{"art-de", "Zeitschriftenaufsatz", "Eisverlust in den Alpen", "de"},
	{"art-fr", "article de périodique", "Perte de glace alpine", "fr"},
	{"art-es", "artículo revisado por pares", "Pérdida de hielo alpino", "es"},
	{"ds-en", "dataset", "Ice thickness measurements", "en"},
	{"ds-de", "Datensatz", "Eisdickenmessungen", "de"},
	{"ds-es", "conjunto de datos", "Mediciones del espesor del hielo", "es"},
	{"book-en", "book", "Glaciers of the world", "en"},
	{"odd-de", "Sonderdruck", "Ein Sonderdruck über Eis", "de"},
}

const (
	coarJournalArticle = "http://purl.org/coar/resource_type/c_6501"
	coarDataset        = "http://purl.org/coar/resource_type/c_ddb1"
	coarBook           = "http://purl.org/coar/resource_type/c_2f33"
)

func TestConceptSearch(t *testing.T) {
	n, base := startNode(t)
	for _, r := range conceptRecords {
		body := fmt.Sprintf(`{"metadata": {"titles": [{"value": %q, "lang": %q}], "type": %q, "languages": [%q], "issued": "2024"}}`,
			r.title, r.lang, r.typ, r.lang)
		if a := call(t, "PUT", base+"/api/records/"+r.id, testToken, body); a.status != 201 {
			t.Fatalf("PUT %s = %d %s", r.id, a.status, a.body)
		}
	}
	// Every value in every language maps to its concept at write time.
	want := map[string]string{"art": coarJournalArticle, "ds-": coarDataset, "boo": coarBook, "odd": ""}
	for _, r := range conceptRecords {
		var rec struct {
			Metadata struct {
				TypeURI string `json:"type_uri"`
			} `json:"metadata"`
		}
		json.Unmarshal(call(t, "GET", base+"/api/records/"+r.id, "", "").body, &rec)
		if rec.Metadata.TypeURI != want[r.id[:3]] {
			t.Errorf("%s (%q): type_uri %q, want %q", r.id, r.typ, rec.Metadata.TypeURI, want[r.id[:3]])
		}
	}
	eventually(t, "search index caught up", 10*time.Second, func() bool {
		return n.Search().Checkpoint() >= n.Store().LastSeq()
	})

	type result struct {
		Total int64
		Hits  []struct{ ID string }
		// Facets are by name.
		Facets map[string][]struct {
			Value, Label string
			Count        int64
		}
	}
	search := func(query string, header ...string) result {
		t.Helper()
		a := call(t, "GET", base+"/api/search?"+query, "", "", header...)
		if a.status != 200 {
			t.Fatalf("search %s = %d %s", query, a.status, a.body)
		}
		var res result
		if err := json.Unmarshal(a.body, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	ids := func(res result) []string {
		var out []string
		for _, h := range res.Hits {
			out = append(out, h.ID)
		}
		slices.Sort(out)
		return out
	}
	q := func(s string) string { return "q=" + url.QueryEscape(s) }

	articles := []string{"art-de", "art-en", "art-es", "art-fr"}
	datasets := []string{"ds-de", "ds-en", "ds-es"}
	cases := []struct {
		query string
		want  []string
	}{
		// A label in any language finds the records of every language.
		{q("journal article"), articles},
		{q("Zeitschriftenaufsatz"), articles},
		{q("article de périodique"), articles},
		{q("artículo"), articles},
		{q("dataset"), datasets},
		{q("Datensatz"), datasets},
		{q("jeu de données"), datasets},
		{q("conjunto de datos"), datasets},
		// A broader concept finds the records of its narrower ones:
		// journal (c_0640) > journal article; text (c_18cf) > book, journal.
		{q("Zeitschrift"), articles},
		{q("text"), append(slices.Clone(articles), "book-en")},
		// A fielded search uses the type scheme only.
		{q("type:Datensatz"), datasets},
		{q("subject:Datensatz"), nil},
		// A filter by a label selects its concept.
		{"filter=type:Dataset", datasets},
		{"filter=type:" + url.QueryEscape(coarJournalArticle), articles},
		// Words of no concept match the text only.
		{q("Sonderdruck"), []string{"odd-de"}},
	}
	for _, tc := range cases {
		res := search(tc.query + "&limit=50")
		got := ids(res)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("search %s: %v, want %v", tc.query, got, want)
		}
	}

	// Type facets count concepts, labelled in the asked language.
	labels := []struct {
		header []string
		query  string
		want   map[string]string
	}{
		{nil, "lang=de", map[string]string{coarJournalArticle: "Zeitschriftenaufsatz", coarDataset: "Datensatz", coarBook: "Buch"}},
		{[]string{"Accept-Language", "fr-CH, fr;q=0.9, en;q=0.8"}, "", map[string]string{coarJournalArticle: "article", coarDataset: "jeu de données", coarBook: "ouvrage"}},
		{[]string{"Accept-Language", "es"}, "", map[string]string{coarDataset: "conjunto de datos"}},
		{nil, "lang=xx", map[string]string{coarJournalArticle: "journal article", coarDataset: "dataset", coarBook: "book"}},
	}
	for _, tc := range labels {
		res := search(tc.query, tc.header...)
		counts := map[string]int64{}
		got := map[string]string{}
		for _, fv := range res.Facets["type"] {
			counts[fv.Value] = fv.Count
			got[fv.Value] = fv.Label
		}
		if counts[coarJournalArticle] != 4 || counts[coarDataset] != 3 || counts[coarBook] != 1 || counts["Sonderdruck"] != 1 {
			t.Errorf("type facet counts %v", counts)
		}
		if got["Sonderdruck"] != "" {
			t.Errorf("unmapped value labelled %q", got["Sonderdruck"])
		}
		for uri, label := range tc.want {
			if got[uri] != label {
				t.Errorf("%s %v: label of %s = %q, want %q", tc.query, tc.header, uri, got[uri], label)
			}
		}
	}

	// The unmapped value is reported for the operator.
	a := call(t, "GET", base+"/api/vocab/unmapped", testToken, "")
	if a.status != 200 || !strings.Contains(string(a.body), `"Sonderdruck"`) {
		t.Errorf("unmapped = %d %s", a.status, a.body)
	}
}
