package search

import (
	"fmt"
	"runtime"
)

// Config configures the search index. node.Config holds it under [search].
type Config struct {
	// Dir is the directory of the index. The node sets it to
	// <data_dir>/search; it is not a setting of its own.
	Dir string `toml:"-"`
	// BatchSize is the most changes the indexer applies in one batch (one
	// Bluge segment). While it keeps up with writes a batch holds what
	// arrived during the previous one, so a write is searchable within
	// tens of milliseconds; when catching up, big batches index faster.
	// Default 8192.
	BatchSize int `toml:"batch_size"`
	// Workers is the number of goroutines that read records and analyse
	// them. Default: GOMAXPROCS.
	Workers int `toml:"workers"`
	// SegmentsPerTier is how many index segments of one size wait before
	// Bluge merges them: more means less merging while indexing and more
	// segments per query. Default 10.
	SegmentsPerTier int `toml:"segments_per_tier"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{BatchSize: 8192, Workers: runtime.GOMAXPROCS(0), SegmentsPerTier: 10}
}

// ConfigError names a bad setting.
type ConfigError struct {
	Field, Value, Msg string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config search.%s = %q: %s", e.Field, e.Value, e.Msg)
}

// Validate checks every field.
func (c *Config) Validate() error {
	if c.BatchSize < 1 || c.BatchSize > 1_000_000 {
		return &ConfigError{"batch_size", fmt.Sprint(c.BatchSize), "must be 1 to 1000000"}
	}
	if c.Workers < 1 || c.Workers > 256 {
		return &ConfigError{"workers", fmt.Sprint(c.Workers), "must be 1 to 256"}
	}
	if c.SegmentsPerTier < 2 || c.SegmentsPerTier > 100 {
		return &ConfigError{"segments_per_tier", fmt.Sprint(c.SegmentsPerTier), "must be 2 to 100"}
	}
	return nil
}
