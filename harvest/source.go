package harvest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// PrefixOAIDC is the metadataPrefix every OAI-PMH repository supports
// (OAI-PMH 2.0 §3.4) and the one records are mapped from.
const PrefixOAIDC = "oai_dc"

// Source is an OAI-PMH endpoint to harvest.
type Source struct {
	// ID names the source: it is the origin of its records and the key of
	// its checkpoint and status. 1 to 64 of A-Z a-z 0-9 . _ - starting with
	// a letter or digit. Default: from the base URL's host (DefaultID).
	ID string
	// BaseURL is the OAI-PMH base URL (http or https, no query).
	BaseURL string
	// Prefix is the metadataPrefix whose payload is kept. Default "oai_dc".
	// With another prefix, records are still mapped from oai_dc, harvested
	// first, and the payload in Prefix is kept beside it (see the package
	// documentation).
	Prefix string
	// Set restricts the harvest to a set (setSpec); empty for all records.
	Set string
	// Every is the time between scheduled harvests; 0 means manual only.
	Every time.Duration
	// Enabled sources are scheduled (a disabled one can still be harvested
	// by hand). The config file, the API and the CLI default it to true;
	// the Go zero value is false.
	Enabled bool
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// DefaultID derives a source id from a base URL: its host, with the port
// (if any) after a dash ("export.arxiv.org", "127.0.0.1-8080").
func DefaultID(baseURL string) string {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || u.Host == "" {
		return ""
	}
	id := strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" {
		id += "-" + p
	}
	id = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, id)
	id = strings.Trim(id, "-._")
	if len(id) > 64 {
		id = id[:64]
	}
	return id
}

// WithDefaults returns s with empty fields defaulted: the prefix, and the
// id from the base URL. Enabled is left as it is.
func (s Source) WithDefaults() Source {
	s.BaseURL = strings.TrimSpace(s.BaseURL)
	if s.Prefix == "" {
		s.Prefix = PrefixOAIDC
	}
	if s.ID == "" {
		s.ID = DefaultID(s.BaseURL)
	}
	return s
}

// Validate checks a source (after WithDefaults) and names the bad field.
func (s Source) Validate() error {
	s = s.WithDefaults()
	u, err := url.Parse(s.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("base_url %q: must be an absolute http or https URL", s.BaseURL)
	}
	if u.RawQuery != "" {
		return fmt.Errorf("base_url %q: must not have a query (the harvester adds verb=...)", s.BaseURL)
	}
	if !idPattern.MatchString(s.ID) {
		return fmt.Errorf("id %q: must be 1 to 64 of A-Z a-z 0-9 . _ - starting with a letter or digit", s.ID)
	}
	if !validToken(s.Prefix) {
		return fmt.Errorf("prefix %q: not a metadataPrefix", s.Prefix)
	}
	if s.Set != "" && strings.ContainsAny(s.Set, " \t\r\n") {
		return fmt.Errorf("set %q: a setSpec has no white space", s.Set)
	}
	if s.Every < 0 {
		return fmt.Errorf("every %s: must not be negative", s.Every)
	}
	if s.Every > 0 && s.Every < time.Minute {
		return fmt.Errorf("every %s: harvest a source at most once a minute", s.Every)
	}
	return nil
}

// validToken accepts a metadataPrefix: OAI-PMH §3.4 allows
// [A-Za-z0-9\-_\.!~\*'\(\)]+.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.!~*'()", c)
		if !ok {
			return false
		}
	}
	return true
}

// sourceText is the written form of a Source, in TOML and JSON.
type sourceText struct {
	ID      string `json:"id"`
	BaseURL string `json:"base_url"`
	Prefix  string `json:"prefix"`
	Set     string `json:"set,omitempty"`
	Every   string `json:"every,omitempty"`
	Enabled *bool  `json:"enabled,omitempty"`
}

func (s *Source) fromText(t sourceText) error {
	*s = Source{ID: t.ID, BaseURL: t.BaseURL, Prefix: t.Prefix, Set: t.Set, Enabled: true}
	if t.Enabled != nil {
		s.Enabled = *t.Enabled
	}
	if t.Every != "" && t.Every != "0" {
		d, err := time.ParseDuration(t.Every)
		if err != nil {
			return fmt.Errorf("every %q: not a duration like 1h or 30m", t.Every)
		}
		s.Every = d
	}
	*s = s.WithDefaults()
	return nil
}

// MarshalJSON writes Every as "1h0m0s" (empty for manual only).
func (s Source) MarshalJSON() ([]byte, error) {
	t := sourceText{ID: s.ID, BaseURL: s.BaseURL, Prefix: s.Prefix, Set: s.Set, Enabled: &s.Enabled}
	if s.Every > 0 {
		t.Every = s.Every.String()
	}
	return json.Marshal(t)
}

// UnmarshalJSON reads a source; enabled defaults to true, every is a
// duration ("1h", "30m") and unknown fields are an error.
func (s *Source) UnmarshalJSON(b []byte) error {
	var t sourceText
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.DisallowUnknownFields()
	if err := d.Decode(&t); err != nil {
		return err
	}
	return s.fromText(t)
}

// UnmarshalTOML reads a [[harvest.sources]] table: id, base_url, prefix,
// set, every ("1h"), enabled (default true). Unknown keys are an error.
func (s *Source) UnmarshalTOML(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return errors.New("a source must be a table")
	}
	var t sourceText
	var unknown []string
	for k, val := range m {
		str := func() (string, error) {
			sv, ok := val.(string)
			if !ok {
				return "", fmt.Errorf("source key %q must be a string", k)
			}
			return sv, nil
		}
		var err error
		switch k {
		case "id":
			t.ID, err = str()
		case "base_url":
			t.BaseURL, err = str()
		case "prefix":
			t.Prefix, err = str()
		case "set":
			t.Set, err = str()
		case "every":
			t.Every, err = str()
		case "enabled":
			b, ok := val.(bool)
			if !ok {
				return errors.New(`source key "enabled" must be true or false`)
			}
			t.Enabled = &b
		default:
			unknown = append(unknown, k)
		}
		if err != nil {
			return err
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown source keys: %s", strings.Join(unknown, ", "))
	}
	return s.fromText(t)
}
