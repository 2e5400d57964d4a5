package vocab

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// StateStore is the part of the record store schemes are kept in (the
// node's state table in Pebble).
type StateStore interface {
	GetState(name string) ([]byte, error)
	SetState(ctx context.Context, name string, value []byte) error
	StateNames(prefix string) ([]string, error)
}

const statePrefix = "vocab/scheme/"

// stored is a scheme as kept in the store.
type stored struct {
	ID       string    `json:"id"`
	Field    string    `json:"field"`
	Hash     string    `json:"hash"`
	Loaded   time.Time `json:"loaded"`
	NTriples string    `json:"ntriples"`
}

// Save stores a scheme (replacing one with the same id).
func Save(ctx context.Context, st StateStore, s *Scheme) error {
	if s.Loaded.IsZero() {
		s.Loaded = time.Now().UTC().Truncate(time.Second)
	}
	b, err := json.Marshal(stored{ID: s.ID, Field: s.Field, Hash: s.Hash, Loaded: s.Loaded, NTriples: string(s.NTriples)})
	if err != nil {
		return err
	}
	if err := st.SetState(ctx, statePrefix+s.ID, b); err != nil {
		return fmt.Errorf("vocab.Save %s: %w", s.ID, err)
	}
	return nil
}

// LoadAll reads every stored scheme.
func LoadAll(st StateStore) ([]*Scheme, error) {
	names, err := st.StateNames(statePrefix)
	if err != nil {
		return nil, fmt.Errorf("vocab.LoadAll: %w", err)
	}
	var out []*Scheme
	for _, name := range names {
		b, err := st.GetState(name)
		if err != nil {
			return nil, fmt.Errorf("vocab.LoadAll %s: %w", name, err)
		}
		var s stored
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("vocab.LoadAll %s: %w", strings.TrimPrefix(name, statePrefix), err)
		}
		sch, err := ParseNTriples([]byte(s.NTriples), s.ID, s.Field)
		if err != nil {
			return nil, err
		}
		sch.Loaded = s.Loaded
		out = append(out, sch)
	}
	return out, nil
}

// Open fills a registry from the store and stores the built-in schemes the
// store lacks. A stored scheme with a built-in's id is kept as it is: it
// may be a newer version an operator or a peer loaded. Open reports whether
// it stored anything, in which case records should be mapped again
// (store.Rederive).
func Open(ctx context.Context, st StateStore, reg *Registry) (changed bool, err error) {
	schemes, err := LoadAll(st)
	if err != nil {
		return false, err
	}
	have := map[string]*Scheme{}
	for _, s := range schemes {
		reg.Add(s)
		have[s.ID] = s
	}
	for _, b := range Builtins {
		s, err := b.Load()
		if err != nil {
			return changed, err
		}
		if have[b.ID] != nil {
			continue
		}
		if err := Save(ctx, st, s); err != nil {
			return changed, err
		}
		reg.Add(s)
		changed = true
	}
	return changed, nil
}

// Config configures the vocabulary layer.
type Config struct {
	// Mappings are per-source mapping tables: for records of a source (the
	// origin id of a harvest source or peer), a value -> concept URI,
	// checked before the schemes' labels. Default none.
	//
	//	[vocab.mappings.zenodo]
	//	"Text" = "http://purl.org/coar/resource_type/c_18cf"
	Mappings map[string]map[string]string `toml:"mappings"`
}

// DefaultConfig returns the default configuration: no mapping tables.
func DefaultConfig() Config { return Config{} }

// Validate checks that every mapping target is an absolute URI.
func (c *Config) Validate() error {
	for src, m := range c.Mappings {
		for v, uri := range m {
			if !strings.HasPrefix(uri, "http://") && !strings.HasPrefix(uri, "https://") {
				return fmt.Errorf("config vocab.mappings.%s %q = %q: the target must be a concept URI", src, v, uri)
			}
		}
	}
	return nil
}
