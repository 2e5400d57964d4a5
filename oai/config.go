package oai

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/colligo/colligo/store"
)

// Config configures a Provider and its Deriver. Start from DefaultConfig.
// The node fills the identity fields from its own configuration; the rest
// is the [oai] table of the configuration file.
type Config struct {
	// BaseURL is the node's public base URL, without a trailing slash. The
	// OAI-PMH baseURL is BaseURL + "/oai", a record's landing page
	// BaseURL + "/records/" + id. Set by the node.
	BaseURL string `toml:"-"`
	// RepositoryName is the Identify repositoryName. Set by the node.
	RepositoryName string `toml:"-"`
	// AdminEmail is the Identify adminEmail. Set by the node.
	AdminEmail string `toml:"-"`
	// NodeID is the origin of the node's own records. Records of every
	// origin, this one included, are in the automatic set source:<origin>.
	// Set by the node.
	NodeID string `toml:"-"`

	// PageSize is the number of records, headers or sets in one list
	// response. Default 500.
	PageSize int `toml:"page_size"`
	// TokenLifetime is how long a resumption token stays valid after the
	// response that carried it: a harvest may pause that long between two
	// pages. At least 24h. Default 168h (7 days).
	TokenLifetime time.Duration `toml:"token_lifetime"`
	// MaxRequestBytes bounds the body of a POST request. Default 65536.
	MaxRequestBytes int64 `toml:"max_request_bytes"`
	// DataCiteSymbol is the datacentreSymbol that oai_datacite records
	// carry (DataCite's OAI schema requires one): the repository's
	// DataCite client symbol, such as "ETHZ.E-COLL", when it has one.
	// Default "": the node id in upper case.
	DataCiteSymbol string `toml:"datacite_symbol"`
	// Sets are the configured sets. A record's set memberships are
	// computed when it is written; changing them makes the node re-derive
	// every record in the background at its next start.
	Sets []SetConfig `toml:"sets"`
}

// SetConfig is one configured set: its spec, name and description, and the
// rules that say which records belong to it. A record belongs when it
// matches every rule given (Types, Origins, Filter); a set with no rules
// has only the records that name it, or a descendant, in their own sets
// (store.Record.Sets), and serves to give those a name and a description,
// as it does for an automatic source:<origin> set.
type SetConfig struct {
	// Spec is the setSpec: a:b:c, each part of A-Z a-z 0-9 - _ . ! ~ * ' ( ).
	// A set includes the records of its descendants (a:b is part of a).
	Spec string `toml:"spec"`
	// Name is the setName. Required.
	Name string `toml:"name"`
	// Description is a free-text setDescription (as dc:description).
	Description string `toml:"description"`
	// Types: the record's type as catalogued (Metadata.Type), its type
	// concept URI (Metadata.TypeURI) or its coarse kind (Article, Preprint,
	// ConferencePaper, Book, BookChapter, Thesis, Report, Dataset,
	// Software, Image, Video, Audio, Collection, Text, Other) equals one of
	// these, ignoring case.
	Types []string `toml:"types"`
	// Origins: the record's origin (the node id, or a harvest source's id)
	// is one of these.
	Origins []string `toml:"origins"`
	// Filter: every condition holds. A condition is "field=pattern" (some
	// value of the field matches) or "field!=pattern" (no value matches);
	// patterns ignore case and may use * for any run of characters. Fields:
	// kind, type, type_uri, origin, language, license, license_spdx,
	// access_rights, access_rights_uri, publisher, subject, subject_uri,
	// identifier_scheme, issued (YYYY[-MM[-DD]]), set (the record's own sets).
	// Example: ["language=de", "license_spdx=CC-BY-*", "issued=20*"].
	Filter []string `toml:"filter"`
}

// DefaultConfig returns the defaults: 500 records a page, tokens valid for
// 7 days, 64 KiB POST bodies, no configured sets.
func DefaultConfig() Config {
	return Config{
		PageSize:        500,
		TokenLifetime:   7 * 24 * time.Hour,
		MaxRequestBytes: 64 << 10,
	}
}

// ConfigError names a configuration field and its bad value.
type ConfigError struct {
	Field string
	Value string
	Msg   string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config %s = %q: %s", e.Field, e.Value, e.Msg)
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks every field and names the first bad one (fields of the
// [oai] table as "oai.page_size", "oai.sets[2].filter").
func (c *Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(c.BaseURL, "/") {
		return &ConfigError{"base_url", c.BaseURL, "must be an absolute http or https URL without query or trailing slash"}
	}
	if strings.TrimSpace(c.RepositoryName) == "" {
		return &ConfigError{"repository_name", c.RepositoryName, "must not be empty"}
	}
	if a, err := mail.ParseAddress(c.AdminEmail); err != nil || a.Name != "" || a.Address != c.AdminEmail {
		return &ConfigError{"admin_email", c.AdminEmail, "must be an e-mail address"}
	}
	if !nodeIDPattern.MatchString(c.NodeID) {
		return &ConfigError{"node_id", c.NodeID, "must be 1 to 64 of A-Z a-z 0-9 . _ - starting with a letter or digit"}
	}
	if c.PageSize < 1 || c.PageSize > 100_000 {
		return &ConfigError{"oai.page_size", fmt.Sprint(c.PageSize), "must be between 1 and 100000"}
	}
	if c.TokenLifetime < 24*time.Hour {
		return &ConfigError{"oai.token_lifetime", c.TokenLifetime.String(), "must be at least 24h: harvesters pause between pages"}
	}
	if c.MaxRequestBytes < 1024 {
		return &ConfigError{"oai.max_request_bytes", fmt.Sprint(c.MaxRequestBytes), "must be at least 1024"}
	}
	seen := map[string]bool{}
	for i, s := range c.Sets {
		field := func(name string) string { return fmt.Sprintf("oai.sets[%d].%s", i, name) }
		if !store.ValidSetSpec(s.Spec) {
			return &ConfigError{field("spec"), s.Spec, "must be a setSpec: parts of A-Z a-z 0-9 - _ . ! ~ * ' ( ) separated by ':'"}
		}
		if seen[s.Spec] {
			return &ConfigError{field("spec"), s.Spec, "is configured twice"}
		}
		seen[s.Spec] = true
		if strings.TrimSpace(s.Name) == "" {
			return &ConfigError{field("name"), s.Name, "must not be empty"}
		}
		if s.Spec == sourceSet || strings.HasPrefix(s.Spec, sourceSet+":") {
			if len(s.Types)+len(s.Origins)+len(s.Filter) > 0 {
				return &ConfigError{field("spec"), s.Spec, "source and source:<origin> are automatic sets: configure only their name and description"}
			}
		}
		for _, t := range s.Types {
			if strings.TrimSpace(t) == "" {
				return &ConfigError{field("types"), t, "must not be empty"}
			}
		}
		for _, o := range s.Origins {
			if strings.TrimSpace(o) == "" {
				return &ConfigError{field("origins"), o, "must not be empty"}
			}
		}
		for _, f := range s.Filter {
			if _, err := parseCondition(f); err != nil {
				return &ConfigError{field("filter"), f, err.Error()}
			}
		}
	}
	return nil
}
