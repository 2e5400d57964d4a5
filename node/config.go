package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/colligo/colligo/federation"
	"github.com/colligo/colligo/harvest"
	"github.com/colligo/colligo/ld"
	"github.com/colligo/colligo/ld/vocab"
	"github.com/colligo/colligo/oai"
	"github.com/colligo/colligo/search"
)

// Secret is a string that never reaches a log or a config dump.
type Secret string

// LogValue redacts the secret in structured logs.
func (s Secret) LogValue() slog.Value {
	if s == "" {
		return slog.StringValue("")
	}
	return slog.StringValue("[redacted]")
}

// String redacts the secret in fmt output.
func (s Secret) String() string { return string(s.LogValue().String()) }

// Config is a node's configuration. The zero value is not valid; start from
// DefaultConfig. cmd/colligo applies, in order, the defaults, the config
// file, COLLIGO_* environment variables and flags.
type Config struct {
	// DataDir holds the store and the node file. Default "colligo-data".
	DataDir string `toml:"data_dir"`
	// HTTPAddr is where the HTTP server listens. Default "127.0.0.1:8080".
	HTTPAddr string `toml:"http_addr"`
	// BaseURL is the public URL of the node, without a trailing slash:
	// record URIs, the OAI-PMH baseURL and links are built from it.
	// Default "http://" + HTTPAddr.
	BaseURL string `toml:"base_url"`
	// RepositoryName is the repository's human name. Default "Colligo".
	RepositoryName string `toml:"repository_name"`
	// RepositoryID is the repositoryIdentifier of OAI identifiers: a domain
	// name. Default "colligo.localhost".
	RepositoryID string `toml:"repository_id"`
	// AdminEmail is the OAI-PMH adminEmail. Default "admin@" + RepositoryID.
	AdminEmail string `toml:"admin_email"`
	// NodeID names the node in the federation and is the origin of its own
	// records. Default: RepositoryID.
	NodeID string `toml:"node_id"`
	// AdminTokenFile is a file holding the bearer token for write and admin
	// endpoints. COLLIGO_ADMIN_TOKEN overrides it. With neither, the node
	// makes a random token at each start and writes it to the node file in
	// DataDir (mode 0600), where the CLI finds it.
	AdminTokenFile string `toml:"admin_token_file"`
	// AdminToken is the token itself; set from COLLIGO_ADMIN_TOKEN or
	// AdminTokenFile, never from a flag or the config file.
	AdminToken Secret `toml:"-"`
	// LogLevel is debug, info, warn or error. Default "info" (lifecycle and
	// finished jobs only).
	LogLevel string `toml:"log_level"`
	// CacheSize is the store's block cache in MiB. Default 256.
	CacheSizeMiB int `toml:"cache_size_mib"`
	// MaxRecordBytes bounds a record sent to the API. Default 4 MiB.
	MaxRecordBytes int64 `toml:"max_record_bytes"`
	// ShutdownTimeout bounds the graceful shutdown. Default 10s.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`

	// Vocab configures the shared vocabulary layer.
	Vocab vocab.Config `toml:"vocab"`
	// Federation configures gossip with peer nodes; without a gossip
	// address the node runs alone.
	Federation federation.Config `toml:"federation"`
	// Search configures the search index ([search]; see search.Config).
	Search search.Config `toml:"search"`
	// OAI is the OAI-PMH provider's [oai] table (see oai.Config).
	OAI oai.Config `toml:"oai"`
	// LD configures the linked-data pages and Signposting ([ld]).
	LD ld.Config `toml:"ld"`
	// Harvest configures the OAI-PMH harvester and its sources
	// ([harvest], [[harvest.sources]]); see harvest.Config.
	Harvest harvest.Config `toml:"harvest"`
}

// Duration is a time.Duration written as "10s" in the config file.
type Duration struct{ time.Duration }

// UnmarshalText reads "10s", "1h30m".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as "10s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// DefaultConfig returns a complete configuration that runs a node on
// loopback with no file at all.
func DefaultConfig() Config {
	return Config{
		DataDir:         "colligo-data",
		HTTPAddr:        "127.0.0.1:8080",
		RepositoryName:  "Colligo",
		RepositoryID:    "colligo.localhost",
		LogLevel:        "info",
		CacheSizeMiB:    256,
		MaxRecordBytes:  4 << 20,
		ShutdownTimeout: Duration{10 * time.Second},
		Vocab:           vocab.DefaultConfig(),
		Federation:      federation.DefaultConfig(),
		Search:          search.DefaultConfig(),
		OAI:             oai.DefaultConfig(),
		LD:              ld.DefaultConfig(),
		Harvest:         harvest.DefaultConfig(),
	}
}

// ConfigError names a configuration field and the bad value.
type ConfigError struct {
	Field string
	Value string
	Msg   string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config %s = %q: %s", e.Field, e.Value, e.Msg)
}

// LoadFile reads a TOML config file over c. Unknown keys are an error, so
// that a misspelt key does not silently keep its default.
func (c *Config) LoadFile(path string) error {
	md, err := toml.DecodeFile(path, c)
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fmt.Errorf("config file %s: unknown keys: %s", path, strings.Join(keys, ", "))
	}
	return nil
}

// EnvVars maps environment variables to the config fields they set.
var EnvVars = []struct {
	Name  string
	Field string
	set   func(c *Config, v string)
}{
	{"COLLIGO_DATA", "data_dir", func(c *Config, v string) { c.DataDir = v }},
	{"COLLIGO_HTTP", "http_addr", func(c *Config, v string) { c.HTTPAddr = v }},
	{"COLLIGO_BASE_URL", "base_url", func(c *Config, v string) { c.BaseURL = v }},
	{"COLLIGO_REPOSITORY_NAME", "repository_name", func(c *Config, v string) { c.RepositoryName = v }},
	{"COLLIGO_REPOSITORY_ID", "repository_id", func(c *Config, v string) { c.RepositoryID = v }},
	{"COLLIGO_ADMIN_EMAIL", "admin_email", func(c *Config, v string) { c.AdminEmail = v }},
	{"COLLIGO_NODE_ID", "node_id", func(c *Config, v string) { c.NodeID = v }},
	{"COLLIGO_ADMIN_TOKEN", "admin token", func(c *Config, v string) { c.AdminToken = Secret(v) }},
	{"COLLIGO_ADMIN_TOKEN_FILE", "admin_token_file", func(c *Config, v string) { c.AdminTokenFile = v }},
	{"COLLIGO_LOG_LEVEL", "log_level", func(c *Config, v string) { c.LogLevel = v }},
	{"COLLIGO_GOSSIP", "federation.gossip", func(c *Config, v string) { c.Federation.Gossip = v }},
	{"COLLIGO_GOSSIP_ADVERTISE", "federation.gossip_advertise", func(c *Config, v string) { c.Federation.Advertise = v }},
	{"COLLIGO_JOIN", "federation.seeds", func(c *Config, v string) { c.Federation.Seeds = SplitList(v) }},
	{"COLLIGO_CLUSTER_LABEL", "federation.cluster_label", func(c *Config, v string) { c.Federation.ClusterLabel = v }},
	{"COLLIGO_GOSSIP_KEY", "gossip key", func(c *Config, v string) { c.Federation.Key = federation.Key(v) }},
}

// SplitList splits a comma-separated list, dropping empty items.
func SplitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// LoadEnv applies COLLIGO_* environment variables over c.
func (c *Config) LoadEnv(getenv func(string) string) {
	for _, e := range EnvVars {
		if v := getenv(e.Name); v != "" {
			e.set(c, v)
		}
	}
}

var repoIDPattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+$`)

// Finish fills the fields that default from others and reads the admin
// token file. Call it once, after every source has been applied.
func (c *Config) Finish() error {
	if c.BaseURL == "" {
		host := c.HTTPAddr
		if h, p, err := net.SplitHostPort(host); err == nil && (h == "" || h == "0.0.0.0" || h == "::") {
			host = net.JoinHostPort("localhost", p)
		}
		c.BaseURL = "http://" + host
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.AdminEmail == "" {
		c.AdminEmail = "admin@" + c.RepositoryID
	}
	if c.NodeID == "" {
		c.NodeID = c.RepositoryID
	}
	if c.AdminToken == "" && c.AdminTokenFile != "" {
		b, err := os.ReadFile(c.AdminTokenFile)
		if err != nil {
			return &ConfigError{"admin_token_file", c.AdminTokenFile, err.Error()}
		}
		c.AdminToken = Secret(strings.TrimSpace(string(b)))
		if c.AdminToken == "" {
			return &ConfigError{"admin_token_file", c.AdminTokenFile, "file is empty"}
		}
	}
	return nil
}

// Validate checks every field and names the first bad one.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return &ConfigError{"data_dir", c.DataDir, "must not be empty"}
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return &ConfigError{"http_addr", c.HTTPAddr, "must be host:port"}
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return &ConfigError{"base_url", c.BaseURL, "must be an absolute http or https URL without query"}
	}
	if !repoIDPattern.MatchString(c.RepositoryID) {
		return &ConfigError{"repository_id", c.RepositoryID, "must be a domain name (OAI-PMH repositoryIdentifier), e.g. repo.example.org"}
	}
	if strings.TrimSpace(c.RepositoryName) == "" {
		return &ConfigError{"repository_name", c.RepositoryName, "must not be empty"}
	}
	if a, err := mail.ParseAddress(c.AdminEmail); err != nil || a.Name != "" {
		return &ConfigError{"admin_email", c.AdminEmail, "must be an e-mail address"}
	}
	if !regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`).MatchString(c.NodeID) {
		return &ConfigError{"node_id", c.NodeID, "must be 1 to 64 of A-Z a-z 0-9 . _ - starting with a letter or digit"}
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return &ConfigError{"log_level", c.LogLevel, "must be debug, info, warn or error"}
	}
	if c.CacheSizeMiB < 8 {
		return &ConfigError{"cache_size_mib", fmt.Sprint(c.CacheSizeMiB), "must be at least 8"}
	}
	if c.MaxRecordBytes < 1024 {
		return &ConfigError{"max_record_bytes", fmt.Sprint(c.MaxRecordBytes), "must be at least 1024"}
	}
	if c.ShutdownTimeout.Duration <= 0 {
		return &ConfigError{"shutdown_timeout", c.ShutdownTimeout.String(), "must be positive"}
	}
	if err := c.Vocab.Validate(); err != nil {
		return err
	}
	if err := c.Federation.Validate(); err != nil {
		return err
	}
	if err := c.Search.Validate(); err != nil {
		return err
	}
	if err := c.LD.Validate(); err != nil {
		return err
	}
	if err := c.Harvest.Validate(); err != nil {
		return err
	}
	return c.validateOAI()
}

// Level returns the slog level of LogLevel.
func (c *Config) Level() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return slog.LevelInfo
	}
	return l
}

var errNoNode = errors.New("no running node")
