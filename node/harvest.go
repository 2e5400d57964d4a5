package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/colligo/colligo/harvest"
	"github.com/colligo/colligo/store"
)

// initHarvest creates the node's harvester (sources from the config and
// node state, metrics on the node's registry) and registers its admin API.
// Start starts its scheduler; Close closes it first.
func (n *Node) initHarvest(logger *slog.Logger) error {
	opts := []harvest.Option{harvest.WithLogger(logger), harvest.WithRegistry(n.reg)}
	if n.fedHTTP != nil {
		// A test seam: the harvests of peers go through the same transport
		// as the rest of the node's peer traffic.
		opts = append(opts, harvest.WithHTTPClient(&http.Client{Transport: n.fedHTTP}))
	}
	h, err := harvest.New(n.store, n.cfg.Harvest, opts...)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.harvester = h
	h.Routes(n.router, n.admin)
	return nil
}

// Harvester returns the node's harvester.
func (n *Node) Harvester() *harvest.Harvester { return n.harvester }

// LocalHarvester returns a harvester on a store the CLI opened (a stopped
// data directory), configured as the node would be. The caller closes it
// before the store.
func LocalHarvester(cfg Config, st *store.Store, logger *slog.Logger) (*harvest.Harvester, error) {
	return harvest.New(st, cfg.Harvest, harvest.WithLogger(logger))
}

// Harvest asks a running node to harvest src now (POST /api/harvest),
// calling progress with each progress line. The error is the harvest's
// when it could not complete.
func (c *Client) Harvest(ctx context.Context, src harvest.Source, progress func(harvest.Result)) (*harvest.Result, error) {
	body, err := src.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var res *harvest.Result
	var jobErr error
	err = c.Stream(ctx, http.MethodPost, "/api/harvest", strings.NewReader(string(body)), int64(len(body)), func(b []byte) error {
		var l harvest.StreamLine
		if err := json.Unmarshal(b, &l); err != nil {
			return fmt.Errorf("node sent an unreadable progress line: %w", err)
		}
		if l.Progress != nil && progress != nil {
			progress(*l.Progress)
		}
		if l.Result != nil {
			res = l.Result
		}
		if l.Error != "" {
			jobErr = &harvest.Error{URL: l.ErrorURL, Err: errors.New(l.Error)}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if res == nil && jobErr == nil {
		return nil, errors.New("the node ended the harvest without a result")
	}
	return res, jobErr
}

// Sources lists a running node's sources with their status.
func (c *Client) Sources(ctx context.Context) ([]harvest.SourceStatus, error) {
	var out struct {
		Sources []harvest.SourceStatus `json:"sources"`
	}
	err := c.JSON(ctx, http.MethodGet, "/api/sources", nil, &out)
	return out.Sources, err
}

// AddSource adds a source to a running node.
func (c *Client) AddSource(ctx context.Context, src harvest.Source) (harvest.SourceStatus, error) {
	var out harvest.SourceStatus
	err := c.JSON(ctx, http.MethodPost, "/api/sources", src, &out)
	return out, err
}

// RemoveSource removes a source from a running node.
func (c *Client) RemoveSource(ctx context.Context, id string) error {
	return c.JSON(ctx, http.MethodDelete, "/api/sources/"+url.PathEscape(id), nil, nil)
}
