package harvest

import (
	"fmt"
	"time"
)

// Config configures a Harvester. Start from DefaultConfig; node.Config
// holds it under [harvest].
type Config struct {
	// UserAgent is sent with every request, so that an operator of a
	// repository knows who harvests it. Default
	// "Colligo-Harvester/1.0 (+https://github.com/colligo/colligo)".
	UserAgent string `toml:"user_agent"`
	// RequestTimeout bounds one request, from sending it to reading the
	// last byte of the answer. Default 2m.
	RequestTimeout time.Duration `toml:"request_timeout"`
	// Retries is how often a failed request (timeout, connection error,
	// HTTP 5xx, 408, 429, 503, a truncated or malformed answer) is tried
	// again before the harvest fails. Default 6.
	Retries int `toml:"retries"`
	// BackoffBase is the wait before the first retry; each further retry
	// waits twice as long, with jitter, up to BackoffMax. Default 2s.
	BackoffBase time.Duration `toml:"backoff_base"`
	// BackoffMax caps the wait between retries. Default 5m.
	BackoffMax time.Duration `toml:"backoff_max"`
	// RetryAfterMax caps a Retry-After a source asks for. Default 10m.
	RetryAfterMax time.Duration `toml:"retry_after_max"`
	// MaxRecordBytes is the largest record kept; a larger one is skipped
	// and reported as rejected. Default 16 MiB.
	MaxRecordBytes int `toml:"max_record_bytes"`
	// MaxPageBytes is the largest response (after decompression) read;
	// a larger one fails the request. Up to four pages are in memory at
	// once (one read, two queued, one committed). Default 64 MiB.
	MaxPageBytes int64 `toml:"max_page_bytes"`
	// MaxEmptyPages is how many pages in a row without records but with a
	// resumptionToken are followed before the harvest fails. Default 50.
	MaxEmptyPages int `toml:"max_empty_pages"`
	// Concurrency is how many sources are harvested at once by the
	// scheduler. Default 2.
	Concurrency int `toml:"concurrency"`
	// Workers parse and prepare records in parallel within one harvest.
	// Default 0: GOMAXPROCS.
	Workers int `toml:"workers"`
	// Compression is what the harvester asks sources for: "gzip", "none",
	// or "auto" (the default): gzip, except from a source on a loopback
	// address, where compressing and decompressing every page costs both
	// sides more CPU than the bytes it saves (a 1M-record harvest from a
	// local node: 12 s of CPU, 9% of the wall time). A source that sends
	// gzip unasked is decompressed all the same.
	Compression string `toml:"compression"`
	// IdentifyTTL is how long the answers to Identify and
	// ListMetadataFormats are reused for a source. Default 1h.
	IdentifyTTL time.Duration `toml:"identify_ttl"`
	// Sources are the sources configured in the file ([[harvest.sources]]).
	// Sources added through the API or `colligo sources add` are kept in
	// the store instead.
	Sources []Source `toml:"sources"`
}

// DefaultConfig returns the default configuration, without sources.
func DefaultConfig() Config {
	return Config{
		UserAgent:      "Colligo-Harvester/1.0 (+https://github.com/colligo/colligo)",
		RequestTimeout: 2 * time.Minute,
		Retries:        6,
		BackoffBase:    2 * time.Second,
		BackoffMax:     5 * time.Minute,
		RetryAfterMax:  10 * time.Minute,
		MaxRecordBytes: 16 << 20,
		MaxPageBytes:   64 << 20,
		MaxEmptyPages:  50,
		Concurrency:    2,
		Compression:    "auto",
		IdentifyTTL:    time.Hour,
	}
}

// ConfigError names a harvest setting and its bad value.
type ConfigError struct {
	Field string
	Value string
	Msg   string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config harvest.%s = %q: %s", e.Field, e.Value, e.Msg)
}

// Validate checks every field and names the first bad one.
func (c *Config) Validate() error {
	if c.UserAgent == "" {
		return &ConfigError{"user_agent", c.UserAgent, "must not be empty"}
	}
	if c.RequestTimeout <= 0 {
		return &ConfigError{"request_timeout", c.RequestTimeout.String(), "must be positive"}
	}
	if c.Retries < 0 {
		return &ConfigError{"retries", fmt.Sprint(c.Retries), "must not be negative"}
	}
	if c.BackoffBase <= 0 {
		return &ConfigError{"backoff_base", c.BackoffBase.String(), "must be positive"}
	}
	if c.BackoffMax < c.BackoffBase {
		return &ConfigError{"backoff_max", c.BackoffMax.String(), "must be at least backoff_base"}
	}
	if c.RetryAfterMax < 0 {
		return &ConfigError{"retry_after_max", c.RetryAfterMax.String(), "must not be negative"}
	}
	if c.MaxRecordBytes < 1024 {
		return &ConfigError{"max_record_bytes", fmt.Sprint(c.MaxRecordBytes), "must be at least 1024"}
	}
	if c.MaxPageBytes < int64(c.MaxRecordBytes) {
		return &ConfigError{"max_page_bytes", fmt.Sprint(c.MaxPageBytes), "must be at least max_record_bytes"}
	}
	if c.MaxEmptyPages < 1 {
		return &ConfigError{"max_empty_pages", fmt.Sprint(c.MaxEmptyPages), "must be at least 1"}
	}
	if c.Concurrency < 1 {
		return &ConfigError{"concurrency", fmt.Sprint(c.Concurrency), "must be at least 1"}
	}
	if c.Workers < 0 {
		return &ConfigError{"workers", fmt.Sprint(c.Workers), "must not be negative (0: one per CPU)"}
	}
	switch c.Compression {
	case "auto", "gzip", "none":
	default:
		return &ConfigError{"compression", c.Compression, `must be "auto", "gzip" or "none"`}
	}
	if c.IdentifyTTL < 0 {
		return &ConfigError{"identify_ttl", c.IdentifyTTL.String(), "must not be negative"}
	}
	seen := map[string]bool{}
	for i, s := range c.Sources {
		if err := s.Validate(); err != nil {
			return &ConfigError{fmt.Sprintf("sources[%d]", i), s.ID, err.Error()}
		}
		if seen[s.ID] {
			return &ConfigError{fmt.Sprintf("sources[%d].id", i), s.ID, "is used by another source"}
		}
		seen[s.ID] = true
	}
	return nil
}
