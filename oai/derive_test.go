package oai

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/colligo/colligo/store"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(c *Config)
		field string // "" when valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"base URL with slash", func(c *Config) { c.BaseURL += "/" }, "base_url"},
		{"base URL relative", func(c *Config) { c.BaseURL = "node.example" }, "base_url"},
		{"no name", func(c *Config) { c.RepositoryName = " " }, "repository_name"},
		{"bad e-mail", func(c *Config) { c.AdminEmail = "Admin <a@b.c>" }, "admin_email"},
		{"bad node id", func(c *Config) { c.NodeID = "a b" }, "node_id"},
		{"page size 0", func(c *Config) { c.PageSize = 0 }, "oai.page_size"},
		{"token lifetime 23h", func(c *Config) { c.TokenLifetime = 23 * time.Hour }, "oai.token_lifetime"},
		{"tiny POST", func(c *Config) { c.MaxRequestBytes = 10 }, "oai.max_request_bytes"},
		{"bad set spec", func(c *Config) { c.Sets[0].Spec = "a b" }, "oai.sets[0].spec"},
		{"duplicate set", func(c *Config) { c.Sets[1].Spec = c.Sets[0].Spec }, "oai.sets[1].spec"},
		{"set without name", func(c *Config) { c.Sets[2].Name = "" }, "oai.sets[2].name"},
		{"rules on a source set", func(c *Config) { c.Sets[3].Types = []string{"Dataset"} }, "oai.sets[3].spec"},
		{"empty type", func(c *Config) { c.Sets[0].Types = []string{""} }, "oai.sets[0].types"},
		{"empty origin", func(c *Config) { c.Sets[0].Origins = []string{" "} }, "oai.sets[0].origins"},
		{"filter without =", func(c *Config) { c.Sets[2].Filter = []string{"language"} }, "oai.sets[2].filter"},
		{"filter unknown field", func(c *Config) { c.Sets[2].Filter = []string{"colour=red"} }, "oai.sets[2].filter"},
		{"filter empty pattern", func(c *Config) { c.Sets[2].Filter = []string{"language!="} }, "oai.sets[2].filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.edit(&c)
			err := c.Validate()
			var ce *ConfigError
			switch {
			case tc.field == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.field != "" && (!errors.As(err, &ce) || ce.Field != tc.field):
				t.Errorf("Validate() = %v, want an error on %s", err, tc.field)
			}
		})
	}
	d := DefaultConfig()
	if d.PageSize != 500 || d.TokenLifetime != 7*24*time.Hour || d.MaxRequestBytes != 64<<10 {
		t.Errorf("DefaultConfig() = %+v", d)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"cc-by-*", "cc-by-4.0", true},
		{"cc-by-*", "cc-by", false},
		{"*", "", true},
		{"20*", "2021-03", true},
		{"*data*", "research data set", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"a*a", "a", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
	} {
		if got := globMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestDeriveSets(t *testing.T) {
	cfg := testConfig()
	cfg.Sets = append(cfg.Sets,
		SetConfig{Spec: "open:cc-by", Name: "CC BY, not German", Filter: []string{"license_spdx=CC-BY-*", "language!=de"}},
		SetConfig{Spec: "partner", Name: "From uni-b, datasets", Origins: []string{"uni-b.example"}, Types: []string{"dataset"}},
		SetConfig{Spec: "recent", Name: "Issued since 2020", Filter: []string{"issued=202*"}},
		SetConfig{Spec: "coar", Name: "COAR typed", Filter: []string{"type_uri=http://purl.org/coar/*"}},
		SetConfig{Spec: "named", Name: "Only explicit members"},
	)
	d, err := NewDeriver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		rec  store.Record
		want []string
	}{
		{"dataset by kind", store.Record{Origin: "node.example", Metadata: store.Metadata{Type: "Datensatz"}}, []string{"type:dataset", "source:node.example"}},
		{"dataset by COAR URI", store.Record{Origin: "node.example", Metadata: store.Metadata{TypeURI: "http://purl.org/coar/resource_type/c_ddb1"}}, []string{"type:dataset", "coar", "source:node.example"}},
		{"article by type text", store.Record{Origin: "node.example", Metadata: store.Metadata{Type: "Journal Article"}}, []string{"type:article", "source:node.example"}},
		{"German", store.Record{Origin: "node.example", Metadata: store.Metadata{Languages: []string{"en", "de"}, LicenseSPDX: "CC-BY-4.0"}}, []string{"lang:de", "source:node.example"}},
		{"CC BY in English", store.Record{Origin: "node.example", Metadata: store.Metadata{Languages: []string{"en"}, LicenseSPDX: "CC-BY-SA-4.0", Issued: "2021-05"}}, []string{"open:cc-by", "recent", "source:node.example"}},
		{"harvested dataset", store.Record{Origin: "uni-b.example", Metadata: store.Metadata{Type: "Dataset"}}, []string{"type:dataset", "partner", "source:uni-b.example"}},
		{"harvested article", store.Record{Origin: "uni-b.example", Metadata: store.Metadata{Type: "Article"}}, []string{"type:article", "source:uni-b.example"}},
		{"no origin", store.Record{Metadata: store.Metadata{Type: "Poster"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.Derive(&tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Sets, tc.want) {
				t.Errorf("Derive sets = %q, want %q", got.Sets, tc.want)
			}
			if got.Renditions[renditionDC] == nil {
				t.Error("no oai_dc rendition")
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	fp := func(edit func(c *Config)) string {
		c := testConfig()
		edit(&c)
		d, err := NewDeriver(c)
		if err != nil {
			t.Fatal(err)
		}
		return d.Fingerprint()
	}
	base := fp(func(c *Config) {})
	if fp(func(c *Config) { c.Sets[0].Name = "Renamed"; c.Sets[0].Description = "new"; c.PageSize = 10 }) != base {
		t.Error("names, descriptions and page size change the fingerprint; they do not change derivation")
	}
	for name, edit := range map[string]func(c *Config){
		"rule":     func(c *Config) { c.Sets[0].Types = []string{"Software"} },
		"new set":  func(c *Config) { c.Sets = append(c.Sets, SetConfig{Spec: "x", Name: "x", Origins: []string{"a"}}) },
		"base URL": func(c *Config) { c.BaseURL = "https://other.example" },
		"node id":  func(c *Config) { c.NodeID = "other" },
	} {
		if fp(edit) == base {
			t.Errorf("changing the %s keeps the fingerprint", name)
		}
	}
}

func TestSourceDatestamp(t *testing.T) {
	harvested := time.Date(2024, 3, 15, 9, 30, 0, 0, time.UTC)
	for in, want := range map[string]string{
		"2024-03-01":                "2024-03-01",
		"2024-03-01T10:00:00Z":      "2024-03-01T10:00:00Z",
		"2024-03-01T10:00:00.123Z":  "2024-03-01T10:00:00Z",
		"2024-03-01T12:00:00+02:00": "2024-03-01T10:00:00Z",
		"2024-03-01T10:00:00":       "2024-03-01T10:00:00Z",
		"2024-03-01 10:00:00":       "2024-03-01T10:00:00Z",
		" 2024-03-01 ":              "2024-03-01",
		"yesterday":                 "2024-03-15T09:30:00Z",
		"":                          "2024-03-15T09:30:00Z",
		"2024-02-30":                "2024-03-15T09:30:00Z",
	} {
		if got := sourceDatestamp(in, harvested); got != want {
			t.Errorf("sourceDatestamp(%q) = %q, want %q", in, got, want)
		}
	}
}

// Re-harvesting a record unchanged but for its harvest date leaves it
// unchanged: the provenance rendition carries dates, and is volatile.
func TestReharvestUnchanged(t *testing.T) {
	f := newFixture(t, testConfig(), newTestClock())
	r := harvestedRecord(t)
	if res := f.put(r); res[0].Outcome != store.Added {
		t.Fatalf("first harvest: %v", res[0].Outcome)
	}
	again := harvestedRecord(t)
	again.Provenance[0].HarvestDate = again.Provenance[0].HarvestDate.Add(24 * time.Hour)
	again.Provenance[0].Datestamp = "2018-12-27T03:46:57Z"
	if res := f.put(again); res[0].Outcome != store.Unchanged {
		t.Errorf("second harvest of the same content: %v, want unchanged", res[0].Outcome)
	}
	body := f.get(q("verb", "GetRecord", "identifier", "oai:node.example:cds.cern.ch-445527", "metadataPrefix", "oai_dc"))
	if !strings.Contains(string(body), `harvestDate="2024-03-14T22:00:05Z"`) {
		t.Errorf("about does not describe the stored version:\n%s", body)
	}
	// A changed provenance (another source) is a change.
	again.Provenance[0].BaseURL = "https://mirror.example/oai"
	if res := f.put(again); res[0].Outcome != store.Updated {
		t.Errorf("harvest from another source: %v, want updated", res[0].Outcome)
	}
}
