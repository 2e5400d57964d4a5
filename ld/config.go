package ld

import (
	"fmt"
	"strconv"
)

// Config is the configuration of the linked-data publisher; node.Config
// holds it under [ld].
type Config struct {
	// MaxAuthors is how many author links the Level 1 Link header (and the
	// landing page's <link> elements) carry at most; the linkset has all.
	// Default 20.
	MaxAuthors int `toml:"max_authors"`
	// MaxItems is how many item (file) links they carry at most. Default 20.
	MaxItems int `toml:"max_items"`
	// MaxLinkHeaderBytes bounds the Link header: author and item links that
	// would take it past this size are left to the linkset. Proxies refuse
	// responses whose headers pass a few KiB (nginx's proxy_buffer_size is
	// 4 or 8 KiB by default). Default 4096 bytes.
	MaxLinkHeaderBytes int `toml:"max_link_header_bytes"`
	// CacheMiB bounds the cache of rendered representations (keyed by
	// record version, so never stale), which keeps them compressed: 32 MiB
	// holds about 8,000 landing pages. 0 turns it off. Default 32.
	CacheMiB int `toml:"cache_mib"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{MaxAuthors: 20, MaxItems: 20, MaxLinkHeaderBytes: 4096, CacheMiB: 32}
}

// ConfigError names a setting of [ld] and its bad value.
type ConfigError struct {
	Field, Value, Msg string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config ld.%s = %s: %s", e.Field, e.Value, e.Msg)
}

// Validate checks every field and names the first bad one.
func (c Config) Validate() error {
	switch {
	case c.MaxAuthors < 0:
		return &ConfigError{"max_authors", strconv.Itoa(c.MaxAuthors), "must not be negative"}
	case c.MaxItems < 0:
		return &ConfigError{"max_items", strconv.Itoa(c.MaxItems), "must not be negative"}
	case c.MaxLinkHeaderBytes < 1024:
		return &ConfigError{"max_link_header_bytes", strconv.Itoa(c.MaxLinkHeaderBytes), "must be at least 1024"}
	case c.CacheMiB < 0:
		return &ConfigError{"cache_mib", strconv.Itoa(c.CacheMiB), "must not be negative"}
	}
	return nil
}
