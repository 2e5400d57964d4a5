package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/colligo/colligo/ld/vocab"
	"github.com/colligo/colligo/node/problem"
	"github.com/colligo/colligo/store"
	"github.com/colligo/colligo/store/ingest"
)

// Client talks to a running node's admin API on behalf of the CLI.
type Client struct {
	// BaseURL is the node's HTTP address ("http://127.0.0.1:8080").
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// Local is a data directory opened by the CLI: either the store itself,
// when no node holds it, or a client of the node that does.
type Local struct {
	Store  *store.Store
	Client *Client
	// Vocab is the store's vocabulary registry (with Store).
	Vocab *vocab.Registry
}

// Close closes the store, if the CLI opened it.
func (l *Local) Close() error {
	if l.Store != nil {
		return l.Store.Close()
	}
	return nil
}

// OpenLocal opens the data directory of cfg for a CLI command. When a
// running node holds it (Pebble allows one process), it returns a Client of
// that node, found through the node file.
func OpenLocal(cfg Config) (*Local, error) { return openLocal(cfg, false) }

// OpenLocalBulk is OpenLocal for a bulk load (colligo import, colligo
// harvest): a store it opens itself has no write-ahead log (see
// store.Config.Bulk), so that a kill loses the records not yet flushed,
// never more, and the next run writes them again. A running node is
// used as with OpenLocal.
func OpenLocalBulk(cfg Config) (*Local, error) { return openLocal(cfg, true) }

func openLocal(cfg Config, bulk bool) (*Local, error) {
	reg := vocab.NewRegistry(cfg.Vocab.Mappings)
	st, err := store.Open(store.Config{
		Dir:          cfg.DataDir,
		RepositoryID: cfg.RepositoryID,
		Derive:       newDeriver(cfg, reg),
		CacheSize:    int64(cfg.CacheSizeMiB) << 20,
		Bulk:         bulk,
	})
	if err == nil {
		if _, err := vocab.Open(context.Background(), st, reg); err != nil {
			st.Close()
			return nil, err
		}
		if err := markFreshStore(st, cfg); err != nil {
			st.Close()
			return nil, err
		}
		return &Local{Store: st, Vocab: reg}, nil
	}
	if !errors.Is(err, store.ErrLocked) {
		return nil, err
	}
	info, ierr := ReadInfo(cfg.DataDir)
	if ierr != nil {
		return nil, fmt.Errorf("%s is held by another process, but its node file cannot be read: %w", cfg.DataDir, ierr)
	}
	if info.PID > 0 {
		if p, perr := os.FindProcess(info.PID); perr == nil && p.Signal(syscall.Signal(0)) != nil {
			return nil, fmt.Errorf("%s is locked, but the node in its node file (pid %d) is not running", cfg.DataDir, info.PID)
		}
	}
	token := info.AdminToken
	if cfg.AdminToken != "" {
		token = string(cfg.AdminToken)
	}
	return &Local{Client: &Client{BaseURL: "http://" + info.HTTPAddr, Token: token, HTTP: &http.Client{}}}, nil
}

// do sends a request and turns problem answers into errors.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, size int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, err
	}
	if size > 0 {
		req.ContentLength = size
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("node at %s: %w", c.BaseURL, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var p problem.Details
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(b, &p) == nil && p.Detail != "" {
			return nil, fmt.Errorf("node at %s: %s %s: %d %s", c.BaseURL, method, path, resp.StatusCode, p.Detail)
		}
		return nil, fmt.Errorf("node at %s: %s %s: %s", c.BaseURL, method, path, resp.Status)
	}
	return resp, nil
}

// JSON sends a JSON request and decodes the JSON answer into out.
func (c *Client) JSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	resp, err := c.do(ctx, method, path, body, ct, 0)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Stream sends a request and calls line with each line of a JSON Lines
// answer (long jobs stream their progress that way).
func (c *Client) Stream(ctx context.Context, method, path string, body io.Reader, size int64, line func([]byte) error) error {
	resp, err := c.do(ctx, method, path, body, "application/octet-stream", size)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if err := line(sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Import sends a file to the node's import endpoint, reporting progress.
func (c *Client) Import(ctx context.Context, r io.Reader, name string, size int64, format ingest.Format, progress func(ingest.Progress)) (ingest.Summary, error) {
	var sum ingest.Summary
	var jobErr error
	got := false
	q := url.Values{"name": {name}, "format": {string(format)}}
	err := c.Stream(ctx, http.MethodPost, "/api/admin/import?"+q.Encode(), r, size, func(b []byte) error {
		var msg struct {
			Progress *ingest.Progress `json:"progress"`
			Summary  *ingest.Summary  `json:"summary"`
			Error    string           `json:"error"`
		}
		if err := json.Unmarshal(b, &msg); err != nil {
			return fmt.Errorf("node sent an unreadable progress line: %w", err)
		}
		if msg.Progress != nil && progress != nil {
			progress(*msg.Progress)
		}
		if msg.Summary != nil {
			sum, got = *msg.Summary, true
		}
		if msg.Error != "" {
			jobErr = errors.New(msg.Error)
		}
		return nil
	})
	if err != nil {
		return sum, err
	}
	if !got {
		return sum, errors.New("the node ended the import without a summary")
	}
	return sum, jobErr
}

// WaitReady polls /readyz until the node answers or ctx ends.
func (c *Client) WaitReady(ctx context.Context) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/readyz", nil)
		if resp, err := c.HTTP.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
