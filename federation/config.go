package federation

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// Key is a gossip encryption key (base64 of 16, 24 or 32 bytes: AES-128,
// -192 or -256). It never reaches a log.
type Key string

// LogValue redacts the key in structured logs.
func (k Key) LogValue() slog.Value {
	if k == "" {
		return slog.StringValue("")
	}
	return slog.StringValue("[redacted]")
}

// String redacts the key.
func (k Key) String() string { return k.LogValue().String() }

// Config configures a node's membership in a federation.
type Config struct {
	// Gossip is the address memberlist binds (UDP and TCP), host:port.
	// Empty: the node runs alone, as before federation. Default empty.
	Gossip string `toml:"gossip"`
	// Advertise is the IP:port other nodes reach this node's gossip at.
	// Required when Gossip binds 0.0.0.0 or ::. Default: Gossip.
	Advertise string `toml:"gossip_advertise"`
	// Seeds are gossip addresses (host:port) of nodes to join. Joining is
	// retried in the background until one answers. Default none.
	Seeds []string `toml:"seeds"`
	// ClusterLabel keeps separate consortia apart: nodes with another
	// label are refused. Default "colligo".
	ClusterLabel string `toml:"cluster_label"`
	// KeyringFile holds gossip keys, one base64 key per line, the first
	// one used to encrypt, all of them accepted. The file is read again
	// when it changes, so keys rotate without downtime: add the new key
	// everywhere, move it first everywhere, then remove the old one.
	// Default none.
	KeyringFile string `toml:"keyring_file"`
	// Key is a single gossip key, from COLLIGO_GOSSIP_KEY or --gossip-key;
	// never from the config file. Without a key or keyring gossip is
	// unencrypted.
	Key Key `toml:"-"`
	// ProbeInterval is how often each node probes another for failure
	// detection. Default 500ms.
	ProbeInterval Duration `toml:"probe_interval"`
	// GossipInterval is how often gossip messages are sent. Default 100ms.
	GossipInterval Duration `toml:"gossip_interval"`
	// PushPullInterval is how often full state is exchanged with a random
	// node, repairing anything a broadcast lost. Default 10s.
	PushPullInterval Duration `toml:"push_pull_interval"`
	// LiveSearchTimeout bounds a search fanned out to live peers
	// (scope=live). Default 2s.
	LiveSearchTimeout Duration `toml:"live_search_timeout"`
	// ReconnectInterval is how often the node tries to reach peers it
	// lost (dead after a crash or a partition) and, when alone, its
	// seeds again: what heals a partition. Default 5s.
	ReconnectInterval Duration `toml:"reconnect_interval"`
}

// Duration is a time.Duration written as "500ms" in the config file.
type Duration struct{ time.Duration }

// UnmarshalText reads "500ms".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes "500ms".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// DefaultConfig returns the defaults: no gossip (a node alone).
func DefaultConfig() Config {
	return Config{
		ClusterLabel:      "colligo",
		ProbeInterval:     Duration{500 * time.Millisecond},
		GossipInterval:    Duration{100 * time.Millisecond},
		PushPullInterval:  Duration{10 * time.Second},
		LiveSearchTimeout: Duration{2 * time.Second},
		ReconnectInterval: Duration{5 * time.Second},
	}
}

// LocalConfig returns a preset for nodes on one machine (tests, make
// demo): gossip on 127.0.0.1 with an OS-chosen port and fast intervals.
func LocalConfig() Config {
	c := DefaultConfig()
	c.Gossip = "127.0.0.1:0"
	c.ProbeInterval = Duration{200 * time.Millisecond}
	c.GossipInterval = Duration{50 * time.Millisecond}
	c.PushPullInterval = Duration{2 * time.Second}
	c.ReconnectInterval = Duration{time.Second}
	return c
}

// Enabled reports whether the node gossips.
func (c *Config) Enabled() bool { return c.Gossip != "" }

// Validate checks the configuration, naming the bad field.
func (c *Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	host, _, err := net.SplitHostPort(c.Gossip)
	if err != nil {
		return fmt.Errorf("config federation.gossip = %q: must be host:port", c.Gossip)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() && c.Advertise == "" {
		return fmt.Errorf("config federation.gossip = %q binds every address: give gossip_advertise (--gossip-advertise) with the IP:port peers reach this node at", c.Gossip)
	}
	if c.Advertise != "" {
		h, _, err := net.SplitHostPort(c.Advertise)
		if err != nil || net.ParseIP(h) == nil {
			return fmt.Errorf("config federation.gossip_advertise = %q: must be IP:port", c.Advertise)
		}
	}
	for _, s := range c.Seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("config federation.seeds: %q must be host:port", s)
		}
	}
	if c.ClusterLabel == "" || len(c.ClusterLabel) > 255 {
		return fmt.Errorf("config federation.cluster_label = %q: must be 1 to 255 bytes", c.ClusterLabel)
	}
	if c.Key != "" {
		if _, err := decodeKey(string(c.Key)); err != nil {
			return fmt.Errorf("gossip key: %v", err)
		}
	}
	if c.KeyringFile != "" {
		if _, err := readKeyring(c.KeyringFile); err != nil {
			return err
		}
	}
	for name, d := range map[string]Duration{"probe_interval": c.ProbeInterval, "gossip_interval": c.GossipInterval, "push_pull_interval": c.PushPullInterval, "live_search_timeout": c.LiveSearchTimeout, "reconnect_interval": c.ReconnectInterval} {
		if d.Duration <= 0 {
			return fmt.Errorf("config federation.%s = %s: must be positive", name, d.Duration)
		}
	}
	return nil
}

// Keygen returns a new random AES-256 gossip key, base64-encoded.
func Keygen() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

func decodeKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("not base64: %v", err)
	}
	switch len(b) {
	case 16, 24, 32:
		return b, nil
	}
	return nil, fmt.Errorf("%d bytes: an AES key has 16, 24 or 32", len(b))
}

// readKeyring reads a keyring file: base64 keys, one a line, primary
// first; blank lines and # comments are ignored.
func readKeyring(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring file %s: %w", path, err)
	}
	var keys [][]byte
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := decodeKey(line)
		if err != nil {
			return nil, fmt.Errorf("keyring file %s line %d: %v", path, i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("keyring file %s: no key", path)
	}
	return keys, nil
}

// keyring builds memberlist's keyring from the key and the keyring file,
// or nil when gossip is not encrypted.
func (c *Config) keyring() (*memberlist.Keyring, error) {
	var keys [][]byte
	if c.KeyringFile != "" {
		k, err := readKeyring(c.KeyringFile)
		if err != nil {
			return nil, err
		}
		keys = k
	}
	if c.Key != "" {
		k, err := decodeKey(string(c.Key))
		if err != nil {
			return nil, err
		}
		keys = append([][]byte{k}, keys...)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return memberlist.NewKeyring(keys, keys[0])
}
